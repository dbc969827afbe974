import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// A snapshot carries replicated state only: another peer's unfinished stream, the hub's cursors, marks and
/// conflict log never leave the hub in it.
@Suite struct SnapshotContentTests {
    static func snapshotBytes(of replica: Replica) throws -> Data {
        var bytes = Data()
        try replica.replication.withSnapshot(chunkSize: 65_536, resume: nil, header: { _, _ in }) {
            bytes.append(contentsOf: $0)
        }
        return bytes
    }

    @Test func anotherPeersUnfinishedStreamIsNotInTheSnapshot() async throws {
        let directory = try TemporaryDirectory()
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        let laptop = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        let other = try Replica.create(at: directory.path("other.sqlite"), name: "other")
        _ = try await hub.commands.createOrder(
            customerEmail: "public@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "10.00")])
        try await laptop.replication.pull(from: hub)
        // The laptop's next push reaches the hub only in part: staged there, not merged.
        _ = try await laptop.commands.createOrder(
            customerEmail: "unfinished-push@example.com",
            lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "10.00")])
        let (batches, _) = try await CoverageTests.stream(from: laptop, to: hub, batchSize: 1)
        for batch in batches { try await hub.replication.stage(batch, from: laptop.identity.siteID) }
        // A stream merged in full (its staged rows cleared), so cursors and marks exist.
        _ = try await other.commands.createOrder(
            customerEmail: "merged@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "5.00")])
        try await hub.replication.pull(from: other)

        let bytes = try Self.snapshotBytes(of: hub)
        #expect(bytes.range(of: Data("public@example.com".utf8)) != nil, "the snapshot lacks the hub's own data")
        #expect(bytes.range(of: Data("unfinished-push@example.com".utf8)) == nil, "another peer's staged row leaked")
        #expect(bytes.range(of: Data(laptop.identity.siteID.utf8)) != nil)  // a site the hub's records name
        // The bytes are a replica a new device starts from, with none of the hub's dealings with its peers.
        let copy = directory.path("copy.sqlite")
        try bytes.write(to: URL(fileURLWithPath: copy))
        let opened = try Replica.open(at: copy)
        let leftovers = try await opened.pool.read { db in
            try ReplicationLog.peerPrivateTables.map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") ?? 0 }
        }
        #expect(leftovers.allSatisfy { $0 == 0 }, "\(leftovers)")
        #expect(try await opened.queries.orders().count == 2)
    }

    @Test func aSnapshotInAnotherDirectoryIsCopiedIntoTheReplicasFile() async throws {
        let directory = try TemporaryDirectory()
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        try await hub.transaction {
            for index in 0..<300 {
                _ = try await hub.commands.createOrder(
                    customerEmail: "h\(index)@example.com",
                    lines: [LineSpec(sku: "CAP", quantity: 1, unitPrice: "9.00")])
            }
        }
        // Not beside the replica, so not renamed over it: copied in with SQLite's online backup (and the log
        // folded into the file after), from the snapshot file still open.
        let elsewhere = try TemporaryDirectory()
        let file = elsewhere.path("snapshot.sqlite")
        try Self.snapshotBytes(of: hub).write(to: URL(fileURLWithPath: file))
        let terminal = try Replica.create(at: directory.path("terminal.sqlite"), name: "terminal")
        try await terminal.replication.beginSnapshot(from: hub.identity.siteID)
        let lseq = try await hub.pool.read { db in try Replica.changeSequence(db) }
        try await terminal.replication.installSnapshot(from: file, peer: hub.identity.siteID, snapshotLseq: lseq)
        #expect(
            try await terminal.contentDigest() == hub.contentDigest(), "the terminal holds the hub's replicated records"
        )
        _ = try await terminal.commands.createOrder(
            customerEmail: "t@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "5.00")])
        #expect(try await terminal.queries.orders().count == 301)
    }
}
