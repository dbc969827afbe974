import GRDB
import OrderDomain

/// What a stock command did.
public struct StockChange: Hashable, Sendable {
    public var sku: String
    public var location: String
    /// Units gone beyond what this device's rights covered (a loss found by a count, adjustment or move): the
    /// orders they leave uncovered are listed `oversold`.
    public var shortfall: Int64 = 0
}

extension OrderCommands {
    // MARK: Stock movements

    /// Goods in: `units` more of `sku` on hand at `location`; this device gains the right to sell them.
    @discardableResult
    public func receive(sku: String, units: Int64, location: String = "main", note: String? = nil) async throws
        -> StockChange
    {
        try Self.checkUnits(sku: sku, units, "units received")
        return try await stockWrite(sku: sku, location: location) { context, key in
            try self.addMovement(context, key, .receive, units, note: note)
            try StockLedger.change(context, key, site: self.identity.siteID, by: units)
            return 0
        }
    }

    /// A recount: on hand at `location` is `units` as of now; changes this device had not seen (sales, receipts
    /// elsewhere) apply on top. Made on the stock authority only, so that counts never race each other (two
    /// devices that both believe they are the authority: the later count stands, with what it had not seen on
    /// top).
    ///
    /// - Throws: `DomainError(.wrongDevice)` on another device (use `adjust` there).
    @discardableResult
    public func count(sku: String, units: Int64, location: String = "main", note: String? = nil) async throws
        -> StockChange
    {
        try LineSpec.checkSKU(sku)
        try InputRules.checkStock(units, "a counted quantity")
        return try await stockWrite(sku: sku, location: location) { context, key in
            let authority = try StockLedger.authority(context.db)
            guard authority == nil || authority == self.identity.siteID else {
                throw DomainError(
                    .wrongDevice,
                    "counts are recorded on the stock authority (site \(authority ?? "")), so that two counts never race",
                    hint:
                        "count on the hub, or record what you found here with `outpost stock adjust \(sku) ±N --reason found|lost`"
                )
            }
            let before = try StockLedger.figures(context.db, key)
            try self.addMovement(context, key, .count, units, note: note, seen: before)
            // The authority's rights follow from the figures; a count dropping below what the others hold is a
            // shortfall.
            let figures = try StockLedger.figures(context.db, key)
            let rights = try StockLedger.rights(context.db, key)
            let (bySite, _) = rights.holdings(
                available: figures?.available ?? 0, authority: authority ?? self.identity.siteID)
            return max(0, -(bySite[self.identity.siteID] ?? 0))
        }
    }

    /// A correction of `delta` units (negative: gone) with a reason.
    @discardableResult
    public func adjust(
        sku: String, by delta: Int64, reason: StockAdjustReason, location: String = "main", note: String? = nil
    ) async throws -> StockChange {
        try LineSpec.checkSKU(sku)
        try InputRules.checkStock(delta, "a stock adjustment of", signed: true)
        guard delta != 0 else {
            throw DomainError(.invalidInput, "an adjustment of 0 units changes nothing", hint: "give +N or -N")
        }
        return try await stockWrite(sku: sku, location: location) { context, key in
            try self.addMovement(context, key, .adjust, delta, reason: reason.rawValue, note: note)
            return try StockLedger.change(context, key, site: self.identity.siteID, by: delta, physical: delta < 0)
        }
    }

    /// Moves `units` from one location to another: gone at `from` (this device's rights there pay for them),
    /// on hand at `to` (this device may sell them there).
    @discardableResult
    public func move(sku: String, units: Int64, from: String, to: String) async throws -> StockChange {
        try Self.checkUnits(sku: sku, units, "units moved")
        guard from != to else {
            throw DomainError(.invalidInput, "a move needs two different locations", hint: "--from A --to B")
        }
        return try await stockWrite(sku: sku, location: from) { context, key in
            let destination = StockKey(sku: sku, location: to)
            try self.addMovement(context, key, .moveOut, -units, note: "to \(to)")
            try self.addMovement(context, destination, .moveIn, units, note: "from \(from)")
            let short = try StockLedger.change(context, key, site: self.identity.siteID, by: -units, physical: true)
            try StockLedger.change(context, destination, site: self.identity.siteID, by: units)
            return short
        }
    }

