import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// The typed schema: entity codes and fields as protocol/SPEC.md §13 states them, and writes that can only name
/// the fields an entity has and change the ones that may change.
@Suite struct SchemaTests {
    /// SPEC §13's table, parsed: `| code | entity | fields |`.
    static func specTable() throws -> [(code: UInt8, entity: String, fields: [String])] {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("protocol/SPEC.md")
        let text = try String(contentsOf: spec, encoding: .utf8)
        guard let start = text.range(of: "## 13. Entities") else { return [] }
        return text[start.upperBound...].split(separator: "\n").prefix(20).compactMap { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3, let code = UInt8(cells[0]) else { return nil }
            return (code, cells[1], cells[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
    }

    @Test func entityCodesAndFieldsAreTheSpecs() throws {
        let table = try Self.specTable()
        #expect(table.count == Entity.allCases.count)
        for row in table {
            let entity = try #require(Entity(code: row.code), "SPEC code \(row.code)")
            #expect(entity.rawValue == row.entity)
            #expect(entity.fields.map(\.name) == row.fields, "\(row.entity)")
        }
        #expect(Set(Entity.allCases.map(\.code)).count == Entity.allCases.count, "codes are distinct")
        #expect(Entity(code: UInt8(Entity.allCases.count)) == nil)
    }

    /// Each replicated column's SQL type is its field's declared type (the schema drives the storage).
    @Test func everyColumnHasItsFieldsType() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        for entity in Entity.allCases {
            let columns = try await replica.pool.read { db in
                try Row.fetchAll(db, sql: "PRAGMA table_info(\(entity.rawValue))").map {
                    ($0["name"] as String, ($0["type"] as String).uppercased())
                }
            }
            let types = Dictionary(columns, uniquingKeysWith: { first, _ in first })
            for field in entity.fields {
                #expect(
                    types[field.name] == (field.type == .integer ? "INTEGER" : "TEXT"),
                    "\(entity.rawValue).\(field.name): \(types[field.name] ?? "missing") vs \(field.type)")
            }
        }
    }

    @Test func everyFieldIsReadByNameFromItsOwnColumn() async throws {
        // Each fact kind round-trips through the store and OrderRecords' by-name reads.
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        try await replica.commands.setStock(sku: "TEE-M", onHand: 5)
        let sale = try await replica.commands.createOrder(
            customerEmail: "ana@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "19.90")])
        try await replica.commands.pay(order: sale.orderID, amount: "39.80", method: .cash)
        try await replica.commands.pack(order: sale.orderID)
        try await replica.commands.ship(order: sale.orderID, carrier: "DHL", tracking: "JD1")
        try await replica.commands.track(order: sale.orderID, event: .delayed, note: "storm")
        try await replica.commands.requestReturn(
            order: sale.orderID, lines: [LineSpec(sku: "TEE-M", quantity: 1)], reason: .damaged)
        try await replica.commands.refund(order: sale.orderID, amount: "5.00", reason: "goodwill")
        let order = try await replica.queries.order(sale.orderID).order
        #expect(order.lines.map(\.sku) == ["TEE-M"] && order.lines.first?.quantity == 2)
        #expect(order.lines.first?.unitPriceMinor == 1_990)
        #expect(order.payments.map(\.method) == [.cash] && order.payments.first?.amountMinor == 3_980)
        #expect(order.fulfilments.first?.carrier == "DHL" && order.fulfilments.first?.trackingNumber == "JD1")
        #expect(order.trackingEvents.map(\.kind) == [.delayed] && order.trackingEvents.first?.note == "storm")
        #expect(order.returns.map(\.reason) == [.damaged] && order.returns.first?.lines.first?.quantity == 1)
        #expect(order.refunds.first?.amountMinor == 500 && order.refunds.first?.reason == "goodwill")
    }

    /// A write naming a field the entity lacks is a bug: it traps.
    @Test func aWriteToAFieldTheEntityLacksTraps() async {
        await #expect(processExitsWith: .failure) {
            try await SchemaTests.writeOutsideTheSchema(["colour": .text("red")])
        }
    }

    /// Changing a fact's fixed field (an order's number) is a bug: it traps.
    @Test func aWriteToAFixedFieldTraps() async {
        await #expect(processExitsWith: .failure) {
            try await SchemaTests.writeOutsideTheSchema(["number": .text("OTHER-1")])
        }
    }

    /// The same transaction with an allowed field succeeds (so the exit tests fail for the right reason).
    @Test func aWriteToAMutableFieldSucceeds() async throws {
        try await Self.writeOutsideTheSchema(["notes": .text("fine")])
    }

    static func writeOutsideTheSchema(_ values: [String: FieldValue]) async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "a")
        let sale = try await replica.commands.createOrder(
            customerEmail: "ana@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "1.00")])
        try await replica.pool.write { db in
            let context = try WriteContext(db, wallMilliseconds: 1)
            try context.update(.orders, id: sale.orderID, values)
            try context.finish()
        }
    }
}
