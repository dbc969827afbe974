import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// `Replica.importOrders`: complete historical orders, replayed through the transition checks, written in one
/// transaction, idempotent, and — once synced — equal to what another replica holds.
@Suite struct ImportTests {
    /// A shipped order with a partial return and refund, as a shop export would describe it.
    static func shippedOrder(_ number: String, email: String = "ana@example.com", at: Int64 = 1_790_000_000_000)
        -> ImportedOrder
    {
        var random = SystemRandomNumberGenerator()
        func id() -> String { Identifiers.uuidV7(milliseconds: at, using: &random) }
        var order = Order(
            id: id(), number: number, customerID: "", channel: .web, location: "main",
            currency: (try? CurrencyCode("EUR")) ?? .none,
            shippingMinor: 495, createdAt: at, address: "1 High St")
        order.lines = [
            OrderLine(id: id(), sku: "TEE-M", name: "Tee", quantity: 2, unitPriceMinor: 2_000, position: 0),
            OrderLine(id: id(), sku: "MUG", name: "Mug", quantity: 1, unitPriceMinor: 1_250, position: 1),
        ]
        order.payments = [
            Payment(id: id(), orderID: "", kind: .capture, amountMinor: 5_745, method: .card, at: at + 1_000)
        ]
        let parcel = id()
        order.fulfilments = [
            Fulfilment(
                id: parcel, orderID: "", lines: order.lines.map { LineQuantity(lineID: $0.id, quantity: $0.quantity) },
                packedAt: at + 2_000,
                shippedAt: at + 3_000, deliveredAt: at + 90_000_000, carrier: "DHL", trackingNumber: "JD1",
                shipTo: "1 High St")
        ]
        order.returns = [
            Return(
                id: id(), orderID: "", lines: [LineQuantity(lineID: order.lines[0].id, quantity: 1)],
                reason: .wrongSize,
                requestedAt: at + 100_000_000, receivedAt: at + 200_000_000, restock: true)
        ]
        order.refunds = [Refund(id: id(), orderID: "", amountMinor: 2_000, at: at + 200_000_001)]
        return ImportedOrder(customer: Customer(email: email, name: "Ana", createdAt: at), order: order)
    }

    @Test func importedOrdersShowTheirDerivedState() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        var unpaid = Self.shippedOrder("")
        unpaid.order.payments = []
        unpaid.order.fulfilments = []
        unpaid.order.returns = []
        unpaid.order.refunds = []
        let summary = try await replica.commands.importOrders([Self.shippedOrder("SHOP-1001"), unpaid])
        #expect(summary.imported == 2)
        #expect(summary.customersCreated == 1)
        #expect(summary.records == 1 + 7 + 3, "a customer; order, 2 lines and 4 facts; order and 2 lines")

        let shipped = try await replica.queries.order("SHOP-1001")
        // One of three delivered units came back and was refunded: still delivered, partially returned.
        #expect(shipped.progress.status == .delivered)
        #expect(shipped.progress.overlays.contains(.partiallyReturned))
        #expect(shipped.progress.overlays.contains(.partiallyRefunded))
        #expect(shipped.progress.refundedMinor == 2_000)
        #expect(shipped.progress.balanceDueMinor == 0)
        let fresh = try await replica.queries.order(unpaid.order.id)
        #expect(fresh.progress.status == .pendingPayment)
        #expect(
            fresh.order.number.hasPrefix(replica.identity.numberPrefix),
            "an order without a number gets this device's next one")
        // The derived columns written at import equal what a full refresh computes.
        let stored = try await replica.queries.orders(matching: OrderFilter())
        for item in stored {
            let derived = try await replica.queries.order(item.id).progress
            #expect(item.status == derived.status)
            #expect(item.totalMinor == derived.totalMinor)
        }
    }

    @Test func importingTheSameOrdersAgainChangesNothing() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        let orders = [Self.shippedOrder("SHOP-1"), Self.shippedOrder("SHOP-2", email: "bo@example.com")]
        try await replica.commands.importOrders(orders)
        let before = try await replica.contentDigest()
        let again = try await replica.commands.importOrders(orders)
        #expect(again.imported == 0)
        #expect(again.skipped == 2)
        #expect(try await replica.contentDigest() == before)
    }

    /// An impossible history is refused with the order named, and nothing of the batch is written.
    @Test(arguments: ["ship-unpacked", "overpaid", "refund-more", "return-unshipped", "no-lines", "bad-email"])
    func impossibleHistoriesAreRefusedWhole(_ defect: String) async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        var bad = Self.shippedOrder("SHOP-BAD")
        switch defect {
        case "ship-unpacked": bad.order.fulfilments[0].packedAt = nil
        case "overpaid": bad.order.payments[0].amountMinor += 1
        case "refund-more": bad.order.refunds[0].amountMinor = 6_000
        case "return-unshipped":
            bad.order.fulfilments = []
            bad.order.refunds = []
        case "no-lines": bad.order.lines = []
        default: bad.customer.email = "not an email"
        }
        let before = try await replica.rawDump()
        do {
            try await replica.commands.importOrders([Self.shippedOrder("SHOP-GOOD"), bad])
            Issue.record("the import should have been refused (\(defect))")
        } catch let error as DomainError {
            #expect(error.message.contains("import item 2"), "\(error)")
            #expect(error.message.contains("SHOP-BAD"), "\(error)")
        }
        #expect(try await replica.rawDump() == before)
    }

    @Test func importedOrdersSyncLikeAnyOther() async throws {
        let directory = try TemporaryDirectory()
        let a = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        let b = try Replica.create(at: directory.path("b.sqlite"), name: "b")
        try await a.commands.importOrders(
            (0..<40).map {
                Self.shippedOrder("SHOP-\($0)", email: "c\($0 % 7)@example.com", at: 1_790_000_000_000 + Int64($0))
            })
        try await b.replication.pull(from: a, batchSize: 16)
        #expect(try await b.contentDigest() == a.contentDigest())
        let orders = try await b.queries.orders(matching: OrderFilter())
        #expect(orders.count == 40)
        for item in orders { #expect(item.status == (try await a.queries.order(item.id).progress.status)) }
    }
}
