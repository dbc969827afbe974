import GRDB
import OrderDomain

/// Reads orders with their lines and facts from the replica, and keeps the derived columns (status,
/// totals, per-line progress) in step with the replicated state.
enum OrderRecords {
    /// Loads order `id` with every fact recorded against it.
    static func load(_ db: Database, id: String) throws -> Order? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: orderSQL + " WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        var order = makeOrder(row)
        for entity in factEntities {
            let statement = try db.cachedStatement(sql: factSQL(entity) + " WHERE order_id = ? ORDER BY id")
            let rows = try Row.fetchCursor(statement, arguments: [id])
            while let fact = try rows.next() { add(entity, fact, to: &order) }
        }
        return order
    }

    /// The entities whose records belong to an order, in the order `load` reads them.
    static let factEntities: [Entity] = [
        .orderLines, .payments, .fulfilments, .trackingEvents, .returns, .refunds, .exchanges,
    ]

    /// Columns are read by position (a name lookup per column costs more than the rest of the read).
    /// The row's `lseq` comes last (index `fields.count + 1`): updates address rows by it.
    static let orderSQL =
        "SELECT id, " + Entity.orders.fields.map(\.name).joined(separator: ", ") + ", lseq FROM orders"

    /// `SELECT id, order_id, <fields>, lseq FROM <entity>`: the fact's fields start at index 1 (order_id is field 0).
    static func factSQL(_ entity: Entity) -> String {
        "SELECT id, " + entity.fields.map(\.name).joined(separator: ", ") + ", lseq FROM \(entity.rawValue)"
    }

    /// An order from a row selected by `orderSQL` (field i of `Entity.orders` at index i + 1).
    static func makeOrder(_ row: Row) -> Order {
        let currency = (try? CurrencyCode(row[5] as String? ?? "")) ?? .none
        return Order(
            id: row[0], number: row[1] ?? "", customerID: row[2] ?? "",
            channel: Channel(rawValue: row[3] ?? "") ?? .manual,
            location: row[4] ?? "main", currency: currency, shippingMinor: row[6] ?? 0, taxMinor: row[7] ?? 0,
            discountMinor: row[8] ?? 0, shipBy: row[9], createdAt: row[10] ?? 0, notes: row[11], phone: row[12],
            address: row[13],
            tags: TagSet.members(of: FieldValue(row[14] as String?)), cancelledAt: row[15], cancelReason: row[16],
            processingAt: row[17])
    }

    /// Adds a fact selected by `factSQL(entity)` to `order` (row index = field index + 1).
    static func add(_ entity: Entity, _ row: Row, to order: inout Order) {
        let id: String = row[0]
        switch entity {
        case .orderLines:
            order.lines.append(
                OrderLine(
                    id: id, sku: row[2] ?? "", name: row[3] ?? "", quantity: row[4] ?? 0, unitPriceMinor: row[5] ?? 0,
                    exchangeID: row[6], position: row[7] ?? 0))
        case .payments:
            order.payments.append(
                Payment(
                    id: id, orderID: order.id, kind: PaymentKind(rawValue: row[2] ?? "") ?? .fail,
                    amountMinor: row[3] ?? 0,
                    method: PaymentMethod(rawValue: row[4] ?? "") ?? .other, provisional: (row[5] as Int64? ?? 0) != 0,
                    reference: row[6], at: row[7] ?? 0, note: row[8]))
        case .fulfilments:
            order.fulfilments.append(
                Fulfilment(
                    id: id, orderID: order.id, lines: LineQuantity.decode(row[2]), packedAt: row[3], shippedAt: row[4],
                    deliveredAt: row[5], cancelledAt: row[6], carrier: row[7], trackingNumber: row[8], shipTo: row[9]))
        case .trackingEvents:
            order.trackingEvents.append(
                TrackingEvent(
                    id: id, orderID: order.id, fulfilmentID: row[2] ?? "",
                    kind: TrackingKind(rawValue: row[3] ?? "") ?? .inTransit,
                    at: row[4] ?? 0, note: row[5]))
        case .returns:
            order.returns.append(
                Return(
                    id: id, orderID: order.id, lines: LineQuantity.decode(row[2]),
                    reason: ReturnReason(rawValue: row[3] ?? "") ?? .other,
                    note: row[4], requestedAt: row[5] ?? 0, receivedAt: row[6], closedAt: row[7], cancelledAt: row[8],
                    restock: (row[9] as Int64? ?? 0) != 0))
        case .refunds:
            order.refunds.append(
                Refund(
                    id: id, orderID: order.id, amountMinor: row[2] ?? 0, lines: LineQuantity.decode(row[3]),
                    reason: row[4], at: row[5] ?? 0))
        case .exchanges:
            order.exchanges.append(
                Exchange(
                    id: id, orderID: order.id, returnID: row[2] ?? "",
                    outboundLineIDs: (row[3] as String? ?? "").split(separator: ",").map(String.init),
                    differenceMinor: row[4] ?? 0,
                    at: row[5] ?? 0))
        case .customers, .orders, .stock:
            break
        }
    }

    /// Recomputes the derived columns of every order whose `status` is NULL (rows loaded without them) a page
    /// of orders at a time: each page's facts are read with one range scan per fact table (order_id index)
    /// instead of one query per order and table. Returns how many orders it derived.
    static func refreshUnderived(_ db: Database, pageSize: Int = 2_000) throws -> Int {
        let page = try db.cachedStatement(
            sql: orderSQL + " WHERE +status IS NULL AND id > ? ORDER BY id LIMIT \(pageSize)")
        // By rowid: one b-tree descent per update instead of two (the id index, then the table).
        let updateOrder = try db.cachedStatement(sql: refreshSQL(.orders, by: "lseq"))
        let updateLine = try db.cachedStatement(sql: refreshSQL(.orderLines, by: "lseq"))
        let orderLseq = Entity.orders.fields.count + 1
        var after = ""
        var count = 0
        while true {
            // Each page is read completely before its rows are updated: no cursor is open across a write.
            let rows = try Row.fetchAll(page, arguments: [after])
            var orders = rows.map(makeOrder)
            guard let first = orders.first?.id, let last = orders.last?.id else { return count }
            var position: [String: Int] = [:]
            for (index, order) in orders.enumerated() { position[order.id] = index }
            var lineLseqs: [String: Int64] = [:]
            for entity in factEntities {
                let statement = try db.cachedStatement(
                    sql: factSQL(entity) + " WHERE order_id BETWEEN ? AND ? ORDER BY order_id, id")
                let facts = try Row.fetchCursor(statement, arguments: [first, last])
                let factLseq = entity.fields.count + 1
                while let fact = try facts.next() {
                    guard let owner: String = fact[1], let index = position[owner] else { continue }
                    add(entity, fact, to: &orders[index])
                    if entity == .orderLines { lineLseqs[fact[0]] = fact[factLseq] }
                }
            }
            for (order, row) in zip(orders, rows) {
                let progress = order.progress
                try updateOrder.execute(arguments: arguments(orderDerived(progress), row[orderLseq] as Int64))
                for line in progress.lines {
                    guard let lseq = lineLseqs[line.lineID] else { continue }
                    try updateLine.execute(arguments: arguments(lineDerived(line), lseq))
                }
            }
            count += orders.count
            after = last
        }
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

    /// `UPDATE <entity> SET <derived columns> WHERE <key> = ?` (key `id`, or `lseq` to address the row directly).
    static func refreshSQL(_ entity: Entity, by key: String) -> String {
        "UPDATE \(entity.rawValue) SET \(Schema.derivedColumns(entity).map { "\($0.0) = ?" }.joined(separator: ", ")) WHERE \(key) = ?"
    }

    static let orderRefreshSQL = refreshSQL(.orders, by: "id")
    static let lineRefreshSQL = refreshSQL(.orderLines, by: "id")

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

    private static func arguments(_ columns: [(String, DatabaseValue)], _ key: some DatabaseValueConvertible)
        -> StatementArguments
    {
        var list = columns.map(\.1)
        list.append(key.databaseValue)
        return StatementArguments(list)
    }
}
