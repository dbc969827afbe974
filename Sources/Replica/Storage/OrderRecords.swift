import GRDB
import OrderDomain

/// Reads orders with their lines and facts from the replica, and keeps the derived columns (status,
/// totals, per-line progress) in step with the replicated state.
enum OrderRecords {
    /// Loads order `id` with every fact recorded against it.
    static func load(_ db: Database, id: String) throws -> Order? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM orders WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        let currency = (try? CurrencyCode(row["currency"] as String? ?? "")) ?? .none
        var order = Order(
            id: row["id"], number: row["number"] ?? "", customerID: row["customer_id"] ?? "",
            channel: Channel(rawValue: row["channel"] ?? "") ?? .manual, location: row["location"] ?? "main",
            currency: currency, shippingMinor: row["shipping_minor"] ?? 0, taxMinor: row["tax_minor"] ?? 0,
            discountMinor: row["discount_minor"] ?? 0, shipBy: row["ship_by"], createdAt: row["created_at"] ?? 0,
            notes: row["notes"], phone: row["phone"], address: row["address"],
            tags: TagSet.members(of: FieldValue(row["tags"] as String?)), cancelledAt: row["cancelled_at"],
            cancelReason: row["cancel_reason"], processingAt: row["processing_at"])
        order.lines = try fetch(db, "order_lines", id) { row in
            OrderLine(
                id: row["id"], sku: row["sku"] ?? "", name: row["name"] ?? "", quantity: row["quantity"] ?? 0,
                unitPriceMinor: row["unit_price_minor"] ?? 0, exchangeID: row["exchange_id"], position: row["position"] ?? 0)
        }
        order.payments = try fetch(db, "payments", id) { row in
            Payment(
                id: row["id"], orderID: id, kind: PaymentKind(rawValue: row["kind"] ?? "") ?? .fail,
                amountMinor: row["amount_minor"] ?? 0, method: PaymentMethod(rawValue: row["method"] ?? "") ?? .other,
                provisional: (row["provisional"] as Int64? ?? 0) != 0, reference: row["reference"], at: row["at"] ?? 0,
                note: row["note"])
        }
        order.fulfilments = try fetch(db, "fulfilments", id) { row in
            Fulfilment(
                id: row["id"], orderID: id, lines: LineQuantity.decode(row["lines"]), packedAt: row["packed_at"],
                shippedAt: row["shipped_at"], deliveredAt: row["delivered_at"], cancelledAt: row["cancelled_at"],
                carrier: row["carrier"], trackingNumber: row["tracking_number"], shipTo: row["ship_to"])
        }
        order.trackingEvents = try fetch(db, "tracking_events", id) { row in
            TrackingEvent(
                id: row["id"], orderID: id, fulfilmentID: row["fulfilment_id"] ?? "",
                kind: TrackingKind(rawValue: row["kind"] ?? "") ?? .inTransit, at: row["at"] ?? 0, note: row["note"])
        }
        order.returns = try fetch(db, "returns", id) { row in
            Return(
                id: row["id"], orderID: id, lines: LineQuantity.decode(row["lines"]),
                reason: ReturnReason(rawValue: row["reason"] ?? "") ?? .other, note: row["note"],
                requestedAt: row["requested_at"] ?? 0, receivedAt: row["received_at"], closedAt: row["closed_at"],
                cancelledAt: row["cancelled_at"], restock: (row["restock"] as Int64? ?? 0) != 0)
        }
        order.refunds = try fetch(db, "refunds", id) { row in
            Refund(
                id: row["id"], orderID: id, amountMinor: row["amount_minor"] ?? 0,
                lines: LineQuantity.decode(row["lines"]), reason: row["reason"], at: row["at"] ?? 0)
        }
        order.exchanges = try fetch(db, "exchanges", id) { row in
            Exchange(
                id: row["id"], orderID: id, returnID: row["return_id"] ?? "",
                outboundLineIDs: (row["lines"] as String? ?? "").split(separator: ",").map(String.init),
                differenceMinor: row["difference_minor"] ?? 0, at: row["at"] ?? 0)
        }
        return order
    }

    private static let factSQL: [String: String] = Dictionary(
        uniqueKeysWithValues: Entity.allCases.filter(\.belongsToOrder).map { ($0.rawValue, "SELECT * FROM \($0.rawValue) WHERE order_id = ? ORDER BY id") })

    private static func fetch<T>(_ db: Database, _ table: String, _ orderID: String, _ make: (Row) -> T) throws -> [T] {
        let statement = try db.cachedStatement(sql: factSQL[table] ?? "SELECT * FROM \(table) WHERE order_id = ? ORDER BY id")
        return try Row.fetchAll(statement, arguments: [orderID]).map(make)
    }

    /// The derived columns of an `orders` row.
    static func orderDerived(_ progress: OrderProgress) -> [(String, DatabaseValue)] {
        [
            ("status", progress.status.rawValue.databaseValue),
            ("overlays", progress.overlays.map(\.rawValue).joined(separator: ",").databaseValue),
            ("total_minor", progress.totalMinor.databaseValue), ("paid_minor", progress.capturedMinor.databaseValue),
            ("refunded_minor", progress.refundedMinor.databaseValue),
            ("balance_due_minor", progress.balanceDueMinor.databaseValue),
            ("refund_due_minor", progress.refundDueMinor.databaseValue),
        ]
    }

    /// The derived columns of an `order_lines` row.
    static func lineDerived(_ line: LineProgress) -> [(String, DatabaseValue)] {
        [
            ("demand", line.demand.databaseValue), ("packed", line.packed.databaseValue),
            ("shipped", line.shipped.databaseValue), ("delivered", line.delivered.databaseValue),
            ("returned", line.returned.databaseValue), ("restocked", line.restocked.databaseValue),
            ("reserved", line.reserved.databaseValue),
        ]
    }

    static let orderRefreshSQL = "UPDATE orders SET \(Schema.derivedColumns(.orders).map { "\($0.0) = ?" }.joined(separator: ", ")) WHERE id = ?"
    static let lineRefreshSQL = "UPDATE order_lines SET \(Schema.derivedColumns(.orderLines).map { "\($0.0) = ?" }.joined(separator: ", ")) WHERE id = ?"

    /// Recomputes and stores the derived columns of order `id` and its lines. Derived columns are not
    /// replicated, so writing them does not move the row in the change order.
    @discardableResult
    static func refresh(_ db: Database, id: String) throws -> OrderProgress? {
        guard let order = try load(db, id: id) else { return nil }
        let progress = order.progress
        let derived = orderDerived(progress)
        try db.cachedStatement(sql: orderRefreshSQL).execute(arguments: arguments(derived, id))
        for line in progress.lines {
            try db.cachedStatement(sql: lineRefreshSQL).execute(arguments: arguments(lineDerived(line), line.lineID))
        }
        return progress
    }

    private static func arguments(_ columns: [(String, DatabaseValue)], _ id: String) -> StatementArguments {
        var list: [(any DatabaseValueConvertible)?] = columns.map(\.1)
        list.append(id)
        return StatementArguments(list)
    }
}

