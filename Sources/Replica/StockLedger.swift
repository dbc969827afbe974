import GRDB
import GRDBSQLite
import OrderDomain

/// One SKU at one location as this replica knows it: the aggregates on-hand is computed from, and the rights.
struct StockKey: Hashable, Sendable {
    var sku: String
    var location: String
}

/// On-hand, reservations and selling rights of tracked SKUs (OrderDomain's `StockRights` explains the rights).
///
/// On hand: the latest count (by its time, then id) plus every change its device had not seen — movements
/// (receipts, adjustments, moves), units shipped and units restocked — or, with no count, the sum of them all
/// (earlier builds' per-device contributions count as movements). Reserved: what live orders still hold.
enum StockLedger {
    /// The aggregates of one key.
    struct Figures {
        /// Every movement except counts, plus the contributions of earlier builds.
        var moves: Int64
        var shipped: Int64
        var restocked: Int64
        var reserved: Int64
        /// The latest count: units, and what its device had seen of the three aggregates.
        var count: (quantity: Int64, moves: Int64, shipped: Int64, restocked: Int64)?

        var onHand: Int64 {
            guard let count else { return moves &- shipped &+ restocked }
            return count.quantity &+ (moves &- count.moves) &- (shipped &- count.shipped)
                &+ (restocked &- count.restocked)
        }
        var available: Int64 { onHand &- reserved }
    }

