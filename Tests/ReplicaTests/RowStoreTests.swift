import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// `RowStore` (`Storage/RowState.swift`): the one-pass insert a local write takes stores exactly what the general
/// `save` stores for the same record.
@Suite struct RowStoreTests {
    @Test(arguments: [Entity.customers, .orders, .orderLines, .payments, .settings])
    func aWrittenRecordIsStoredAsSaveStoresIt(entity: Entity) async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        let dot = Dot(site: 1, counter: 42)
        let time = HybridTime(rawValue: 0x1234_5678_9ABC)
        // Every other field set, the rest absent (null), texts and integers by the field's kind.
        let values: [FieldValue] = entity.fields.enumerated().map { index, field in
            guard index % 2 == 0 else { return .null }
            return field.type == .integer ? .integer(Int64(index) * 1_000 + 7) : .text("value \(index)")
        }
        let derived: [(String, DatabaseValue)] = Schema.derivedColumns(entity).enumerated().map { index, column in
            (column.0, column.1 == "INTEGER" ? Int64(index).databaseValue : "derived \(index)".databaseValue)
        }
        let rows = try await replica.pool.write { db -> [Row] in
            try RowStore.insertWritten(
                db, entity, id: "one-pass", values: values, dot: dot, time: time, lseq: 1_000, derived: derived)
            let state = RowState(
                entity: entity, id: "general",
                fields: values.map { FieldState.written($0, dot: dot, time: time) })
            try RowStore.save(db, state, lseq: 1_001, previousLseq: nil, derived: derived)
            return try Row.fetchAll(db, sql: "SELECT * FROM \(entity.rawValue) ORDER BY lseq")
        }
        try #require(rows.count == 2)
        // Every column but the two that differ on purpose (lseq, id): the values, the dots, the derived columns.
        let columns = rows[0].columnNames.filter { $0 != "lseq" && $0 != "id" }
        #expect(columns.contains("dots"))
        for column in columns {
            #expect(
                rows[0][column] as DatabaseValue == rows[1][column] as DatabaseValue,
                "\(entity.rawValue).\(column): \(rows[0][column] as DatabaseValue) against \(rows[1][column] as DatabaseValue)"
            )
        }
        let loaded = try await replica.pool.read { db in try RowStore.load(db, entity, id: "one-pass") }
        #expect(loaded?.state.fields == values.map { FieldState.written($0, dot: dot, time: time) })
    }

    /// A stream's sender reads records through SQLite's C API (`decode(_:_:columns:)`); it must read what the
    /// GRDB-row decoder reads and what was saved: absent fields, single writers, and a field of concurrent siblings
    /// kept in the side table.
    @Test(arguments: [Entity.orders, .payments, .stock])
    func theDirectDecoderReadsWhatWasSaved(entity: Entity) async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        let fields: [FieldState] = entity.fields.enumerated().map { index, field in
            let value: FieldValue = field.type == .integer ? .integer(Int64(index) - 3) : .text("v\(index) é")
            let time = HybridTime(rawValue: 0x1000 + UInt64(index))
            switch index % 3 {
            case 0: return .empty
            case 1: return .written(value, dot: Dot(site: 2, counter: UInt64(index) + 1), time: time)
            default:
                return FieldState(siblings: [
                    Sibling(value: value, dot: Dot(site: 3, counter: 9), time: time),
                    Sibling(value: .null, dot: Dot(site: 1, counter: 4), time: time),
                ])
            }
        }
        let saved = RowState(entity: entity, id: "record-1", fields: fields)
        let (byRow, direct) = try await replica.pool.write { db in
            try RowStore.save(db, saved, lseq: 77, previousLseq: nil)
            let sql = RowStore.selectSQL(entity, where: "WHERE id = ?")
            let row = try #require(try Row.fetchOne(db, sql: sql, arguments: ["record-1"]))
            let byRow = try RowStore.decode(db, entity, row: row)
            let statement = try db.makeStatement(sql: sql)
            try statement.bind(["record-1".databaseValue])
            var direct: [(state: RowState, lseq: Int64)] = []
            try statement.forEachRow { columns in direct.append(try RowStore.decode(db, entity, columns: columns)) }
            return (byRow, direct)
        }
        #expect(byRow.state == saved && byRow.lseq == 77)
        #expect(direct.count == 1)
        #expect(direct.first?.state == saved && direct.first?.lseq == 77)
        #expect(saved.fields.contains { $0.isConflict }, "the record holds a multi-sibling field")
    }

    /// The layouts the commands build new records in name fields of their entity, each once (a wrong name would
    /// trap at the first insert; this says which).
    @Test func everyCommandLayoutNamesItsEntitysFieldsOnce() {
        for layout in [OrderCommands.customerLayout, OrderCommands.orderLayout, OrderCommands.lineLayout] {
            for (name, position) in zip(layout.names, layout.positions) {
                #expect(position != nil, "\(layout.entity.rawValue) has no field \(name)")
            }
            #expect(Set(layout.names).count == layout.names.count, "\(layout.entity.rawValue): a name twice")
        }
    }
}
