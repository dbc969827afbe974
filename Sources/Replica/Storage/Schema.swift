import GRDB
import OrderDomain

/// The replica's SQLite schema. Tables are plain and readable: one per record kind, named columns, ids as
/// text. Sync metadata is the `dots` BLOB in each row, the `siblings` side table, and a few small tables.
/// See README.md, "The replica file", for the tour.
enum Schema {
    /// The replicated schema's version (`Entity.schemaVersion`), stored in `replica_info.schema_version`.
    static let version = Entity.schemaVersion

    /// Derived, non-replicated columns each replica computes from replicated state (so they converge).
    static func derivedColumns(_ entity: Entity) -> [(String, String)] {
        switch entity {
        case .orders:
            [
                ("status", "TEXT"), ("overlays", "TEXT"), ("total_minor", "INTEGER"), ("paid_minor", "INTEGER"),
                ("refunded_minor", "INTEGER"), ("balance_due_minor", "INTEGER"), ("refund_due_minor", "INTEGER"),
            ]
        case .orderLines:
            [
                ("demand", "INTEGER"), ("packed", "INTEGER"), ("shipped", "INTEGER"), ("delivered", "INTEGER"),
                ("returned", "INTEGER"), ("restocked", "INTEGER"), ("reserved", "INTEGER"),
            ]
        default: []
        }
    }

    /// Indexes that only serve reads (the unique `id` indexes are not among them): `(name, definition)`.
    static let secondaryIndexes: [(name: String, definition: String)] =
        Entity.allCases.filter(\.belongsToOrder).map { ("\($0.rawValue)_order", "\($0.rawValue)(order_id)") } + [
            ("orders_customer", "orders(customer_id)"), ("orders_number", "orders(number)"),
            ("orders_status", "orders(status)"),
            ("orders_created", "orders(created_at)"), ("customers_email", "customers(email)"),
            ("order_lines_sku", "order_lines(sku)"),
            ("stock_sku", "stock(sku, location)"),
        ]

    /// Creates the secondary indexes that are missing (`only` limits it to those whose names pass).
    static func createSecondaryIndexes(_ db: Database, only: (String) -> Bool = { _ in true }) throws {
        for (name, definition) in secondaryIndexes where only(name) {
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \(name) ON \(definition)")
        }
    }

    /// Drops the secondary indexes while a stream bootstrap loads an empty replica: building an index once
    /// over the loaded rows costs far less than updating it for every row. `complete` rebuilds them.
    static func dropSecondaryIndexes(_ db: Database) throws {
        for (name, _) in secondaryIndexes { try db.execute(sql: "DROP INDEX IF EXISTS \(name)") }
    }
}