    /// The figures of `key`, or nil when the SKU is not tracked there (nothing was ever received or counted).
    static func figures(_ db: Database, _ key: StockKey) throws -> Figures? {
        let arguments: StatementArguments = [key.sku, key.location]
        // One statement for the common case: an untracked SKU is two index probes.
        guard
            let moved = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT (SELECT COUNT(*) FROM stock_movements WHERE sku = ?1 AND location = ?2)
                                 + (SELECT COUNT(*) FROM stock WHERE sku = ?1 AND location = ?2) AS n,
                               (SELECT COALESCE(SUM(CASE WHEN kind = 'count' THEN 0 ELSE quantity END), 0)
                                FROM stock_movements WHERE sku = ?1 AND location = ?2)
                                 + (SELECT COALESCE(SUM(on_hand), 0) FROM stock WHERE sku = ?1 AND location = ?2)
                                 AS moves
                        """), arguments: arguments),
            (moved["n"] as Int64? ?? 0) > 0
        else { return nil }
        let sold = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COALESCE(SUM(l.shipped), 0) AS shipped, COALESCE(SUM(l.restocked), 0) AS restocked,
                           COALESCE(SUM(l.reserved), 0) AS reserved
                    FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.sku = ? AND o.location = ?
                    """), arguments: arguments)
        let count = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT quantity, seen_moves, seen_shipped, seen_restocked FROM stock_movements
                    WHERE sku = ? AND location = ? AND kind = 'count' ORDER BY at DESC, id DESC LIMIT 1
                    """), arguments: arguments)
        let movedUnits: Int64 = moved["moves"] ?? 0
        let shipped: Int64 = sold?["shipped"] ?? 0
        let restocked: Int64 = sold?["restocked"] ?? 0
        let reserved: Int64 = sold?["reserved"] ?? 0
        var figures = Figures(
            moves: movedUnits, shipped: shipped, restocked: restocked, reserved: reserved, count: nil)
        if let count {
            let quantity: Int64 = count["quantity"] ?? 0
            let seenMoves: Int64 = count["seen_moves"] ?? 0
            let seenShipped: Int64 = count["seen_shipped"] ?? 0
            let seenRestocked: Int64 = count["seen_restocked"] ?? 0
            figures.count = (quantity, seenMoves, seenShipped, seenRestocked)
        }
        return figures
    }

    /// The SKUs among `skus` that are tracked at `location` (something was received, counted or contributed
    /// there): one query for all of an order's lines, so that selling untracked goods costs one probe per order.
    static func tracked(_ db: Database, skus: [String], location: String) throws -> Set<String> {
        guard !skus.isEmpty else { return [] }
        let statement = try db.cachedStatement(sql: CommandStatements.stockProbe(skus.count))
        var values = skus.map(\.databaseValue)
        values.append(location.databaseValue)
        try statement.bind(values)
        var found: Set<String> = []
        try statement.forEachRow { row in
            if let sku = Statement.text(row, 0) { found.insert(sku) }
        }
        return found
    }

    /// The rights state of `key`.
    static func rights(_ db: Database, _ key: StockKey) throws -> StockRights {
        var rights = StockRights()
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT site, target, minted, used, given FROM stock_ledger WHERE sku = ? AND location = ?"),
            arguments: [key.sku, key.location])
        for row in rows {
            let site: String = row["site"] ?? ""
            let target: String = row["target"] ?? ""
            if site == target {
                rights.minted[site, default: 0] &+= row["minted"] ?? 0
                rights.used[site, default: 0] &+= row["used"] ?? 0
            } else {
                rights.given[StockRights.Pair(from: site, to: target), default: 0] &+= row["given"] ?? 0
            }
        }
        return rights
    }

    /// The stock authority's site id: the shared setting `stock.authority`, else the device that first received
    /// or counted stock (the same on every replica that holds the same records), else nil.
    static func authority(_ db: Database) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COALESCE(
                        (SELECT value FROM settings WHERE id = 'stock.authority' AND value IS NOT NULL),
                        (SELECT site FROM stock_movements WHERE kind IN ('receive', 'count') ORDER BY at, id LIMIT 1),
                        (SELECT MIN(site) FROM stock))
                    """))
    }

    /// The rights `site` holds of `key` as this replica knows them (nil: untracked).
    static func held(_ db: Database, _ key: StockKey, site: String) throws -> Int64? {
        guard let figures = try figures(db, key) else { return nil }
        let (bySite, _) = try rights(db, key).holdings(available: figures.available, authority: authority(db))
        return bySite[site] ?? 0
    }

    // MARK: Writing

    /// Adds to this device's own ledger row of `key` (minted or used).
    private static func addOwn(_ context: WriteContext, _ key: StockKey, site: String, minted: Int64, used: Int64)
        throws
    {
        let id = rowID(key, site: site, target: site)
        if let (state, _) = try RowStore.load(context.db, .stockRights, id: id) {
            var values: [String: FieldValue] = [:]
            if minted != 0 { values["minted"] = .integer((state.value("minted").integer ?? 0) &+ minted) }
            if used != 0 { values["used"] = .integer((state.value("used").integer ?? 0) &+ used) }
            if !values.isEmpty { try context.update(.stockRights, id: id, values) }
        } else {
            try context.insert(
                .stockRights, id: id,
                [
                    "sku": .text(key.sku), "location": .text(key.location), "site": .text(site),
                    "target": .text(site), "minted": .integer(minted), "used": .integer(used),
                ])
        }
    }

    /// Records that this device gave `units` of its rights of `key` to `target`.
    static func give(_ context: WriteContext, _ key: StockKey, site: String, to target: String, units: Int64) throws {
        let id = rowID(key, site: site, target: target)
        if let (state, _) = try RowStore.load(context.db, .stockRights, id: id) {
            try context.update(.stockRights, id: id, ["given": .integer((state.value("given").integer ?? 0) &+ units)])
        } else {
            try context.insert(
                .stockRights, id: id,
                [
                    "sku": .text(key.sku), "location": .text(key.location), "site": .text(site),
                    "target": .text(target), "given": .integer(units),
                ])
        }
    }

    static func rowID(_ key: StockKey, site: String, target: String) -> String {
        "\(key.sku)@\(key.location)@\(site)@\(target)"
    }

    /// A local change to the units available of `key` by `delta` (negative: units taken), made by this device:
    /// a device with a ledger mints rights for units made available and spends its own for units taken; the
    /// authority's rights follow by themselves. `physical`: units that are gone whatever the rights say (a loss
    /// found by a count or an adjustment): what the device's rights do not cover is a shortfall, returned, which
    /// the oversold flags make visible. Otherwise a take beyond the device's rights is refused.
    ///
    /// - Returns: the units taken beyond this device's rights (0 unless `physical`).
    @discardableResult
    static func change(
        _ context: WriteContext, _ key: StockKey, site: String, by delta: Int64, physical: Bool = false
    ) throws -> Int64 {
        guard delta != 0, let figures = try figures(context.db, key) else { return 0 }
        // A sale never takes units that are not there, whoever holds the rights.
        if delta < 0, !physical, figures.available < 0 {
            throw DomainError(
                .insufficientStock,
                "only \(max(0, figures.available &- delta)) unit(s) of \(key.sku) are available at \(key.location); \(-delta) wanted",
                hint:
                    "receive stock with `outpost stock receive \(key.sku) N`, sell fewer, or sell it as a backorder (--backorder)"
            )
        }
        let authority = try authority(context.db)
        let rights = try rights(context.db, key)
        // The figures already include this change when it is a sale (the order's lines are written first).
        let (bySite, _) = rights.holdings(available: figures.available, authority: authority)
        if site == authority {
            guard delta < 0, !physical else { return 0 }
            // The authority's rights, after the change, must not be below zero.
            let after = bySite[site] ?? 0
            if after < 0 {
                throw refusal(key, held: after &- delta, wanted: -delta, authority: true)
            }
            return 0
        }
        if delta > 0 {
            try addOwn(context, key, site: site, minted: delta, used: 0)
            return 0
        }
        let held = rights.ledgerRights(site)
        let wanted = -delta
        if held >= wanted {
            try addOwn(context, key, site: site, minted: 0, used: wanted)
            return 0
        }
        guard physical else { throw refusal(key, held: held, wanted: wanted, authority: false) }
        if held > 0 { try addOwn(context, key, site: site, minted: 0, used: held) }
        return wanted &- max(held, 0)
    }

    static func refusal(_ key: StockKey, held: Int64, wanted: Int64, authority: Bool) -> DomainError {
        DomainError(
            .insufficientStock,
            "this device may sell \(max(0, held)) unit(s) of \(key.sku) at \(key.location); \(wanted) wanted",
            hint: authority
                ? "the other devices hold the rest of the stock's selling rights: receive more, or have a device release some (`outpost stock release \(key.sku)`)"
                : "sync with the hub (it tops this device up), ask for an allotment (`outpost stock allot \(key.sku) N --to THIS-DEVICE` there), or sell it as a backorder (--backorder)"
        )
    }
}
