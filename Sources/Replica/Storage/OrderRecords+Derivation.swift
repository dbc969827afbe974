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
    static func refreshUnderived(_ db: Database, now: Int64, fresh: Bool = false, pageSize: Int = 500) throws -> Int {
        let page = try db.cachedStatement(
            sql: orderSQL + " WHERE +status IS NULL AND id > ? ORDER BY id LIMIT \(pageSize)")
        let facts = try factEntities.map { entity in
            try db.cachedStatement(sql: factSQL(entity) + " WHERE order_id BETWEEN ? AND ? ORDER BY order_id, id")
        }
        let schedules = Schedules(try OrderQueries.settings(db), now: now)
        var after = ""
        var count = 0
        var computing: Background<DerivedPage>?
        while true {
            // Each page is read completely before its rows are updated: no cursor is open across a write.
            let records = try RecordPage.read(page, facts, after: after)
            let next = records.map { records in Background { DerivedPage(records, schedules) } }
            if let computing { try store(computing.value(), db, fresh: fresh) }
            guard let records else { return count }
            count += records.orders.count
            after = records.lastID
            computing = next
        }
    }

    /// Writes what a page of orders derives: the derived columns of its orders and lines (addressed by rowid:
    /// one b-tree descent per update instead of two), and their attention schedules and outboxes.
    private static func store(_ derived: DerivedPage, _ db: Database, fresh: Bool) throws {
        let updateOrder = try db.cachedStatement(sql: refreshSQL(.orders, by: "lseq"))
        let updateLine = try db.cachedStatement(sql: refreshSQL(.orderLines, by: "lseq"))
        let insertAttention = try db.cachedStatement(sql: attentionInsertSQL)
        let insertOutbox = try db.cachedStatement(sql: outboxInsertSQL)
        if !fresh {
            let clearAttention = try db.cachedStatement(sql: attentionClearSQL)
            let clearOutbox = try db.cachedStatement(sql: outboxClearSQL)
            for id in derived.orderIDs {
                try clearAttention.run(binding: [id.databaseValue])
                try clearOutbox.run(binding: [id.databaseValue])
            }
        }
        for row in derived.orders { try updateOrder.run(binding: row) }
        for row in derived.lines { try updateLine.run(binding: row) }
        for row in derived.attention { try insertAttention.run(binding: row) }
        for row in derived.outbox { try insertOutbox.run(binding: row) }
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
