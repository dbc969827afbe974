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
extension ReplicationLog {
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

    /// The tables that hold this replica's own dealings with its peers, not replicated state: what other peers
    /// staged and have not finished, where each peer's cursor stands, what each was sent, and the conflict
    /// log. A snapshot never carries them.
    static let peerPrivateTables = [
        "staged_rows", "staged_streams", "staged_dots", "sync_cursors", "delivery_marks", "conflict_history",
    ]

    /// Hands a copy of this replica's file holding only replicated state to `chunk`, `chunkSize` bytes at a
    /// time, after `header` has its size, vector and change sequence. Synchronous (SQLite's online backup
    /// runs inside one read transaction, writers carry on meanwhile), so call it off Swift's cooperative
    /// threads (the sync layer does).
    ///
    /// The copy is written beside the replica (the same disk, which has room for it), stripped of
    /// `peerPrivateTables` with SQLite's secure delete (their pages are zeroed, not just freed), sent, and
    /// removed. Another peer's unfinished stream, cursors and marks never leave this device.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is itself bootstrapping.
    public func withSnapshot(chunkSize: Int, header: (SnapshotInfo) throws -> Void, _ chunk: ([UInt8]) throws -> Void)
        throws
    {
        let temporary = path + ".snapshot-outgoing-\(UUID().uuidString)"
        defer { Replica.removeDatabaseFiles(at: temporary) }
        var info = try writeSnapshot(to: temporary)
        let copy = try DatabaseQueue(path: temporary)
        try copy.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.inTransaction {
                for table in Self.peerPrivateTables { try db.execute(sql: "DELETE FROM \(table)") }
                return .commit
            }
            try db.execute(sql: "PRAGMA journal_mode = DELETE")  // one file, nothing left in a WAL
        }
        try copy.close()
        info.bytes = (try FileManager.default.attributesOfItem(atPath: temporary)[.size] as? Int) ?? 0
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
    public func writeSnapshot(to path: String) throws -> SnapshotInfo {
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
}
