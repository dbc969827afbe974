import GRDB
import OrderDomain

/// A complete order recorded elsewhere (a shop export, a till being retired, a generated dataset): the
/// customer, the order with its lines, and every fact that already happened to it.
///
/// Ids of the order, its lines and its facts are the caller's (stable across re-imports, so importing the
/// same order twice is a no-op); make them with `Identifiers.uuidV7(milliseconds:using:)`. Facts name lines
/// by those ids. An empty `order.number` gets this device's next order number.
public struct ImportedOrder: Sendable {
    public var customer: Customer
    public var order: Order

    public init(customer: Customer, order: Order) {
        self.customer = customer
        self.order = order
    }
}

/// What `OrderCommands.importOrders(_:)` wrote.
public struct ImportSummary: Hashable, Sendable {
    /// Orders written.
    public var imported = 0
    /// Orders already present (same id), left as they were.
    public var skipped = 0
    /// Customers created because their e-mail address was new.
    public var customersCreated = 0
    /// Records written in all (customers, orders, lines and facts).
    public var records = 0

    public init() {}
}

extension OrderCommands {
    /// Imports complete orders in one transaction with one dot: all of them, or — when any is refused —
    /// none. Chunk large imports (a few thousand orders a call keeps each transaction short).
    ///
    /// Each order's history is replayed through the transition checks in time order (payments before
    /// packing, packing before shipping, shipping before returns …), so an import cannot create a state a
    /// device could not have reached. Stock is not checked: the goods of a historical order have already
    /// been sold; `outpost stock` shows any shortfall it leaves.
    ///
    /// - Throws: `DomainError` naming the refused order and why; `ReplicaError` while bootstrapping.
    @discardableResult
    public func importOrders(_ orders: [ImportedOrder]) async throws -> ImportSummary {
        var checked: [ImportedOrder] = []
        checked.reserveCapacity(orders.count)
        for (index, item) in orders.enumerated() {
            do {
                checked.append(try Self.checkImport(item))
            } catch let error as DomainError {
                throw DomainError(
                    error.code,
                    "import item \(index + 1) (order \(item.order.number.isEmpty ? item.order.id : item.order.number)): \(error.message)",
                    hint: error.hint ?? "fix that order in the source and import again; nothing was written")
            }
        }
        let prefix = identity.numberPrefix
        let valid = checked
        return try await write(bulk: true) { context in
            var summary = ImportSummary()
            var customers: Set<String> = []
            let exists = try context.db.cachedStatement(sql: "SELECT 1 FROM orders WHERE id = ?")
            for item in valid {
                if try Int.fetchOne(exists, arguments: [item.order.id]) != nil {
                    summary.skipped += 1
                    continue
                }
                let customer = item.customer
                if !customers.contains(customer.id) {
                    customers.insert(customer.id)
                    if try !RowStore.exists(context.db, .customers, id: customer.id) {
                        try context.insert(Self.customerValues(customer), id: customer.id)
                        summary.customersCreated += 1
                        summary.records += 1
                    }
                }
                var order = item.order
                if order.number.isEmpty {
                    order.number = OrderNumber(prefix: prefix, sequence: context.nextOrderSequence()).description
                }
                summary.records += try Self.insertImported(context, order)
                summary.imported += 1
            }
            return summary
        }
    }

