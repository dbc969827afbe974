import Dispatch
import GRDB
import OrderDomain
import Synchronization

extension OrderRecords {
    /// Recomputes the derived columns of every order whose `status` is NULL (rows loaded without them) a page
    /// of orders at a time: each page's facts are read with one range scan per fact table (order_id index)
    /// instead of one query per order and table. `fresh`: no order has schedules stored yet (a replica loading
    /// its first stream), so there are none to delete first. Returns how many orders it derived.
    ///
    /// The pass is a pipeline of two threads (Replica.docc, "Deriving a stream's orders"): while the writer
    /// reads a page and stores the one before it, another thread computes what the page between them derives —
    /// its orders, their progress, schedules and outboxes — from the records alone. Every read and write stays on
    /// the writer's connection, in its transaction; the other thread never touches the database.
    /// `batchSize`: rows to a statement when storing (`Batched`; tests choose small ones).
    static func refreshUnderived(
        _ db: Database, now: Int64, fresh: Bool = false, pageSize: Int = 500, batchSize: Int = Batched.size
    ) throws -> Int {
        let page = try db.cachedStatement(
            sql: orderSQL + " WHERE +status IS NULL AND id > ? ORDER BY id LIMIT \(pageSize)")
        let facts = try factEntities.map { entity in
            try db.cachedStatement(sql: factSQL(entity) + " WHERE order_id BETWEEN ? AND ? ORDER BY order_id, id")
        }
        let schedules = Schedules(try OrderQueries.settings(db), now: now)
        let statements = Batched.Statements(size: batchSize)
        var after = ""
        var count = 0
        var computing: Background<DerivedPage>?
        while true {
            // Each page is read completely before its rows are updated: no cursor is open across a write.
            let records = try RecordPage.read(page, facts, after: after)
            let next = records.map { records in Background { DerivedPage(records, schedules) } }
            if let computing { try store(computing.value(), statements, db, fresh: fresh) }
            guard let records else { return count }
            count += records.orders.count
            after = records.lastID
            computing = next
        }
    }

    /// Writes what a page of orders derives: the derived columns of its orders and lines (addressed by rowid:
    /// one b-tree descent per update instead of two), and their attention schedules and outboxes, each a batch
    /// of rows to a statement (`Batched`).
    private static func store(_ derived: DerivedPage, _ statements: Batched.Statements, _ db: Database, fresh: Bool)
        throws
    {
        if !fresh {
            let clearAttention = try db.cachedStatement(sql: attentionClearSQL)
            let clearOutbox = try db.cachedStatement(sql: outboxClearSQL)
            for id in derived.orderIDs {
                try clearAttention.run(binding: [id.databaseValue])
                try clearOutbox.run(binding: [id.databaseValue])
            }
        }
        try statements.orders.run(derived.orders, db)
        try statements.lines.run(derived.lines, db)
        try statements.attention.run(derived.attention, db)
        try statements.outbox.run(derived.outbox, db)
    }

    /// One of the pass's statements, and the same for `size` rows at once: SQLite starts, binds and resets a
    /// statement once per run, and for rows this small that is a good part of the work (a stream of 100,000
    /// orders stores about 560,000 rows in this pass). Rows past the last whole batch go one at a time.
    struct Batched {
        static let size = 100

        /// The pass's four: derived columns of orders and of lines, attention schedules, outboxes.
        struct Statements {
            let orders: Batched
            let lines: Batched
            let attention: Batched
            let outbox: Batched

            init(size: Int) {
                orders = Batched(update: .orders, size: size)
                lines = Batched(update: .orderLines, size: size)
                attention = Batched(insert: attentionInsertSQL, size: size)
                outbox = Batched(insert: outboxInsertSQL, size: size)
            }
        }

        /// Rows to a statement, the statement for one row, and the one for `size` rows.
        let size: Int
        let one: String
        let many: String

        /// `refreshSQL(entity, by: "lseq")`, and an `UPDATE … FROM (VALUES …)` setting the same columns of
        /// `size` rows, each row's values in the same order (its derived columns, then its `lseq`).
        init(update entity: Entity, size: Int) {
            let columns = Schema.derivedColumns(entity).map(\.0)
            let row = "(" + Array(repeating: "?", count: columns.count + 1).joined(separator: ", ") + ")"
            let assignments = columns.enumerated().map { "\($1) = v.column\($0 + 1)" }.joined(separator: ", ")
            self.size = size
            one = refreshSQL(entity, by: "lseq")
            many =
                "UPDATE \(entity.rawValue) SET \(assignments) FROM (VALUES "
                + Array(repeating: row, count: size).joined(separator: ", ")
                + ") AS v WHERE \(entity.rawValue).lseq = v.column\(columns.count + 1)"
        }

