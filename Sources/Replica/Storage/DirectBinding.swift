import GRDB
import GRDBSQLite
import OrderDomain

extension Statement {
    /// Runs the statement with `values` bound through SQLite's C API on GRDB's statement handle, then executed
    /// by GRDB as usual (its transaction bookkeeping and errors).
    ///
    /// For the statements every command and every merged row runs: building a `StatementArguments` from an
    /// array costs GRDB a generic, unspecialised conversion per value (a key path, an existential box), more
    /// than SQLite's own work for a small insert. The bytes of every text and blob are copied once, into one
    /// buffer that outlives the execution, and bound without another copy (`SQLITE_STATIC`): SQLite would
    /// otherwise allocate, copy and free each of them. The bindings are cleared before the buffer goes.
    ///
    /// - Throws: `ReplicaError(.internalError)` when `values` does not match the statement's parameters;
    ///   GRDB's `DatabaseError` for anything SQLite refuses.
    package func run(binding values: [DatabaseValue]) throws {
        try prepareBinding(count: values.count)
        var length = 0
        for value in values {
            switch value.storage {
            case .string(let string): length += string.utf8.count
            case .blob(let data): length += data.count
            default: break
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        for value in values {
            switch value.storage {
            case .string(let string): bytes.append(contentsOf: string.utf8)
            case .blob(let data): bytes.append(contentsOf: data)
            default: break
            }
        }
        let handle = sqliteStatement
        // Nothing may point into the buffer once it goes: a later execution without new bindings would read
        // freed memory.
        defer { sqlite3_clear_bindings(handle) }
        try bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            for (index, value) in values.enumerated() {
                let position = CInt(index + 1)
                let code: CInt
                switch value.storage {
                case .null: code = sqlite3_bind_null(handle, position)
                case .int64(let integer): code = sqlite3_bind_int64(handle, position, integer)
                case .double(let double): code = sqlite3_bind_double(handle, position, double)
                case .string(let string):
                    let count = string.utf8.count
                    code = Self.bindText(handle, position, buffer, offset: offset, count: count)
                    offset += count
                case .blob(let data):
                    code = Self.bindBlob(handle, position, buffer, offset: offset, count: data.count)
                    offset += data.count
                }
                try check(code)
            }
            try execute()
        }
    }

    /// Binds `values` as `run(binding:)` does, for a query then fetched with no arguments (`fetchAll(statement)`);
    /// SQLite keeps its own copy of every text and blob (`SQLITE_TRANSIENT`), since the query runs later.
    package func bind(_ values: [DatabaseValue]) throws {
        try prepareBinding(count: values.count)
        for (offset, value) in values.enumerated() {
            try check(Self.bind(value, to: sqliteStatement, at: CInt(offset + 1)))
        }
    }

    /// Clears the bindings of any earlier use and marks the (empty) arguments as bound, so that an execution
    /// or fetch without arguments resets and steps without binding again; checks that `count` values fill the
    /// statement's parameters.
    private func prepareBinding(count: Int) throws {
        setUncheckedArguments(StatementArguments())
        let parameters = Int(sqlite3_bind_parameter_count(sqliteStatement))
        guard count == parameters else {
            throw ReplicaError(
                .internalError, "\(count) values for the \(parameters) parameters of \(sql)",
                hint: "this is a bug in Outpost; nothing was written")
        }
    }

    private func check(_ code: CInt) throws {
        guard code == SQLITE_OK else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(sqlite3_db_handle(sqliteStatement))), sql: sql)
        }
    }

    // The binders below pass no destructor (`SQLITE_STATIC`): SQLite reads the bytes where they are until the
    // bindings are cleared or replaced.
    private static func bindText(
        _ handle: OpaquePointer, _ index: CInt, _ buffer: UnsafeBufferPointer<UInt8>, offset: Int, count: Int
    ) -> CInt {
        // An empty buffer may have no address, which SQLite would bind as NULL.
        guard count > 0, let base = buffer.baseAddress else {
            return sqlite3_bind_text(handle, index, "", 0, transient)
        }
        return (base + offset).withMemoryRebound(to: CChar.self, capacity: count) {
            sqlite3_bind_text(handle, index, $0, CInt(count), nil)
        }
    }

    private static func bindBlob(
        _ handle: OpaquePointer, _ index: CInt, _ buffer: UnsafeBufferPointer<UInt8>, offset: Int, count: Int
    ) -> CInt {
        guard count > 0, let base = buffer.baseAddress else { return sqlite3_bind_zeroblob(handle, index, 0) }
        return sqlite3_bind_blob(handle, index, base + offset, CInt(count), nil)
    }

    /// SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    private static func bind(_ value: DatabaseValue, to handle: OpaquePointer, at index: CInt) -> CInt {
        switch value.storage {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .int64(let integer):
            return sqlite3_bind_int64(handle, index, integer)
        case .double(let double):
            return sqlite3_bind_double(handle, index, double)
        case .string(let string):
            var text = string
            return text.withUTF8 { bytes in
                // An empty buffer may have no address, which SQLite would bind as NULL.
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite3_bind_text(handle, index, "", 0, transient)
                }
                return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite3_bind_text(handle, index, $0, CInt(bytes.count), transient)
                }
            }
        case .blob(let data):
            return data.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite3_bind_zeroblob(handle, index, 0)
                }
                return sqlite3_bind_blob(handle, index, base, CInt(bytes.count), transient)
            }
        }
    }
}

extension Statement {
    /// Steps a query (its arguments bound with `bind`) through SQLite's C API and hands each row's statement
    /// handle to `row`, then resets it: for the small queries every command runs (its clock, a record's
    /// existence, the settings) and the pages the derivation pass reads, where GRDB's cursor and row objects cost
    /// more than SQLite's work. Read the columns with `sqlite3_column_*` inside `row` only.
    ///
    /// - Throws: GRDB's `DatabaseError` for anything SQLite refuses; what `row` throws.
    package func forEachRow(_ row: (OpaquePointer) throws -> Void) throws {
        let handle = sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            switch code {
            case SQLITE_ROW: try row(handle)
            case SQLITE_DONE: return
            default:
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))), sql: sql)
            }
        }
    }

    /// The text of column `index` of the current row, nil when NULL.
    static func text(_ handle: OpaquePointer, _ index: CInt) -> String? {
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else { return nil }
        return string(handle, index)
    }

    /// Column `index` of the current row as a field value, as `FieldValue(DatabaseValue)` reads it.
    static func fieldValue(_ handle: OpaquePointer, _ index: CInt) -> FieldValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: .integer(Int64(exactly: sqlite3_column_double(handle, index).rounded()) ?? 0)
        default: .text(string(handle, index))
        }
    }

    /// The column's bytes as UTF-8 text (all of them, NUL bytes included; a blob's too).
    private static func string(_ handle: OpaquePointer, _ index: CInt) -> String {
        guard let bytes = sqlite3_column_text(handle, index) else { return "" }
        return String(
            decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, index))), as: UTF8.self)
    }
}
