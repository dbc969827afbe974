import Foundation
import GRDB
import GRDBSQLite
import Replica

/// The floor under a replica's write: the statements a sale through the replica runs, replayed into a new replica's
/// file as plain SQL through its writer's connection, with none of the replica's own code.
///
/// Each sale's rows are read back from a replica that made them (the same bytes: values, dots, derived columns,
/// its attention schedule and its outbox), then written again in the same transactions with the same statements a
/// command runs — the clock read and update, the customer probe, the inserts, the settings read, the stock probe, a
/// savepoint per sale in a basket — prepared once and bound through SQLite's C API, the replica's fastest path, on
/// a replica's own writer connection (its settings, its checkpointer).
/// What is left out is everything the replica computes: the order model and its checks, the dots, the schedules,
/// the derived columns. Its time over the plain-SQLite baseline's is the lowest ratio a replica storing what this
/// one stores could reach, whatever its code.
struct StorageFloor {
    /// One sale's rows, each as its table's columns in order.
    struct Sale {
        var customerID: String
        var customer: [DatabaseValue]?
        var order: [DatabaseValue]
        var lines: [[DatabaseValue]]
        var skus: [String]
        var location: String
        var attention: [[DatabaseValue]]
        var outbox: [[DatabaseValue]]
    }

    /// The sales of the replica file at `path`, in the order they were made (each customer's row with its first
    /// order).
    static func sales(ofReplicaAt path: String) throws -> [Sale] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            func rows(_ sql: String, _ arguments: StatementArguments = []) throws -> [[DatabaseValue]] {
                try Row.fetchAll(db, sql: sql, arguments: arguments).map { Array($0.databaseValues) }
            }
            var seen: Set<String> = []
            var sales: [Sale] = []
            for order in try Row.fetchAll(db, sql: "SELECT * FROM orders ORDER BY lseq") {
                let id: String = order["id"]
                let customerID: String = order["customer_id"]
                let customer =
                    seen.insert(customerID).inserted
                    ? try rows("SELECT * FROM customers WHERE id = ?", [customerID]).first : nil
                let lines = try Row.fetchAll(
                    db, sql: "SELECT * FROM order_lines WHERE order_id = ? ORDER BY lseq", arguments: [id])
                sales.append(
                    Sale(
                        customerID: customerID, customer: customer, order: Array(order.databaseValues),
                        lines: lines.map { Array($0.databaseValues) }, skus: lines.map { $0["sku"] },
                        location: order["location"],
                        attention: try rows("SELECT * FROM attention_items WHERE order_id = ?", [id]),
                        outbox: try rows("SELECT * FROM message_outbox WHERE order_id = ?", [id])))
            }
            return sales
        }
    }

    let replica: Replica

    /// A new replica at `path`, whose writer's connection the sales are written through (its settings and its
    /// checkpointer, as the commands have them).
    init(path: String) throws {
        replica = try Replica.create(at: path, name: "floor")
    }

    /// Writes `sales`, `perCommit` to a transaction (each in a savepoint when more than one), then copies the log
    /// into the file (`Replica.checkpoint`), as the replica's timed loop does.
    func write(_ sales: [Sale], perCommit: Int) async throws {
        try replica.withWriterConnection { db in
            // Every statement prepared before the loop: building SQL per row costs more than running it.
            func statement(_ sql: String) throws -> Statement { try db.cachedStatement(sql: sql) }
            func insert(_ table: String) throws -> Statement {
                let width = try db.columns(in: table).count
                return try statement(
                    "INSERT INTO \(table) VALUES (\(Array(repeating: "?", count: width).joined(separator: ", ")))")
            }
            let (customers, orders, lines) = (try insert("customers"), try insert("orders"), try insert("order_lines"))
            let (attention, outbox) = (try insert("attention_items"), try insert("message_outbox"))
            // Every order has a line: `tracked[0]` is never used.
            let tracked = try (0...(sales.map(\.skus.count).max() ?? 0)).map {
                try $0 == 0 ? nil : statement(Self.trackedSQL($0))
            }
            let begin = try statement("BEGIN IMMEDIATE TRANSACTION")
            let commit = try statement("COMMIT TRANSACTION")
            let (savepoint, release) = (try statement("SAVEPOINT command"), try statement("RELEASE SAVEPOINT command"))
            let clock = try statement(
                """
                SELECT counter, hlc, lseq, order_sequence, bootstrap_peer, local_ordinal, copied_from
                FROM replica_clock, replica_info
                """)
            let settings = try statement(
                """
                SELECT 0, id, value FROM settings WHERE value IS NOT NULL
                UNION ALL SELECT 1, key, value FROM device_settings
                """)
            let customerExists = try statement("SELECT EXISTS(SELECT 1 FROM customers WHERE id = ?)")
            let clockUpdate = try statement(
                "UPDATE replica_clock SET counter = counter + 1, hlc = ?, lseq = ?, order_sequence = ?")
            // As a basket does: a savepoint's journal in memory, not in a temporary file.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            defer { try? db.execute(sql: "PRAGMA temp_store = DEFAULT") }
            for start in stride(from: 0, to: sales.count, by: perCommit) {
                try Self.run(begin, [])
                try Self.run(clock, [])
                try Self.run(settings, [])
                for sale in sales[start..<min(sales.count, start + perCommit)] {
                    if perCommit > 1 { try Self.run(savepoint, []) }
                    try Self.run(customerExists, [sale.customerID.databaseValue])
                    if let customer = sale.customer { try Self.run(customers, customer) }
                    try Self.run(orders, sale.order)
                    for line in sale.lines { try Self.run(lines, line) }
                    for item in sale.attention { try Self.run(attention, item) }
                    for message in sale.outbox { try Self.run(outbox, message) }
                    if let probe = tracked[sale.skus.count] {
                        try Self.run(probe, sale.skus.map(\.databaseValue) + [sale.location.databaseValue])
                    }
                    if perCommit > 1 { try Self.run(release, []) }
                }
                let stamp = Int64(start).databaseValue
                try Self.run(clockUpdate, [stamp, stamp, stamp])
                try Self.run(commit, [])
            }
        }
        try await replica.checkpoint()
    }

    /// The replica's stock probe for `count` SKUs (`StockLedger.tracked`).
    private static func trackedSQL(_ count: Int) -> String {
        (0..<count).map { index in
            """
            SELECT ?\(index + 1) WHERE EXISTS (SELECT 1 FROM stock_movements WHERE sku = ?\(index + 1) AND location = ?\(count + 1))
                OR EXISTS (SELECT 1 FROM stock WHERE sku = ?\(index + 1) AND location = ?\(count + 1))
            """
        }.joined(separator: "\nUNION ALL\n")
    }

    /// SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// Binds `values` through SQLite's C API and steps `statement` to its end (every row a query returns is
    /// stepped over, as the replica reads them), then resets it.
    private static func run(_ statement: Statement, _ values: [DatabaseValue]) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = CInt(offset + 1)
            let code: CInt
            switch value.storage {
            case .null: code = sqlite3_bind_null(handle, index)
            case .int64(let integer): code = sqlite3_bind_int64(handle, index, integer)
            case .double(let double): code = sqlite3_bind_double(handle, index, double)
            case .string(let string):
                var text = string
                code = text.withUTF8 { bytes in
                    guard let base = bytes.baseAddress, !bytes.isEmpty else {
                        return sqlite3_bind_text(handle, index, "", 0, transient)
                    }
                    return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                        sqlite3_bind_text(handle, index, $0, CInt(bytes.count), transient)
                    }
                }
            case .blob(let data):
                code = data.withUnsafeBytes { bytes in
                    sqlite3_bind_blob(handle, index, bytes.baseAddress, CInt(bytes.count), transient)
                }
            }
            guard code == SQLITE_OK else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: "binding failed", sql: statement.sql)
            }
        }
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_ROW { continue }
            if code == SQLITE_DONE { return }
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))), sql: statement.sql)
        }
    }
}
