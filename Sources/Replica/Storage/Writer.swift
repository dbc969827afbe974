import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The ways into the pool's writer, each counted among the instance's writes in flight while it is queued or
/// runs, so that a command knows when it may take the writer on its own thread (`writeIfFree`).
extension Replica {
    /// Runs `updates` in a write transaction on the writer's queue, off the caller's thread: the way for
    /// anything that may wait for the writer (a merge, a sync session's bookkeeping).
    func writeQueued<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        writesInFlight.add(1, ordering: .sequentiallyConsistent)
        defer { writesInFlight.subtract(1, ordering: .sequentiallyConsistent) }
        return try await pool.write(updates)
    }

    /// Runs `updates` in a write transaction on the caller's thread, waiting for the writer if it is busy: only
    /// for threads that may block (a basket's thread, a merge pulled on a dispatch thread).
    func writeBlocking<T>(_ updates: (Database) throws -> T) throws -> T {
        try counted { try pool.write(updates) }
    }

    /// `writeBlocking` without a transaction: `updates` manages its own.
    func writeWithoutTransactionBlocking<T>(_ updates: (Database) throws -> T) throws -> T {
        try counted { try pool.writeWithoutTransaction(updates) }
    }

    /// Runs `body` counted among the writes in flight.
    private func counted<T>(_ body: () throws -> T) rethrows -> T {
        writesInFlight.add(1, ordering: .sequentiallyConsistent)
        defer { writesInFlight.subtract(1, ordering: .sequentiallyConsistent) }
        return try body()
    }

    /// Runs `updates` in a write transaction on the caller's thread when the writer is free right now, and
    /// returns nil, having done nothing, when it is not.
    ///
    /// Free means no other write of this instance queued or running (so GRDB's writer queue runs the block on
    /// this thread at once) and no other connection holding the file's write lock (another process, another
    /// `Replica` on the file): the transaction begins with SQLite's busy timeout at zero, so a held lock
    /// answers busy at once instead of being waited for. Either way the caller's thread never waits for
    /// another writer, so a thread of Swift's cooperative pool may call it.
    func writeIfFree<T>(_ updates: (Database) throws -> T) throws -> T? {
        guard
            writesInFlight.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged
        else { return nil }
        defer { writesInFlight.subtract(1, ordering: .sequentiallyConsistent) }
        return try pool.writeWithoutTransaction { db -> T? in
            let connection = db.sqliteConnection
            let waitMilliseconds = Int32(Self.busyTimeout * 1000)
            sqlite3_busy_timeout(connection, 0)
            var began = false
            defer { if !began { sqlite3_busy_timeout(connection, waitMilliseconds) } }
            do {
                return try db.immediateTransaction {
                    began = true
                    sqlite3_busy_timeout(connection, waitMilliseconds)
                    return try updates(db)
                }
            } catch let error as DatabaseError where !began && error.resultCode == .SQLITE_BUSY {
                return nil
            }
        }
    }
}

extension Database {
    /// Runs `body` in an immediate write transaction: committed when it returns, rolled back when it throws.
    ///
    /// What GRDB's `inTransaction(.immediate)` does for every command, with `BEGIN` and `COMMIT` prepared once per
    /// connection instead of parsed again per transaction (about 8 % of a sale's time in the profile). GRDB's block also
    /// makes every statement inside refuse to run once SQLite has rolled the transaction back by itself (a full
    /// disk, an I/O error), so that a body going on after such an error could not write outside it. Its one
    /// caller, `writeIfFree` for a command (`Replica.write`) or a live delta's merge (`mergeLive`), never goes on
    /// after an SQLite error (neither catches one), and the transaction still ends with the same check: a body
    /// returning after SQLite ended its transaction fails with `SQLITE_ABORT`.
    ///
    /// - Throws: what `body` throws, or SQLite's error for the transaction's beginning or end.
    func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body()
            guard isInsideTransaction else {
                throw DatabaseError(resultCode: .SQLITE_ABORT, message: "Transaction was aborted")
            }
            try cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            // Already rolled back when SQLite ended the transaction itself.
            if isInsideTransaction { try? rollback() }
            throw error
        }
    }

    /// Runs `body` as a savepoint of the transaction in progress: released when it returns, rolled back (and
    /// released) when it throws, so that only what `body` wrote is undone and the transaction goes on.
    ///
    /// What `inSavepoint` does for a basket's every command, with the three statements prepared once per
    /// connection instead of once per command (their parsing cost a basket's command more than SQLite's work
    /// for them). It runs only inside a basket's transaction, which checks before each command and before its
    /// commit that SQLite has not aborted it (`Basket`).
    ///
    /// - Throws: what `body` throws; `ReplicaError(.internalError)` outside a transaction; SQLite's error when
    ///   the savepoint cannot begin or end (the transaction was aborted: the caller rolls it back).
    func savepoint<T>(_ body: () throws -> T) throws -> T {
        guard isInsideTransaction else {
            throw ReplicaError(
                .internalError, "a savepoint outside a transaction",
                hint: "this is a bug in Outpost; nothing was written")
        }
        try cachedStatement(sql: "SAVEPOINT command").execute()
        let result: T
        do {
            result = try body()
        } catch {
            // SQLite may have rolled the whole transaction back itself (a full disk): nothing is left to undo,
            // and the body's error says why.
            if isInsideTransaction {
                try cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT command").execute()
                try cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
            }
            throw error
        }
        try cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
        return result
    }
}

extension Replica {
    /// Runs `body` on the writer's connection, outside any command, blocking: for this package's benchmark, whose
    /// storage floor replays a replica's rows through the same connection, settings and checkpointer as the
    /// commands have (`OutpostBench`). What `body` writes is no replicated change: nothing records or announces it.
    package func withWriterConnection<T>(_ body: (Database) throws -> T) throws -> T {
        try writeWithoutTransactionBlocking(body)
    }
}
