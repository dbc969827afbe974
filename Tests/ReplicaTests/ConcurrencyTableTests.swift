import Foundation
import OrderDomain
import Testing

@testable import Replica

/// Every row of the concurrency table (README, "Concurrent operations"): two replicas act on the same order
/// without seeing each other, then sync both ways; both must show the table's outcome.
@Suite struct ConcurrencyTableTests {
    private func lines(_ details: OrderDetails) -> [String: LineProgress] {
        Dictionary(uniqueKeysWithValues: details.progress.lines.map { ($0.sku, $0) })
    }

    @Test func cancelAgainstShipOfEverythingKeepsTheShipmentAndFlagsARefund() async throws {
        let pair = try await Pair.make { a, order in try await a.commands.pack(order: order) }
        try await pair.a.commands.ship(order: pair.order, carrier: "DHL", tracking: "T1")
        try await pair.b.commands.cancel(order: pair.order, reason: "customer asked")
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.b.queries.order(pair.order)
        #expect(details.progress.status == .shipped)
        #expect(details.progress.overlays.contains(.refundDue))
        #expect(lines(details)["TEE-M"]?.shipped == 2)
    }

    @Test func cancelAgainstAPartialShipCancelsOnlyTheRest() async throws {
        let pair = try await Pair.make { a, order in
            try await a.commands.pack(order: order, lines: [LineSpec(sku: "TEE-M", quantity: 2)])
        }
        try await pair.a.commands.ship(order: pair.order, carrier: "DHL", tracking: "T1")
        try await pair.b.commands.cancel(order: pair.order)
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.a.queries.order(pair.order)
        #expect(details.progress.status == .shipped)
        #expect(lines(details)["CAP"]?.demand == 0)
        #expect(details.progress.refundDueMinor == 1000)  // the cancelled cap; shipping stands with the shipped tees
        let cap = try await pair.a.queries.stockLevels(sku: "CAP").first
        #expect(cap?.reserved == 0)
        #expect(cap?.onHand == 10)
    }

    @Test func cancelAgainstPackCancelsAndRestocks() async throws {
        let pair = try await Pair.make()
        try await pair.a.commands.pack(order: pair.order)
        try await pair.b.commands.cancel(order: pair.order)
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.a.queries.order(pair.order)
        #expect(details.progress.status == .cancelled)
        #expect(lines(details)["TEE-M"]?.packed == 0)
        let tee = try await pair.b.queries.stockLevels(sku: "TEE-M").first
        #expect(tee?.available == 10)
    }

    @Test func cancelAgainstPaymentKeepsBothAndOwesARefund() async throws {
        let pair = try await Pair.make(paid: false)
        try await pair.a.commands.cancel(order: pair.order)
        try await pair.b.commands.pay(order: pair.order, amount: "50.00", method: .cash)
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.a.queries.order(pair.order)
        #expect(details.progress.status == .cancelled)
        #expect(details.progress.capturedMinor == 5000)
        #expect(details.progress.refundDueMinor == 5000)
        #expect(details.progress.overlays.contains(.refundDue))
    }

    @Test func cancelAgainstCancelKeepsTheEarliestTime() async throws {
        let pair = try await Pair.make()
        let first = try await pair.a.commands.cancel(order: pair.order, reason: "first")
        try await pair.b.commands.cancel(order: pair.order, reason: "second")
        try await pair.sync()
        #expect(try await pair.converged())
        let onA = try await pair.a.queries.order(first.orderID).order
        let onB = try await pair.b.queries.order(first.orderID).order
        #expect(onA.cancelledAt == onB.cancelledAt)
        let conflict = try await pair.a.queries.conflicts(order: pair.order).first { $0.field == "cancelled_at" }
        #expect(conflict?.rule == .earliest)
        #expect(onA.cancelledAt == conflict?.values.compactMap(\.integer).min())
        #expect(try await pair.a.queries.order(pair.order).progress.status == .cancelled)
    }

