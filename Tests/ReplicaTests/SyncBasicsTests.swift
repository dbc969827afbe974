import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

@Suite struct SyncBasicsTests {
    @Test func aPulledOrderIsIdenticalOnBothReplicas() async throws {
        let pair = try await Pair.make()
        #expect(try await pair.converged())
        let onB = try await pair.b.queries.order(pair.order)
        #expect(onB.progress.status == .paid)
        #expect(onB.progress.totalMinor == 5000)
        #expect(try await pair.b.queries.stockLevels(sku: "TEE-M").first?.available == 8)
    }

    @Test func applyingTheSameStreamTwiceChangesNothing() async throws {
        let pair = try await Pair.make()
        let before = try await pair.b.rawDump()
        let summary = try await pair.b.replication.pull(from: pair.a)
        #expect(summary.fieldsChanged == 0)
        // The cursor row's timestamp is the only thing a no-op sync may touch.
        let after = try await pair.b.rawDump()
        let strip = { (dump: String) in
            dump.split(separator: "\n").filter { !$0.contains("synced_at") }.joined(separator: "\n")
        }
        #expect(strip(before) == strip(after))
    }

    @Test func aConcurrentPhoneEditIsAConflictWithBothValuesKept() async throws {
        let pair = try await Pair.make()
        try await pair.a.commands.edit(order: pair.order, phone: "+44 111")
        try await pair.b.commands.edit(order: pair.order, phone: "+44 222")
        try await pair.sync()
        #expect(try await pair.converged())
        let conflicts = try await pair.a.queries.conflicts(order: pair.order)
        #expect(conflicts.count == 1)
        #expect(conflicts.first?.field == "phone")
        #expect(conflicts.first?.values == [.text("+44 111"), .text("+44 222")])
        // A later local write sees both siblings and settles the conflict everywhere.
        try await pair.b.commands.edit(order: pair.order, phone: "+44 333")
        try await pair.sync()
        #expect(try await pair.a.queries.conflicts(order: pair.order).isEmpty)
        #expect(try await pair.a.queries.order(pair.order).order.phone == "+44 333")
        #expect(try await pair.converged())
    }

    /// A session that brings nothing still tells `status` when it happened (at most a minute late).
    @Test func aSyncThatBringsNothingStillCountsAsASync() async throws {
        let directory = try TemporaryDirectory()
        let clock = FakeClock()
        let laptop = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop", now: { clock() })
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub", now: { clock() })
        _ = try await hub.commands.createOrder(
            customerEmail: "ana@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "5.00")])
        try await laptop.replication.pull(from: hub)
        let first = try #require(try await laptop.status().peers.first { $0.siteID == hub.identity.siteID }).lastSync
        clock.advance(by: 5 * 60_000)
        let summary = try await laptop.replication.pull(from: hub)
        #expect(summary.ordersTouched == 0)
        let second = try #require(try await laptop.status().peers.first { $0.siteID == hub.identity.siteID }).lastSync
        #expect(second >= first + 5 * 60_000, "last sync \(second) is still the first one's \(first)")
    }
}
