import Foundation
import GRDB
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
/// loading the peer's records one by one (DESIGN.md, "A new terminal bootstraps from a snapshot stream").
/// The copy holds the peer's records with their dots and derived columns, exactly as of one read snapshot;
/// the new replica keeps its own identity, takes the peer's site ordinals as they are (its own site gets a
/// fresh ordinal), and drops the peer's own bookkeeping (cursors, delivery marks, staging, conflict log).
extension Replica {
    /// Whether this replica can start from a snapshot: it holds nothing (no record, no local transaction, no
    /// remote vector, nothing staged) and is not bootstrapping from a stream.
    public func acceptsSnapshot() async throws -> Bool {
        try await pool.read { db in try Self.acceptsSnapshot(db) }
    }

    static func acceptsSnapshot(_ db: Database) throws -> Bool {
        try bootstrapPeer(db) == nil && isEmpty(db)
            && Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM staged_streams)") == false
    }

    /// Writes a consistent copy of this replica's file to `path` (SQLite's online backup inside one read
    /// transaction: writers carry on meanwhile) and returns its vector and change sequence.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is itself bootstrapping.
    public func writeSnapshot(to path: String) async throws -> SnapshotInfo {
        let destination = try DatabaseQueue(path: path)
        defer { try? destination.close() }
        let (vector, lseq) = try await pool.read { db -> ([String: UInt64], Int64) in
            if let peer = try Self.bootstrapPeer(db) {
                throw ReplicaError(.unavailable, "this replica is still bootstrapping from site \(peer)", hint: "let it finish first")
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

    /// Replaces this empty replica's content with the snapshot file at `path`, received from `peer` (its site
    /// id), in one step: the file is first given this replica's identity, then copied in with SQLite's online
    /// backup (one transaction). The file is left in place for the caller to delete.
    ///
    /// - Throws: `ReplicaError(.unavailable)` when this replica is not empty; `ReplicaError(.incompatible)`
    ///   when the file is not a replica snapshot of this schema, or not `peer`'s.
    @discardableResult
    public func installSnapshot(from path: String, peer: String, snapshotLseq: Int64) async throws -> MergeSummary {
        guard try await acceptsSnapshot() else {
            throw ReplicaError(.unavailable, "this replica already holds data; only an empty replica starts from a snapshot", hint: "sync normally")
        }
        let own = identity
        let createdAt = try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT created_at FROM replica_info") ?? 0 }
        let ownClock = try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT hlc FROM replica_clock") ?? 0 }
        let wall = now()

        var summary = MergeSummary()
        let source = try DatabaseQueue(path: path)
        defer { try? source.close() }
        summary.ordersTouched = try await source.write { db in
            try Self.checkSnapshot(db, peer: peer)
            try Self.adopt(db, own: own, createdAt: createdAt, clock: ownClock, peer: peer, snapshotLseq: snapshotLseq, wall: wall)
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM orders") ?? 0
        }
        try await pool.writeWithoutTransaction { db in
            // One destination transaction: a crash leaves the empty replica as it was.
            try source.read { copy in try copy.backup(to: db) }
            // The copy went through the WAL; fold it into the file and give the space back.
            try db.checkpoint(.truncate)
        }
        try source.close()
        return summary
    }

    /// Refuses a file that is not a ready replica of this schema whose own site is `peer`.
    private static func checkSnapshot(_ db: Database, peer: String) throws {
        guard try db.tableExists("replica_info"),
            let row = try Row.fetchOne(db, sql: "SELECT site_id, schema_version, state, local_ordinal FROM replica_info")
        else { throw ReplicaError(.incompatible, "the snapshot is not an Outpost replica") }
        guard row[0] as String == peer else {
            throw ReplicaError(.incompatible, "the snapshot is of site \(row[0] as String), not of the peer \(peer)")
        }
        guard row[1] as Int == Schema.version else {
            throw ReplicaError(.incompatible, "the snapshot has schema \(row[1] as Int); this replica has \(Schema.version)")
        }
        guard row[2] as String == "ready" else { throw ReplicaError(.incompatible, "the snapshot was taken while its replica was bootstrapping") }
    }

    /// Gives the copy this replica's identity: the peer's own counter becomes a remote vector entry, this
    /// site gets an ordinal of its own, and the peer's local bookkeeping goes.
    private static func adopt(
        _ db: Database, own: ReplicaIdentity, createdAt: Int64, clock: Int64, peer: String, snapshotLseq: Int64, wall: Int64
    ) throws {
        let peerOrdinal = try localOrdinal(db)
        let peerCounter = try Int64.fetchOne(db, sql: "SELECT counter FROM replica_clock") ?? 0
        try db.execute(
            sql: "INSERT INTO version_vector (site, counter) VALUES (?, ?) ON CONFLICT(site) DO UPDATE SET counter = max(counter, excluded.counter)",
            arguments: [Int64(peerOrdinal), peerCounter])
        try db.execute(sql: "INSERT OR IGNORE INTO sites (site_id, name) VALUES (?, ?)", arguments: [own.siteID, own.name])
        guard let ordinal = try Int64.fetchOne(db, sql: "SELECT ordinal FROM sites WHERE site_id = ?", arguments: [own.siteID]) else {
            throw ReplicaError.corrupt("the snapshot lost this replica's site")
        }
        // An empty replica has written nothing, so the peer cannot have seen a transaction of ours.
        let seen = try Int64.fetchOne(db, sql: "SELECT counter FROM version_vector WHERE site = ?", arguments: [ordinal]) ?? 0
        try db.execute(sql: "DELETE FROM version_vector WHERE site = ?", arguments: [ordinal])
        try db.execute(
            sql: "UPDATE replica_clock SET counter = ?, hlc = max(hlc, ?), order_sequence = 0", arguments: [seen, clock])
        try db.execute(
            sql: """
                UPDATE replica_info SET site_id = ?, site_name = ?, number_prefix = ?, created_at = ?, state = 'ready',
                    bootstrap_peer = NULL, local_ordinal = ?
                """,
            arguments: [own.siteID, own.name, own.numberPrefix, createdAt, ordinal])
        for table in ["sync_cursors", "delivery_marks", "staged_rows", "staged_streams", "conflict_history"] {
            try db.execute(sql: "DELETE FROM \(table)")
        }
        try db.execute(sql: "INSERT INTO sync_cursors (peer_site, lseq, synced_at) VALUES (?, ?, ?)", arguments: [peer, snapshotLseq, wall])
    }
}
