import GRDB
import OrderDomain

/// Stock of one SKU at one location. On-hand is the sum of every site's counted contribution, minus what
/// shipped, plus what came back restocked; reserved is what live orders still hold.
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
    static let sql = """
        WITH contributions AS (
            SELECT sku, location, SUM(on_hand) AS counted FROM stock %@ GROUP BY sku, location
        )
        SELECT c.sku, c.location, c.counted,
               COALESCE((SELECT SUM(l.shipped) FROM order_lines l JOIN orders o ON o.id = l.order_id
                         WHERE l.sku = c.sku AND o.location = c.location), 0) AS shipped,
               COALESCE((SELECT SUM(l.restocked) FROM order_lines l JOIN orders o ON o.id = l.order_id
                         WHERE l.sku = c.sku AND o.location = c.location), 0) AS restocked,
               COALESCE((SELECT SUM(l.reserved) FROM order_lines l JOIN orders o ON o.id = l.order_id
                         WHERE l.sku = c.sku AND o.location = c.location), 0) AS reserved
        FROM contributions c ORDER BY c.sku, c.location
        """

    // Built once: string replacement per query showed up in profiles of the write path.
    static let oneSQL = sql.replacingOccurrences(of: "%@", with: "WHERE sku = ? AND location = ?")
    static let skuSQL = sql.replacingOccurrences(of: "%@", with: "WHERE sku = ?")
    static let allSQL = sql.replacingOccurrences(of: "%@", with: "")

    private static func make(_ row: Row) -> StockLevel {
        let counted: Int64 = row["counted"]
        let shipped: Int64 = row["shipped"]
        let restocked: Int64 = row["restocked"]
        return StockLevel(
            sku: row["sku"], location: row["location"], onHand: counted - shipped + restocked, reserved: row["reserved"]
        )
    }

    /// The level of `sku` at `location`, or nil when the SKU is not tracked there (no count was ever made).
    static func level(_ db: Database, sku: String, location: String) throws -> StockLevel? {
        let statement = try db.cachedStatement(sql: oneSQL)
        return try Row.fetchOne(statement, arguments: [sku, location]).map(make)
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

    /// Every tracked level, optionally for one SKU.
    static func all(_ db: Database, sku: String?) throws -> [StockLevel] {
        if let sku {
            let statement = try db.cachedStatement(sql: skuSQL)
            return try Row.fetchAll(statement, arguments: [sku]).map(make)
        }
        return try Row.fetchAll(db, sql: allSQL).map(make)
    }

    /// Refuses when any tracked SKU lacks `quantity` available units at `location`. Untracked SKUs (never
    /// counted) are not limited: a shop may sell services or items it does not count.
    static func requireAvailable(_ db: Database, _ wanted: [(sku: String, quantity: Int64)], location: String) throws {
        var totals: [String: Int64] = [:]
        for item in wanted { totals[item.sku, default: 0] += item.quantity }
        for (sku, quantity) in totals.sorted(by: { $0.key < $1.key }) {
            guard let level = try level(db, sku: sku, location: location) else { continue }
            if level.available < quantity {
                throw DomainError(
                    .insufficientStock,
                    "only \(max(0, level.available)) unit(s) of \(sku) are available at \(location); \(quantity) wanted",
                    hint: "add stock with `outpost stock add \(sku) N`, or sell fewer")
            }
        }
    }
}

extension OrderQueries {
    /// Stock levels of every tracked SKU (or one SKU) at every location.
    public func stockLevels(sku: String? = nil) async throws -> [StockLevel] {
        try await read { db in try StockLevels.all(db, sku: sku) }
    }
}
