import Foundation
import OrderDomain
import Replica

/// A seeded, realistic order dataset: 1–6 lines, repeat customers, a mix of channels, payments, partial and
/// full fulfilments, shipments, returns and refunds. Generated, never committed.
struct Dataset {
    struct PlannedOrder {
        var email: String
        var lines: [LineSpec]
        var channel: Channel
        var pay: Bool
        var shipment: Int  // 0 none, 1 partial, 2 full
        var returnAfter: Bool
        var refund: Bool
    }

    let orders: [PlannedOrder]

    init(count: Int, seed: UInt64 = 42) {
        var random = SeededRandom(state: seed)
        let customers = max(1, count / 3)
        orders = (0..<count).map { _ in
            let lineCount = Int.random(in: 1...6, using: &random)
            let lines = (0..<lineCount).map { index in
                LineSpec(
                    sku: "SKU-\(Int.random(in: 0..<400, using: &random))-\(index)", quantity: Int64.random(in: 1...3, using: &random),
                    unitPrice: "\(Int.random(in: 3...120, using: &random)).\(Int.random(in: 10...99, using: &random))")
            }
            let roll = Int.random(in: 0..<100, using: &random)
            return PlannedOrder(
                email: "customer\(Int.random(in: 0..<customers, using: &random))@example.com", lines: lines,
                channel: Channel.allCases[Int.random(in: 0..<Channel.allCases.count, using: &random)], pay: roll < 85,
                shipment: roll < 50 ? 2 : (roll < 60 ? 1 : 0), returnAfter: roll < 5, refund: roll >= 5 && roll < 8)
        }
    }

    /// Writes the whole dataset into `replica` through its commands (each one transaction).
    func load(into replica: Replica) async throws {
        for planned in orders {
            var options = NewOrderOptions()
            options.channel = planned.channel
            options.address = "1 High St"
            let order = try await replica.createOrder(customerEmail: planned.email, lines: planned.lines, options: options)
            guard planned.pay else { continue }
            let balance = try await replica.order(order.orderID).progress.balanceDueMinor
            try await replica.pay(order: order.orderID, amount: Money.decimalString(balance, digits: 2))
            if planned.shipment > 0 {
                try await replica.pack(order: order.orderID, lines: planned.shipment == 1 ? [LineSpec(sku: planned.lines[0].sku, quantity: 1)] : [])
                try await replica.ship(order: order.orderID, carrier: "DHL", tracking: "JD\(order.orderNumber)")
                if planned.returnAfter && planned.shipment == 2 {
                    try await replica.requestReturn(order: order.orderID, lines: [LineSpec(sku: planned.lines[0].sku, quantity: 1)], reason: .wrongSize, receive: true, restock: true)
                }
            }
            if planned.refund { try await replica.refund(order: order.orderID, amount: "1.00") }
        }
    }
}
