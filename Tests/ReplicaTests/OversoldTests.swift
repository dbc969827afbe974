import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// Two offline laptops and the last unit: the one without selling rights refuses the sale; sold anyway as a
/// backorder, after syncing stock says so and every replica lists the same order — the backorder — as oversold;
/// never a silent negative.
@Suite struct OversoldTests {
    @Test func twoOfflineSalesOfTheLastUnitFlagTheLaterOne() async throws {
        let directory = try TemporaryDirectory()
        let clock = FakeClock()
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub", now: { clock() })
        let one = try Replica.create(at: directory.path("one.sqlite"), name: "popup-1", now: { clock() })
        let two = try Replica.create(at: directory.path("two.sqlite"), name: "popup-2", now: { clock() })
        try await hub.commands.setStock(sku: "TEE-M", onHand: 1)
        try await hub.commands.allot(sku: "TEE-M", units: 1, to: one.identity.siteID)
        try await one.replication.pull(from: hub)
        try await two.replication.pull(from: hub)
        let first = try await one.commands.createOrder(
            customerEmail: "ana@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "20.00")])
        clock.advance(by: 60_000)
        // The other laptop holds no rights to the unit: refused, unless sold as a backorder.
        await #expect(throws: DomainError.self) {
            try await two.commands.createOrder(
                customerEmail: "bo@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "20.00")])
        }
        var backorder = NewOrderOptions()
        backorder.backorder = true
        let second = try await two.commands.createOrder(
            customerEmail: "bo@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "20.00")],
            options: backorder)
        #expect(try await two.queries.order(second.orderID).order.tags.contains("backorder"))
        for replica in [one, two] { try await hub.replication.pull(from: replica) }
        for replica in [one, two] { try await replica.replication.pull(from: hub) }

        for replica in [hub, one, two] {
            let level = try #require(try await replica.queries.stockLevels(sku: "TEE-M").first)
            #expect(level.available == -1 && level.oversold == 1)
            let flagged = try await replica.queries.attention().filter { $0.item.kind == .oversold }
            #expect(flagged.map(\.orderNumber) == [second.orderNumber], "\(replica.identity.name)")
            #expect(flagged.first?.item.why.contains("1 unit(s) of TEE-M") == true)
        }
        #expect(first.orderNumber != second.orderNumber)

        // Goods found: the shortfall and the flag go away.
        try await hub.commands.addStock(sku: "TEE-M", quantity: 1)
        #expect(try await hub.queries.attention().filter { $0.item.kind == .oversold }.isEmpty)
        #expect(try await hub.queries.stockLevels(sku: "TEE-M").first?.oversold == 0)
    }
}