    /// Writes one checked order: every record with the transaction's dot, derived columns computed in memory.
    private static func insertImported(_ context: WriteContext, _ order: Order) throws -> Int {
        let progress = order.progress
        try context.insert(orderValues(order), id: order.id, derived: OrderRecords.orderDerived(progress))
        for (line, lineProgress) in zip(order.lines, progress.lines) {
            try context.insert(
                lineValues(line, orderID: order.id), id: line.id, derived: OrderRecords.lineDerived(lineProgress))
        }
        try OrderRecords.storeSchedules(context.db, order, try context.dueSchedules())
        for payment in order.payments {
            try context.insert(
                .payments, id: payment.id,
                [
                    "order_id": .text(order.id), "kind": .text(payment.kind.rawValue),
                    "amount_minor": .integer(payment.amountMinor),
                    "method": .text(payment.method.rawValue), "provisional": FieldValue(payment.provisional),
                    "reference": FieldValue(payment.reference), "at": .integer(payment.at),
                    "note": FieldValue(payment.note),
                ])
        }
        for parcel in order.fulfilments {
            try context.insert(
                .fulfilments, id: parcel.id,
                [
                    "order_id": .text(order.id), "lines": .text(LineQuantity.encode(parcel.lines)),
                    "packed_at": FieldValue(parcel.packedAt),
                    "shipped_at": FieldValue(parcel.shippedAt), "delivered_at": FieldValue(parcel.deliveredAt),
                    "cancelled_at": FieldValue(parcel.cancelledAt), "carrier": FieldValue(parcel.carrier),
                    "tracking_number": FieldValue(parcel.trackingNumber), "ship_to": FieldValue(parcel.shipTo),
                ])
        }
        for event in order.trackingEvents {
            try context.insert(
                .trackingEvents, id: event.id,
                [
                    "order_id": .text(order.id), "fulfilment_id": .text(event.fulfilmentID),
                    "kind": .text(event.kind.rawValue),
                    "at": .integer(event.at), "note": FieldValue(event.note),
                ])
        }
        for item in order.returns {
            try context.insert(
                .returns, id: item.id,
                [
                    "order_id": .text(order.id), "lines": .text(LineQuantity.encode(item.lines)),
                    "reason": .text(item.reason.rawValue),
                    "note": FieldValue(item.note), "requested_at": .integer(item.requestedAt),
                    "received_at": FieldValue(item.receivedAt),
                    "closed_at": FieldValue(item.closedAt), "cancelled_at": FieldValue(item.cancelledAt),
                    "restock": FieldValue(item.restock),
                ])
        }
        for refund in order.refunds {
            try context.insert(
                .refunds, id: refund.id,
                [
                    "order_id": .text(order.id), "amount_minor": .integer(refund.amountMinor),
                    "lines": .text(LineQuantity.encode(refund.lines)),
                    "reason": FieldValue(refund.reason), "at": .integer(refund.at),
                ])
        }
        // Derived columns were written with the rows; nothing is left for the commit-time refresh.
        context.touchedOrders.remove(order.id)
        context.refreshedOrders.insert(order.id)
        return 1 + order.lines.count + order.payments.count + order.fulfilments.count + order.trackingEvents.count
            + order.returns.count
            + order.refunds.count
    }

    /// Validates one imported order and replays its history through the transition checks.
    /// Checks an order as `importOrders` would, without writing: its e-mail, ids, lines and history (replayed
    /// through the transition checks). Returns it with its customer id and fact order ids filled in.
    ///
    /// - Throws: `DomainError` saying what is wrong.
    public static func checkImport(_ item: ImportedOrder) throws -> ImportedOrder {
        var item = item
        try InputRules.checkEmail(item.customer.email)
        let customerID = Identifiers.customerID(email: item.customer.email)
        item.customer.id = customerID
        var order = item.order
        order.customerID = customerID
        guard !order.id.isEmpty else {
            throw DomainError(.invalidInput, "the order has no id", hint: "give every order a stable id (a UUIDv7)")
        }
        guard !order.lines.isEmpty else { throw DomainError(.invalidInput, "an order needs at least one line") }
        guard order.exchanges.isEmpty else {
            throw DomainError(
                .invalidInput, "exchanges cannot be imported",
                hint: "import the original order and its return, then record the exchange")
        }
        var ids: Set<String> = [order.id]
        func checkID(_ id: String, _ what: String) throws {
            guard !id.isEmpty, ids.insert(id).inserted else {
                throw DomainError(.invalidInput, "\(what) has an empty or repeated id '\(id)'")
            }
        }
        for line in order.lines {
            try checkID(line.id, "line \(line.sku)")
            try LineSpec.checkSKU(line.sku)
            guard line.quantity > 0 else {
                throw DomainError(.invalidInput, "line \(line.sku): quantity must be positive")
            }
            guard line.unitPriceMinor >= 0 else {
                throw DomainError(.invalidInput, "line \(line.sku): a price cannot be negative")
            }
            guard line.exchangeID == nil else {
                throw DomainError(.invalidInput, "line \(line.sku) belongs to an exchange, which cannot be imported")
            }
        }
        for id in order.payments.map(\.id) + order.fulfilments.map(\.id) + order.trackingEvents.map(\.id)
            + order.returns.map(\.id)
            + order.refunds.map(\.id)
        {
            try checkID(id, "a record")
        }
        for index in order.payments.indices { order.payments[index].orderID = order.id }
        for index in order.fulfilments.indices { order.fulfilments[index].orderID = order.id }
        for index in order.trackingEvents.indices { order.trackingEvents[index].orderID = order.id }
        for index in order.returns.indices { order.returns[index].orderID = order.id }
        for index in order.refunds.indices { order.refunds[index].orderID = order.id }
        try order.checkHistory()
        item.order = order
        return item
    }
}