    @Test func shipAgainstShipOfTheSameParcelCountsItOnce() async throws {
        let pair = try await Pair.make { a, order in try await a.commands.pack(order: order) }
        try await pair.a.commands.ship(order: pair.order, carrier: "DHL", tracking: "T1")
        try await pair.b.commands.ship(order: pair.order, carrier: "UPS", tracking: "T2")
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.a.queries.order(pair.order)
        #expect(lines(details)["TEE-M"]?.shipped == 2)
        #expect(!details.progress.overlays.contains(.overFulfilled))
        #expect(try await pair.a.queries.conflicts(order: pair.order).contains { $0.field == "tracking_number" })
        #expect(try await pair.a.queries.stockLevels(sku: "TEE-M").first?.onHand == 8)
    }

    @Test func shipAgainstShipOfDifferentParcelsIsOverFulfilled() async throws {
        let pair = try await Pair.make()
        try await pair.a.commands.pack(order: pair.order)
        try await pair.a.commands.ship(order: pair.order, carrier: "DHL", tracking: "T1")
        try await pair.b.commands.pack(order: pair.order)
        try await pair.b.commands.ship(order: pair.order, carrier: "UPS", tracking: "T2")
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.b.queries.order(pair.order)
        #expect(lines(details)["TEE-M"]?.shipped == 4)
        #expect(details.progress.overlays.contains(.overFulfilled))
    }

    @Test func editAgainstShipTouchesOnlyTheUnfulfilledQuantity() async throws {
        let pair = try await Pair.make { a, order in
            try await a.commands.pack(order: order, lines: [LineSpec(sku: "TEE-M", quantity: 2)])
        }
        try await pair.a.commands.ship(order: pair.order, carrier: "DHL", tracking: "T1")
        try await pair.b.commands.edit(order: pair.order, quantities: [LineSpec(sku: "TEE-M", quantity: 3)])
        try await pair.sync()
        #expect(try await pair.converged())
        let tee = lines(try await pair.a.queries.order(pair.order))["TEE-M"]
        #expect(tee?.shipped == 2)
        #expect(tee?.demand == 3)
        #expect(tee?.reserved == 1)
    }

    @Test func addressChangeAgainstShipKeepsTheShipmentAndAsksForARedirect() async throws {
        let pair = try await Pair.make { a, order in try await a.commands.pack(order: order) }
        try await pair.a.commands.ship(order: pair.order, carrier: "DHL", tracking: "T1")
        try await pair.b.commands.edit(order: pair.order, address: "9 New Rd, Glasgow")
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.a.queries.order(pair.order)
        #expect(details.progress.status == .shipped)
        #expect(details.progress.overlays.contains(.redirectRequested))
    }

    @Test func refundAgainstRefundAddsUp() async throws {
        let pair = try await Pair.make()
        try await pair.a.commands.refund(order: pair.order, amount: "30.00")
        try await pair.b.commands.refund(order: pair.order, amount: "30.00")
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.a.queries.order(pair.order)
        #expect(details.progress.refundedMinor == 6000)
        #expect(details.progress.overlays.contains(.overRefunded))
        #expect(details.progress.status == .refunded)
    }

    @Test func returnReceivedAgainstReturnCancelledIsReceived() async throws {
        let pair = try await Pair.make { a, order in
            try await a.commands.pack(order: order)
            try await a.commands.ship(order: order, carrier: "DHL", tracking: "T1")
            try await a.commands.deliver(order: order)
        }
        let requested = try await pair.a.commands.requestReturn(
            order: pair.order, lines: [LineSpec(sku: "CAP", quantity: 1)], reason: .damaged)
        try await pair.b.replication.pull(from: pair.a)
        let returnID = try #require(requested.recordID)
        try await pair.a.commands.receiveReturn(order: pair.order, returnID: returnID, restock: true)
        try await pair.b.commands.cancelReturn(order: pair.order, returnID: returnID)
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.b.queries.order(pair.order)
        #expect(lines(details)["CAP"]?.returned == 1)
        #expect(details.progress.overlays.contains(.partiallyReturned))
        #expect(try await pair.b.queries.stockLevels(sku: "CAP").first?.onHand == 10)
    }

    @Test func captureAgainstVoidOfOneAuthorizationKeepsTheCapture() async throws {
        let pair = try await Pair.make(paid: false) { a, order in
            try await a.commands.pay(order: order, amount: "50.00", kind: .authorize)
        }
        try await pair.a.commands.capture(order: pair.order)
        try await pair.b.commands.voidAuthorization(order: pair.order)
        try await pair.sync()
        #expect(try await pair.converged())
        let progress = try await pair.b.queries.order(pair.order).progress
        #expect(progress.capturedMinor == 5000 && progress.authorizedOpenMinor == 0)
        #expect(progress.financialStatus == .paid && progress.status == .paid)
    }

