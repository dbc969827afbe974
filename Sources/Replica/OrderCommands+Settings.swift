import GRDB
import GRDBSQLite
import OrderDomain

extension OrderCommands {
    /// Sets the shared setting `key` to `value` (nil: back to its default) on this device; sync carries it to
    /// the others. Concurrent changes on two devices keep the later one and show as a conflict.
    ///
    /// - Throws: `DomainError(.invalidInput)` for an unknown key or a value that does not fit it.
    /// A device setting (`Settings.Scope.device`) is stored in this replica file only and never synced.
    public func setSetting(_ key: String, to value: String?) async throws {
        let definition = try Settings.known(key)
        let stored = try value.map { try Settings.check(key, $0) }
        // A setting that moves thresholds rewrites every order's schedules: a long transaction.
        try await write(bulk: Settings.reschedules(key)) { context in
            if definition.scope == .device {
                if let stored {
                    try context.db.execute(
                        sql: "INSERT OR REPLACE INTO device_settings (key, value) VALUES (?, ?)",
                        arguments: [key, stored])
                } else {
                    try context.db.execute(sql: "DELETE FROM device_settings WHERE key = ?", arguments: [key])
                }
                return
            }
            if try RowStore.load(context.db, .settings, id: key) != nil {
                try context.update(.settings, id: key, ["value": FieldValue(stored)])
            } else {
                try context.insert(.settings, id: key, ["key": .text(key), "value": FieldValue(stored)])
            }
            // Thresholds may have moved: every order's attention schedule and outbox follow.
            if Settings.reschedules(key) {
                try OrderRecords.refreshSchedules(context.db, now: context.wallMilliseconds)
            }
        }
    }
}

extension OrderQueries {
    /// The shared settings as this replica holds them (each unset or unreadable one at its default).
    public func settings() async throws -> Settings {
        try await read { db in try Self.settings(db) }
    }

    static func settings(_ db: Database) throws -> Settings {
        var values: [String: String] = [:]
        // Every command reads them: one statement for both tables, stepped directly (GRDB's rows would cost more
        // than the query). This device's own settings (never synced) win over any shared row with their key.
        let statement = try db.cachedStatement(sql: CommandStatements.settings)
        try statement.bind([])
        var own: [String: String] = [:]
        try statement.forEachRow { row in
            guard let key = Statement.text(row, 1), let value = Statement.text(row, 2) else { return }
            if sqlite3_column_int64(row, 0) == 0 {
                values[key] = value
            } else if Settings.definition(key)?.scope == .device {
                own[key] = value
            }
        }
        values.merge(own) { _, device in device }
        return Settings(values)
    }
}
