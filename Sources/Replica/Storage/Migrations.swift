import GRDB

/// The replica file's migrations, frozen as literal SQL: a shipped migration never changes and never reads
/// application types (GRDB's migration guide), so a file created by any release migrates the same way. A
/// change to the replicated schema is a new migration here (and a new `Schema.version` when the wire changes);
/// `MigrationTests` opens a file written by an earlier release and checks the result against `Entity.fields`.
/// (Over 300 lines only because schema 1 is spelled out in full.)
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: v1) }
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
        migrator.registerMigration("v4-rederive-payments") { db in
            // Authorized-only orders are no longer `paid`, and declined offline payments no longer count: the
            // derived columns of every order with a payment are derived again (`Replica.open` re-derives orders
            // whose status is null once the replica is not bootstrapping).
            try db.execute(sql: "UPDATE orders SET status = NULL WHERE id IN (SELECT order_id FROM payments)")
        }
        migrator.registerMigration("v5-file-identity") { db in
            // Which file this replica is (machine id, device, inode: `FileIdentity`), and, once it is opened as
            // another file (copied, restored, moved), the identity it was made as: its writes are then refused
            // until it is given a new site id (Replica.docc, "One site id, one file"). Null identity: recorded
            // at the next open.
            try db.execute(sql: "ALTER TABLE replica_info ADD COLUMN file_identity TEXT")
            try db.execute(sql: "ALTER TABLE replica_info ADD COLUMN copied_from TEXT")
        }
        migrator.registerMigration("v6-vouched-counters") { db in
            // Per peer: its own counter in the end of the last stream merged from it (what it vouched for). A
            // vector entry for that peer found above the peer's own counter is lowered back to it
            // (Replica.docc, "A claim only its maker can vouch for").
            try db.execute(sql: "ALTER TABLE sync_cursors ADD COLUMN peer_counter INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v7-site-keys") { db in
            // The key each peer site was first heard from: only that key may speak for the site afterwards.
            try db.execute(
                sql: """
                    CREATE TABLE site_keys (
                        site_id TEXT PRIMARY KEY,
                        public_key BLOB NOT NULL,
                        bound_at INTEGER NOT NULL
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v8-schema-2-settings") { db in
            // Replicated schema 2: shop settings every device shares (Entity.settings, wire code 10).
            try db.execute(
                sql: """
                    CREATE TABLE settings (
                        lseq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        key TEXT,
                        value TEXT,
                        dots BLOB NOT NULL
                    );
                    UPDATE replica_info SET schema_version = 2 WHERE schema_version = 1;
                    """)
        }
        migrator.registerMigration("v9-customer-segments-view") { db in
            // The segments of `OrderQueries.customers` for other tools, at SQLite's clock, with the thresholds of
            // the shared settings (their defaults when unset): one row per customer and segment.
            try db.execute(sql: customerSegmentsView)
        }
        migrator.registerMigration("v10-attention-view") { db in
            // Each order's attention schedule (derived, like the derived columns; `OrderRecords.storeAttention`)
            // and the view `attention` over it. Every order is derived again at the next open to fill it.
            try db.execute(sql: attentionView)
            try db.execute(sql: "UPDATE orders SET status = NULL")
        }
        migrator.registerMigration("v11-schema-3") { db in
            // Replicated schema 3: what the sending device recorded about each customer message (Entity.messages,
            // wire code 11); stock movements and selling rights (12, 13), with the views `stock_levels` (now with
            // counts, moves and adjustments) and `stock_rights`. The outbox (derived, like attention_items: every device derives the same rows from
            // the same facts) and this device's own settings (mail command, spool: never synced). The view
            // `attention` also lists failing messages of orders at rest. Every order is derived again at the
            // next open to fill the outbox.
            try db.execute(
                sql: """
                    CREATE TABLE messages (
                        lseq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        order_id TEXT,
                        kind TEXT,
                        trigger TEXT,
                        sent_at INTEGER,
                        attempts INTEGER,
                        last_error TEXT,
                        failed_at INTEGER,
                        retry_at INTEGER,
                        dots BLOB NOT NULL
                    );
                    CREATE INDEX messages_order ON messages(order_id);
                    CREATE TABLE message_outbox (
                        order_id TEXT NOT NULL,
                        id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        trigger TEXT NOT NULL,
                        at INTEGER NOT NULL,
                        due_at INTEGER NOT NULL,
                        sent_at INTEGER,
                        PRIMARY KEY (order_id, id)
                    ) WITHOUT ROWID;
                    CREATE INDEX message_outbox_unsent ON message_outbox(due_at) WHERE sent_at IS NULL;
                    CREATE TABLE device_settings (
                        key TEXT PRIMARY KEY,
                        value TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE stock_movements (
                        lseq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        sku TEXT,
                        location TEXT,
                        kind TEXT,
                        quantity INTEGER,
                        reason TEXT,
                        note TEXT,
                        site TEXT,
                        at INTEGER,
                        seen_moves INTEGER,
                        seen_shipped INTEGER,
                        seen_restocked INTEGER,
                        dots BLOB NOT NULL
                    );
                    CREATE INDEX stock_movements_sku ON stock_movements(sku, location);
                    CREATE TABLE stock_ledger (
                        lseq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        sku TEXT,
                        location TEXT,
                        site TEXT,
                        target TEXT,
                        minted INTEGER,
                        used INTEGER,
                        given INTEGER,
                        dots BLOB NOT NULL
                    );
                    CREATE INDEX stock_ledger_sku ON stock_ledger(sku, location);
                    DROP VIEW stock_levels;
                    \(stockViews)
                    DROP VIEW attention;
                    UPDATE replica_info SET schema_version = 3 WHERE schema_version = 2;
                    UPDATE orders SET status = NULL;
                    """)
            // The v10 view with one more reason to look at an order (the v10 text itself never changes).
            let failing = "UNION SELECT order_id FROM oversold\n"
            guard let start = attentionView.range(of: "CREATE VIEW attention"),
                attentionView[start.lowerBound...].contains(failing)
            else { throw ReplicaError.corrupt("the v10 attention view changed") }
            let view = attentionView[start.lowerBound...]
            try db.execute(
                sql: view.replacingOccurrences(
                    of: failing,
                    with: failing + "    UNION SELECT order_id FROM attention_items WHERE kind = 'message_failed'\n"))
        }
        migrator.registerMigration("v12-attention-without-rowid") { db in
            // `attention_items` keyed by (order, position) without a rowid: one B-tree instead of a table and
            // its order index, so that every command writes one page fewer. The rows are copied in their order;
            // the view `attention` is dropped and made again from its own text (a table is renamed only while no
            // view names a table that is missing).
            guard
                let view = try String.fetchOne(
                    db, sql: "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'attention'")
            else { throw ReplicaError.corrupt("the view attention is missing") }
            try db.execute(
                sql: """
                    DROP VIEW attention;
                    CREATE TABLE attention_items_keyed (
                        order_id TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        since INTEGER NOT NULL,
                        due_at INTEGER NOT NULL,
                        why TEXT NOT NULL,
                        PRIMARY KEY (order_id, position)
                    ) WITHOUT ROWID;
                    INSERT INTO attention_items_keyed (order_id, position, kind, since, due_at, why)
                        SELECT order_id, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY rowid) - 1, kind, since,
                               due_at, why
                        FROM attention_items;
                    DROP TABLE attention_items;
                    ALTER TABLE attention_items_keyed RENAME TO attention_items;
                    """)
            try db.execute(sql: view)
        }
        return migrator
    }

    /// `attention_items` and the view `attention`, as first shipped (v10): the rows `OrderQueries.attention()`
    /// returns, at SQLite's clock (`julianday('now')`, UTC), with the shared settings' thresholds as of the
    /// last write.
    static let attentionView = """
        CREATE TABLE attention_items (
            order_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            since INTEGER NOT NULL,
            due_at INTEGER NOT NULL,
            why TEXT NOT NULL
        );
        CREATE INDEX attention_items_order ON attention_items(order_id);
        CREATE VIEW attention AS
        WITH now(ms) AS (
            SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
        ), conflicted(order_id) AS (
            SELECT row_id FROM siblings WHERE entity = 1
            UNION SELECT t.order_id FROM siblings s JOIN order_lines t ON s.entity = 2 AND t.id = s.row_id
            UNION SELECT t.order_id FROM siblings s JOIN payments t ON s.entity = 3 AND t.id = s.row_id
            UNION SELECT t.order_id FROM siblings s JOIN fulfilments t ON s.entity = 4 AND t.id = s.row_id
            UNION SELECT t.order_id FROM siblings s JOIN tracking_events t ON s.entity = 5 AND t.id = s.row_id
            UNION SELECT t.order_id FROM siblings s JOIN returns t ON s.entity = 6 AND t.id = s.row_id
            UNION SELECT t.order_id FROM siblings s JOIN refunds t ON s.entity = 7 AND t.id = s.row_id
            UNION SELECT t.order_id FROM siblings s JOIN exchanges t ON s.entity = 8 AND t.id = s.row_id
        ), short AS (
            SELECT sku, location, reserved - on_hand AS units FROM stock_levels WHERE reserved > on_hand
        ), holders AS (
            SELECT o.id, l.sku, o.location, SUM(l.reserved) AS held, o.created_at
            FROM order_lines l JOIN orders o ON o.id = l.order_id
            WHERE l.reserved > 0 GROUP BY o.id, l.sku, o.location
        ), ranked AS (
            SELECT h.id, h.sku, h.location, h.held, s.units AS short,
                   SUM(h.held) OVER (PARTITION BY h.sku, h.location ORDER BY h.created_at DESC, h.id DESC
                                     ROWS UNBOUNDED PRECEDING) - h.held AS before
            FROM holders h JOIN short s ON s.sku = h.sku AND s.location = h.location
        ), oversold(order_id, sku, location, units) AS (
            SELECT id, sku, location, MIN(held, short - before) FROM ranked WHERE before < short
        ), looked(order_id) AS (
            SELECT id FROM orders
            WHERE status NOT IN ('delivered', 'cancelled', 'refunded', 'returned') OR COALESCE(overlays, '') != ''
            UNION SELECT order_id FROM conflicted
            UNION SELECT order_id FROM oversold
        ), item(order_id, kind, since, why) AS (
            SELECT a.order_id, a.kind, a.since, a.why
            FROM attention_items a JOIN looked k ON k.order_id = a.order_id
            WHERE a.due_at <= (SELECT ms FROM now)
            UNION ALL
            SELECT o.id, 'conflict', o.created_at, 'two devices wrote different values'
            FROM conflicted k JOIN orders o ON o.id = k.order_id
            UNION ALL
            SELECT o.id, 'oversold', o.created_at,
                   v.units || ' unit(s) of ' || v.sku || ' at ' || v.location || ' promised beyond stock'
            FROM oversold v JOIN orders o ON o.id = v.order_id
        )
        SELECT i.order_id, o.number AS order_number, c.email AS customer_email, i.kind, i.since, i.why
        FROM item i JOIN orders o ON o.id = i.order_id LEFT JOIN customers c ON c.id = o.customer_id;
        """

    /// `stock_levels` as of schema 3 (counts, moves and adjustments; a later count stands, changes its device had
    /// not seen apply on top) and `stock_rights` (each device's selling rights; the authority's are what the
    /// others' leave of the units available), as first shipped (v11).
    static let stockViews = """
        CREATE VIEW stock_levels AS
        WITH moved(sku, location, moves) AS (
            SELECT sku, location, SUM(CASE WHEN kind = 'count' THEN 0 ELSE quantity END)
            FROM stock_movements GROUP BY sku, location
            UNION ALL
            SELECT sku, location, SUM(on_hand) FROM stock GROUP BY sku, location
        ), keyed AS (
            SELECT sku, location, SUM(moves) AS moves FROM moved GROUP BY sku, location
        ), counted AS (
            SELECT sku, location, quantity, seen_moves, seen_shipped, seen_restocked,
                   ROW_NUMBER() OVER (PARTITION BY sku, location ORDER BY at DESC, id DESC) AS rank
            FROM stock_movements WHERE kind = 'count'
        ), sold AS (
            SELECT l.sku, o.location, SUM(l.shipped) AS shipped, SUM(l.restocked) AS restocked,
                   SUM(l.reserved) AS reserved
            FROM order_lines l JOIN orders o ON o.id = l.order_id GROUP BY l.sku, o.location
        ), levels AS (
            SELECT k.sku, k.location,
                   CASE WHEN c.quantity IS NULL
                        THEN k.moves - COALESCE(m.shipped, 0) + COALESCE(m.restocked, 0)
                        ELSE c.quantity + (k.moves - c.seen_moves) - (COALESCE(m.shipped, 0) - c.seen_shipped)
                             + (COALESCE(m.restocked, 0) - c.seen_restocked)
                   END AS on_hand,
                   COALESCE(m.reserved, 0) AS reserved
            FROM keyed k
            LEFT JOIN counted c ON c.sku = k.sku AND c.location = k.location AND c.rank = 1
            LEFT JOIN sold m ON m.sku = k.sku AND m.location = k.location
        )
        SELECT sku, location, on_hand, reserved, on_hand - reserved AS available FROM levels;
        CREATE VIEW stock_rights AS
        WITH authority(site) AS (
            SELECT COALESCE(
                (SELECT value FROM settings WHERE id = 'stock.authority' AND value IS NOT NULL),
                (SELECT site FROM stock_movements WHERE kind IN ('receive', 'count') ORDER BY at, id LIMIT 1),
                (SELECT MIN(site) FROM stock))
        ), entries(sku, location, site, amount) AS (
            SELECT sku, location, site, COALESCE(minted, 0) - COALESCE(used, 0) FROM stock_ledger WHERE target = site
            UNION ALL
            SELECT sku, location, site, -COALESCE(given, 0) FROM stock_ledger WHERE target != site
            UNION ALL
            SELECT sku, location, target, COALESCE(given, 0) FROM stock_ledger WHERE target != site
        ), ledgers AS (
            SELECT sku, location, site, SUM(amount) AS rights FROM entries
            WHERE site IS NOT (SELECT site FROM authority) GROUP BY sku, location, site
        )
        SELECT sku, location, site, rights, 0 AS authority FROM ledgers
        UNION ALL
        SELECT l.sku, l.location, a.site,
               l.available - COALESCE((SELECT SUM(rights) FROM ledgers g
                                       WHERE g.sku = l.sku AND g.location = l.location), 0),
               1
        FROM stock_levels l, authority a WHERE a.site IS NOT NULL;
        """

    /// `customer_segments`, as first shipped (v9).
    static let customerSegmentsView = """
        CREATE VIEW customer_segments AS
        WITH setting(key, value) AS (
            SELECT 'segments.vip_spend', COALESCE((SELECT value FROM settings WHERE id = 'segments.vip_spend'), '1000')
            UNION ALL
            SELECT 'segments.lapsed_days', COALESCE((SELECT value FROM settings WHERE id = 'segments.lapsed_days'), '90')
            UNION ALL
            SELECT 'segments.returner_percent',
                   COALESCE((SELECT value FROM settings WHERE id = 'segments.returner_percent'), '30')
        ), now(ms) AS (
            SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
        ), by_currency AS (
            SELECT customer_id, currency, COUNT(*) FILTER (WHERE status != 'cancelled') AS orders,
                   SUM(COALESCE(paid_minor, 0) - COALESCE(refunded_minor, 0)) AS spent, MAX(created_at) AS last
            FROM orders GROUP BY customer_id, currency
        ), per_customer AS (
            SELECT customer_id, SUM(orders) AS orders, MAX(last) AS last FROM by_currency GROUP BY customer_id
        ), units AS (
            SELECT o.customer_id, SUM(COALESCE(l.shipped, 0)) AS shipped, SUM(COALESCE(l.returned, 0)) AS returned
            FROM order_lines l JOIN orders o ON o.id = l.order_id GROUP BY o.customer_id
        ), segment(customer_id, segment) AS (
            SELECT customer_id, 'new' FROM per_customer WHERE orders = 1
            UNION ALL
            SELECT customer_id, 'repeat' FROM per_customer WHERE orders >= 2
            UNION ALL
            SELECT DISTINCT customer_id, 'vip' FROM by_currency
            WHERE spent >= CAST(round(CAST((SELECT value FROM setting WHERE key = 'segments.vip_spend') AS REAL)
                * CASE
                    WHEN currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX',
                                      'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 1
                    WHEN currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 1000
                    ELSE 100 END) AS INTEGER)
            UNION ALL
            SELECT customer_id, 'lapsed' FROM per_customer
            WHERE (SELECT ms FROM now) - last
                >= CAST((SELECT value FROM setting WHERE key = 'segments.lapsed_days') AS INTEGER) * 86400000
            UNION ALL
            SELECT customer_id, 'returner' FROM units
            WHERE shipped > 0 AND returned
                >= CAST((SELECT value FROM setting WHERE key = 'segments.returner_percent') AS REAL) / 100.0 * shipped
        )
        SELECT c.email, c.id AS customer_id, s.segment
        FROM segment s JOIN customers c ON c.id = s.customer_id;
        """

    /// Schema 1 as first shipped: bookkeeping tables, one table per record kind (`lseq`, `id`, the fields of
    /// `Entity.fields` in order, `dots`, derived columns), the read indexes and the views.
    static let v1 = """
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
        CREATE TABLE delivery_marks (
            peer_site TEXT PRIMARY KEY,
            lseq INTEGER NOT NULL,
            delivered_at INTEGER NOT NULL
        );
        CREATE TABLE customers (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            email TEXT,
            name TEXT,
            phone TEXT,
            address TEXT,
            created_at INTEGER,
            dots BLOB NOT NULL
        );
        CREATE TABLE orders (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            number TEXT,
            customer_id TEXT,
            channel TEXT,
            location TEXT,
            currency TEXT,
            shipping_minor INTEGER,
            tax_minor INTEGER,
            discount_minor INTEGER,
            ship_by INTEGER,
            created_at INTEGER,
            notes TEXT,
            phone TEXT,
            address TEXT,
            tags TEXT,
            cancelled_at INTEGER,
            cancel_reason TEXT,
            processing_at INTEGER,
            dots BLOB NOT NULL,
            status TEXT,
            overlays TEXT,
            total_minor INTEGER,
            paid_minor INTEGER,
            refunded_minor INTEGER,
            balance_due_minor INTEGER,
            refund_due_minor INTEGER
        );
        CREATE TABLE order_lines (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            order_id TEXT,
            sku TEXT,
            name TEXT,
            quantity INTEGER,
            unit_price_minor INTEGER,
            exchange_id TEXT,
            position INTEGER,
            dots BLOB NOT NULL,
            demand INTEGER,
            packed INTEGER,
            shipped INTEGER,
            delivered INTEGER,
            returned INTEGER,
            restocked INTEGER,
            reserved INTEGER
        );
        CREATE TABLE payments (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            order_id TEXT,
            kind TEXT,
            amount_minor INTEGER,
            method TEXT,
            provisional INTEGER,
            reference TEXT,
            at INTEGER,
            note TEXT,
            dots BLOB NOT NULL
        );
        CREATE TABLE fulfilments (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            order_id TEXT,
            lines TEXT,
            packed_at INTEGER,
            shipped_at INTEGER,
            delivered_at INTEGER,
            cancelled_at INTEGER,
            carrier TEXT,
            tracking_number TEXT,
            ship_to TEXT,
            dots BLOB NOT NULL
        );
        CREATE TABLE tracking_events (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            order_id TEXT,
            fulfilment_id TEXT,
            kind TEXT,
            at INTEGER,
            note TEXT,
            dots BLOB NOT NULL
        );
        CREATE TABLE returns (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            order_id TEXT,
            lines TEXT,
            reason TEXT,
            note TEXT,
            requested_at INTEGER,
            received_at INTEGER,
            closed_at INTEGER,
            cancelled_at INTEGER,
            restock INTEGER,
            dots BLOB NOT NULL
        );
        CREATE TABLE refunds (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            order_id TEXT,
            amount_minor INTEGER,
            lines TEXT,
            reason TEXT,
            at INTEGER,
            dots BLOB NOT NULL
        );
        CREATE TABLE exchanges (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            order_id TEXT,
            return_id TEXT,
            lines TEXT,
            difference_minor INTEGER,
            at INTEGER,
            dots BLOB NOT NULL
        );
        CREATE TABLE stock (
            lseq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            sku TEXT,
            location TEXT,
            site TEXT,
            on_hand INTEGER,
            dots BLOB NOT NULL
        );
        CREATE INDEX order_lines_order ON order_lines(order_id);
        CREATE INDEX payments_order ON payments(order_id);
        CREATE INDEX fulfilments_order ON fulfilments(order_id);
        CREATE INDEX tracking_events_order ON tracking_events(order_id);
        CREATE INDEX returns_order ON returns(order_id);
        CREATE INDEX refunds_order ON refunds(order_id);
        CREATE INDEX exchanges_order ON exchanges(order_id);
        CREATE INDEX orders_customer ON orders(customer_id);
        CREATE INDEX orders_number ON orders(number);
        CREATE INDEX orders_status ON orders(status);
        CREATE INDEX orders_created ON orders(created_at);
        CREATE INDEX customers_email ON customers(email);
        CREATE INDEX order_lines_sku ON order_lines(sku);
        CREATE INDEX stock_sku ON stock(sku, location);
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
        """
}
