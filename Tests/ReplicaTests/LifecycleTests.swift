import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

@Suite struct LifecycleTests {
    @Test func anOrderGoesFromSaleToDelivery() async throws {
        let directory = try TemporaryDirectory()
        let clock = FakeClock()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "popup-1", now: { clock() })
        try await replica.commands.setStock(sku: "TEE-M", onHand: 5)
        let created = try await replica.commands.createOrder(
            customerEmail: "ana@example.com", lines: [line("TEE-M", 2, "19.90")])
        #expect(created.status == .pendingPayment)
        #expect(created.orderNumber == "\(replica.identity.numberPrefix)-1")
        var level = try await replica.queries.stockLevels(sku: "TEE-M")
        #expect(level.first?.reserved == 2)
        #expect(level.first?.available == 3)

        #expect(try await replica.commands.pay(order: created.orderNumber, amount: "39.80").status == .paid)
        #expect(try await replica.commands.startProcessing(order: created.orderID).status == .processing)
        #expect(
            try await replica.commands.pack(order: created.orderID, lines: [LineSpec(sku: "TEE-M", quantity: 1)]).status
                == .partiallyFulfilled)
        #expect(try await replica.commands.pack(order: created.orderID).status == .fulfilled)
        #expect(
            try await replica.commands.ship(order: created.orderID, carrier: "DHL", tracking: "JD0001").status
                == .shipped)
        level = try await replica.queries.stockLevels(sku: "TEE-M")
        #expect(level.first?.onHand == 3)
        #expect(level.first?.reserved == 0)
        #expect(try await replica.commands.track(order: created.orderID, event: .inTransit).status == .shipped)
        #expect(try await replica.commands.deliver(order: created.orderID).status == .delivered)

        let details = try await replica.queries.order(created.orderNumber)
        #expect(details.progress.capturedMinor == 3980)
        #expect(details.customerEmail == "ana@example.com")
        #expect(details.timeline.map(\.event).contains("shipped"))
        #expect(details.conflicts.isEmpty)
    }
}
