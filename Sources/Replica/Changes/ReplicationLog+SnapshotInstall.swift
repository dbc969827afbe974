import Foundation
import GRDB
import OrderDomain

/// Installing a received snapshot: the copy takes this replica's identity, then replaces its empty file.
extension ReplicationLog {
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
                // The file this replica will be: the copy itself when it is renamed into place (a rename keeps
                // the file), else this replica's own file, into which it is copied.
                let renamed = Self.directory(of: path) == Self.directory(of: self.path)
                try db.execute(
                    sql: "UPDATE replica_info SET file_identity = ?, copied_from = NULL",
                    arguments: [FileIdentity.of(renamed ? path : self.path)])
                return .commit
            }
            summary.ordersTouched = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM orders") ?? 0
        }
        if Self.directory(of: path) == Self.directory(of: self.path) {
            try source.close()
            // Durable before it replaces ours: a crash then leaves the empty replica or the complete copy.
            guard let file = FileHandle(forUpdatingAtPath: path) else {
                throw ReplicaError(.unavailable, "cannot open the snapshot at \(path)")
            }
            try file.synchronize()
            try file.close()
            try replica.replaceFile(with: path)
        } else {
            try replica.writeWithoutTransactionBlocking { db in
                // One destination transaction: a crash leaves the empty replica as it was.
                try source.read { copy in try copy.backup(to: db) }
                // The copy went through the WAL; fold it into the file and give the space back. A checkpoint
                // already running (this replica's checkpointer, another process's) makes this answer busy: the
                // copy is committed all the same, and that checkpoint, or the next, folds it in.
                do {
                    try db.checkpoint(.truncate)
                } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {}
            }
            try source.close()
        }
        return summary
    }

    private static func directory(of file: String) -> String {
        URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path
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
        for table in peerPrivateTables where try db.tableExists(table) {
            try db.execute(sql: "DELETE FROM \(table)")
        }
        try db.execute(
            sql: "INSERT INTO sync_cursors (peer_site, lseq, synced_at, peer_counter) VALUES (?, ?, ?, ?)",
            arguments: [peer, snapshotLseq, wall, peerCounter])
        // The peer holds every record of the copy (its lseqs are the peer's, up to `snapshotLseq`).
        try db.execute(
            sql: "INSERT INTO delivery_marks (peer_site, lseq, delivered_at) VALUES (?, ?, ?)",
            arguments: [peer, snapshotLseq, wall])
    }
}
