import Foundation
import GRDB
import GRDBSQLite
import OrderDomain

/// One replicated record with the full state of each field (every sibling with its dot), in field-index
/// order. Dots use the replica's site ordinals.
struct RowState: Equatable, Sendable {
    var entity: Entity
    var id: String
    var fields: [FieldState]

    /// The visible values under each field's resolution rule.
    var visibleValues: [FieldValue] {
        zip(fields, entity.fields).map { $0.resolved(by: $1.resolution) }
    }

    /// Every dot held by any sibling of any field.
    var dots: some Sequence<Dot> { fields.lazy.flatMap { $0.siblings.lazy.map(\.dot) } }

    func value(_ name: String) -> FieldValue {
        guard let index = entity.fieldIndex(name) else { return .null }
        return fields[index].resolved(by: entity.fields[index].resolution)
    }
}

extension FieldValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let double): self = .integer(Int64(exactly: double.rounded()) ?? 0)
        case .string(let string): self = .text(string)
        case .blob(let data): self = .text(String(decoding: data, as: UTF8.self))
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let integer): integer.databaseValue
        case .text(let string): string.databaseValue
        }
    }
}

/// Reads and writes `RowState`s: visible values in the named columns, dots in the `dots` BLOB, extra
/// siblings in the `siblings` table.
enum RowStore {
    /// `SELECT lseq, id, <fields in Entity.fields order>, dots`: the layout `decode` reads, by the constants below.
    static func selectSQL(_ entity: Entity, where clause: String) -> String {
        let columns = entity.fields.map(\.name).joined(separator: ", ")
        return "SELECT lseq, id, \(columns), dots FROM \(entity.rawValue) \(clause)"
    }

    static let lseqColumn = 0
    static let idColumn = 1
    /// Field i of `Entity.fields` is column `firstFieldColumn + i`; `dots` follows the last field.
    static let firstFieldColumn = 2

    /// Statements built once per entity (building SQL text per row costs more than executing it).
    struct Statements: Sendable {
        var selectByID: String
        var exists: String
        var update: String
        var insert: String
        /// `insert` that skips a record already there (a first stream's records loaded together).
        var insertOrIgnore: String
        var insertDerived: String
        /// The derived columns `insertDerived` writes, in order.
        var derivedNames: [String]
    }

    /// By entity code (`Entity(code:)` covers 0..<count).
    static let statements: [Statements] = Entity.allCases.sorted { $0.code < $1.code }.map { entity in
        let names = entity.fields.map(\.name)
        let derived = Schema.derivedColumns(entity).map { $0.0 }
        let assignments = names.map { "\($0) = ?" }.joined(separator: ", ")
        func insert(_ extra: [String]) -> String {
            let columns = (["lseq", "id"] + names + ["dots"] + extra).joined(separator: ", ")
            return
                "INSERT INTO \(entity.rawValue) (\(columns)) VALUES (\(Array(repeating: "?", count: names.count + 3 + extra.count).joined(separator: ", ")))"
        }
        return Statements(
            selectByID: selectSQL(entity, where: "WHERE id = ?"),
            exists: "SELECT EXISTS(SELECT 1 FROM \(entity.rawValue) WHERE id = ?)",
            update: "UPDATE \(entity.rawValue) SET lseq = ?, id = ?, \(assignments), dots = ? WHERE lseq = ?",
            insert: insert([]), insertOrIgnore: insert([]).replacing("INSERT INTO", with: "INSERT OR IGNORE INTO"),
            insertDerived: insert(derived), derivedNames: derived)
    }

    static func sql(_ entity: Entity) -> Statements {
        statements[Int(entity.code)]
    }

    /// Loads the record `id`, with its current `lseq`, or nil when absent.
    static func load(_ db: Database, _ entity: Entity, id: String) throws -> (state: RowState, lseq: Int64)? {
        let statement = try db.cachedStatement(sql: sql(entity).selectByID)
        guard let row = try Row.fetchOne(statement, arguments: [id]) else { return nil }
        return try decode(db, entity, row: row)
    }

