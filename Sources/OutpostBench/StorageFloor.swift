import Foundation
import GRDB
import Replica

/// The floor under a replica's write: the statements a sale through the replica runs, replayed into a new replica's
/// file as plain SQL through its writer's connection, with none of the replica's own code.
///
/// Each sale's rows are read back from a replica that made them (the same bytes: values, dots, derived columns,
/// its attention schedule and its outbox), then written again in the same transactions with the same statements a
/// command runs — the clock read and update, the customer probe, the inserts, the settings read, the stock probe, a
/// savepoint per sale in a basket — their texts from `CommandStatements`, prepared once and bound through the
/// replica's own C-API binding (`run(binding:)`, `forEachRow`), on a replica's own writer connection (its
/// settings, its checkpointer).
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
                try $0 == 0 ? nil : statement(CommandStatements.stockProbe($0))
            }
            let begin = try statement("BEGIN IMMEDIATE TRANSACTION")
            let commit = try statement("COMMIT TRANSACTION")
            let (savepoint, release) = (try statement("SAVEPOINT command"), try statement("RELEASE SAVEPOINT command"))
            let clock = try statement(CommandStatements.clock)
            let settings = try statement(CommandStatements.settings)
            let customerExists = try statement(CommandStatements.customerExists)
            let clockUpdate = try statement(CommandStatements.clockUpdate)
            // Writes as a command runs them (`run(binding:)`), queries stepped to their end as a command reads them.
            func write(_ statement: Statement, _ values: [DatabaseValue]) throws { try statement.run(binding: values) }
            func query(_ statement: Statement, _ values: [DatabaseValue]) throws {
                try statement.bind(values)
                try statement.forEachRow { _ in }
            }
            // As a basket does: a savepoint's journal in memory, not in a temporary file.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            defer { try? db.execute(sql: "PRAGMA temp_store = DEFAULT") }
            for start in stride(from: 0, to: sales.count, by: perCommit) {
                try write(begin, [])
                try query(clock, [])
                try query(settings, [])
                for sale in sales[start..<min(sales.count, start + perCommit)] {
                    if perCommit > 1 { try write(savepoint, []) }
                    try query(customerExists, [sale.customerID.databaseValue])
                    if let customer = sale.customer { try write(customers, customer) }
                    try write(orders, sale.order)
                    for line in sale.lines { try write(lines, line) }
                    for item in sale.attention { try write(attention, item) }
                    for message in sale.outbox { try write(outbox, message) }
                    if let probe = tracked[sale.skus.count] {
                        try query(probe, sale.skus.map(\.databaseValue) + [sale.location.databaseValue])
                    }
                    if perCommit > 1 { try write(release, []) }
                }
                let stamp = Int64(start).databaseValue
                try write(clockUpdate, [stamp, stamp, stamp, stamp])
                try write(commit, [])
            }
        }
        try await replica.checkpoint()
    }
}
