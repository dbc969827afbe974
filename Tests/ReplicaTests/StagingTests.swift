import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// A first stream's records go straight into their tables, several of one entity to a statement
/// (`ReplicationLog.stage`, `RowStore.insertLoaded`). Whatever the group size, with a batch delivered twice and
/// one that repeats the batch before it, the receiver ends with what it stores one record at a time.
@Suite struct StagingTests {
    /// Every replicated record as stored, without its change sequence (a record loaded again takes a new one).
    static func records(_ replica: Replica) async throws -> [String] {
        try await replica.pool.read { db in
            try Entity.allCases.flatMap { entity in
                let columns = (["id"] + entity.fields.map(\.name) + ["dots"]).joined(separator: ", ")
                return try Row.fetchAll(db, sql: "SELECT \(columns) FROM \(entity.rawValue) ORDER BY id").map {
                    "\(entity.rawValue) \($0)"
                }
            }
        }
    }

    @Test(arguments: [2, 3, 7])
    func recordsLoadedTogetherLandAsOneAtATime(together: Int) async throws {
        let (shop, directory) = try await DerivationTests.shop()
        let alone = try Replica.create(at: directory.path("alone.sqlite"), name: "alone")
        let grouped = try Replica.create(at: directory.path("grouped.sqlite"), name: "grouped")
        let peer = shop.identity.siteID
        let request = try await alone.replication.streamRequest(from: peer)
        var batches: [ChangeBatch] = []
        let end = try shop.replication.withChanges(for: request, batchSize: 9) { batches.append($0) }
        #expect(batches.count > 4)

        // Batch 1 twice (each of its records already there the second time); batch 3 with batch 2's records
        // before its own (some there, some not); every other batch once, its records only ever loaded together.
        var deliveries: [ChangeBatch] = []
        for (index, batch) in batches.enumerated() {
            if index == 3 {
                let before = batches[2]
                try #require(before.sites == batch.sites)
                deliveries.append(
                    ChangeBatch(
                        sites: batch.sites, rows: before.rows + batch.rows, position: batch.position,
                        snapshotLseq: batch.snapshotLseq))
            } else {
                deliveries.append(batch)
            }
            if index == 1 { deliveries.append(batch) }
        }
        let wall = Int64(Date().timeIntervalSince1970 * 1000)
        for (receiver, size) in [(alone, 1), (grouped, together)] {
            for delivery in deliveries {
                try await receiver.pool.write { db in
                    try ReplicationLog.stage(db, delivery, from: peer, wall: wall, loadTogether: size)
                }
            }
            try await receiver.replication.completeStream(from: peer, end: end)
        }

        let loaded = try await Self.records(alone)
        #expect(loaded.count > 50)
        #expect(try await Self.records(grouped) == loaded)
        // And what the shop holds, as visible values and derived views.
        let derived = { (replica: Replica) in try await replica.pool.read { db in try DerivationTests.derivedState(db) }
        }
        #expect(try await derived(grouped) == derived(shop))
        #expect(try await grouped.bootstrappingFrom() == nil)
    }
}