        /// `insert` (`INSERT INTO … VALUES (?, …)`, one row), and the same with `size` rows of values.
        init(insert: String, size: Int) {
            self.size = size
            one = insert
            many = RowStore.insertingRows(insert, size)
        }

        /// Runs the statement for each of `rows` (one row's values each), `size` rows to a statement.
        func run(_ rows: [[DatabaseValue]], _ db: Database) throws {
            var start = 0
            if size > 1 && rows.count >= size {
                let statement = try db.cachedStatement(sql: many)
                var values: [DatabaseValue] = []
                values.reserveCapacity(size * rows[0].count)
                while rows.count - start >= size {
                    values.removeAll(keepingCapacity: true)
                    for row in rows[start..<start + size] { values.append(contentsOf: row) }
                    try statement.run(binding: values)
                    start += size
                }
            }
            guard start < rows.count else { return }
            let statement = try db.cachedStatement(sql: one)
            for row in rows[start...] { try statement.run(binding: row) }
        }
    }
}

/// A page of orders as stored, with every fact recorded against them: what deriving the page needs, read by the
/// writer and handed to the deriving thread as the columns' bytes (`RawRows`), which that thread makes into values.
private struct RecordPage: Sendable {
    let orders: RawRows
    /// The facts of the page's orders, per entity of `OrderRecords.factEntities`, ordered by order then id.
    let facts: [RawRows]
    /// The last order's id: where the next page starts.
    let lastID: String

    /// The page of underived orders after id `after` (`page` selects it) and their facts (`facts`, one range
    /// query per fact entity); nil when no order is left.
    static func read(_ page: Statement, _ facts: [Statement], after: String) throws -> RecordPage? {
        let orders = try RawRows.read(page, [after.databaseValue], .orders)
        guard let first = orders.id(ofRow: 0), let last = orders.id(ofRow: orders.count - 1) else { return nil }
        let range = [first.databaseValue, last.databaseValue]
        return RecordPage(
            orders: orders,
            facts: try zip(OrderRecords.factEntities, facts).map { entity, statement in
                try RawRows.read(statement, range, entity)
            },
            lastID: last)
    }
}

/// What a page of orders derives, as the values of the statements that store it: computed without the database.
private struct DerivedPage: Sendable {
    var orderIDs: [String] = []
    /// `OrderRecords.refreshSQL(.orders, by: "lseq")`'s values per order.
    var orders: [[DatabaseValue]] = []
    /// `OrderRecords.refreshSQL(.orderLines, by: "lseq")`'s values per line.
    var lines: [[DatabaseValue]] = []
    var attention: [[DatabaseValue]] = []
    var outbox: [[DatabaseValue]] = []

    init(_ records: RecordPage, _ schedules: OrderRecords.Schedules) {
        let orderRows = records.orders.fieldRows()
        var orders = orderRows.map(OrderRecords.makeOrder)
        var position: [String: Int] = [:]
        position.reserveCapacity(orders.count)
        for (index, order) in orders.enumerated() { position[order.id] = index }
        var lineLseqs: [String: Int64] = [:]
        for raw in records.facts {
            let entity = raw.entity
            let facts = raw.fieldRows()
            if entity == .orderLines { lineLseqs.reserveCapacity(facts.count) }
            for fact in facts {
                guard let owner = fact.text("order_id"), let index = position[owner] else { continue }
                OrderRecords.add(fact, to: &orders[index])
                if entity == .orderLines { lineLseqs[fact.id] = fact.lseq }
            }
        }
        orderIDs.reserveCapacity(orders.count)
        self.orders.reserveCapacity(orders.count)
        for (order, row) in zip(orders, orderRows) {
            let progress = order.progress
            orderIDs.append(order.id)
            self.orders.append(OrderRecords.values(OrderRecords.orderDerived(progress), row.lseq))
            for line in progress.lines {
                guard let lseq = lineLseqs[line.lineID] else { continue }
                lines.append(OrderRecords.values(OrderRecords.lineDerived(line), lseq))
            }
            attention += OrderRecords.attentionRows(order, schedules.attention, progress: progress)
            outbox += OrderRecords.outboxRows(order, schedules, progress: progress)
        }
    }
}

/// A value computed on a thread of its own (Dispatch's global pool, never Swift's cooperative threads) while the
/// caller goes on; `value()` waits for it.
private final class Background<Value: Sendable>: Sendable {
    private let result = Mutex<Value?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            let value = work()
            self.result.withLock { $0 = value }
            self.done.signal()
        }
    }

    /// The value, once computed (waits for it the first time).
    func value() -> Value {
        while true {
            if let value = result.withLock({ $0 }) { return value }
            done.wait()
        }
    }
}
