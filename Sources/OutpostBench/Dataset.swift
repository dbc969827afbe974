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
                    sku: "SKU-\(Int.random(in: 0..<400, using: &random))-\(index)",
                    quantity: Int64.random(in: 1...3, using: &random),
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
            let order = try await replica.commands.createOrder(
                customerEmail: planned.email, lines: planned.lines, options: options)
            guard planned.pay else { continue }
            let balance = try await replica.queries.order(order.orderID).progress.balanceDueMinor
            try await replica.commands.pay(order: order.orderID, amount: Money.decimalString(balance, digits: 2))
            if planned.shipment > 0 {
                try await replica.commands.pack(
                    order: order.orderID,
                    lines: planned.shipment == 1 ? [LineSpec(sku: planned.lines[0].sku, quantity: 1)] : [])
                try await replica.commands.ship(
                    order: order.orderID, carrier: "DHL", tracking: "JD\(order.orderNumber)")
                if planned.returnAfter && planned.shipment == 2 {
                    try await replica.commands.requestReturn(
                        order: order.orderID, lines: [LineSpec(sku: planned.lines[0].sku, quantity: 1)],
                        reason: .wrongSize, receive: true, restock: true)
                }
            }
            if planned.refund { try await replica.commands.refund(order: order.orderID, amount: "1.00") }
        }
    }
}

/// Complete historical orders for bulk loading at 10k, 100k and 1M: the same mix as `Dataset` (1–6 lines,
/// repeat customers, every channel, payments and failed attempts, partial and full shipments, deliveries,
/// returns, refunds, a few cancellations), each with its whole history, generated in chunks from a seed
/// so 1M orders never sit in memory at once. Loaded through `OrderCommands.importOrders`, which replays every
/// order's history through the transition checks.
struct OrderHistoryGenerator {
    let count: Int
    private var random: SeededRandom
    private var produced = 0
    /// 2026-01-01T00:00:00Z; orders follow one another a few seconds apart.
    private var clock: Int64 = 1_767_225_600_000

    init(count: Int, seed: UInt64) {
        self.count = count
        random = SeededRandom(state: seed)
    }

    /// The next chunk of at most `size` orders, or an empty array at the end.
    mutating func next(_ size: Int) -> [ImportedOrder] {
        let end = min(count, produced + size)
        defer { produced = end }
        return (produced..<end).map { _ in make() }
    }

    private mutating func id(_ at: Int64) -> String { Identifiers.uuidV7(milliseconds: at, using: &random) }

    private mutating func make() -> ImportedOrder {
        clock += Int64.random(in: 500...6_000, using: &random)
        let created = clock
        let email = "customer\(Int.random(in: 0..<max(1, count / 3), using: &random))@example.com"
        let customer = Customer(email: email, createdAt: created)
        var order = Order(
            id: id(created), number: "", customerID: customer.id,
            channel: Channel.allCases[Int.random(in: 0..<Channel.allCases.count, using: &random)], location: "main",
            currency: (try? CurrencyCode("EUR")) ?? .none, shippingMinor: Int64.random(in: 0...2, using: &random) * 295,
            createdAt: created,
            address: "\(Int.random(in: 1...200, using: &random)) High St")
        for position in 0..<Int.random(in: 1...6, using: &random) {
            order.lines.append(
                OrderLine(
                    id: id(created), sku: "SKU-\(Int.random(in: 0..<400, using: &random))-\(position)",
                    name: "Item \(position)",
                    quantity: Int64.random(in: 1...3, using: &random),
                    unitPriceMinor: Int64.random(in: 300...12_099, using: &random),
                    position: Int64(position)))
        }
        let roll = Int.random(in: 0..<100, using: &random)
        let total = order.progress.totalMinor
        var at = created + 60_000
        if roll >= 85 {
            if roll < 88 {
                order.payments.append(
                    Payment(id: id(at), orderID: order.id, kind: .fail, amountMinor: 0, method: .card, at: at))
            }
            if roll >= 97 {
                order.cancelledAt = at + 3_600_000
                order.cancelReason = "customer changed their mind"
            }
            return ImportedOrder(customer: customer, order: order)
        }
        order.payments.append(
            Payment(
                id: id(at), orderID: order.id, kind: .capture, amountMinor: total, method: roll < 30 ? .cash : .card,
                at: at))
        guard roll < 60 else { return ImportedOrder(customer: customer, order: order) }
        at += 3_600_000
        let partial = roll >= 50
        let packed =
            partial
            ? [LineQuantity(lineID: order.lines[0].id, quantity: 1)]
            : order.lines.map { LineQuantity(lineID: $0.id, quantity: $0.quantity) }
        let parcel = id(at)
        let delivered = roll < 20 ? at + 86_400_000 : nil
        order.fulfilments.append(
            Fulfilment(
                id: parcel, orderID: order.id, lines: packed, packedAt: at, shippedAt: at + 600_000,
                deliveredAt: delivered, carrier: "DHL",
                trackingNumber: "JD\(100_000_000 + Int.random(in: 0..<900_000_000, using: &random))",
                shipTo: order.address))
        if roll < 5 {
            let back = at + 5 * 86_400_000
            order.returns.append(
                Return(
                    id: id(back), orderID: order.id, lines: [LineQuantity(lineID: order.lines[0].id, quantity: 1)],
                    reason: .wrongSize,
                    requestedAt: back, receivedAt: back + 172_800_000, restock: true))
            order.refunds.append(
                Refund(
                    id: id(back), orderID: order.id, amountMinor: order.lines[0].unitPriceMinor, at: back + 172_800_000)
            )
        } else if roll < 8 {
            order.refunds.append(
                Refund(id: id(at), orderID: order.id, amountMinor: 100, reason: "goodwill", at: at + 86_400_000))
        }
        return ImportedOrder(customer: customer, order: order)
    }

    /// Loads every order into `replica` in chunks of `chunk` orders (one transaction each).
    static func load(count: Int, seed: UInt64, into replica: Replica, chunk: Int = 2_000) async throws -> ImportSummary
    {
        var generator = OrderHistoryGenerator(count: count, seed: seed)
        var total = ImportSummary()
        while true {
            let orders = generator.next(chunk)
            guard !orders.isEmpty else { return total }
            let summary = try await replica.commands.importOrders(orders)
            total.imported += summary.imported
            total.records += summary.records
            total.customersCreated += summary.customersCreated
        }
    }
}
