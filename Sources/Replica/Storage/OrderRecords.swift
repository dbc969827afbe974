import GRDB
import GRDBSQLite
import OrderDomain

/// Reads orders with their lines and facts from the replica, and keeps the derived columns (status,
/// totals, per-line progress) in step with the replicated state.
enum OrderRecords {
    /// Loads the order named by id or human number, or throws `.notFound`.
    static func require(_ db: Database, _ reference: String) throws -> Order {
        let id = try String.fetchOne(
            db.cachedStatement(sql: "SELECT id FROM orders WHERE id = ?1 OR number = ?1 LIMIT 1"),
            arguments: [reference])
        guard let id, let order = try OrderRecords.load(db, id: id) else {
            throw DomainError(
                .notFound, "no order '\(reference)'", hint: "use an order id or number from `outpost order list`")
        }
        return order
    }

    /// Loads order `id` with every fact recorded against it.
    static func load(_ db: Database, id: String) throws -> Order? {
        guard
            let row = try FieldRow.fetchAll(
                db.cachedStatement(sql: orderSQL + " WHERE id = ?"), [id.databaseValue], .orders
            ).first
        else { return nil }
        var order = makeOrder(row)
        for entity in factEntities {
            let statement = try db.cachedStatement(sql: factSQL(entity) + " WHERE order_id = ? ORDER BY id")
            for fact in try FieldRow.fetchAll(statement, [id.databaseValue], entity) { add(fact, to: &order) }
        }
        return order
    }

    /// The entities whose records belong to an order, in the order `load` reads them.
    static let factEntities: [Entity] = [
        .orderLines, .payments, .fulfilments, .trackingEvents, .returns, .refunds, .exchanges, .messages,
    ]

    /// `SELECT id, <fields>, lseq FROM orders`; read through `FieldRow`.
    static let orderSQL = selectSQL(.orders)

    /// `SELECT id, <fields>, lseq FROM <entity>` (a fact's `order_id` is its first field); read through `FieldRow`.
    static func factSQL(_ entity: Entity) -> String { selectSQL(entity) }

    private static func selectSQL(_ entity: Entity) -> String {
        "SELECT id, " + entity.fields.map(\.name).joined(separator: ", ") + ", lseq FROM \(entity.rawValue)"
    }

    /// An order from a row selected by `orderSQL`.
    static func makeOrder(_ order: FieldRow) -> Order {
        return Order(
            id: order.id, number: order.text("number") ?? "", customerID: order.text("customer_id") ?? "",
            channel: Channel(rawValue: order.text("channel") ?? "") ?? .manual,
            location: order.text("location") ?? "main",
            currency: CurrencyCode(stored: order.text("currency") ?? ""),
            shippingMinor: order.integer("shipping_minor") ?? 0, taxMinor: order.integer("tax_minor") ?? 0,
            discountMinor: order.integer("discount_minor") ?? 0, shipBy: order.integer("ship_by"),
            createdAt: order.integer("created_at") ?? 0, notes: order.text("notes"), phone: order.text("phone"),
            address: order.text("address"), tags: TagSet.members(of: FieldValue(order.text("tags"))),
            cancelledAt: order.integer("cancelled_at"), cancelReason: order.text("cancel_reason"),
            processingAt: order.integer("processing_at"))
    }

