import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// "Every dot is covered" (Replica.docc): a replica holds, and sends, only dots its vector covers. Seed 5216 of
/// the convergence simulation broke it; these tests replay that sequence step by step.
@Suite struct CoverageTests {
    /// Three replicas on one fake clock: `a` has an order (one line of quantity 1), `b` and `c` are empty.
    struct Trio {
        let directory: TemporaryDirectory
        let a: Replica
        let b: Replica
        let c: Replica
        let order: String

        init() async throws {
            directory = try TemporaryDirectory()
            let clock = FakeClock()
            a = try Replica.create(at: directory.path("a.sqlite"), name: "a", now: { clock() })
            b = try Replica.create(at: directory.path("b.sqlite"), name: "b", now: { clock() })
            c = try Replica.create(at: directory.path("c.sqlite"), name: "c", now: { clock() })
            order = try await a.commands.createOrder(
                customerEmail: "ana@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")]
            ).orderID
        }
    }

    /// Every batch of `sender`'s stream for `receiver`, and its end.
    static func stream(from sender: Replica, to receiver: Replica, batchSize: Int = 2) async throws -> (
        [ChangeBatch], StreamEnd
    ) {
        let request = try await receiver.replication.streamRequest(from: sender.identity.siteID)
        var batches: [ChangeBatch] = []
        let end = try sender.replication.withChanges(for: request, batchSize: batchSize) { batches.append($0) }
        return (batches, end)
    }

    static func deliver(
        _ stream: ([ChangeBatch], StreamEnd), from sender: Replica, to receiver: Replica, complete: Bool = true
    ) async throws {
        for batch in stream.0 { try await receiver.replication.stage(batch, from: sender.identity.siteID) }
        if complete { try await receiver.replication.completeStream(from: sender.identity.siteID, end: stream.1) }
    }

    @Test func aReplicaLoadingItsFirstStreamServesNoStream() async throws {
        let trio = try await Trio()
        // a → b, cut before END: b was empty, so the records went straight into its tables and b is
        // bootstrapping, its vector not yet covering a's dots.
        let first = try await Self.stream(from: trio.a, to: trio.b)
        try await Self.deliver(first, from: trio.a, to: trio.b, complete: false)
        #expect(try await trio.b.bootstrappingFrom() == trio.a.identity.siteID)
        #expect(
            try await !trio.b.replication.uncoveredDots().uncovered.isEmpty,
            "the direct load holds a's dots before a's END")

        // b → c: refused in the store, whatever the session does.
        let error = await #expect(throws: ReplicaError.self) { try await Self.stream(from: trio.b, to: trio.c) }
        #expect(error?.code == .unavailable)
        #expect(try await trio.c.queries.orders().isEmpty)
        #expect(try await trio.c.replication.uncoveredDots().uncovered.isEmpty)

        // Once b's stream completes, b serves, and what c receives is covered by what c's vector learns.
        try await Self.deliver(try await Self.stream(from: trio.a, to: trio.b), from: trio.a, to: trio.b)
        #expect(try await trio.b.replication.uncoveredDots().uncovered.isEmpty)
        try await Self.deliver(try await Self.stream(from: trio.b, to: trio.c), from: trio.b, to: trio.c)
        #expect(try await trio.c.replication.uncoveredDots().uncovered.isEmpty)
        #expect(try await trio.c.queries.orders().count == 1)
    }

    /// The rest of the seed's story, now that c can only learn a's write with a's vector entry: c and a then
    /// change the line's quantity concurrently, and after syncing every replica keeps both writes.
    @Test func concurrentQuantityEditsAfterARelayedBootstrapBothSurvive() async throws {
        let trio = try await Trio()
        try await Self.deliver(
            try await Self.stream(from: trio.a, to: trio.b), from: trio.a, to: trio.b, complete: false)
        let refused = await #expect(throws: ReplicaError.self) { try await Self.stream(from: trio.b, to: trio.c) }
        #expect(refused?.code == .unavailable)
        try await Self.deliver(try await Self.stream(from: trio.a, to: trio.b), from: trio.a, to: trio.b)
        try await Self.deliver(try await Self.stream(from: trio.b, to: trio.c), from: trio.b, to: trio.c)
        try await trio.c.commands.edit(order: trio.order, quantities: [LineSpec(sku: "MUG", quantity: 2)])
        try await trio.c.commands.edit(order: trio.order, quantities: [LineSpec(sku: "MUG", quantity: 3)])
        try await trio.a.commands.edit(order: trio.order, quantities: [LineSpec(sku: "MUG", quantity: 5)])
        let all = [trio.a, trio.b, trio.c]
        for _ in 0..<2 {
            for receiver in all {
                for sender in all where sender !== receiver {
                    try await Self.deliver(
                        try await Self.stream(from: sender, to: receiver), from: sender, to: receiver)
                    #expect(try await receiver.replication.uncoveredDots().uncovered.isEmpty)
                }
            }
        }
        for replica in all {
            let conflicts = try await replica.queries.conflicts(order: trio.order)
            #expect(conflicts.map(\.field) == ["quantity"], "\(replica.identity.name)")
            #expect(conflicts.first?.values == [.integer(3), .integer(5)], "\(replica.identity.name)")
        }
        #expect(try await trio.a.contentDump() == trio.c.contentDump())
    }

    /// A stream whose END vector does not cover its records' dots (a buggy or hostile peer) is refused at the
    /// merge, staged or loaded directly, and changes nothing; the honest END then merges it.
    @Test(arguments: [false, true])
    func anEndThatDoesNotCoverTheStreamIsRefused(receiverIsEmpty: Bool) async throws {
        let trio = try await Trio()
        if !receiverIsEmpty {
            _ = try await trio.b.commands.createOrder(
                customerEmail: "bo@example.com", lines: [LineSpec(sku: "CAP", quantity: 1, unitPrice: "5.00")])
        }
        let (batches, end) = try await Self.stream(from: trio.a, to: trio.b)
        for batch in batches { try await trio.b.replication.stage(batch, from: trio.a.identity.siteID) }
        let before = try await trio.b.rawDump()
        var forged = end
        forged.vector[trio.a.identity.siteID] = 0
        let error = await #expect(throws: ReplicaError.self) {
            try await trio.b.replication.completeStream(from: trio.a.identity.siteID, end: forged)
        }
        #expect(error?.code == .protocolViolation)
        #expect(error?.message.contains("does not cover") == true)
        #expect(try await trio.b.rawDump() == before, "a refused END leaves every table as it was")

        try await trio.b.replication.completeStream(from: trio.a.identity.siteID, end: end)
        #expect(try await trio.b.queries.order(trio.order).order.lines.count == 1)
        #expect(try await trio.b.replication.uncoveredDots().uncovered.isEmpty)
    }
}
