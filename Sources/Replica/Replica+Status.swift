import GRDB
import OrderDomain

/// A summary of a replica for people: counts, version vector, and what each peer has seen.
public struct ReplicaStatus: Hashable, Sendable {
    /// A peer this replica has completed a sync with.
    public struct Peer: Hashable, Sendable {
        public var siteID: String
        public var name: String?
        /// Unix milliseconds (UTC) of the last completed stream from this peer (a session that brought
        /// nothing refreshes it when it is more than a minute old).
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
    /// Set when this replica's file is not the one it was made as (copied, restored, moved): the identity it was
    /// made as. Writes and syncs are refused until `Replica.reidentify`.
    public var copiedFrom: String?
}

extension Replica {
    /// The site this replica is bootstrapping from (its first stream is cut and must be finished with that
    /// peer), or nil.
    public func bootstrappingFrom() async throws -> String? {
        try await pool.read { db in try ReplicationLog.bootstrapPeer(db) }
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
                versionVector: try ReplicationLog.versionVectorBySite(db), peers: peers,
                bootstrappingFrom: try ReplicationLog.bootstrapPeer(db),
                copiedFrom: try String.fetchOne(db, sql: "SELECT copied_from FROM replica_info"))
        }
    }
}