    @Test func confirmAgainstDeclineOfAnOfflinePaymentIsDeclined() async throws {
        let pair = try await Pair.make(paid: false) { a, order in
            try await a.commands.pay(order: order, amount: "50.00", provisional: true)
        }
        try await pair.a.commands.settleProvisional(order: pair.order, accepted: true)
        try await pair.b.commands.settleProvisional(order: pair.order, accepted: false, reason: "bounced")
        try await pair.sync()
        #expect(try await pair.converged())
        let progress = try await pair.a.queries.order(pair.order).progress
        #expect(progress.financialStatus == .unpaid && progress.balanceDueMinor == 5000)
        #expect(progress.overlays.contains(.paymentIssue))
    }

    @Test func captureAgainstCancelOwesTheCaptureBack() async throws {
        let pair = try await Pair.make(paid: false) { a, order in
            try await a.commands.pay(order: order, amount: "50.00", kind: .authorize)
        }
        try await pair.a.commands.capture(order: pair.order)
        try await pair.b.commands.cancel(order: pair.order)
        try await pair.sync()
        #expect(try await pair.converged())
        let progress = try await pair.a.queries.order(pair.order).progress
        #expect(progress.status == .cancelled)
        #expect(progress.refundDueMinor == 5000 && progress.overlays.contains(.refundDue))
    }

    @Test func exchangeAgainstCancelDropsTheUnshippedNewLineAndKeepsTheReturnOpen() async throws {
        let pair = try await Pair.make { a, order in
            try await a.commands.pack(order: order, lines: [LineSpec(sku: "TEE-M", quantity: 2)])
            try await a.commands.ship(order: order, carrier: "DHL", tracking: "T1")
        }
        try await pair.a.commands.exchange(
            order: pair.order, returning: [LineSpec(sku: "TEE-M", quantity: 1)],
            sending: [LineSpec(sku: "CAP", quantity: 1, unitPrice: "15.00")], reason: .wrongSize)
        try await pair.b.commands.cancel(order: pair.order)
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.b.queries.order(pair.order)
        #expect(details.progress.status == .shipped)
        #expect(details.progress.lines.filter { $0.sku == "CAP" }.allSatisfy { $0.demand == 0 })
        #expect(details.progress.overlays.contains(.returnOpen))
        let cap = try await pair.b.queries.stockLevels(sku: "CAP").first
        #expect(cap?.reserved == 0)
    }

    @Test func twoDevicesReceivingTheSameReturnCountItOnce() async throws {
        let pair = try await Pair.make { a, order in
            try await a.commands.pack(order: order)
            try await a.commands.ship(order: order, carrier: "DHL", tracking: "T1")
            try await a.commands.requestReturn(
                order: order, lines: [LineSpec(sku: "TEE-M", quantity: 1)], reason: .damaged)
        }
        let item = try #require(try await pair.a.queries.order(pair.order).order.returns.first)
        try await pair.a.commands.receiveReturn(order: pair.order, returnID: item.id, restock: true)
        try await pair.b.commands.receiveReturn(order: pair.order, returnID: item.shortName, restock: false)
        try await pair.sync()
        #expect(try await pair.converged())
        let details = try await pair.a.queries.order(pair.order)
        #expect(lines(details)["TEE-M"]?.returned == 1)
        #expect(lines(details)["TEE-M"]?.restocked == 1)  // restock: the greater wins (it is back on the shelf)
        let tee = try await pair.b.queries.stockLevels(sku: "TEE-M").first
        #expect(tee?.onHand == 9)  // 10 counted, 2 shipped, 1 back
    }

    @Test func concurrentTagAdditionsAllSurvive() async throws {
        let pair = try await Pair.make()
        try await pair.a.commands.edit(order: pair.order, tags: ["gift"])
        try await pair.b.commands.edit(order: pair.order, tags: ["vip"])
        try await pair.sync()
        #expect(try await pair.converged())
        #expect(try await pair.a.queries.order(pair.order).order.tags == ["gift", "vip"])
    }
}
