import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// The SQL views are the replica's face to other tools (`sqlite3`, a BI tool): they must say what the library
/// says. Each test reads a view with plain SQL and compares it with the library's own answer.
@Suite struct ViewTests {
    /// One paid, partly shipped order with a refund on a replica with stock, and one unpaid order.
    static func shop() async throws -> (TemporaryDirectory, Replica, paid: String, unpaid: String) {
        let directory = try TemporaryDirectory()
        let clock = FakeClock()
        let replica = try Replica.create(at: directory.path("shop.sqlite"), name: "shop", now: { clock() })
        try await replica.commands.setStock(sku: "TEE-M", onHand: 10)
        try await replica.commands.setStock(sku: "CAP", onHand: 4)
        var options = NewOrderOptions()
        options.shipping = "5.00"
        let paid = try await replica.commands.createOrder(
            customerEmail: "ana@example.com",
            lines: [
                LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "20.00"),
                LineSpec(sku: "CAP", quantity: 1, unitPrice: "10.00"),
            ],
            options: options)
        try await replica.commands.pay(order: paid.orderID, amount: "55.00")
        try await replica.commands.pack(order: paid.orderID, lines: [LineSpec(sku: "TEE-M", quantity: 2)])
        try await replica.commands.ship(order: paid.orderID, carrier: "DHL", tracking: "JD1")
        try await replica.commands.refund(order: paid.orderID, amount: "5.00", reason: "late")
        let unpaid = try await replica.commands.createOrder(
            customerEmail: "bo@example.com", lines: [LineSpec(sku: "CAP", quantity: 2, unitPrice: "10.00")])
        return (directory, replica, paid.orderID, unpaid.orderID)
    }

    @Test func ordersCurrentShowsTheDerivedStatusAndMoney() async throws {
        let (directory, replica, paid, unpaid) = try await Self.shop()
        defer { withExtendedLifetime(directory) {} }
        let rows = try await replica.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM orders_current ORDER BY created_at")
        }
        #expect(rows.count == 2)
        for (row, id) in zip(rows, [paid, unpaid]) {
            let details = try await replica.queries.order(id)
            #expect(row["id"] as String == id)
            #expect(row["number"] as String == details.order.number)
            #expect(row["status"] as String == details.progress.status.rawValue)
            #expect(row["total_minor"] as Int64 == details.progress.totalMinor)
            #expect(row["paid_minor"] as Int64 == details.progress.capturedMinor)
            #expect(row["refunded_minor"] as Int64 == details.progress.refundedMinor)
            #expect(row["balance_due_minor"] as Int64 == details.progress.balanceDueMinor)
            #expect(row["currency"] as String == "EUR")
        }
        #expect(rows[0]["customer_email"] as String == "ana@example.com")
        #expect(rows[0]["status"] as String == "partially_fulfilled")
        #expect(rows[0]["total_minor"] as Int64 == 5_500)
        #expect(rows[0]["refunded_minor"] as Int64 == 500)
        #expect(rows[1]["status"] as String == "pending_payment")
        #expect(rows[1]["balance_due_minor"] as Int64 == 2_000)
    }

    @Test func stockLevelsAgreeWithTheLibrary() async throws {
        let (directory, replica, _, _) = try await Self.shop()
        defer { withExtendedLifetime(directory) {} }
        let rows = try await replica.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT sku, location, on_hand, reserved, available FROM stock_levels ORDER BY sku")
        }
        let library = try await replica.queries.stockLevels()
        #expect(rows.count == library.count)
        for row in rows {
            let level = try #require(library.first { $0.sku == row["sku"] as String })
            #expect(row["on_hand"] as Int64 == level.onHand)
            #expect(row["reserved"] as Int64 == level.reserved)
            #expect(row["available"] as Int64 == level.available)
        }
        // TEE-M: 10 counted, 2 shipped. CAP: 4 counted, 1 (paid order) + 2 (unpaid order) reserved.
        let values = rows.map {
            [
                $0["sku"] as String, "\($0["on_hand"] as Int64)", "\($0["reserved"] as Int64)",
                "\($0["available"] as Int64)",
            ]
        }
        #expect(values == [["CAP", "4", "3", "1"], ["TEE-M", "8", "0", "8"]])
    }

    @Test func orderTimelineListsEveryEventInOrder() async throws {
        let (directory, replica, paid, _) = try await Self.shop()
        defer { withExtendedLifetime(directory) {} }
        let events = try await replica.pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT event FROM order_timeline WHERE order_id = ? ORDER BY at, event", arguments: [paid])
        }
        #expect(events == ["created", "payment_capture", "packed", "shipped", "refunded"])
    }

    @Test func openConflictsCountsTheSiblingsOfEachField() async throws {
        let pair = try await Pair.make()
        try await pair.a.commands.edit(order: pair.order, phone: "+44 111")
        try await pair.b.commands.edit(order: pair.order, phone: "+44 222")
        try await pair.sync()
        for replica in [pair.a, pair.b] {
            let rows = try await replica.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT entity, row_id, field, sibling_count FROM open_conflicts")
            }
            #expect(rows.count == 1)
            #expect(rows.first?["row_id"] as String? == pair.order)
            #expect(rows.first?["field"] as Int64? == Int64(Entity.orders.fieldIndex("phone") ?? -1))
            #expect(rows.first?["sibling_count"] as Int64? == 2)
        }
    }
}
