import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Copies a replica's write-ahead log back into its file on a thread and a connection of its own, so that the
/// commit that fills the log does not wait for it.
///
/// SQLite's default checkpoints in the connection whose commit took the log past 1,000 pages: that commit then
/// writes every page the log holds into the file and flushes both to disk, which on this project's machine
/// comes to about a quarter of a command's time on average — all of it on one unlucky command, on whatever
/// thread ran it. Here the writer's commits only ask for a checkpoint (`sqlite3_wal_hook`), and this
/// checkpointer runs it (`PASSIVE`: it never blocks the writer or a reader) alongside the commands that follow.
///
/// A checkpoint copies what the log held when it began; the log starts over from its beginning only when a
/// checkpoint has copied all of it before the next write begins, which a stream of writes with no pause (an
/// import, a long merge) never allows. So past `limit` pages the committing connection checkpoints itself, as
/// SQLite's default would, and the log's file stays bounded.
final class Checkpointer: Sendable {
    /// The log's size, in pages, past which a commit asks for a checkpoint (SQLite's default auto-checkpoint).
    static let threshold: Int32 = 1_000
    /// The log's size past which the committing connection checkpoints itself (32 MB of 4 KiB pages).
    static let limit: Int32 = 8_000

    private let path: String
    private let queue = DispatchQueue(label: "outpost.checkpoint", qos: .utility)
    /// Only touched on `queue`, or while paused.
    private let connection = Mutex<DatabaseQueue?>(nil)
    /// Whether a checkpoint is waiting to start; the log's size when one was last asked for; paused.
    private let state = Mutex<(requested: Bool, askedAt: Int32, paused: Bool)>((false, 0, false))
    /// This checkpointer's key in `registry`: what the writer's hook is given to find it.
    private let key: Int

    /// Checkpointers by key, weakly: a hook outliving its checkpointer finds nothing and checkpoints itself.
    private static let registry = Mutex<(next: Int, entries: [Int: Entry])>((1, [:]))
    private struct Entry {
        weak var checkpointer: Checkpointer?
    }

    /// A checkpointer for the replica file at `path` (a plain path, not a URI); it opens its connection at its
    /// first checkpoint.
    init(path: String) {
        self.path = path
        key = Self.registry.withLock { registry in
            defer { registry.next += 1 }
            return registry.next
        }
        Self.registry.withLock { $0.entries[key] = Entry(checkpointer: self) }
    }

    deinit {
        Self.registry.withLock { _ = $0.entries.removeValue(forKey: key) }
    }

    /// Makes `db` (the pool's writer) ask this checkpointer for checkpoints instead of running its own.
    func attach(to db: Database) {
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, pages in
                Checkpointer.committed(key: Int(bitPattern: context), connection: connection, pages: pages)
                return SQLITE_OK
            }, UnsafeMutableRawPointer(bitPattern: key))
    }

    /// After a commit that left `pages` pages in the log.
    private static func committed(key: Int, connection: OpaquePointer?, pages: Int32) {
        guard pages >= threshold else { return }
        let checkpointer = pages < limit ? registry.withLock { $0.entries[key]?.checkpointer } : nil
        guard let checkpointer, checkpointer.request(pages: pages) else {
            // The log is long (or nobody is there to copy it): copy it here, as SQLite's default would.
            sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
    }

    /// Schedules a checkpoint every `threshold` pages the log grows by, unless one is waiting to start. Returns
    /// false when paused.
    private func request(pages: Int32) -> Bool {
        let schedule = state.withLock { state -> Bool? in
            if state.paused { return nil }
            // The log started over since the last request.
            if pages < state.askedAt { state.askedAt = 0 }
            guard !state.requested, pages - state.askedAt >= Self.threshold else { return false }
            state.requested = true
            state.askedAt = pages
            return true
        }
        guard let schedule else { return false }
        if schedule { queue.async { self.run() } }
        return true
    }

    /// Checkpoints run so far (for tests).
    let runs = Atomic<Int>(0)

    private func run() {
        // Commits from here on ask again: a checkpoint that began before them may not copy them.
        let paused = state.withLock { state in
            state.requested = false
            return state.paused
        }
        if paused { return }
        // Another connection's checkpoint, a file going away: the next request tries again, and past `limit`
        // the writer copies the log itself.
        try? checkpoint()
    }

    /// On `queue`: one passive checkpoint.
    private func checkpoint() throws {
        try connection.withLock { connection in
            do {
                if connection == nil { connection = try DatabaseQueue(path: path) }
                try connection?.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                runs.add(1, ordering: .relaxed)
            } catch {
                connection = nil
                throw error
            }
        }
    }

    /// Copies the log into the file now, after any checkpoint in progress, and returns when done (blocking).
    /// - Throws: SQLite's error (busy when another process is checkpointing the file).
    func checkpointNow() throws {
        try queue.sync {
            guard !state.withLock({ $0.paused }) else { return }
            try checkpoint()
        }
    }

    /// Stops checkpointing and closes the connection (before the file is replaced), until `resume`.
    func pause() {
        state.withLock { $0.paused = true }
        queue.sync { connection.withLock { $0 = nil } }
    }

    /// Stops checkpointing for good, without waiting for a checkpoint in progress (when the replica goes away).
    func stop() {
        state.withLock { $0.paused = true }
    }

    /// Checkpoints again after `pause`, on the file now at the path.
    func resume() {
        state.withLock { $0.paused = false }
    }
}
