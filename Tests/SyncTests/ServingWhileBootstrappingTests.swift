import Foundation
import OrderDomain
import Replica
import SecureLine
import Sync
import Testing

/// A laptop whose first record stream from the hub was cut holds the hub's records before the hub's vector
/// (protocol/SPEC.md, "Every dot is covered"). While `serve` runs on it, a peer that dials it gets an
/// `unavailable` error and nothing else; once the laptop finishes its bootstrap, the peer syncs through it.
@Suite struct ServingWhileBootstrappingTests {
    @Test func aBootstrappingLaptopServesNoStreamToAPeer() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let laptop = try await fleet.add("laptop")
        let peer = try await fleet.add("peer", listening: false)
        for index in 0..<5 {
            _ = try await hub.replica.commands.createOrder(
                customerEmail: "c\(index)@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "19.90")]
            )
        }
        _ = try await peer.replica.commands.createOrder(
            customerEmail: "p@example.com", lines: [LineSpec(sku: "CAP", quantity: 1, unitPrice: "9.00")])

        // The laptop's first stream from the hub, cut before its END: every batch staged, so the empty laptop
        // loaded them straight into its tables and is bootstrapping from the hub.
        let request = try await laptop.replica.replication.streamRequest(from: hub.replica.identity.siteID)
        var batches: [ChangeBatch] = []
        _ = try hub.replica.replication.withChanges(for: request, batchSize: 3) { batches.append($0) }
        for batch in batches { try await laptop.replica.replication.stage(batch, from: hub.replica.identity.siteID) }
        #expect(try await laptop.replica.bootstrappingFrom() == hub.replica.identity.siteID)
        #expect(try await laptop.replica.queries.orders().count == 5)

        let peerBefore = try await peer.replica.contentDigest()
        let error = await #expect(throws: SyncError.self) { try await fleet.sync(peer, with: laptop) }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(
            try await peer.replica.contentDigest() == peerBefore,
            "the peer received nothing from the bootstrapping laptop")
        #expect(try await peer.replica.queries.orders().count == 1)

        // The hub dials the bootstrapping laptop: the laptop takes the hub's stream and finishes its bootstrap,
        // sending an empty stream back. Then the peer syncs through the laptop, and the laptop with the hub.
        let fromHub = try await fleet.sync(hub, with: laptop)
        #expect(fromHub.rowsReceived == 0)
        #expect(try await laptop.replica.bootstrappingFrom() == nil)
        try await fleet.sync(peer, with: laptop)
        #expect(try await peer.replica.queries.orders().count == 6)
        try await fleet.sync(laptop, with: hub)
        try await fleet.sync(peer, with: laptop)
        #expect(try await fleet.identical())
        await fleet.shutdown()
    }

    /// An empty device's first sync starts loading the hub's snapshot or records while its own (empty) stream to
    /// the hub is about to start: it must send the hub an empty stream (or, once the load has finished, its
    /// stream as usual), never an `unavailable` error. The race is timing-dependent — run alone this test rarely
    /// meets it; beside the whole suite it did (`twoLaptopsAndAHubConverge` failed in about one run in three) —
    /// so it runs many first syncs of both kinds as a stress, not as a deterministic reproduction.
    @Test(arguments: [true, false])
    func firstSyncsNeverTripOverTheirOwnBootstrap(snapshot: Bool) async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        for index in 0..<20 {
            _ = try await hub.replica.commands.createOrder(
                customerEmail: "c\(index)@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")])
        }
        for index in 0..<15 {
            let laptop = try await fleet.add("laptop-\(index)", listening: false)
            let summary = try await laptop.replica.replication.sync(
                host: "127.0.0.1", port: hub.server?.port ?? 0, peerKey: hub.key, identity: laptop.identity,
                batchSize: 4,
                acceptSnapshot: snapshot)
            #expect(try await laptop.replica.queries.orders().count == 20, "laptop \(index)")
            #expect(summary.rowsSent == 0)
        }
        await fleet.shutdown()
    }
}
