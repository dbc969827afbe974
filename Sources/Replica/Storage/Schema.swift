import GRDB
import OrderDomain

/// The replica's SQLite schema. Tables are plain and readable: one per record kind, named columns, ids as
/// text. Sync metadata is the `dots` BLOB in each row, the `siblings` side table, and a few small tables.
/// See README.md, "The replica file", for the tour.
enum Schema {
    /// Bumped when replicated fields change; peers must agree on it to sync.
    static let version = 1

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

    static func sqlType(_ field: String) -> String {
        let integers: Set<String> = ["quantity", "position", "provisional", "restock", "ship_by", "on_hand", "at"]
        if integers.contains(field) || field.hasSuffix("_minor") || field.hasSuffix("_at") { return "INTEGER" }
        return "TEXT"
    }

    /// Indexes that only serve reads (the unique `id` indexes are not among them): `(name, definition)`.
    static let secondaryIndexes: [(name: String, definition: String)] =
        Entity.allCases.filter(\.belongsToOrder).map { ("\($0.rawValue)_order", "\($0.rawValue)(order_id)") } + [
            ("orders_customer", "orders(customer_id)"), ("orders_number", "orders(number)"), ("orders_status", "orders(status)"),
            ("orders_created", "orders(created_at)"), ("customers_email", "customers(email)"), ("order_lines_sku", "order_lines(sku)"),
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

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE replica_info (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        site_id TEXT NOT NULL,
                        site_name TEXT NOT NULL,
                        number_prefix TEXT NOT NULL,
                        schema_version INTEGER NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('ready', 'bootstrapping')),
                        created_at INTEGER NOT NULL,
                        -- While bootstrapping: the site whose snapshot stream is being loaded.
                        bootstrap_peer TEXT
                    );
                    -- Written by every local transaction: one small row, so bookkeeping stays cheap.
                    CREATE TABLE replica_clock (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        counter INTEGER NOT NULL,
                        hlc INTEGER NOT NULL,
                        lseq INTEGER NOT NULL,
                        order_sequence INTEGER NOT NULL
                    );
                    CREATE TABLE sites (
                        ordinal INTEGER PRIMARY KEY,
                        site_id TEXT NOT NULL UNIQUE,
                        name TEXT
                    );
                    -- Remote sites' entries; the local site's entry is replica_clock.counter.
                    CREATE TABLE version_vector (
                        site INTEGER PRIMARY KEY REFERENCES sites(ordinal),
                        counter INTEGER NOT NULL
                    );
                    CREATE TABLE siblings (
                        entity INTEGER NOT NULL,
                        row_id TEXT NOT NULL,
                        field INTEGER NOT NULL,
                        site INTEGER NOT NULL,
                        counter INTEGER NOT NULL,
                        hlc INTEGER NOT NULL,
                        value,
                        PRIMARY KEY (entity, row_id, field, site, counter)
                    ) WITHOUT ROWID;
                    CREATE TABLE conflict_history (
                        id INTEGER PRIMARY KEY,
                        entity TEXT NOT NULL,
                        row_id TEXT NOT NULL,
                        order_id TEXT,
                        field TEXT NOT NULL,
                        "values" TEXT NOT NULL,
                        winner TEXT NOT NULL,
                        rule TEXT NOT NULL,
                        sites TEXT NOT NULL,
                        detected_at INTEGER NOT NULL,
                        resolved_at INTEGER
                    );
                    CREATE INDEX conflict_history_order ON conflict_history(order_id);
                    CREATE TABLE staged_streams (
                        peer_site TEXT PRIMARY KEY,
                        snapshot_lseq INTEGER NOT NULL,
                        position_entity INTEGER NOT NULL,
                        position_lseq INTEGER NOT NULL,
                        rows INTEGER NOT NULL,
                        started_at INTEGER NOT NULL
                    );
                    CREATE TABLE staged_rows (
                        peer_site TEXT NOT NULL,
                        entity INTEGER NOT NULL,
                        row_id TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        PRIMARY KEY (peer_site, entity, row_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE sync_cursors (
                        peer_site TEXT PRIMARY KEY,
                        lseq INTEGER NOT NULL,
                        synced_at INTEGER NOT NULL
                    );
                    -- Per peer: this replica's lseq up to which the peer merged a complete stream from us.
                    CREATE TABLE delivery_marks (
                        peer_site TEXT PRIMARY KEY,
                        lseq INTEGER NOT NULL,
                        delivered_at INTEGER NOT NULL
                    );
                    """)
            for entity in Entity.allCases {
                var columns = ["lseq INTEGER PRIMARY KEY", "id TEXT NOT NULL UNIQUE"]
                columns += entity.fields.map { "\($0.name) \(sqlType($0.name))" }
                columns.append("dots BLOB NOT NULL")
                columns += derivedColumns(entity).map { "\($0.0) \($0.1)" }
                try db.execute(sql: "CREATE TABLE \(entity.rawValue) (\n    \(columns.joined(separator: ",\n    "))\n)")
            }
            try createSecondaryIndexes(db)
            try createViews(db)
        }
        migrator.registerMigration("v2-local-ordinal") { db in
            // This replica's own ordinal in `sites`: 1 when created here; another when the file began as a
            // copy of a peer's (a snapshot bootstrap keeps the peer's ordinals, dots included).
            try db.execute(sql: "ALTER TABLE replica_info ADD COLUMN local_ordinal INTEGER NOT NULL DEFAULT 1")
        }
        migrator.registerMigration("v3-staged-dots") { db in
            // Per staged stream: the highest counter of each site among the dots it brought. A stream whose end
            // vector does not cover them is refused (Replica.docc, "Every dot is covered").
            try db.execute(
                sql: """
                    CREATE TABLE staged_dots (
                        peer_site TEXT NOT NULL,
                        site INTEGER NOT NULL,
                        counter INTEGER NOT NULL,
                        PRIMARY KEY (peer_site, site)
                    ) WITHOUT ROWID
                    """)
        }
        return migrator
    }

    static func createViews(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE VIEW orders_current AS
                SELECT o.id, o.number, o.status, o.overlays, o.channel, o.location, o.currency,
                       o.total_minor, o.paid_minor, o.refunded_minor, o.balance_due_minor, o.refund_due_minor,
                       c.email AS customer_email, c.name AS customer_name,
                       o.created_at, o.ship_by, o.cancelled_at, o.tags, o.notes, o.address, o.phone
                FROM orders o LEFT JOIN customers c ON c.id = o.customer_id;

                CREATE VIEW stock_levels AS
                WITH contributions AS (
                    SELECT sku, location, SUM(on_hand) AS counted FROM stock GROUP BY sku, location
                ), movements AS (
                    SELECT l.sku, o.location, SUM(l.shipped) AS shipped, SUM(l.restocked) AS restocked,
                           SUM(l.reserved) AS reserved
                    FROM order_lines l JOIN orders o ON o.id = l.order_id GROUP BY l.sku, o.location
                )
                SELECT c.sku, c.location,
                       c.counted - COALESCE(m.shipped, 0) + COALESCE(m.restocked, 0) AS on_hand,
                       COALESCE(m.reserved, 0) AS reserved,
                       c.counted - COALESCE(m.shipped, 0) + COALESCE(m.restocked, 0) - COALESCE(m.reserved, 0)
                           AS available
                FROM contributions c LEFT JOIN movements m ON m.sku = c.sku AND m.location = c.location;

                CREATE VIEW order_timeline AS
                SELECT id AS order_id, created_at AS at, 'created' AS event, number AS detail FROM orders
                UNION ALL SELECT id, processing_at, 'processing_started', NULL FROM orders WHERE processing_at IS NOT NULL
                UNION ALL SELECT id, cancelled_at, 'cancelled', cancel_reason FROM orders WHERE cancelled_at IS NOT NULL
                UNION ALL SELECT order_id, at, 'payment_' || kind, amount_minor || ' ' || method FROM payments
                UNION ALL SELECT order_id, packed_at, 'packed', lines FROM fulfilments WHERE packed_at IS NOT NULL
                UNION ALL SELECT order_id, shipped_at, 'shipped', carrier || ' ' || tracking_number FROM fulfilments
                    WHERE shipped_at IS NOT NULL
                UNION ALL SELECT order_id, delivered_at, 'delivered', NULL FROM fulfilments WHERE delivered_at IS NOT NULL
                UNION ALL SELECT order_id, at, 'tracking_' || kind, note FROM tracking_events
                UNION ALL SELECT order_id, requested_at, 'return_requested', reason FROM returns
                UNION ALL SELECT order_id, received_at, 'return_received', lines FROM returns WHERE received_at IS NOT NULL
                UNION ALL SELECT order_id, cancelled_at, 'return_cancelled', NULL FROM returns WHERE cancelled_at IS NOT NULL
                UNION ALL SELECT order_id, closed_at, 'return_closed', NULL FROM returns WHERE closed_at IS NOT NULL
                UNION ALL SELECT order_id, at, 'refunded', amount_minor || COALESCE(' ' || reason, '') FROM refunds
                UNION ALL SELECT order_id, at, 'exchanged', 'difference ' || difference_minor FROM exchanges;

                CREATE VIEW open_conflicts AS
                SELECT entity, row_id, field, COUNT(*) AS sibling_count, MIN(hlc) AS first_hlc
                FROM siblings GROUP BY entity, row_id, field;
                """)
    }
}
