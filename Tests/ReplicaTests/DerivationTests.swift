import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// The derivation pass (`OrderRecords.refreshUnderived`, a pipeline of pages) stores what the commands store for
/// the same orders: derived columns, attention schedules and outboxes.
@Suite struct DerivationTests {
    /// Orders in many states, written by commands (each stores its order's derived view itself).
    static func shop() async throws -> (Replica, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("shop.sqlite"), name: "shop")
        let commands = replica.commands
        var orders: [String] = []
        for index in 0..<11 {
            let sale = try await commands.createOrder(
                customerEmail: "buyer\(index % 4)@example.com",
                lines: [line("TEE", 2, "12.00"), line("MUG-\(index)", 1, "8.50")])
            orders.append(sale.orderID)
        }
        // 0 stays pending; 1 is paid in part; the rest are paid in full.
        _ = try await commands.pay(order: orders[1], amount: "10.00")
        for order in orders[2...] { _ = try await commands.pay(order: order, amount: "32.50") }
        _ = try await commands.startProcessing(order: orders[3])
        _ = try await commands.pack(order: orders[4], lines: [line("TEE", 1, nil)])
        for order in orders[5...] {
            _ = try await commands.pack(order: order)
            _ = try await commands.ship(order: order, carrier: "dhl", tracking: "T-\(order)")
        }
        for order in orders[6...] { _ = try await commands.deliver(order: order) }
        _ = try await commands.refund(order: orders[7], amount: "5.00", reason: "scratched")
        _ = try await commands.requestReturn(
            order: orders[8], lines: [line("TEE", 1, nil)], reason: .damaged, receive: true, restock: true)
        _ = try await commands.requestReturn(order: orders[9], lines: [line("MUG-9", 1, nil)], reason: .other)
        _ = try await commands.cancel(order: orders[2], reason: "changed mind")
        return (replica, directory)
    }

    /// Everything the pass writes, as text: the derived columns of orders and lines, the attention schedule and
    /// the outbox.
    static func derivedState(_ db: Database) throws -> [String] {
        let orderColumns = Schema.derivedColumns(.orders).map(\.0).joined(separator: ", ")
        let lineColumns = Schema.derivedColumns(.orderLines).map(\.0).joined(separator: ", ")
        let queries = [
            "SELECT id, \(orderColumns) FROM orders ORDER BY id",
            "SELECT id, \(lineColumns) FROM order_lines ORDER BY id",
            "SELECT order_id, position, kind, since, due_at, why FROM attention_items ORDER BY order_id, position",
            "SELECT id, order_id, kind, trigger, at, due_at, sent_at FROM message_outbox ORDER BY id",
        ]
        return try queries.flatMap { sql in try Row.fetchAll(db, sql: sql).map(\.description) }
    }

    /// Clears the derived columns (as a migration that changes a rule of derivation does), and the schedules too
    /// when `schedules` (as a replica loading its first stream has none).
    static func underive(_ db: Database, schedules: Bool) throws {
        for entity in [Entity.orders, .orderLines] {
            let columns = Schema.derivedColumns(entity).map { "\($0.0) = NULL" }.joined(separator: ", ")
            try db.execute(sql: "UPDATE \(entity.rawValue) SET \(columns)")
        }
        if schedules {
            try db.execute(sql: "DELETE FROM attention_items")
            try db.execute(sql: "DELETE FROM message_outbox")
        }
    }

    /// Page sizes from one order to all of them; batches of stored rows (`Batched`) that leave remainders, that
    /// divide a page's rows exactly, and that are larger than any page (rows one at a time).
    @Test(arguments: [(1, 100), (2, 2), (3, 3), (50, 2), (50, 7), (50, 11), (11, 100)])
    func aPassOverEveryPageStoresWhatTheCommandsStored(pageSize: Int, batchSize: Int) async throws {
        let (replica, directory) = try await Self.shop()
        _ = directory
        try await replica.pool.write { db in
            let stored = try Self.derivedState(db)
            #expect(stored.contains { $0.contains("status:\"cancelled\"") })
            #expect(stored.contains { $0.contains("kind:\"review_request\"") })
            #expect(stored.contains { $0.contains("why:") })
            let now = try Int64.fetchOne(db, sql: "SELECT MAX(created_at) FROM orders") ?? 0

            // A replica loading its first stream: nothing derived, no schedules.
            try Self.underive(db, schedules: true)
            #expect(try Self.derivedState(db) != stored)
            let fresh = try OrderRecords.refreshUnderived(
                db, now: now, fresh: true, pageSize: pageSize, batchSize: batchSize)
            #expect(fresh == 11)
            #expect(try Self.derivedState(db) == stored)

            // A migration cleared the derived columns: the schedules stored are replaced, not doubled.
            try Self.underive(db, schedules: false)
            let again = try OrderRecords.refreshUnderived(db, now: now, pageSize: pageSize, batchSize: batchSize)
            #expect(again == 11)
            #expect(try Self.derivedState(db) == stored)

            // Nothing left to derive: the pass reads one empty page.
            #expect(try OrderRecords.refreshUnderived(db, now: now, pageSize: pageSize, batchSize: batchSize) == 0)
        }
    }
}