    /// Whether the record `id` exists (an index probe; nothing decoded).
    static func exists(_ db: Database, _ entity: Entity, id: String) throws -> Bool {
        let statement = try db.cachedStatement(sql: sql(entity).exists)
        try statement.bind([id.databaseValue])
        var found = false
        try statement.forEachRow { found = sqlite3_column_int64($0, 0) != 0 }
        return found
    }

    /// Decodes a row selected with `selectSQL`.
    static func decode(_ db: Database, _ entity: Entity, row: Row) throws -> (state: RowState, lseq: Int64) {
        let blob: [UInt8] = (row[Self.firstFieldColumn + entity.fields.count] as DatabaseValue).storage.blobBytes
        let state = try decode(db, entity, id: row[Self.idColumn], dots: blob) { index in
            FieldValue(row[Self.firstFieldColumn + index] as DatabaseValue)
        }
        return (state, row[Self.lseqColumn])
    }

    /// The record on the current row of a statement selecting `selectSQL(entity, …)`, read through SQLite's C API
    /// (inside `Statement.forEachRow`): for the records a stream sends, where GRDB's row decoding costs more than
    /// the query.
    static func decode(_ db: Database, _ entity: Entity, columns handle: OpaquePointer) throws -> (
        state: RowState, lseq: Int64
    ) {
        let id = Statement.text(handle, CInt(Self.idColumn)) ?? ""
        let state = try decode(db, entity, id: id, dots: dotsBytes(entity, columns: handle)) { index in
            Statement.fieldValue(handle, CInt(Self.firstFieldColumn + index))
        }
        return (state, sqlite3_column_int64(handle, CInt(Self.lseqColumn)))
    }

