import GRDB
import OrderDomain

/// A summary of a replica for people: counts, version vector, and what each peer has seen.
public struct ReplicaStatus: Hashable, Sendable {
    /// A peer this replica has completed a sync with.
    public struct Peer: Hashable, Sendable {
        public var siteID: String
        public var name: String?
        /// Unix milliseconds (UTC) of the last completed stream from this peer.
        public var lastSync: Int64
        /// Records changed here since that sync (an upper bound of what the peer still lacks from us).
        public var pendingRecords: Int
        /// Whether a cut stream from this peer is staged, waiting to resume.
        public var staged: Bool
    }

    public var identity: ReplicaIdentity
    public var orders: Int
    public var customers: Int
    public var openConflicts: Int
    public var ordersByStatus: [String: Int]
    /// Site id → counter.
    public var versionVector: [String: UInt64]
    public var peers: [Peer]
    /// Set while a first (snapshot) stream from this site is loaded directly into the tables: reads show
    /// partial data and local commands are refused until a sync with that peer completes it.
    public var bootstrappingFrom: String?
}

extension Replica {
    /// Records that `peer` merged this replica's stream taken at `snapshotLseq` (after its `DONE`), so that
    /// `status()` can say what it still lacks.
    func markDelivered(to peer: String, snapshotLseq: Int64) async throws {
        let wall = now()
        // A read first: most sessions deliver nothing new, and a write transaction costs far more.
        let current = try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT lseq FROM delivery_marks WHERE peer_site = ?", arguments: [peer])
        }
        if let current, current >= snapshotLseq { return }
        try await pool.write { db in
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
    func markSnapshotInstalled(by peer: String, snapshotLseq: Int64) async throws {
        try await markDelivered(to: peer, snapshotLseq: snapshotLseq)
        let wall = now()
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO sync_cursors (peer_site, lseq, synced_at) VALUES (?, ?, ?)
                    ON CONFLICT(peer_site) DO UPDATE SET lseq = max(lseq, excluded.lseq), synced_at = excluded.synced_at
                    """,
                arguments: [peer, snapshotLseq, wall])
        }
    }

    /// Remembers a peer site's human name (shown by `status()`).
    func notePeer(site: String, name: String) async throws {
        // Every session notes its peer; after the first, this instance answers from memory.
        if notedPeers.withLock({ $0[site] }) == name { return }
        let known = try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT name FROM sites WHERE site_id = ?", arguments: [site])
        }
        if known != name {
            try await pool.write { db in
                _ = try Self.registerSites(db, [site])
                try db.execute(sql: "UPDATE sites SET name = ? WHERE site_id = ?", arguments: [name, site])
            }
        }
        notedPeers.withLock { $0[site] = name }
    }

    /// The site this replica is bootstrapping from (its first stream is cut and must be finished with that
    /// peer), or nil.
    public func bootstrappingFrom() async throws -> String? {
        try await pool.read { db in try Self.bootstrapPeer(db) }
    }

    /// Counts, version vector and peers.
    public func status() async throws -> ReplicaStatus {
        let identity = self.identity
        return try await pool.read { db in
            var byStatus: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS count FROM orders GROUP BY status") {
                byStatus[row["status"] ?? "unknown"] = row["count"]
            }
            var peers: [ReplicaStatus.Peer] = []
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT c.peer_site, s.name, c.synced_at, COALESCE(m.lseq, 0) AS delivered,
                           EXISTS(SELECT 1 FROM staged_streams t WHERE t.peer_site = c.peer_site) AS staged
                    FROM sync_cursors c LEFT JOIN sites s ON s.site_id = c.peer_site
                    LEFT JOIN delivery_marks m ON m.peer_site = c.peer_site
                    ORDER BY c.synced_at DESC
                    """)
            {
                let delivered: Int64 = row["delivered"]
                var pending = 0
                for entity in Entity.allCases {
                    pending +=
                        try Int.fetchOne(
                            db, sql: "SELECT COUNT(*) FROM \(entity.rawValue) WHERE lseq > ?", arguments: [delivered])
                        ?? 0
                }
                peers.append(
                    ReplicaStatus.Peer(
                        siteID: row["peer_site"], name: row["name"], lastSync: row["synced_at"],
                        pendingRecords: pending,
                        staged: row["staged"]))
            }
            return ReplicaStatus(
                identity: identity, orders: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM orders") ?? 0,
                customers: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customers") ?? 0,
                openConflicts: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM open_conflicts") ?? 0,
                ordersByStatus: byStatus,
                versionVector: try Self.versionVectorBySite(db), peers: peers,
                bootstrappingFrom: try Self.bootstrapPeer(db))
        }
    }
}
