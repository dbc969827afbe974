import Foundation
import GRDB
import GRDBSQLite
import OrderDomain

/// A consistent copy of a replica's file, taken for a new replica to start from (`Replica.writeSnapshot`).
public struct SnapshotInfo: Hashable, Sendable {
    /// The copied replica's version vector at the copy (by site id).
    public var vector: [String: UInt64]
    /// The copied replica's change sequence at the copy: the new replica's cursor for it.
    public var snapshotLseq: Int64
    /// Size of the copy in bytes.
    public var bytes: Int

    public init(vector: [String: UInt64], snapshotLseq: Int64, bytes: Int) {
        self.vector = vector
        self.snapshotLseq = snapshotLseq
        self.bytes = bytes
    }
}

/// Snapshot bootstrap: a new, empty replica starts from a page-level copy of a peer's file instead of
/// loading the peer's records one by one (Replica.docc, "A new replica").
/// The copy holds the peer's records with their dots and derived columns, exactly as of one read snapshot;
/// the new replica keeps its own identity, takes the peer's site ordinals as they are (its own site gets a
/// fresh ordinal), and drops the peer's own bookkeeping (cursors, delivery marks, staging, conflict log).
extension Replica {
    /// Whether this replica can start from a snapshot of `peer`: it holds nothing (no record, no local
    /// transaction, no remote vector, nothing staged) and is not bootstrapping from anyone else.
    func acceptsSnapshot(from peer: String) async throws -> Bool {
        try await pool.read { db in try Self.acceptsSnapshot(db, from: peer) }
    }

