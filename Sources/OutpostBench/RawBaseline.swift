import Foundation
import GRDB
import OrderDomain

/// Plain SQLite with the same durability (WAL, synchronous = NORMAL), the same user-facing columns and
/// indexes, and the same transaction sizes as the replica — without any sync metadata.
struct RawBaseline {
    let pool: DatabasePool

    init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT, name TEXT, phone TEXT, address TEXT, created_at INTEGER);
                    CREATE TABLE orders (id TEXT PRIMARY KEY, number TEXT, customer_id TEXT, channel TEXT, location TEXT, currency TEXT,
                        shipping_minor INTEGER, tax_minor INTEGER, discount_minor INTEGER, ship_by INTEGER, created_at INTEGER, notes TEXT,
                        phone TEXT, address TEXT, tags TEXT, cancelled_at INTEGER, cancel_reason TEXT, processing_at INTEGER,
                        status TEXT, overlays TEXT, total_minor INTEGER, paid_minor INTEGER, refunded_minor INTEGER,
                        balance_due_minor INTEGER, refund_due_minor INTEGER);
                    CREATE TABLE order_lines (id TEXT PRIMARY KEY, order_id TEXT, sku TEXT, name TEXT, quantity INTEGER,
                        unit_price_minor INTEGER, exchange_id TEXT, position INTEGER, demand INTEGER, packed INTEGER, shipped INTEGER,
                        delivered INTEGER, returned INTEGER, restocked INTEGER, reserved INTEGER);
                    CREATE INDEX orders_customer ON orders(customer_id);
                    CREATE INDEX orders_number ON orders(number);
                    CREATE INDEX orders_status ON orders(status);
                    CREATE INDEX orders_created ON orders(created_at);
                    CREATE INDEX customers_email ON customers(email);
                    CREATE INDEX order_lines_order ON order_lines(order_id);
                    CREATE INDEX order_lines_sku ON order_lines(sku);
                    """)
        }
    }

    /// One transaction per `perCommit` orders (the replica's basket): for each, the customer when new, the order
    /// row, its lines.
    func write(_ dataset: Dataset, perCommit: Int = 1) throws {
        var random = SeededRandom(state: 7)
        var sequence = 0
        for start in stride(from: 0, to: dataset.orders.count, by: perCommit) {
            try pool.write { db in
                for planned in dataset.orders[start..<min(dataset.orders.count, start + perCommit)] {
                    sequence += 1
                    try insert(planned, sequence: sequence, random: &random, db)
                }
            }
        }
    }

    private func insert(_ planned: Dataset.PlannedOrder, sequence: Int, random: inout SeededRandom, _ db: Database)
        throws
    {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let orderID = Identifiers.uuidV7(milliseconds: now, using: &random)
        let customerID = Identifiers.customerID(email: planned.email)
        if try Int.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM customers WHERE id = ?"), arguments: [customerID]) == nil
        {
            try db.cachedStatement(sql: "INSERT INTO customers VALUES (?, ?, NULL, NULL, NULL, ?)").execute(
                arguments: [customerID, planned.email, now])
        }
        var total: Int64 = 0
        var lines: [(String, LineSpec, Int64)] = []
        for spec in planned.lines {
            let price =
                (try? Money(parsing: spec.unitPrice ?? "0", currency: CurrencyCode.none).minorUnits) ?? 0
            total += price * spec.quantity
            lines.append((Identifiers.uuidV7(milliseconds: now, using: &random), spec, price))
        }
        try db.cachedStatement(
            sql:
                "INSERT INTO orders VALUES (?, ?, ?, ?, 'main', 'EUR', 0, 0, 0, NULL, ?, NULL, NULL, '1 High St', NULL, NULL, NULL, NULL, 'pending_payment', '', ?, 0, 0, ?, 0)"
        ).execute(arguments: [
            orderID, "RAW-\(sequence)", customerID, planned.channel.rawValue, now, total, total,
        ])
        for (position, (id, spec, price)) in lines.enumerated() {
            try db.cachedStatement(
                sql: "INSERT INTO order_lines VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, 0, 0, 0, 0, 0, ?)"
            ).execute(
                arguments: [
                    id, orderID, spec.sku, spec.sku, spec.quantity, price, position, spec.quantity,
                    spec.quantity,
                ])
        }
    }

    /// Inserts `rows` rows of `columns` values in transactions of `batch` rows (the raw cost of applying a
    /// stream of the same shape).
    func insertRows(_ rows: [[DatabaseValue]], batch: Int) throws {
        guard let width = rows.first?.count else { return }
        try pool.write { db in
            try db.execute(
                sql: "CREATE TABLE IF NOT EXISTS applied (\((0..<width).map { "c\($0)" }.joined(separator: ", ")))")
        }
        let marks = Array(repeating: "?", count: width).joined(separator: ", ")
        for start in stride(from: 0, to: rows.count, by: batch) {
            try pool.write { db in
                let statement = try db.cachedStatement(sql: "INSERT INTO applied VALUES (\(marks))")
                for row in rows[start..<min(rows.count, start + batch)] {
                    try statement.execute(arguments: StatementArguments(row))
                }
            }
        }
    }
}
