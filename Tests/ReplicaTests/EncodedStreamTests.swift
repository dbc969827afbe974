import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// A sender streams its records in their wire form, written from the stored columns
/// (`ReplicationLog.withEncodedChanges`): the bytes must be those of the `ChangeBatch` it would build and encode,
/// for every kind of record and request.
@Suite struct EncodedStreamTests {
    /// Every batch of both forms of `sender`'s stream for `request`, and both ends.
    static func bothForms(of sender: Replica, for request: StreamRequest, batchSize: Int = 3) throws -> (
        typed: [EncodedChangeBatch], direct: [EncodedChangeBatch], ends: (StreamEnd, StreamEnd)
    ) {
        var typed: [EncodedChangeBatch] = []
        let typedEnd = try sender.replication.withChanges(for: request, batchSize: batchSize) {
            typed.append(try EncodedChangeBatch($0))
        }
        var direct: [EncodedChangeBatch] = []
        let directEnd = try sender.replication.withEncodedChanges(for: request, batchSize: batchSize) {
            direct.append($0)
        }
        return (typed, direct, (typedEnd, directEnd))
    }

    /// A pair whose order holds concurrent notes (two siblings in the side table), a customer with text beyond
    /// ASCII, nulls, integers, and writes of both sites.
    static func pairWithConflicts() async throws -> Pair {
        let pair = try await Pair.make()
        _ = try await pair.a.commands.edit(order: pair.order, notes: "leave at the door")
        _ = try await pair.b.commands.edit(order: pair.order, notes: "ring twice — Zoë")
        _ = try await pair.b.commands.createCustomer(email: "zoe@example.com", name: "Zoë Ångström 📦", phone: nil)
        try await pair.sync()
        return pair
    }

    @Test func aFullStreamIsTheSameBytesEitherWay() async throws {
        let pair = try await Self.pairWithConflicts()
        let conflicts = try await pair.a.queries.conflicts(order: pair.order)
        #expect(!conflicts.isEmpty, "the order's notes hold two siblings: the side-table path is exercised")

        // An empty receiver asks for everything.
        let (typed, direct, ends) = try Self.bothForms(of: pair.a, for: StreamRequest(vector: [:]))
        #expect(typed.count > 2, "several batches, so the site list starts again in each")
        #expect(direct == typed)
        #expect(ends.0 == ends.1)
        #expect(direct.reduce(0) { $0 + $1.rowCount } == typed.reduce(0) { $0 + $1.rowCount })
    }

    @Test func aDeltaAndAResumedStreamAreTheSameBytesEitherWay() async throws {
        let pair = try await Self.pairWithConflicts()
        _ = try await pair.a.commands.edit(order: pair.order, phone: "+44 131 496 0000")

        // b lacks only a's last edit: most records are skipped, the edited order is sent.
        let delta = try await pair.b.replication.streamRequest(from: pair.a.identity.siteID)
        let (typed, direct, ends) = try Self.bothForms(of: pair.a, for: delta)
        #expect(typed.reduce(0) { $0 + $1.rowCount } == 1)
        #expect(direct == typed)
        #expect(ends.0 == ends.1)

        // The same receiver without a cursor (a's records reached it another way): every record is looked at, and
        // those its vector covers are left out.
        var uncursored = delta
        uncursored.cursor = 0
        let filtered = try Self.bothForms(of: pair.a, for: uncursored)
        #expect(filtered.typed.reduce(0) { $0 + $1.rowCount } == 1)
        #expect(filtered.direct == filtered.typed)

        // A stream cut after the first orders record: records before it changed since the cut snapshot are sent
        // again whatever the vector says.
        var resumed = delta
        resumed.resume = StreamRequest.Resume(position: StreamPosition(entity: 1, lseq: 1), snapshotLseq: 2)
        let again = try Self.bothForms(of: pair.a, for: resumed, batchSize: 2)
        #expect(again.typed.reduce(0) { $0 + $1.rowCount } > 1)
        #expect(again.direct == again.typed)
    }

    @Test func aRecordItsVectorDoesNotCoverIsRefusedEitherWay() async throws {
        let pair = try await Self.pairWithConflicts()
        // The clock's counter is this replica's own entry in its vector: lowered, its own records are not covered.
        try pair.a.withWriterConnection { db in try db.execute(sql: "UPDATE replica_clock SET counter = 1") }
        var messages: [String] = []
        for direct in [false, true] {
            do {
                if direct {
                    _ = try pair.a.replication.withEncodedChanges(for: StreamRequest(vector: [:])) { _ in }
                } else {
                    _ = try pair.a.replication.withChanges(for: StreamRequest(vector: [:])) { _ in }
                }
                Issue.record("a stream with uncovered dots was sent (direct: \(direct))")
            } catch let error as ReplicaError {
                #expect(error.code == .corrupt)
                messages.append(error.message)
            }
        }
        #expect(messages.count == 2)
        #expect(messages.first == messages.last, "both forms name the same record and dot")
    }
}
