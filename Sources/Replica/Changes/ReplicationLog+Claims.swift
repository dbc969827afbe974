import GRDB
import OrderDomain

/// What a replica's vector claims of a peer's own writes is checked against the peer's own counter whenever the
/// two meet (Replica.docc, "A claim only its maker can vouch for").
extension ReplicationLog {
    /// Checks this replica's vector entry for `peer` against `peerCounter`, the counter `peer` itself reports
    /// (its own entry in its `HELLO`). An entry above it claims writes the peer never made: another peer's
    /// poisoned vector was joined in, and left as it is it would make the peer's next writes look "already had".
    /// The entry is lowered to what this replica can vouch for: the peer's counter at the end of the last stream
    /// merged from it, or the highest of its writes held here, whichever is higher; the peer then sends its
    /// writes after that again. When this replica holds writes of the peer numbered above `peerCounter`, the
    /// claim is true and the peer is the odd one: a copied or restored replica.
    ///
    /// - Returns: the repair made (nil when the entry was not above `peerCounter`).
    /// - Throws: `ReplicaError(.siteConflict)` when this replica holds writes of `peer` numbered above
    ///   `peerCounter` (nothing is changed).
    @discardableResult
    public func reconcileClaim(peer: String, peerCounter: UInt64) async throws -> ClaimRepair? {
        // Most sessions find nothing to repair: a read decides.
        let over = try await pool.read { db in try Self.claimedAbove(db, peer: peer, peerCounter: peerCounter) }
        guard over else { return nil }
        return try await replica.writeQueued { db in try Self.reconcileClaim(db, peer: peer, peerCounter: peerCounter) }
    }

    private static func claimedAbove(_ db: Database, peer: String, peerCounter: UInt64) throws -> Bool {
        guard let ordinal = try siteOrdinal(db, peer) else { return false }
        return try versionVector(db)[ordinal] > peerCounter
    }

    private static func siteOrdinal(_ db: Database, _ site: String) throws -> UInt32? {
        try Int64.fetchOne(db, sql: "SELECT ordinal FROM sites WHERE site_id = ?", arguments: [site]).map {
            UInt32(truncatingIfNeeded: $0)
        }
    }

    static func reconcileClaim(_ db: Database, peer: String, peerCounter: UInt64) throws -> ClaimRepair? {
        guard let ordinal = try siteOrdinal(db, peer), ordinal != (try localOrdinal(db)) else { return nil }
        let claimed = try versionVector(db)[ordinal]
        guard claimed > peerCounter else { return nil }
        let held = try highestHeldCounter(db, site: ordinal)
        if held > peerCounter {
            throw ReplicaError(
                .siteConflict,
                "the peer says it has made \(peerCounter) changes, yet this replica holds its changes numbered up to \(held): the peer's replica was copied, or restored from a backup, and numbers new changes like old ones",
                hint:
                    "on the peer, run `outpost reidentify` (it keeps what it holds and gets the rest back on its next sync); nothing was merged or sent"
            )
        }
        let vouched = UInt64(
            max(
                0,
                try Int64.fetchOne(
                    db, sql: "SELECT peer_counter FROM sync_cursors WHERE peer_site = ?", arguments: [peer]) ?? 0))
        let repaired = min(peerCounter, max(vouched, held))
        try db.execute(
            sql: "UPDATE version_vector SET counter = ? WHERE site = ?", arguments: [Int64(repaired), Int64(ordinal)])
        return ClaimRepair(site: peer, claimed: claimed, peerCounter: peerCounter, repaired: repaired)
    }

    /// The highest counter of `site` among the dots of every record held here (live values and siblings).
    /// Reads every record: run only when a claim is found wrong.
    static func highestHeldCounter(_ db: Database, site: UInt32) throws -> UInt64 {
        var highest =
            UInt64(
                max(
                    0,
                    try Int64.fetchOne(
                        db, sql: "SELECT MAX(counter) FROM siblings WHERE site = ?", arguments: [Int64(site)]) ?? 0))
        for entity in Entity.allCases {
            let rows = try Row.fetchCursor(db, sql: "SELECT dots FROM \(entity.rawValue)")
            while let row = try rows.next() {
                let dots = try RowDots(decoding: (row["dots"] as DatabaseValue).storage.blobBytes)
                for group in dots.groups where group.dot.site == site && group.dot.counter > highest {
                    highest = group.dot.counter
                }
            }
        }
        return highest
    }
}

/// A vector entry lowered because it claimed writes the peer never made.
public struct ClaimRepair: Hashable, Sendable {
    /// The peer's site id.
    public var site: String
    /// What the entry claimed.
    public var claimed: UInt64
    /// The peer's own counter.
    public var peerCounter: UInt64
    /// What the entry is now (the peer sends its writes after it again).
    public var repaired: UInt64
}
