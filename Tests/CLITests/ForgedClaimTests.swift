import Foundation
import OutpostTestSupport
import Testing

/// A trusted but hostile peer (the Python peer, writing from the SPEC alone) pushes an order whose end vector
/// claims a billion of a laptop's changes. The laptop's next sale still reaches the hub: when the laptop syncs,
/// its own counter shows the hub's entry false, the hub lowers it, and the laptop's changes are sent again.
@Suite(.oneAtATime) struct ForgedClaimTests {
    @Test func aForgedVectorCannotSilenceALaptop() throws {
        let python = try InteropOrderTests.python()
        let peer = Outpost.root.appendingPathComponent("tools/interop/noise_peer.py").path
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let laptop = Outpost(directory: scratch.url, name: "laptop")
        try hub("init", "--name", "hub")
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        try laptop("init", "--name", "laptop")
        try hub.pair(laptop, port: port)
        #expect(try laptop("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:10.00").status == 0)
        #expect(try laptop("sync", "hub").status == 0)
        let laptopSite = try #require(try laptop("whoami", "--json").object["site_id"] as? String)

        let keys = try InteropOrderTests.run(python, [peer, "keygen"]).json as? [String: String]
        let (privateKey, publicKey) = (try #require(keys?["private"]), try #require(keys?["public"]))
        try hub("peer", "add", "hostile-till", publicKey)
        let whoami = try hub("whoami", "--json").object
        let forged = try InteropOrderTests.run(
            python,
            [
                peer, "create-order", "127.0.0.1", "\(port)", "--key", privateKey, "--listener",
                try #require(whoami["public_key"] as? String), "--network",
                try #require(whoami["network_id"] as? String),
                "--email", "decoy@example.com", "--line", "MUG:1:500", "--claim", "\(laptopSite)=1000000000",
            ])
        #expect(forged.status == 0, "\(forged.stderr)")
        let poisoned = try hub("status", "--json").object["version_vector"] as? [String: Int]
        #expect(
            poisoned?[laptopSite] == 1_000_000_000, "the forged claim was joined in: \(String(describing: poisoned))")

        #expect(try laptop("order", "create", "--customer", "bo@example.com", "--line", "TEE-M:1:10.00").status == 0)
        let synced = try laptop("sync", "hub", "--json")
        #expect(synced.status == 0, "\(synced.stderr)")
        let emails = Set(try hub("order", "list", "--json").array.compactMap { $0["customer_email"] as? String })
        #expect(emails == ["ana@example.com", "bo@example.com", "decoy@example.com"])
        let laptopCounter = (try laptop("status", "--json").object["version_vector"] as? [String: Int])?[laptopSite]
        let repaired = (try hub("status", "--json").object["version_vector"] as? [String: Int])?[laptopSite]
        #expect(repaired == laptopCounter, "the hub's entry is the laptop's own counter again")
        #expect(try laptop("order", "list", "--json").stdout == hub("order", "list", "--json").stdout)
    }
}
