/// What a stock movement records.
public enum StockMovementKind: String, Hashable, Sendable, CaseIterable {
    /// Goods in.
    case receive
    /// A recount: on hand is the counted quantity as of then; changes its device had not seen apply on top.
    case count
    /// A correction with a reason (damaged, lost, found, other).
    case adjust
    /// Goods moved out of this location to another.
    case moveOut = "move_out"
    /// Goods moved into this location from another.
    case moveIn = "move_in"
}

/// Why an adjustment was made.
public enum StockAdjustReason: String, Hashable, Sendable, CaseIterable {
    case damaged, lost, found, other
}

/// The selling rights of one SKU at one location, as one replica knows them: the bounded-counter state
/// (escrow: O'Neil 1986; Balegas et al., SRDS 2015) from which each device's rights follow.
///
/// Every device but the stock authority keeps a ledger: rights it *minted* (by changes that make units
/// available: goods received, a cancelled or reduced order, units restocked), rights it *used* (by changes that
/// take units: a sale, a loss), and rights it *gave* to each other device. Its rights are minted + received −
/// given − used; it only ever spends its own, and only what it holds, so no device's rights go below zero
/// whatever the order in which syncs arrive. The authority (`stock.authority`, by default the hub) keeps no
/// ledger: its rights are the units available (on hand − reserved) minus every other device's rights, so any
/// change made on it, or not covered by a device's rights, lands there. Hence, on every replica:
/// reserved + the rights of every device = on hand, and nothing is oversold while every device's rights are
/// at least zero.
public struct StockRights: Hashable, Sendable {
    /// Per site: minted and used.
    public var minted: [String: Int64] = [:]
    public var used: [String: Int64] = [:]
    /// Per (giver, receiver): rights given.
    public var given: [Pair: Int64] = [:]

    /// A giver and a receiver.
    public struct Pair: Hashable, Sendable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    public init() {}

    /// The rights of `site` by its ledger (minted + received − given − used), ignoring whether it is the
    /// authority.
    public func ledgerRights(_ site: String) -> Int64 {
        var total = (minted[site] ?? 0) &- (used[site] ?? 0)
        for (pair, amount) in given {
            if pair.to == site && pair.from != site { total = total &+ amount }
            if pair.from == site && pair.to != site { total = total &- amount }
        }
        return total
    }

    /// Every site that appears in the ledger.
    public var sites: Set<String> {
        Set(minted.keys).union(used.keys).union(given.keys.flatMap { [$0.from, $0.to] })
    }

    /// The rights of every site: by ledger, except the authority's, which are `available` minus the others'.
    /// With no authority, the units nobody's ledger holds belong to nobody (`unheld`).
    public func holdings(available: Int64, authority: String?) -> (bySite: [String: Int64], unheld: Int64) {
        var bySite: [String: Int64] = [:]
        var others: Int64 = 0
        for site in sites where site != authority {
            let rights = ledgerRights(site)
            bySite[site] = rights
            others = others &+ rights
        }
        let rest = available &- others
        if let authority {
            bySite[authority] = rest
            return (bySite, 0)
        }
        return (bySite, rest)
    }
}
