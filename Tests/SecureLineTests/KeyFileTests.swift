import Foundation
import Testing

@testable import SecureLine

@Suite struct KeyFileTests {
    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func identityFilesAreCreated0600AndLoadBack() throws {
        let path = try scratch().appendingPathComponent("id").path
        let created = try IdentityFile.create(at: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try IdentityFile.load(from: path).publicKey == created.publicKey)
        #expect(throws: LineError.self) { try IdentityFile.create(at: path) }  // never overwritten
    }

    @Test func sealedIdentitiesNeedTheirPassphrase() throws {
        let path = try scratch().appendingPathComponent("sealed").path
        let created = try IdentityFile.create(at: path, passphrase: "correct horse")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("argon2id13"))
        #expect(!text.contains("private_key"))
        #expect(try IdentityFile.load(from: path, passphrase: "correct horse").publicKey == created.publicKey)
        let wrong = #expect(throws: LineError.self) { try IdentityFile.load(from: path, passphrase: "battery staple") }
        #expect(wrong?.message.contains("wrong passphrase") == true)
        #expect(throws: LineError.self) { try IdentityFile.load(from: path) }
    }

    @Test func aTamperedIdentityFileIsRefused() throws {
        let path = try scratch().appendingPathComponent("id").path
        _ = try IdentityFile.create(at: path)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let other = KeyText.publicKey(KeyPair.generate().publicKey)
        let line = try #require(text.split(separator: "\n").first { $0.contains("public_key") })
        text = text.replacingOccurrences(of: String(line), with: "  \"public_key\" : \"\(other)\",")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: LineError.self) { try IdentityFile.load(from: path) }
    }

    @Test func theTrustStoreRoundTripsAndExplainsBadLines() throws {
        var store = TrustStore()
        let hub = KeyPair.generate().publicKey
        try store.add(TrustedPeer(name: "hub", publicKey: hub, address: "192.0.2.10:7400"))
        try store.add(TrustedPeer(name: "popup-2", publicKey: KeyPair.generate().publicKey))
        #expect(throws: LineError.self) {
            try store.add(TrustedPeer(name: "hub", publicKey: KeyPair.generate().publicKey))
        }
        #expect(throws: LineError.self) { try store.add(TrustedPeer(name: "again", publicKey: hub)) }
        let parsed = try TrustStore(text: store.text + "\n# a comment\n")
        #expect(parsed == store)
        #expect(parsed.trusts(hub))
        #expect(parsed.peer(named: "hub")?.address == "192.0.2.10:7400")
        let bad = #expect(throws: LineError.self) { try TrustStore(text: "hub\n") }
        #expect(bad?.message.contains("line 1") == true)
        #expect(throws: LineError.self) { try TrustStore(text: "hub opk_notakey\n") }
        let path = try scratch().appendingPathComponent("peers").path
        try store.save(to: path)
        #expect(try TrustStore.load(from: path) == store)
    }

    @Test func printedKeysRoundTripAndRefuseGarbage() throws {
        let key = KeyPair.generate().publicKey
        #expect(try KeyText.parsePublicKey(KeyText.publicKey(key)) == key)
        let network = KeyText.newNetworkID()
        #expect(try KeyText.parseNetworkID(KeyText.networkID(network)) == network)
        for bad in [
            "", "opk_", "onet_" + String(repeating: "A", count: 43), "opk_" + String(repeating: "A", count: 40),
            KeyText.networkID(network),
        ] {
            #expect(throws: LineError.self) { try KeyText.parsePublicKey(bad) }
        }
    }
}
