import Foundation
import GRDB
import OrderDomain

/// A consistent copy of a replica's file, taken for a new replica to start from (`Replica.writeSnapshot`).
public struct SnapshotInfo: Hashable, Codable, Sendable {
    /// The copied replica's version vector at the copy (by site id).
    public var vector: [String: UInt64]
    /// The copied replica's change sequence at the copy: the new replica's cursor for it.
    public var snapshotLseq: Int64
    /// Size of the copy in bytes.
    public var bytes: Int
    /// The copy's name while its sender keeps it for resumption (nil: it cannot be resumed).
    public var id: String?
    /// BLAKE2b-256 of the whole copy, lowercase hex (nil: not announced).
    public var digest: String?

    public init(
        vector: [String: UInt64], snapshotLseq: Int64, bytes: Int, id: String? = nil, digest: String? = nil
    ) {
        self.vector = vector
        self.snapshotLseq = snapshotLseq
        self.bytes = bytes
        self.id = id
        self.digest = digest
    }
}

/// Where a receiver's cut copy stands: the copy's id and the bytes it holds durably. The sender continues at
/// `offset` while it still keeps that copy.
public struct SnapshotResume: Hashable, Sendable {
    /// The copy's id (`SnapshotInfo.id`).
    public var id: String
    /// Bytes the receiver holds, synced to its disk.
    public var offset: Int

    public init(id: String, offset: Int) {
        self.id = id
        self.offset = offset
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
        try await replica.writeQueued { db in
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
        try await replica.writeQueued { db in
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
        "site_keys",
    ]

    /// Hands a copy of this replica's file holding only replicated state to `chunk`, `chunkSize` bytes at a
    /// time, after `header` has its size, vector, change sequence, id and digest and the offset the chunks
    /// start at. Synchronous (SQLite's online backup runs inside one read transaction, writers carry on
    /// meanwhile), so call it off Swift's cooperative threads (the sync layer does).
    ///
    /// The copy is written beside the replica (the same disk, which has room for it) and stripped of
    /// `peerPrivateTables` with SQLite's secure delete (their pages are zeroed, not just freed): another peer's
    /// unfinished stream, cursors and marks never leave this device. It is then kept
    /// (`keptSnapshotRetention` after it was last served) so that a receiver whose copy was cut resumes it:
    /// `resume` names the copy and the bytes the receiver holds. When that copy is gone, or for a new receiver,
    /// a copy younger than `keptSnapshotReuse` is served from its start, or a new one is made.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is itself bootstrapping.
    public func withSnapshot(
        chunkSize: Int, resume: SnapshotResume?, header: (SnapshotInfo, _ offset: Int) throws -> Void,
        _ chunk: ([UInt8]) throws -> Void
    ) throws {
        let kept = try keptSnapshot(resuming: resume)
        let offset = resume.map { kept.info.id == $0.id && $0.offset <= kept.info.bytes ? $0.offset : 0 } ?? 0
        kept.touch()
        defer { kept.touch() }
        try header(kept.info, offset)
        try Self.readFile(kept.path, from: offset, bytes: kept.info.bytes, chunkSize: chunkSize, chunk)
    }

    /// Reads bytes `offset..<bytes` of `path` in pieces; refuses a file that ends early.
    private static func readFile(
        _ path: String, from offset: Int, bytes: Int, chunkSize: Int, _ chunk: ([UInt8]) throws -> Void
    ) throws {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw ReplicaError(.unavailable, "cannot read \(path) for a snapshot")
        }
        defer { try? file.close() }
        try file.seek(toOffset: UInt64(offset))
        var remaining = bytes - offset
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