    /// The `dots` BLOB on the current row of a statement selecting `selectSQL(entity, …)`.
    static func dotsBytes(_ entity: Entity, columns handle: OpaquePointer) -> [UInt8] {
        let column = CInt(Self.firstFieldColumn + entity.fields.count)
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))))
    }

    /// A record from its id, its `dots` BLOB and its stored values (`value(i)`: field i's column), with the
    /// siblings of multi-sibling fields from their side table.
    private static func decode(
        _ db: Database, _ entity: Entity, id: String, dots blob: [UInt8], value: (Int) -> FieldValue
    ) throws -> RowState {
        let count = entity.fields.count
        let dots = try RowDots(decoding: blob)
        var fields: [FieldState] = []
        fields.reserveCapacity(count)
        for index in 0..<count {
            if dots.siblingMask & (1 << UInt64(index)) != 0 {
                fields.append(.empty)  // filled below from the side table
            } else if let group = dots.writer(of: index) {
                fields.append(FieldState(only: Sibling(value: value(index), dot: group.dot, time: group.time)))
            } else {
                fields.append(.empty)
            }
        }
        if dots.siblingMask != 0 {
            let statement = try db.cachedStatement(
                sql: "SELECT field, site, counter, hlc, value FROM siblings WHERE entity = ? AND row_id = ?")
            var collected: [Int: [Sibling]] = [:]
            for sibling in try Row.fetchAll(statement, arguments: [Int(entity.code), id]) {
                let field: Int = sibling["field"]
                let dot = Dot(
                    site: UInt32(truncatingIfNeeded: sibling["site"] as Int64),
                    counter: UInt64(sibling["counter"] as Int64))
                let time = HybridTime(rawValue: UInt64(bitPattern: sibling["hlc"] as Int64))
                collected[field, default: []].append(
                    Sibling(value: FieldValue(sibling["value"] as DatabaseValue), dot: dot, time: time))
            }
            for (field, siblings) in collected where field < count { fields[field] = FieldState(siblings: siblings) }
        }
        return RowState(entity: entity, id: id, fields: fields)
    }

    /// Writes `state` as the record's new content at `lseq` (its new position in the change order).
    /// `previousLseq` is the row's current lseq, or nil to insert. `derived` sets non-replicated columns.
    static func save(
        _ db: Database, _ state: RowState, lseq: Int64, previousLseq: Int64?,
        derived: [(String, DatabaseValue)] = [], previousSiblingMask: UInt64 = 0
    ) throws {
        let entity = state.entity
        var dots = RowDots()
        var multi: [(Int, FieldState)] = []
        for (index, field) in state.fields.enumerated() {
            let bit = UInt64(1) << UInt64(index)
            if field.siblings.count == 1, let only = field.siblings.first {
                dots.assign(bit, to: only.dot, time: only.time)
            } else if field.siblings.count > 1 {
                dots.markSiblings(bit)
                multi.append((index, field))
            }
        }
        // Bound as they are (`run(binding:)`).
        var list: [DatabaseValue] = [lseq.databaseValue, state.id.databaseValue]
        list.reserveCapacity(state.fields.count + 4 + derived.count)
        for (field, spec) in zip(state.fields, entity.fields) {
            list.append(field.resolved(by: spec.resolution).databaseValue)
        }
        list.append(Data(dots.encoded()).databaseValue)
        for (_, value) in derived { list.append(value) }
        if let previousLseq {
            // Derived columns are refreshed separately after updates (OrderRecords.refresh).
            guard derived.isEmpty else { throw ReplicaError.corrupt("updates do not write derived columns") }
            list.append(previousLseq.databaseValue)
            try db.cachedStatement(sql: sql(entity).update).run(binding: list)
        } else {
            let statements = sql(entity)
            let text = derived.isEmpty ? statements.insert : statements.insertDerived
            guard derived.isEmpty || derived.elementsEqual(statements.derivedNames, by: { $0.0 == $1 }) else {
                throw ReplicaError.corrupt("derived columns of \(entity.rawValue) written out of order")
            }
            try db.cachedStatement(sql: text).run(binding: list)
        }
        if previousSiblingMask != 0 || !multi.isEmpty {
            try db.cachedStatement(sql: "DELETE FROM siblings WHERE entity = ? AND row_id = ?")
                .execute(arguments: [Int(entity.code), state.id])
            let insert = try db.cachedStatement(
                sql:
                    "INSERT INTO siblings (entity, row_id, field, site, counter, hlc, value) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            for (index, field) in multi {
                for sibling in field.siblings {
                    try insert.execute(arguments: [
                        Int(entity.code), state.id, index, Int64(sibling.dot.site), Int64(sibling.dot.counter),
                        Int64(bitPattern: sibling.time.rawValue), sibling.value.databaseValue,
                    ])
                }
            }
        }
    }

    /// Inserts a new record whose every field one local write wrote (`values` in field order, absent ones null):
    /// what `save` stores for such a record, bound in one pass without building its field states (every command
    /// that creates a record comes this way).
    static func insertWritten(
        _ db: Database, _ entity: Entity, id: String, values: [FieldValue], dot: Dot, time: HybridTime, lseq: Int64,
        derived: [(String, DatabaseValue)]
    ) throws {
        let statements = sql(entity)
        guard derived.isEmpty || derived.elementsEqual(statements.derivedNames, by: { $0.0 == $1 }) else {
            throw ReplicaError.corrupt("derived columns of \(entity.rawValue) written out of order")
        }
        var dots = RowDots()
        if !values.isEmpty {
            dots.assign(values.count == 64 ? .max : (UInt64(1) << UInt64(values.count)) - 1, to: dot, time: time)
        }
        var list: [DatabaseValue] = [lseq.databaseValue, id.databaseValue]
        list.reserveCapacity(values.count + 3 + derived.count)
        for value in values { list.append(value.databaseValue) }
        list.append(Data(dots.encoded()).databaseValue)
        for (_, value) in derived { list.append(value) }
        try db.cachedStatement(sql: derived.isEmpty ? statements.insert : statements.insertDerived).run(binding: list)
    }

    /// The values `insert` binds for a record loaded straight from a first stream, when every field holds at
    /// most one sibling (nearly every record): its dots renamed to this replica's site ordinals, its visible values
    /// and `dots` made in one pass, without building renamed field states (what `save` would take). `note` sees
    /// each dot and time. Nil when a field has several siblings (the caller takes the general path).
    static func loadedValues(
        _ entity: Entity, id: String, fields: [FieldState], ordinals: [UInt32], lseq: Int64,
        note: (Dot, HybridTime) -> Void
    ) throws -> [DatabaseValue]? {
        var dots = RowDots()
        var list: [DatabaseValue] = [lseq.databaseValue, id.databaseValue]
        list.reserveCapacity(fields.count + 3)
        for (index, field) in fields.enumerated() {
            guard field.siblings.count <= 1 else { return nil }
            guard let only = field.siblings.first else {
                list.append(.null)
                continue
            }
            guard Int(only.dot.site) < ordinals.count else {
                throw ReplicaError(
                    .protocolViolation, "a dot names site \(only.dot.site) of a batch with \(ordinals.count) sites")
            }
            let dot = Dot(site: ordinals[Int(only.dot.site)], counter: only.dot.counter)
            dots.assign(UInt64(1) << UInt64(index), to: dot, time: only.time)
            note(dot, only.time)
            list.append(only.value.databaseValue)
        }
        list.append(Data(dots.encoded()).databaseValue)
        return list
    }

    /// Inserts records of `entity` loaded from a first stream (`loadedValues` each) and returns the positions of
    /// those whose id was already there, of which nothing is written (a batch delivered twice).
    ///
    /// `together`: all in one statement (`INSERT OR IGNORE` of all their rows: SQLite starts, binds and resets it
    /// once, and a record already there is skipped rather than undoing the others, so the statement needs no
    /// journal of its own; when fewer rows than given went in, each is looked up by id). Otherwise, and where
    /// SQLite's limit on a statement's parameters is lower than the rows need (999 before 3.32), one at a time.
    static func insertLoaded(_ db: Database, _ entity: Entity, rows: [[DatabaseValue]], together: Bool) throws
        -> [Int]
    {
        let parameters = rows.count * (rows.first?.count ?? 0)
        guard together, rows.count > 1,
            parameters <= Int(sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_VARIABLE_NUMBER, -1))
        else {
            // Taken from the cache for each row: a statement that failed (a record already there) cannot be run
            // again, and GRDB drops it from the cache, so the next row gets a new one.
            return try rows.indices.filter { index in
                do {
                    try db.cachedStatement(sql: sql(entity).insert).run(binding: rows[index])
                    return false
                } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                    return true
                }
            }
        }
        let many = insertingRows(sql(entity).insertOrIgnore, rows.count)
        var flat: [DatabaseValue] = []
        flat.reserveCapacity(parameters)
        for row in rows { flat.append(contentsOf: row) }
        try db.cachedStatement(sql: many).run(binding: flat)
        guard db.changesCount < rows.count else { return [] }
        let stored = try db.cachedStatement(sql: "SELECT lseq FROM \(entity.rawValue) WHERE id = ?")
        return try rows.indices.filter { index in
            try stored.bind([rows[index][1]])
            return try Int64.fetchOne(stored) != Int64.fromDatabaseValue(rows[index][0])
        }
    }

    /// `insert` (`INSERT INTO … VALUES (?, …)`, one row) made to insert `rows` rows of values at once.
    ///
    /// Built for every group of a first stream's records: the standard library's search and appending
    /// (Foundation's string search and replace took a tenth of a stream's CPU here).
    static func insertingRows(_ insert: String, _ rows: Int) -> String {
        guard rows > 1, let values = insert.firstRange(of: " VALUES ") else { return insert }
        let row = insert[values.upperBound...]
        var many = insert
        many.reserveCapacity(insert.utf8.count + (row.utf8.count + 2) * (rows - 1))
        for _ in 1..<rows {
            many += ", "
            many += row
        }
        return many
    }

    /// The sibling mask stored for a record (0 when it has no multi-sibling field).
    static func siblingMask(of state: RowState) -> UInt64 {
        var mask: UInt64 = 0
        for (index, field) in state.fields.enumerated() where field.siblings.count > 1 { mask |= 1 << UInt64(index) }
        return mask
    }
}

extension DatabaseValue.Storage {
    var blobBytes: [UInt8] {
        if case .blob(let data) = self { return Array(data) }
        return []
    }
}
