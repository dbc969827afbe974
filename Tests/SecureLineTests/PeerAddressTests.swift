import SecureLine
import Testing

/// Peer names and addresses are checked where the trust store is, so no caller can write a line that adds a
/// second trusted key (issue 11's newline injection) or an address nothing can dial.
@Suite struct PeerAddressTests {
    static let key = [UInt8](repeating: 7, count: 32)

    @Test(arguments: [
        ("127.0.0.1:7400", "127.0.0.1", 7400), ("[::1]:9", "::1", 9), ("hub.example:65535", "hub.example", 65535),
    ])
    func addressesParse(text: String, host: String, port: Int) throws {
        let address = try PeerAddress(parsing: text)
        #expect(address.host == host && address.port == port)
    }

    @Test(arguments: [
        "nowhere", ":7400", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:7400\nevil opk_x 1.2.3.4:9",
        "a b:1", "h#:1",
    ])
    func malformedAddressesAreRefused(text: String) {
        let error = #expect(throws: LineError.self) { try PeerAddress(parsing: text) }
        #expect(error?.code == .invalidArgument)
    }

    @Test func aListenerMayAskForAnyFreePort() throws {
        #expect(try PeerAddress(parsing: "127.0.0.1:0", listening: true).port == 0)
    }

    @Test func theTrustStoreRefusesAnAddressThatWouldAddALine() throws {
        var store = TrustStore()
        #expect(throws: LineError.self) {
            try store.add(
                TrustedPeer(name: "p4", publicKey: Self.key, address: "127.0.0.1:7400\nevil opk_AAAA 127.0.0.1:9"))
        }
        #expect(throws: LineError.self) { try store.add(TrustedPeer(name: "two\nlines", publicKey: Self.key)) }
        #expect(store.peers.isEmpty)
        try store.add(TrustedPeer(name: "hub", publicKey: Self.key, address: "127.0.0.1:7400"))
        #expect(try TrustStore(text: store.text).peers.count == 1)
    }

    @Test func peersResolveByNameOrAddress() throws {
        var store = TrustStore()
        try store.add(TrustedPeer(name: "hub", publicKey: Self.key, address: "127.0.0.1:7400"))
        try store.add(TrustedPeer(name: "quiet", publicKey: [UInt8](repeating: 8, count: 32)))
        #expect(try store.resolve("hub").name == "hub")
        #expect(try store.resolve("127.0.0.1:7400").name == "hub")
        #expect(try TrustStore.address(of: store.resolve("hub")) == PeerAddress(parsing: "127.0.0.1:7400"))
        #expect((#expect(throws: LineError.self) { try store.resolve("nobody") })?.code == .notFound)
        #expect((#expect(throws: LineError.self) { try store.resolve("10.0.0.1:7400") })?.code == .notFound)
        #expect(
            (#expect(throws: LineError.self) { try TrustStore.address(of: store.resolve("quiet")) })?.code
                == .invalidArgument)
    }

    @Test(arguments: ["", "a b", "tab\tname", "hash#", String(repeating: "x", count: 65)])
    func malformedDeviceNamesAreRefused(name: String) {
        #expect(throws: LineError.self) { try DeviceName.check(name) }
    }
}
