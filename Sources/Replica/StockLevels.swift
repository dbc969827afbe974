import Foundation
import GRDB
import OrderDomain

/// Stock of one SKU at one location. On-hand is the latest count plus every change its device had not seen
/// (receipts, adjustments, moves, units shipped, units restocked), or the sum of those changes when nothing was
/// counted; reserved is what live orders still hold.
public struct StockLevel: Hashable, Sendable {
    public var sku: String
    public var location: String
    public var onHand: Int64
    public var reserved: Int64
    /// On-hand minus reserved (saturating: merged figures from a faulty peer never trap or wrap).
    public var available: Int64 {
        let (difference, overflow) = onHand.subtractingReportingOverflow(reserved)
        return overflow ? (reserved > 0 ? .min : .max) : difference
    }
    /// Units promised beyond what is on hand (two offline devices sold the last unit, a count came in low):
    /// never a silent negative — the newest orders holding them are listed as `oversold`.
    public var oversold: Int64 {
        let (difference, overflow) = reserved.subtractingReportingOverflow(onHand)
        return overflow ? (onHand < 0 ? .max : 0) : max(0, difference)
    }
}

/// Stock queries. Derived from replicated facts only (never a last-writer-wins integer), so replicas that
/// hold the same facts agree on every level.
enum StockLevels {
    private static func make(_ row: Row) -> StockLevel {
        StockLevel(sku: row["sku"], location: row["location"], onHand: row["on_hand"], reserved: row["reserved"])
    }

    /// For each level whose reservations exceed what is on hand, the newest orders holding reservations of it,
    /// until they account for the shortfall: order id → (SKU, location, units short). Newest first because
    /// the later sale is the one the stock could not cover; every replica with the same facts picks the same.
    static func oversold(_ db: Database) throws -> [String: [(sku: String, location: String, units: Int64)]] {
        var result: [String: [(sku: String, location: String, units: Int64)]] = [:]
        for level in try all(db, sku: nil) where level.oversold > 0 {
            var missing = level.oversold
            let holders = try Row.fetchAll(
                db,
                sql: """
                    SELECT o.id, SUM(l.reserved) AS held FROM order_lines l JOIN orders o ON o.id = l.order_id
                    WHERE l.sku = ? AND o.location = ? AND l.reserved > 0
                    GROUP BY o.id ORDER BY o.created_at DESC, o.id DESC
                    """, arguments: [level.sku, level.location])
            for row in holders where missing > 0 {
                let units = min(missing, row["held"] as Int64)
                result[row["id"], default: []].append((level.sku, level.location, units))
                missing -= units
            }
        }
        return result
    }

    /// Every tracked level, optionally for one SKU: the view `stock_levels`, so tools reading it agree.
    static func all(_ db: Database, sku: String?) throws -> [StockLevel] {
        let select = "SELECT sku, location, on_hand, reserved FROM stock_levels"
        if let sku {
            return try Row.fetchAll(
                db.cachedStatement(sql: select + " WHERE sku = ? ORDER BY sku, location"), arguments: [sku]
            ).map(make)
        }
        return try Row.fetchAll(db.cachedStatement(sql: select + " ORDER BY sku, location")).map(make)
    }
}

extension OrderQueries {
    /// Stock levels of every tracked SKU (or one SKU) at every location.
    public func stockLevels(sku: String? = nil) async throws -> [StockLevel] {
        try await read { db in try StockLevels.all(db, sku: sku) }
    }
}

/// One device's selling rights of one SKU at one location (the view `stock_rights`).
public struct StockHolding: Hashable, Sendable {
    public var sku: String
    public var location: String
    /// The device's site id.
    public var site: String
    /// Units it may sell there now, as this replica knows (a peer's figure is as of what was last heard of it).
    public var rights: Int64
    /// Whether it is the stock authority (its rights are what the others' leave).
    public var isAuthority: Bool
}

extension OrderQueries {
    /// Every device's selling rights, optionally of one SKU and at one location.
    public func stockHoldings(sku: String? = nil, location: String? = nil) async throws -> [StockHolding] {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let sku {
                conditions.append("sku = ?")
                _ = arguments.append(contentsOf: [sku])
            }
            if let location {
                conditions.append("location = ?")
                _ = arguments.append(contentsOf: [location])
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT sku, location, site, rights, authority FROM stock_rights\(filter) ORDER BY sku, location, site",
                arguments: arguments
            ).map {
                StockHolding(
                    sku: $0["sku"], location: $0["location"], site: $0["site"], rights: $0["rights"],
                    isAuthority: ($0["authority"] as Int64? ?? 0) != 0)
            }
        }
    }

    /// The stock authority's site id, if one is known (`stock.authority`, else the first device to receive or
    /// count stock).
    public func stockAuthority() async throws -> String? {
        try await read { db in try StockLedger.authority(db) }
    }

    /// The site id a peer's public key speaks for, once a session with it was held.
    public func site(forKey key: [UInt8]) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT site_id FROM site_keys WHERE public_key = ?", arguments: [Data(key)])
        }
    }

    /// The public key each peer site was first heard with.
    public func siteKeys() async throws -> [String: [UInt8]] {
        try await read { db in
            var keys: [String: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT site_id, public_key FROM site_keys") {
                keys[row["site_id"]] = [UInt8](row["public_key"] as Data)
            }
            return keys
        }
    }
}