    // MARK: Selling rights

    /// Gives `units` of this device's selling rights of `sku` at `location` to the device with site id `site`.
    ///
    /// - Throws: `DomainError(.insufficientStock)` when this device holds fewer.
    public func allot(sku: String, units: Int64, to site: String, location: String = "main") async throws {
        try Self.checkUnits(sku: sku, units, "rights allotted")
        guard site != identity.siteID else {
            throw DomainError(.invalidInput, "this device cannot allot rights to itself", hint: "name another device")
        }
        try await write { context in
            let key = StockKey(sku: sku, location: location)
            guard let held = try StockLedger.held(context.db, key, site: self.identity.siteID) else {
                throw DomainError(
                    .notFound, "\(sku) is not tracked at \(location)", hint: "receive or count it first")
            }
            guard held >= units else {
                throw DomainError(
                    .insufficientStock,
                    "this device holds the rights to \(max(0, held)) unit(s) of \(sku) at \(location); \(units) to allot",
                    hint: "allot fewer, or sync first")
            }
            try StockLedger.give(context, key, site: self.identity.siteID, to: site, units: units)
        }
    }

    /// Hands `units` (nil: all) of this device's rights of `sku` at `location` back to the stock authority.
    /// Returns how many it released.
    @discardableResult
    public func release(sku: String, units: Int64? = nil, location: String = "main") async throws -> Int64 {
        try LineSpec.checkSKU(sku)
        return try await write { context in
            let key = StockKey(sku: sku, location: location)
            guard let authority = try StockLedger.authority(context.db) else {
                throw DomainError(
                    .notFound, "no stock authority is known yet to release rights to",
                    hint: "sync with the hub first")
            }
            guard authority != self.identity.siteID else {
                throw DomainError(
                    .wrongDevice, "this device is the stock authority: its rights are what the others leave",
                    hint: "release rights on the device that holds them")
            }
            let held = try StockLedger.held(context.db, key, site: self.identity.siteID) ?? 0
            let amount = units ?? max(0, held)
            guard amount > 0 else { return 0 }
            guard held >= amount else {
                throw DomainError(
                    .insufficientStock,
                    "this device holds the rights to \(max(0, held)) unit(s) of \(sku) at \(location)")
            }
            try StockLedger.give(context, key, site: self.identity.siteID, to: authority, units: amount)
            return amount
        }
    }

    /// On the stock authority: tops the device with site id `peer` up to its share of every tracked SKU — the
    /// SKU's target (`stock.target.SKU`) when set, else an even share of the units available among the devices
    /// this replica knows. Runs when a device syncs with the authority (`ReplicationStore.prepareSession`).
    /// Returns the units granted.
    @discardableResult
    public func topUp(peer: String) async throws -> Int64 {
        guard peer != identity.siteID else { return 0 }
        return try await write { context in
            guard try StockLedger.authority(context.db) == self.identity.siteID else { return 0 }
            let settings = try OrderQueries.settings(context.db)
            // This device and every peer it has heard from.
            let devices = 1 + (try Int64.fetchOne(context.db, sql: "SELECT COUNT(*) FROM site_keys") ?? 0)
            let keys = try Row.fetchAll(
                context.db,
                sql: """
                    SELECT DISTINCT sku, location FROM stock_movements
                    UNION SELECT DISTINCT sku, location FROM stock ORDER BY 1, 2
                    """)
            var granted: Int64 = 0
            for row in keys {
                let key = StockKey(sku: row["sku"], location: row["location"])
                guard let figures = try StockLedger.figures(context.db, key) else { continue }
                let (bySite, _) = try StockLedger.rights(context.db, key).holdings(
                    available: figures.available, authority: self.identity.siteID)
                let pool = bySite[self.identity.siteID] ?? 0
                let target =
                    Int64(settings.value(Settings.targetPrefix + key.sku)) ?? (max(0, figures.available) + devices - 1)
                    / devices
                let grant = min(pool, target - (bySite[peer] ?? 0))
                guard grant > 0 else { continue }
                try StockLedger.give(context, key, site: self.identity.siteID, to: peer, units: grant)
                granted += grant
            }
            return granted
        }
    }