    static func acceptsSnapshot(_ db: Database, from peer: String) throws -> Bool {
        let bootstrapping = try bootstrapPeer(db)
        return try (bootstrapping == nil || bootstrapping == peer) && isEmpty(db)
            && Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM staged_streams)") == false
    }

    /// Marks this empty replica as bootstrapping from `peer`'s snapshot: local writes are refused until
    /// `installSnapshot` (or `abandonSnapshot` after a cut).
    func beginSnapshot(from peer: String) async throws {
        try await pool.write { db in
            guard try Self.acceptsSnapshot(db, from: peer) else {
                throw ReplicaError(
                    .unavailable, "this replica already holds data; only an empty replica starts from a snapshot",
                    hint: "sync normally")
            }
            try db.execute(
                sql: "UPDATE replica_info SET state = 'bootstrapping', bootstrap_peer = ?", arguments: [peer])
        }
    }

    /// Returns an empty replica whose snapshot from `peer` was cut to the ready state.
    func abandonSnapshot(from peer: String) async throws {
        try await pool.write { db in
            guard try Self.bootstrapPeer(db) == peer, try Self.isEmpty(db),
                try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM staged_streams)") == false
            else { return }
            try db.execute(sql: "UPDATE replica_info SET state = 'ready', bootstrap_peer = NULL")
        }
    }

    /// Removes an SQLite file and its side files (WAL, shared memory, rollback journal), whatever exists.
    /// Only for files no connection has open.
    public static func removeDatabaseFiles(at path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Hands a consistent copy of this replica's file to `chunk`, `chunkSize` bytes at a time, after `header`
    /// has its size, vector and change sequence. Synchronous: it runs inside one read transaction, so call it
    /// off Swift's cooperative threads (the sync layer does); writers carry on meanwhile.
    ///
    /// The WAL is first checkpointed into the file and truncated; a read transaction that then finds it
    /// still empty reads only the file, and no checkpoint may change the file while it lasts, so the file's
    /// bytes are that snapshot and are sent as they are. When the WAL cannot be emptied (other readers, a
    /// writer in between), SQLite's online backup writes a copy to a temporary file, which is sent instead.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is itself bootstrapping.
    func withSnapshot(chunkSize: Int, header: (SnapshotInfo) throws -> Void, _ chunk: ([UInt8]) throws -> Void)
        throws
    {
        _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        let copied = try pool.read { db -> Bool in
            if let peer = try Self.bootstrapPeer(db) {
                throw ReplicaError(
                    .unavailable, "this replica is still bootstrapping from site \(peer)", hint: "let it finish first")
            }
            let vector = try Self.versionVectorBySite(db)
            let lseq = try Int64.fetchOne(db, sql: "SELECT lseq FROM replica_clock") ?? 0
            let walBytes = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            guard walBytes == 0 else { return false }
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            try header(SnapshotInfo(vector: vector, snapshotLseq: lseq, bytes: pages * pageSize))
            try Self.readMainFile(db, bytes: pages * pageSize, chunkSize: chunkSize, chunk)
            return true
        }
        guard !copied else { return }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent(
            "outpost-snapshot-\(UUID().uuidString).sqlite"
        ).path
        defer { Self.removeDatabaseFiles(at: temporary) }
        let info = try writeSnapshot(to: temporary)
        try header(info)
        try Self.readFile(temporary, bytes: info.bytes, chunkSize: chunkSize, chunk)
    }

    /// Reads the first `bytes` of the connection's database file in pieces through SQLite's own file handle.
    /// (Opening the file a second time would not do: closing that descriptor would drop every POSIX lock this
    /// process holds on the file, and another process could then delete the WAL under our feet.)
    private static func readMainFile(_ db: Database, bytes: Int, chunkSize: Int, _ chunk: ([UInt8]) throws -> Void)
        throws
    {
        var pointer: UnsafeMutableRawPointer?
        guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_FILE_POINTER, &pointer) == SQLITE_OK,
            let file = pointer?.assumingMemoryBound(to: sqlite3_file.self),
            let read = file.pointee.pMethods?.pointee.xRead
        else { throw ReplicaError(.unavailable, "SQLite did not expose the database file") }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var offset = 0
        while offset < bytes {
            let count = min(chunkSize, bytes - offset)
            let status = buffer.withUnsafeMutableBytes {
                read(file, $0.baseAddress, Int32(count), sqlite3_int64(offset))
            }
            guard status == SQLITE_OK else {
                throw ReplicaError.corrupt("reading the database file at byte \(offset) failed (SQLite code \(status))")
            }
            try chunk(Array(buffer[0..<count]))
            offset += count
        }
    }

    /// Reads the first `bytes` of `path` in pieces; refuses a file that ends early.
    private static func readFile(_ path: String, bytes: Int, chunkSize: Int, _ chunk: ([UInt8]) throws -> Void) throws {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw ReplicaError(.unavailable, "cannot read \(path) for a snapshot")
        }
        defer { try? file.close() }
        var remaining = bytes
        while remaining > 0 {
            guard let data = try file.read(upToCount: min(chunkSize, remaining)), !data.isEmpty else {
                throw ReplicaError.corrupt("\(path) ended \(remaining) bytes before its page count")
            }
            remaining -= data.count
            try chunk(Array(data))
        }
    }

    /// Writes a consistent copy of this replica's file to `path` (SQLite's online backup inside one read
    /// transaction: writers carry on meanwhile) and returns its vector and change sequence.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is itself bootstrapping.
    func writeSnapshot(to path: String) throws -> SnapshotInfo {
        let destination = try DatabaseQueue(path: path)
        defer { try? destination.close() }
        let (vector, lseq) = try pool.read { db -> ([String: UInt64], Int64) in
            if let peer = try Self.bootstrapPeer(db) {
                throw ReplicaError(
                    .unavailable, "this replica is still bootstrapping from site \(peer)", hint: "let it finish first")
            }
            let vector = try Self.versionVectorBySite(db)
            let lseq = try Int64.fetchOne(db, sql: "SELECT lseq FROM replica_clock") ?? 0
            try destination.writeWithoutTransaction { target in try db.backup(to: target) }
            return (vector, lseq)
        }
        try destination.close()
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return SnapshotInfo(vector: vector, snapshotLseq: lseq, bytes: bytes)
    }

    /// Makes this replica, which `beginSnapshot(from: peer)` marked, a copy of the snapshot file at `path`
    /// received from `peer` (its site id). The file is first given this replica's identity; then, when it
    /// sits in this replica's directory, it is synced to disk and renamed over this replica's file (one atomic
    /// step, no second copy); elsewhere it is copied in with SQLite's online backup (one transaction).
    ///
    /// - Throws: `ReplicaError(.unavailable)` when this replica is not an empty one bootstrapping from `peer`;
    ///   `ReplicaError(.incompatible)` when the file is not a ready replica snapshot of this schema, of `peer`.
    @discardableResult
    func installSnapshot(from path: String, peer: String, snapshotLseq: Int64) async throws -> MergeSummary {
        let wall = now()
        // File syncing and swapping block: keep them off Swift's cooperative threads (a listener's accept
        // loop runs there).
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try self.installSnapshotBlocking(from: path, peer: peer, snapshotLseq: snapshotLseq, wall: wall)
                    })
            }
        }
    }

    private func installSnapshotBlocking(from path: String, peer: String, snapshotLseq: Int64, wall: Int64) throws
        -> MergeSummary
    {
        let (createdAt, ownClock) = try pool.read { db -> (Int64, Int64) in
            guard try Self.bootstrapPeer(db) == peer, try Self.isEmpty(db) else {
                throw ReplicaError(
                    .unavailable, "this replica is not waiting for a snapshot of \(peer)", hint: "sync normally")
            }
            return (
                try Int64.fetchOne(db, sql: "SELECT created_at FROM replica_info") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT hlc FROM replica_clock") ?? 0
            )
        }
        let own = identity
        var summary = MergeSummary()
        let source = try DatabaseQueue(path: path)
        defer { try? source.close() }
        // A peer a release behind sends a file without this release's local tables: bring it up to date.
        if try source.read({ db in try db.tableExists("replica_info") }) { try Migrations.migrator.migrate(source) }
        try source.writeWithoutTransaction { db in
            // A plain rollback journal: closing leaves one self-contained file, ready to move.
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
            try db.inTransaction {
                try Self.checkSnapshot(db, peer: peer)
                try Self.adopt(
                    db, own: own, createdAt: createdAt, clock: ownClock, peer: peer, snapshotLseq: snapshotLseq,
                    wall: wall)
                return .commit
            }
            summary.ordersTouched = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM orders") ?? 0
        }
        try source.close()
        let directory = { (file: String) in
            (URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path)
        }
        if directory(path) == directory(self.path) {
            // Durable before it replaces ours: a crash then leaves the empty replica or the complete copy.
            guard let file = FileHandle(forUpdatingAtPath: path) else {
                throw ReplicaError(.unavailable, "cannot open the snapshot at \(path)")
            }
            try file.synchronize()
            try file.close()
            try replaceFile(with: path)
        } else {
            try pool.writeWithoutTransaction { db in
                // One destination transaction: a crash leaves the empty replica as it was.
                try source.read { copy in try copy.backup(to: db) }
                // The copy went through the WAL; fold it into the file and give the space back.
                try db.checkpoint(.truncate)
            }
        }
        return summary
    }

    /// Refuses a file that is not a ready replica of this schema whose own site is `peer`.
    private static func checkSnapshot(_ db: Database, peer: String) throws {
        guard try db.tableExists("replica_info"),
            let row = try Row.fetchOne(
                db, sql: "SELECT site_id, schema_version, state, local_ordinal FROM replica_info")
        else { throw ReplicaError(.incompatible, "the snapshot is not an Outpost replica") }
        guard row["site_id"] as String == peer else {
            throw ReplicaError(
                .incompatible, "the snapshot is of site \(row["site_id"] as String), not of the peer \(peer)")
        }
        guard row["schema_version"] as Int == Schema.version else {
            throw ReplicaError(
                .incompatible,
                "the snapshot has schema \(row["schema_version"] as Int); this replica has \(Schema.version)")
        }
        guard row["state"] as String == "ready" else {
            throw ReplicaError(.incompatible, "the snapshot was taken while its replica was bootstrapping")
        }
    }

    /// Gives the copy this replica's identity: the peer's own counter becomes a remote vector entry, this
    /// site gets an ordinal of its own, and the peer's local bookkeeping goes.
    private static func adopt(
        _ db: Database, own: ReplicaIdentity, createdAt: Int64, clock: Int64, peer: String, snapshotLseq: Int64,
        wall: Int64
    ) throws {
        let peerOrdinal = try localOrdinal(db)
        let peerCounter = try Int64.fetchOne(db, sql: "SELECT counter FROM replica_clock") ?? 0
        try db.execute(
            sql:
                "INSERT INTO version_vector (site, counter) VALUES (?, ?) ON CONFLICT(site) DO UPDATE SET counter = max(counter, excluded.counter)",
            arguments: [Int64(peerOrdinal), peerCounter])
        try db.execute(
            sql: "INSERT OR IGNORE INTO sites (site_id, name) VALUES (?, ?)", arguments: [own.siteID, own.name])
        guard
            let ordinal = try Int64.fetchOne(
                db, sql: "SELECT ordinal FROM sites WHERE site_id = ?", arguments: [own.siteID])
        else {
            throw ReplicaError.corrupt("the snapshot lost this replica's site")
        }
        // An empty replica has written nothing, so the peer cannot have seen a transaction of ours.
        let seen =
            try Int64.fetchOne(db, sql: "SELECT counter FROM version_vector WHERE site = ?", arguments: [ordinal]) ?? 0
        try db.execute(sql: "DELETE FROM version_vector WHERE site = ?", arguments: [ordinal])
        try db.execute(
            sql: "UPDATE replica_clock SET counter = ?, hlc = max(hlc, ?), order_sequence = 0",
            arguments: [seen, clock])
        try db.execute(
            sql: """
                UPDATE replica_info SET site_id = ?, site_name = ?, number_prefix = ?, created_at = ?, state = 'ready',
                    bootstrap_peer = NULL, local_ordinal = ?
                """,
            arguments: [own.siteID, own.name, own.numberPrefix, createdAt, ordinal])
        for table in [
            "sync_cursors", "delivery_marks", "staged_rows", "staged_streams", "staged_dots", "conflict_history",
        ] {
            try db.execute(sql: "DELETE FROM \(table)")
        }
        try db.execute(
            sql: "INSERT INTO sync_cursors (peer_site, lseq, synced_at) VALUES (?, ?, ?)",
            arguments: [peer, snapshotLseq, wall])
        // The peer holds every record of the copy (its lseqs are the peer's, up to `snapshotLseq`).
        try db.execute(
            sql: "INSERT INTO delivery_marks (peer_site, lseq, delivered_at) VALUES (?, ?, ?)",
            arguments: [peer, snapshotLseq, wall])
    }
}