    /// Adds a fact selected by `factSQL(entity)` to `order`.
    static func add(_ fact: FieldRow, to order: inout Order) {
        let id = fact.id
        switch fact.entity {
        case .orderLines:
            order.lines.append(
                OrderLine(
                    id: id, sku: fact.text("sku") ?? "", name: fact.text("name") ?? "",
                    quantity: fact.integer("quantity") ?? 0, unitPriceMinor: fact.integer("unit_price_minor") ?? 0,
                    exchangeID: fact.text("exchange_id"), position: fact.integer("position") ?? 0))
        case .payments:
            order.payments.append(
                Payment(
                    id: id, orderID: order.id, kind: PaymentKind(rawValue: fact.text("kind") ?? "") ?? .fail,
                    amountMinor: fact.integer("amount_minor") ?? 0,
                    method: PaymentMethod(rawValue: fact.text("method") ?? "") ?? .other,
                    provisional: (fact.integer("provisional") ?? 0) != 0, reference: fact.text("reference"),
                    at: fact.integer("at") ?? 0, note: fact.text("note")))
        case .fulfilments:
            order.fulfilments.append(
                Fulfilment(
                    id: id, orderID: order.id, lines: LineQuantity.decode(fact.text("lines")),
                    packedAt: fact.integer("packed_at"), shippedAt: fact.integer("shipped_at"),
                    deliveredAt: fact.integer("delivered_at"), cancelledAt: fact.integer("cancelled_at"),
                    carrier: fact.text("carrier"), trackingNumber: fact.text("tracking_number"),
                    shipTo: fact.text("ship_to")))
        case .trackingEvents:
            order.trackingEvents.append(
                TrackingEvent(
                    id: id, orderID: order.id, fulfilmentID: fact.text("fulfilment_id") ?? "",
                    kind: TrackingKind(rawValue: fact.text("kind") ?? "") ?? .inTransit,
                    at: fact.integer("at") ?? 0, note: fact.text("note")))
        case .returns:
            order.returns.append(
                Return(
                    id: id, orderID: order.id, lines: LineQuantity.decode(fact.text("lines")),
                    reason: ReturnReason(rawValue: fact.text("reason") ?? "") ?? .other,
                    note: fact.text("note"), requestedAt: fact.integer("requested_at") ?? 0,
                    receivedAt: fact.integer("received_at"), closedAt: fact.integer("closed_at"),
                    cancelledAt: fact.integer("cancelled_at"), restock: (fact.integer("restock") ?? 0) != 0))
        case .refunds:
            order.refunds.append(
                Refund(
                    id: id, orderID: order.id, amountMinor: fact.integer("amount_minor") ?? 0,
                    lines: LineQuantity.decode(fact.text("lines")), reason: fact.text("reason"),
                    at: fact.integer("at") ?? 0))
        case .exchanges:
            order.exchanges.append(
                Exchange(
                    id: id, orderID: order.id, returnID: fact.text("return_id") ?? "",
                    outboundLineIDs: (fact.text("lines") ?? "").split(separator: ",").map(String.init),
                    differenceMinor: fact.integer("difference_minor") ?? 0,
                    at: fact.integer("at") ?? 0))
        case .messages:
            guard let kind = MessageKind(rawValue: fact.text("kind") ?? "") else { return }
            order.messages.append(
                MessageDelivery(
                    id: id, orderID: order.id, kind: kind, trigger: fact.text("trigger") ?? "",
                    sentAt: fact.integer("sent_at"), attempts: fact.integer("attempts") ?? 0,
                    lastError: fact.text("last_error"), failedAt: fact.integer("failed_at"),
                    retryAt: fact.integer("retry_at")))
        case .customers, .orders, .stock, .settings, .stockMovements, .stockRights:
            break
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
    static func refresh(_ db: Database, id: String, schedules: Schedules) throws -> OrderProgress? {
        guard let order = try load(db, id: id) else { return nil }
        let progress = order.progress
        let derived = orderDerived(progress)
        try db.cachedStatement(sql: orderRefreshSQL).run(binding: values(derived, id))
        for line in progress.lines {
            try db.cachedStatement(sql: lineRefreshSQL).run(binding: values(lineDerived(line), line.lineID))
        }
        try storeSchedules(db, order, schedules, progress: progress)
        return progress
    }

    /// Stores what is derived from `order`'s facts over time: its attention schedule and its outbox. `fresh`: a
    /// new order, with nothing stored yet.
    static func storeSchedules(
        _ db: Database, _ order: Order, _ schedules: Schedules, fresh: Bool = false, progress: OrderProgress? = nil
    ) throws {
        try storeAttention(db, order, schedules.attention, fresh: fresh, progress: progress)
        try storeOutbox(db, order, schedules, fresh: fresh, progress: progress)
    }

    /// What the shared settings say about when things fall due, read once per transaction, and the writer's
    /// clock.
    struct Schedules {
        let attention: AttentionThresholds
        let reviewDelay: Int64
        let messageExpiry: Int64
        /// The wall clock of the transaction (Unix milliseconds).
        let now: Int64

        init(_ settings: Settings, now: Int64) {
            attention = settings.attention
            reviewDelay = settings.reviewDelay
            messageExpiry = settings.messageExpiry
            self.now = now
        }
    }

    /// Stores the messages `order`'s facts call for (`Order.messageTriggers`) in the outbox, with when each was
    /// sent as the sender recorded it. Recorded messages whose trigger is gone (an order delivered, then
    /// returned, before its review request went out) stay listed while they were sent or tried.
    ///
    /// A message nobody sent or tried whose time is past `messages.expire_hours` is not stored: time only moves on,
    /// so it could never be sent (a hub's years of history would otherwise keep rows no one will use).
    static func storeOutbox(
        _ db: Database, _ order: Order, _ schedules: Schedules, fresh: Bool = false, progress: OrderProgress? = nil
    ) throws {
        if !fresh {
            try db.cachedStatement(sql: outboxClearSQL).execute(arguments: [order.id])
        }
        let insert = try db.cachedStatement(sql: outboxInsertSQL)
        for row in outboxRows(order, schedules, progress: progress) { try insert.run(binding: row) }
    }

    static let outboxClearSQL = "DELETE FROM message_outbox WHERE order_id = ?"
    static let outboxInsertSQL =
        "INSERT INTO message_outbox (id, order_id, kind, trigger, at, due_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)"

    /// The outbox rows `storeOutbox` stores for `order` (the values of `outboxInsertSQL`); no database needed.
    /// `progress`: the order's progress when the caller has computed it.
    static func outboxRows(_ order: Order, _ schedules: Schedules, progress: OrderProgress? = nil) -> [[DatabaseValue]]
    {
        let recorded = Dictionary(order.messages.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var stored: Set<String> = []
        var rows: [[DatabaseValue]] = []
        for trigger in order.messageTriggers(reviewDelay: schedules.reviewDelay, progress: progress) {
            stored.insert(trigger.id)
            if recorded[trigger.id] == nil, trigger.dueAt &+ schedules.messageExpiry < schedules.now { continue }
            rows.append([
                trigger.id.databaseValue, order.id.databaseValue, trigger.kind.rawValue.databaseValue,
                trigger.trigger.databaseValue, trigger.at.databaseValue, trigger.dueAt.databaseValue,
                recorded[trigger.id]?.sentAt.databaseValue ?? .null,
            ])
        }
        for message in order.messages where !stored.contains(message.id) {
            let at = message.sentAt ?? message.failedAt ?? order.createdAt
            rows.append([
                message.id.databaseValue, order.id.databaseValue, message.kind.rawValue.databaseValue,
                message.trigger.databaseValue, at.databaseValue, at.databaseValue, message.sentAt.databaseValue,
            ])
        }
        return rows
    }

    /// Stores `order`'s attention schedule (`Order.attentionSchedule`) for the SQL view `attention`, which lists
    /// the entries due at SQLite's clock. Conflicts and oversold lines are the view's own (they depend on other
    /// records), so the schedule is stored without them.
    static func storeAttention(
        _ db: Database, _ order: Order, _ thresholds: AttentionThresholds, fresh: Bool = false,
        progress: OrderProgress? = nil
    ) throws {
        if !fresh {
            try db.cachedStatement(sql: attentionClearSQL).execute(arguments: [order.id])
        }
        let insert = try db.cachedStatement(sql: attentionInsertSQL)
        for row in attentionRows(order, thresholds, progress: progress) { try insert.run(binding: row) }
    }

    static let attentionClearSQL = "DELETE FROM attention_items WHERE order_id = ?"
    static let attentionInsertSQL =
        "INSERT INTO attention_items (order_id, position, kind, since, due_at, why) VALUES (?, ?, ?, ?, ?, ?)"

    /// The attention rows `storeAttention` stores for `order` (the values of `attentionInsertSQL`); no database
    /// needed.
    static func attentionRows(_ order: Order, _ thresholds: AttentionThresholds, progress: OrderProgress?)
        -> [[DatabaseValue]]
    {
        order.attentionSchedule(thresholds: thresholds, conflicted: false, progress: progress).enumerated().map {
            position, entry in
            [
                order.id.databaseValue, position.databaseValue, entry.item.kind.rawValue.databaseValue,
                entry.item.since.databaseValue, entry.dueAt.databaseValue, entry.item.why.databaseValue,
            ]
        }
    }

    /// Stores the attention schedules and outboxes again after the shared settings changed: for the orders not
    /// at rest, those holding a schedule, and those with a review request not yet sent (its delay is a setting).
    /// An order at rest (delivered, cancelled, refunded or returned, no overlay) has no reason that a threshold
    /// decides, so a hub's history is not read again for a changed setting.
    static func refreshSchedules(_ db: Database, now: Int64) throws {
        let schedules = Schedules(try OrderQueries.settings(db), now: now)
        for id in try String.fetchAll(
            db,
            sql: """
                SELECT id FROM orders
                WHERE status IS NULL OR status NOT IN ('delivered', 'cancelled', 'refunded', 'returned')
                   OR COALESCE(overlays, '') != ''
                UNION SELECT order_id FROM attention_items
                UNION SELECT order_id FROM message_outbox WHERE kind = 'review_request' AND sent_at IS NULL
                """)
        {
            if let order = try load(db, id: id) { try storeSchedules(db, order, schedules) }
        }
    }

    /// The derived columns' values, then the row's key (the layout of `refreshSQL`).
    static func values(_ columns: [(String, DatabaseValue)], _ key: some DatabaseValueConvertible)
        -> [DatabaseValue]
    {
        var list = columns.map { $0.1 }
        list.append(key.databaseValue)
        return list
    }
}

/// A row selected as `id, <the entity's fields in order>, lseq`, read by field name: the positions come from
/// `Entity.fields` once per entity, so no reader depends on where a field sits. Naming a field the entity does
/// not have is a programming error (it traps in debug builds, which every test runs, and reads NULL otherwise).
struct FieldRow {
    /// Column i of the row: `id`, then field i - 1, then `lseq`.
    let values: [FieldValue]
    let entity: Entity

    /// The rows `statement` (selecting `id, <fields>, lseq` of `entity`) returns for `arguments`, read column by
    /// column through SQLite's C API (a page of orders and their facts is read this way for every order a stream
    /// brings: GRDB's row objects cost more than the query).
    static func fetchAll(_ statement: Statement, _ arguments: [DatabaseValue], _ entity: Entity) throws -> [FieldRow] {
        try RawRows.read(statement, arguments, entity).fieldRows()
    }

    var id: String { values.first?.text ?? "" }
    var lseq: Int64 { values.last?.integer ?? 0 }

    func text(_ field: String) -> String? {
        guard let column = column(field) else { return nil }
        return values[column].text
    }
    func integer(_ field: String) -> Int64? {
        guard let column = column(field) else { return nil }
        return values[column].integer
    }

    private func column(_ field: String) -> Int? {
        let column = entity.fieldIndex(field).map { $0 + 1 }
        assert(column != nil, "\(entity.rawValue) has no field \(field)")
        return column
    }
}

/// Rows of `id, <fields>, lseq` as SQLite returned them, copied without making Swift values of them: the one way
/// such rows are read. `FieldRow.fetchAll` makes the values at once; the derivation pass has its writer only copy
/// the bytes and its deriving thread make the values (`fieldRows`).
struct RawRows: Sendable {
    let entity: Entity
    /// Columns per row.
    let width: Int
    /// Per cell: SQLite's type of the value.
    private var types: [CInt] = []
    /// Per cell: the integer (an integer or a real, rounded) or, for text, where its bytes start in `bytes` (the
    /// high 32 bits) and how many there are (the low 32).
    private var cells: [Int64] = []
    private var bytes: [UInt8] = []

    private init(entity: Entity) {
        self.entity = entity
        width = entity.fields.count + 2
    }

    var count: Int { width == 0 ? 0 : types.count / width }

    /// The rows `statement` returns for `arguments`.
    static func read(_ statement: Statement, _ arguments: [DatabaseValue], _ entity: Entity) throws -> RawRows {
        try statement.bind(arguments)
        var rows = RawRows(entity: entity)
        try statement.forEachRow { handle in
            for column in 0..<CInt(rows.width) {
                let type = sqlite3_column_type(handle, column)
                rows.types.append(type)
                switch type {
                case SQLITE_NULL: rows.cells.append(0)
                case SQLITE_INTEGER: rows.cells.append(sqlite3_column_int64(handle, column))
                case SQLITE_FLOAT:
                    rows.cells.append(Int64(exactly: sqlite3_column_double(handle, column).rounded()) ?? 0)
                default:
                    let start = Int64(rows.bytes.count)
                    var length: Int64 = 0
                    if let text = sqlite3_column_text(handle, column) {
                        length = Int64(sqlite3_column_bytes(handle, column))
                        rows.bytes.append(contentsOf: UnsafeBufferPointer(start: text, count: Int(length)))
                    }
                    rows.cells.append(start << 32 | length)
                }
            }
        }
        return rows
    }

    /// The id (column 0) of row `row`, nil past the end.
    func id(ofRow row: Int) -> String? {
        guard row >= 0, row < count else { return nil }
        return value(row * width).text
    }

    /// The rows with their values (as `Statement.fieldValue` reads a column).
    func fieldRows() -> [FieldRow] {
        (0..<count).map { row in
            FieldRow(values: (0..<width).map { value(row * width + $0) }, entity: entity)
        }
    }

    /// The value of cell `cell`, as `Statement.fieldValue` reads it.
    private func value(_ cell: Int) -> FieldValue {
        switch types[cell] {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER, SQLITE_FLOAT: return .integer(cells[cell])
        default:
            let start = Int(cells[cell] >> 32)
            let end = start + Int(cells[cell] & 0xFFFF_FFFF)
            return .text(String(decoding: bytes[start..<end], as: UTF8.self))
        }
    }
}
