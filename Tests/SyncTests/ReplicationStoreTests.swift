import Foundation
import OrderDomain
import Replica
import SecureLine
import Sync
import Testing

/// `Sync` reaches storage only through `ReplicationStore`. A store that is not a `Replica` file and cannot copy
/// itself page by page (as a hub's store in a server database would be) serves and is served by record streams.
@Suite struct ReplicationStoreTests {
    /// Delegates every requirement to a replica's replication role, except what a test changes: whether it offers
    /// file snapshots, and what its HELLO says about taking one. Counts the streams it produced.
    final class WrappedStore: ForwardingStore, @unchecked Sendable {
        /// Whether it can send and take file snapshots (a server-database store cannot).
        let offersSnapshots: Bool
        /// What its HELLO says about taking a snapshot: as the replica decides (nil), never, or always.
        let asksForSnapshot: Bool?
        private let lock = NSLock()
        private var produced = 0
        var streamsProduced: Int { lock.withLock { produced } }

        init(_ replica: Replica, offersSnapshots: Bool, asksForSnapshot: Bool?) {
            self.offersSnapshots = offersSnapshots
            self.asksForSnapshot = asksForSnapshot
            super.init(replica)
        }

        override var snapshots: (any SnapshotStore)? { offersSnapshots ? base : nil }
        override func streamRequest(from peer: String) async throws -> StreamRequest {
            var request = try await base.streamRequest(from: peer)
            if let asksForSnapshot { request.snapshot = asksForSnapshot }
            return request
        }
        override func withChanges(
            for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?,
            _ emit: (ChangeBatch) throws -> Void
        ) throws -> StreamEnd {
            lock.withLock { produced += 1 }
            return try base.withChanges(for: request, batchSize: batchSize, estimate: estimate, emit)
        }
    }

    @Test func aStoreWithoutSnapshotsServesAndBootstrapsByRecords() async throws {
        let fleet = try Fleet()
        let hubDevice = try await fleet.add("hub", listening: false)
        let terminal = try await fleet.add("terminal", listening: false)
        let hub = WrappedStore(hubDevice.replica, offersSnapshots: false, asksForSnapshot: false)
        for index in 0..<12 {
            _ = try await hub.replica.commands.createOrder(
                customerEmail: "c\(index)@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")])
        }
        let server = try await SyncServer.bind(replica: hub, identity: hubDevice.identity) { key in
            hubDevice.trusts(key)
        }
        let serving = Task { try await server.run() }

        // The empty terminal asks for a snapshot; the store has none to give, so a record stream comes.
        let first = try await terminal.replica.replication.sync(
            host: "127.0.0.1", port: server.port, peerKey: hubDevice.key, identity: terminal.identity, batchSize: 5)
        #expect(first.snapshotBytesReceived == 0)
        #expect(first.rowsReceived > 0)
        #expect(hub.streamsProduced == 1)
        #expect(try await terminal.replica.queries.orders().count == 12)

        // A change made on the terminal reaches the hub's store through the same requirements.
        let sale = try await terminal.replica.commands.createOrder(
            customerEmail: "t@example.com", lines: [LineSpec(sku: "MUG", quantity: 2, unitPrice: "9.50")])
        let second = try await terminal.replica.replication.sync(
            host: "127.0.0.1", port: server.port, peerKey: hubDevice.key, identity: terminal.identity)
        #expect(second.rowsSent > 0)
        #expect(try await hub.replica.queries.order(sale.orderID).progress.totalMinor == 1_900)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())

        await server.shutdown()
        _ = await serving.result
    }

    /// Issue 16, item 3: a peer that is not empty gets records, never a copy of the hub's file.
    @Test func aPeerThatHoldsRecordsGetsNoSnapshot() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let laptop = try await fleet.add("laptop", listening: false)
        _ = try await hub.replica.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")])
        _ = try await laptop.replica.commands.createOrder(
            customerEmail: "b@example.com", lines: [LineSpec(sku: "CAP", quantity: 1, unitPrice: "5.00")])
        // Asks for a file snapshot although it holds records (a confused or hostile peer).
        let greedy = WrappedStore(laptop.replica, offersSnapshots: true, asksForSnapshot: true)
        let summary = try await greedy.sync(
            host: "127.0.0.1", port: hub.server?.port ?? 0, peerKey: hub.key, identity: laptop.identity)
        #expect(summary.snapshotBytesReceived == 0)
        #expect(summary.rowsReceived > 0)
        #expect(
            try await laptop.replica.queries.orders().count == 2, "its own order survives: nothing replaced its file")
        await fleet.shutdown()
    }
}
