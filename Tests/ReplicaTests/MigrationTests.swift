import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// Migrations are frozen SQL: a file written by an earlier release opens, migrates and keeps working.
@Suite struct MigrationTests {
    /// A replica written by commit e7ea241 (schema migrations v1 and v2) with `outpost`: two orders, one paid,
    /// shipped, partly returned with restock and partly refunded, its phone edited; TEE-M and MUG stocked.
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/replica-e7ea241.sqlite")

    @Test func aReplicaFromAnEarlierReleaseMigratesAndKeepsWorking() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("old.sqlite")
        try FileManager.default.copyItem(atPath: Self.fixture.path, toPath: path)
        let replica = try Replica.open(at: path)
        let applied = try await replica.pool.read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
        #expect(
            applied == [
                "v1", "v10-attention-view", "v11-schema-3", "v12-attention-without-rowid", "v2-local-ordinal",
                "v3-staged-dots",
                "v4-rederive-payments",
                "v5-file-identity",
                "v6-vouched-counters", "v7-site-keys", "v8-schema-2-settings",
                "v9-customer-segments-view",
            ])
        #expect(replica.identity.name == "old-till")

        let orders = try await replica.queries.orders()
        #expect(orders.map(\.number).sorted() == ["9AZH-1", "9AZH-2"])
        let shipped = try await replica.queries.order("9AZH-1")
        #expect(shipped.progress.status == .shipped)
        #expect(shipped.progress.overlays == [.partiallyRefunded, .partiallyReturned])
        #expect(shipped.progress.refundedMinor == 950)
        #expect(shipped.order.phone == "+44 7700 900111")
        let levels = try await replica.queries.stockLevels().map { "\($0.sku) \($0.onHand) \($0.reserved)" }
        #expect(levels.sorted() == ["MUG 5 0", "TEE-M 10 1"], "MUG: 5 counted, 1 shipped, 1 restocked")

        // It writes as itself and serves a new replica, which ends identical.
        _ = try await replica.commands.createOrder(
            customerEmail: "cy@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")])
        #expect(try await replica.queries.order("9AZH-3").progress.status == .pendingPayment)
        let fresh = try Replica.create(at: directory.path("new.sqlite"), name: "new")
        try await fresh.replication.pull(from: replica)
        #expect(try await fresh.contentDump() == replica.contentDump())
        #expect(try await fresh.replication.uncoveredDots().uncovered.isEmpty)
    }

    /// Migrating an old file gives exactly the schema a new file gets: no table, column, index or view differs.
    @Test func aMigratedFileHasTheSchemaOfANewOne() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("old.sqlite")
        try FileManager.default.copyItem(atPath: Self.fixture.path, toPath: path)
        let migrated = try Replica.open(at: path)
        let fresh = try Replica.create(at: directory.path("new.sqlite"), name: "new")
        let schema = { (replica: Replica) in
            try await replica.pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                )
                .map(\.description).sorted()
            }
        }
        #expect(try await schema(migrated) == schema(fresh))
    }

    /// v12 keys `attention_items` by order and position: a file of v11's layout keeps every row, in its order.
    @Test func attentionItemsKeepTheirRowsWhenKeyedByPosition() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("till.sqlite")
        let replica = try Replica.create(at: path, name: "till")
        for index in 0..<3 {
            let order = try await replica.commands.createOrder(
                customerEmail: "c\(index)@example.com", lines: [line("MUG", 1, "4.00"), line("TEE-M", 1, "20.00")])
            if index > 0 {
                // Two offline card payments: two entries of one kind for one order.
                for _ in 0..<index {
                    try await replica.commands.pay(order: order.orderID, amount: "1.00", provisional: true)
                }
            }
        }
        let items =
            "SELECT order_id, position, kind, since, due_at, why FROM attention_items ORDER BY order_id, position"
        let before = try await replica.pool.read { db in try Row.fetchAll(db, sql: items).map(\.description) }
        #expect(before.count >= 5)
        let listed = try await replica.queries.attention(asOf: Int64.max / 2)
        // Back to v11's layout: a rowid table with an index by order.
        try await replica.pool.write { db in
            let view = try #require(
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'attention'")
            )
            try db.execute(
                sql: """
                    DROP VIEW attention;
                    CREATE TABLE kept AS SELECT order_id, kind, since, due_at, why FROM attention_items
                        ORDER BY order_id, position;
                    DROP TABLE attention_items;
                    CREATE TABLE attention_items (order_id TEXT NOT NULL, kind TEXT NOT NULL, since INTEGER NOT NULL,
                        due_at INTEGER NOT NULL, why TEXT NOT NULL);
                    CREATE INDEX attention_items_order ON attention_items(order_id);
                    INSERT INTO attention_items SELECT * FROM kept ORDER BY rowid;
                    DROP TABLE kept;
                    DELETE FROM grdb_migrations WHERE identifier = 'v12-attention-without-rowid';
                    """)
            try db.execute(sql: view)
        }
        let reopened = try Replica.open(at: path)
        let after = try await reopened.pool.read { db in try Row.fetchAll(db, sql: items).map(\.description) }
        #expect(after == before)
        #expect(try await reopened.queries.attention(asOf: Int64.max / 2) == listed)
    }

    /// v2 gives a file created before it its local ordinal: 1, the site that created it.
    @Test func theLocalOrdinalMigrationKeepsAFileAsItsCreatorsSite() throws {
        let directory = try TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.path("v1.sqlite"))
        try Migrations.migrator.migrate(queue, upTo: "v1")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO replica_info (singleton, site_id, site_name, number_prefix, schema_version, state, created_at)
                    VALUES (1, '0123456789abcdef0123456789abcdef', 'v1-till', 'ABCD', 1, 'ready', 0);
                    INSERT INTO replica_clock VALUES (1, 0, 0, 0, 0);
                    INSERT INTO sites (ordinal, site_id, name) VALUES (1, '0123456789abcdef0123456789abcdef', 'v1-till');
                    """)
        }
        try Migrations.migrator.migrate(queue)
        let (ordinal, staged) = try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT local_ordinal FROM replica_info"), try db.tableExists("staged_dots"))
        }
        #expect(ordinal == 1)
        #expect(staged)
    }

    /// Reads find columns by position in `Entity.fields` order: the migrated tables must hold exactly `lseq`,
    /// `id`, every field in order, `dots`, then the derived columns. A field added without a migration fails here.
    @Test func everyEntityTableHasItsFieldsInSchemaOrder() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        for entity in Entity.allCases {
            let columns = try await replica.pool.read { db in try db.columns(in: entity.rawValue).map(\.name) }
            let expected =
                ["lseq", "id"] + entity.fields.map(\.name) + ["dots"] + Schema.derivedColumns(entity).map(\.0)
            #expect(columns == expected, "\(entity.rawValue)")
        }
    }

    /// A file whose derived columns follow an older rule (an authorized-only order shown `paid`) is derived
    /// again when it opens after the migration that says so.
    @Test func derivedColumnsFollowTheCurrentRulesAfterMigrating() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("till.sqlite")
        do {
            let replica = try Replica.create(at: path, name: "till")
            let sale = try await replica.commands.createOrder(
                customerEmail: "ana@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")])
            try await replica.commands.pay(order: sale.orderID, amount: "9.50", kind: .authorize)
            // As the previous build derived and stored it, before v4 existed.
            try await replica.pool.write { db in
                try db.execute(sql: "UPDATE orders SET status = 'paid'")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v4-rederive-payments'")
            }
        }
        let reopened = try Replica.open(at: path)
        let stored = try await reopened.pool.read { db in try String.fetchAll(db, sql: "SELECT status FROM orders") }
        #expect(stored == ["pending_payment"])
    }
}
