import Foundation
import GRDB
import OrderDomain

/// A replica's replication role, over the same file and pool: the stream it sends, the streams it stages and
/// merges, the marks of what each peer holds, and file snapshots. This is all `Sync` uses of a replica
/// (`replica.replication`); the order commands and reads are `replica.commands` and `replica.queries`.
///
/// This is the SQLite implementation of ``ReplicationStore``; its methods live in the `ReplicationLog+*.swift`
/// files by step: producing a stream, staging and completing one, merging, file snapshots.
public struct ReplicationLog: ReplicationStore, SnapshotStore {
    let replica: Replica

    public var identity: ReplicaIdentity { replica.identity }
    public var schemaVersion: Int { Replica.schemaVersion }
    public var snapshots: (any SnapshotStore)? { self }

    var pool: DatabasePool { replica.pool }
    var path: String { replica.path }
    func now() -> Int64 { replica.now() }
    func notify(_ orders: Set<String>, wrote lseqs: ClosedRange<Int64>) { replica.notify(orders, wrote: lseqs) }

    public func bootstrappingFrom() async throws -> String? { try await replica.bootstrappingFrom() }

    public func beginSnapshot(from peer: String, info: SnapshotInfo, offset: Int) async throws -> SnapshotReceiver {
        try await beginSnapshot(from: peer)
        do {
            return try SnapshotReceiver(path: incomingSnapshotPath, peer: peer, info: info, offset: offset)
        } catch {
            try? await abandonSnapshot(from: peer)
            throw error
        }
    }

    /// Where an incoming snapshot is assembled (and the kept part of a cut one waits).
    var incomingSnapshotPath: String { path + ".snapshot-incoming" }

    @discardableResult
    public func installSnapshot(_ received: SnapshotReceiver, peer: String) async throws -> MergeSummary {
        // Installed or refused, the copy is done with: a refused one (a wrong digest) must not be resumed.
        defer { received.discard() }
        try received.finish()
        let summary = try await installSnapshot(from: received.path, peer: peer, snapshotLseq: received.snapshotLseq)
        // The file is new: the peers noted in the old one (names, key bindings) are noted again.
        replica.notedPeers.withLock { $0.removeAll() }
        replica.siteOrdinals.withLock { $0.removeAll() }
        return summary
    }

    public func abandonSnapshot(_ received: SnapshotReceiver?, from peer: String) async throws {
        received?.suspend()
        try await abandonSnapshot(from: peer)
    }
}

extension ReplicationLog {
    /// Records that `peer` merged this replica's stream taken at `snapshotLseq` (after its `DONE`), so that
    /// `status()` can say what it still lacks.
    public func markDelivered(to peer: String, snapshotLseq: Int64) async throws {
        let wall = now()
        // A read first: most sessions deliver nothing new, and a write transaction costs far more.
        let current = try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT lseq FROM delivery_marks WHERE peer_site = ?", arguments: [peer])
        }
        if let current, current >= snapshotLseq { return }
        try await replica.writeQueued { db in
            try db.execute(
                sql:
                    "INSERT INTO delivery_marks (peer_site, lseq, delivered_at) VALUES (?, ?, ?) ON CONFLICT(peer_site) DO UPDATE SET lseq = max(lseq, excluded.lseq), delivered_at = excluded.delivered_at",
                arguments: [peer, snapshotLseq, wall])
        }
    }

    /// `peer` installed this replica's snapshot taken at `snapshotLseq` (it said so with `DONE`): it holds
    /// everything this replica held then, and its own records up to that `lseq` are copies of ours (a snapshot
    /// keeps the sender's change sequence). So the cursor for it starts there: its first sync back need not
    /// look at the copied records at all.
    public func markSnapshotInstalled(by peer: String, snapshotLseq: Int64) async throws {
        try await markDelivered(to: peer, snapshotLseq: snapshotLseq)
        let wall = now()
        try await replica.writeQueued { db in
            try db.execute(
                sql: """
                    INSERT INTO sync_cursors (peer_site, lseq, synced_at) VALUES (?, ?, ?)
                    ON CONFLICT(peer_site) DO UPDATE SET lseq = max(lseq, excluded.lseq), synced_at = excluded.synced_at
                    """,
                arguments: [peer, snapshotLseq, wall])
        }
    }

    /// Remembers a peer site's human name (shown by `status()`) and binds the site to the key that speaks for it
    /// (Replica.docc, "A claim only its maker can vouch for"): the first key a site is heard from is the only
    /// one that may speak for it afterwards. A key may speak for several sites (a device given a new site id by
    /// `reidentify` keeps its key).
    ///
    /// - Throws: `ReplicaError(.siteConflict)` when `site` is bound to another key.
    public func prepareSession(peer: String) async {
        // A replica still loading its first stream writes nothing; any other failure only means no top-up now.
        _ = try? await replica.commands.topUp(peer: peer)
    }

    public func notePeer(site: String, name: String, key: [UInt8]) async throws {
        // Every session notes its peer; after the first, this instance answers from memory.
        if let noted = replica.notedPeers.withLock({ $0[site] }), noted.name == name, noted.key == key { return }
        let (known, bound) = try await pool.read { db in
            (
                try String.fetchOne(db, sql: "SELECT name FROM sites WHERE site_id = ?", arguments: [site]),
                try Data.fetchOne(db, sql: "SELECT public_key FROM site_keys WHERE site_id = ?", arguments: [site])
            )
        }
        if let bound, [UInt8](bound) != key { throw Self.boundElsewhere(site: site, name: name) }
        if known != name || bound == nil {
            let wall = now()
            try await replica.writeQueued { db in
                if let bound = try Data.fetchOne(
                    db, sql: "SELECT public_key FROM site_keys WHERE site_id = ?", arguments: [site]),
                    [UInt8](bound) != key
                {
                    throw Self.boundElsewhere(site: site, name: name)
                }
                _ = try Self.registerSites(db, [site])
                try db.execute(sql: "UPDATE sites SET name = ? WHERE site_id = ?", arguments: [name, site])
                try db.execute(
                    sql: "INSERT OR IGNORE INTO site_keys (site_id, public_key, bound_at) VALUES (?, ?, ?)",
                    arguments: [site, Data(key), wall])
            }
        }
        replica.notedPeers.withLock { $0[site] = (name, key) }
    }

    private static func boundElsewhere(site: String, name: String) -> ReplicaError {
        ReplicaError(
            .siteConflict,
            "the peer \(name) speaks for site \(site), which another device's key spoke for first: one device may not write as another",
            hint:
                "if the peer's replica was copied from another device, run `outpost reidentify` on the peer; nothing was merged or sent"
        )
    }
}

extension Replica {
    /// This replica's replication role (what a sync session uses).
    public var replication: ReplicationLog { ReplicationLog(replica: self) }
}
