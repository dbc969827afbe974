import Foundation
import OutpostCore
import OutpostTestSupport
import SecureLine
import Sync
import Testing

/// Seeded mutation fuzzing of the two parsers that read text a person pastes or a file anyone could edit: the
/// trust store and the invite code. Whatever the input, a parser either refuses it with a `LineError` or yields
/// values that pass the same checks a person's input passes, and what it yields writes back to text that
/// parses to the same thing (nothing can be smuggled in through a name or an address).
///
/// CI runs `FUZZ_ITERATIONS` (default 2,000) cases per parser; `tools/fuzz/parsers [ITERATIONS] [SEED]` runs
/// many more.
@Suite struct ParserFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 2_000
    static let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 11

    static let keys = (0..<3).map { _ in KeyText.publicKey(KeyPair.generate().publicKey) }
    static let network = KeyText.networkID(KeyText.newNetworkID())
    /// Pieces a hostile paste might hold.
    static let nasty = [
        "\n", "\r", "\t", " ", "#", "\u{1B}[2J", "\u{07}", "\u{0}", "\u{85}", "\u{2028}", ":", "[", "]", "::1",
        "127.0.0.1:7400", "opk_", "evil", String(repeating: "x", count: 300), "%", "\\", "\"", "é", "🙂",
    ]

    static func randomText(_ random: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...4, using: &random)).map { _ in
            Bool.random(using: &random)
                ? nasty.randomElement(using: &random) ?? ""
                : String(UnicodeScalar(UInt8.random(in: 32...126, using: &random)))
        }.joined()
    }

    /// Flips, drops, duplicates or inserts at random places.
    static func mutate(_ text: String, _ random: inout SeededGenerator) -> String {
        var scalars = Array(text.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !scalars.isEmpty: scalars.remove(at: index)
            case 1: scalars.insert(contentsOf: randomText(&random).unicodeScalars, at: index)
            case 2 where !scalars.isEmpty:
                scalars[index] = UnicodeScalar(UInt8.random(in: 0...127, using: &random))
            default: scalars = Array(scalars.prefix(index))
            }
        }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars)
        return String(result)
    }

    static func checkParsed(_ peer: TrustedPeer) throws {
        try DeviceName.check(peer.name)
        if let address = peer.address { _ = try PeerAddress(parsing: address) }
        #expect(peer.publicKey.count == 32)
    }

    @Test func theTrustStoreParserRefusesOrYieldsCleanPeers() throws {
        var random = SeededGenerator(seed: Self.seed)
        let valid = """
            # Outpost trust store: NAME PUBLIC_KEY [HOST:PORT]
            hub \(Self.keys[0]) 192.0.2.10:7400
            popup-2 \(Self.keys[1])
            """
        var parsed = 0
        for _ in 0..<Self.iterations {
            let text = Self.mutate(valid, &random)
            let store: TrustStore
            do {
                store = try TrustStore(text: text)
            } catch {
                #expect(error is LineError, "\(String(reflecting: text)): \(error)")
                continue
            }
            parsed += 1
            for peer in store.peers { try Self.checkParsed(peer) }
            #expect(try TrustStore(text: store.text).peers == store.peers, "round trip of \(String(reflecting: text))")
        }
        #expect(parsed > 0, "no mutation parsed: the fuzzer explores nothing")
    }

    @Test func theInviteParserRefusesOrYieldsACleanInvitation() throws {
        var random = SeededGenerator(seed: Self.seed &+ 1)
        var parsed = 0
        for round in 0..<Self.iterations {
            let code: String
            if round % 2 == 0 {
                // Fields a hostile inviter chose, properly encoded.
                var object: [String: String] = [
                    "name": Bool.random(using: &random) ? "hub" : Self.randomText(&random),
                    "key": Bool.random(using: &random) ? Self.keys[2] : Self.mutate(Self.keys[2], &random),
                    "network": Self.network,
                ]
                if Bool.random(using: &random) {
                    object["address"] =
                        Bool.random(using: &random)
                        ? "192.0.2.10:7400" : Self.mutate("192.0.2.10:7400", &random)
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                code = Invitation.prefix + Base64URL.encode(data)
            } else {
                let valid = Invitation(
                    name: "hub", publicKey: try KeyText.parsePublicKey(Self.keys[2]),
                    networkID: try KeyText.parseNetworkID(Self.network), address: "192.0.2.10:7400"
                ).code
                code = Self.mutate(valid, &random)
            }
            let invitation: Invitation
            do {
                invitation = try Invitation(code: code)
            } catch {
                #expect(error is LineError, "\(code): \(error)")
                continue
            }
            parsed += 1
            try Self.checkParsed(
                TrustedPeer(name: invitation.name, publicKey: invitation.publicKey, address: invitation.address))
            #expect(try Invitation(code: invitation.code) == invitation)
        }
        #expect(parsed > 0, "no invite parsed: the fuzzer explores nothing")
    }
}