    // MARK: Shared by the commands

    /// After an order command: the units it took (a quantity increase, an exchange's new lines) spend this
    /// device's rights. Units an order command makes available again (a cancel, a smaller quantity, a restock)
    /// mint nothing here: they go to the stock authority, because the same units may be freed twice by two
    /// devices at once (two devices receiving one return), or not at all (a cancel while another device ships),
    /// and only merged facts tell. Shipping moves units from reserved to gone, which changes neither.
    func settleRights(_ context: WriteContext, before: Order, after: OrderProgress) throws {
        // A backorder's units take no rights.
        guard !before.tags.contains("backorder") else { return }
        var change: [String: Int64] = [:]
        for line in before.progress.lines {
            change[line.sku, default: 0] += line.reserved + line.shipped - line.restocked
        }
        for line in after.lines {
            change[line.sku, default: 0] -= line.reserved + line.shipped - line.restocked
        }
        let taken = change.filter { $0.value < 0 }
        let tracked = try StockLedger.tracked(context.db, skus: Array(taken.keys), location: before.location)
        for (sku, delta) in taken.sorted(by: { $0.key < $1.key }) where tracked.contains(sku) {
            try StockLedger.change(
                context, StockKey(sku: sku, location: before.location), site: identity.siteID, by: delta)
        }
    }

    private static func checkUnits(sku: String, _ units: Int64, _ what: String) throws {
        try LineSpec.checkSKU(sku)
        try InputRules.checkStock(units, what)
        guard units > 0 else {
            throw DomainError(.invalidInput, "\(what) must be at least 1", hint: "give a whole number above 0")
        }
    }

    private func stockWrite(
        sku: String, location: String, _ body: @escaping @Sendable (WriteContext, StockKey) throws -> Int64
    ) async throws -> StockChange {
        try InputRules.checkText(location, field: "location")
        let shortfall = try await write { context in try body(context, StockKey(sku: sku, location: location)) }
        return StockChange(sku: sku, location: location, shortfall: shortfall)
    }

    private func addMovement(
        _ context: WriteContext, _ key: StockKey, _ kind: StockMovementKind, _ quantity: Int64,
        reason: String? = nil, note: String? = nil, seen: StockLedger.Figures? = nil
    ) throws {
        var values: [String: FieldValue] = [
            "sku": .text(key.sku), "location": .text(key.location), "kind": .text(kind.rawValue),
            "quantity": .integer(quantity), "reason": FieldValue(reason), "note": FieldValue(note),
            "site": .text(identity.siteID), "at": .integer(context.eventTime),
        ]
        if kind == .count {
            values["seen_moves"] = .integer(seen?.moves ?? 0)
            values["seen_shipped"] = .integer(seen?.shipped ?? 0)
            values["seen_restocked"] = .integer(seen?.restocked ?? 0)
        }
        try context.insert(.stockMovements, id: Self.newID(context), values)
    }

    // MARK: Earlier commands

    /// `stock set`: a count of `onHand` at `location` (see `count`).
    public func setStock(sku: String, location: String = "main", onHand: Int64) async throws {
        _ = try await count(sku: sku, units: onHand, location: location)
    }

    /// `stock add`: goods received (`quantity` > 0) or an adjustment for units gone (`quantity` < 0).
    @discardableResult
    public func addStock(sku: String, location: String = "main", quantity: Int64) async throws -> StockChange {
        if quantity >= 0 { return try await receive(sku: sku, units: quantity, location: location) }
        return try await adjust(sku: sku, by: quantity, reason: .other, location: location)
    }

    /// Names this device the stock authority when no device is named (`stock.authority`): what the device that
    /// serves its peers does (`outpost serve`). Returns whether it did.
    @discardableResult
    public func claimStockAuthority() async throws -> Bool {
        guard try await replica.queries.settings().value("stock.authority").isEmpty else { return false }
        try await setSetting("stock.authority", to: identity.siteID)
        return true
    }
}
