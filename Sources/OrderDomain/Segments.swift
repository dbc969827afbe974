/// A customer's behaviour in one word, for lists and targeting.
public enum CustomerSegment: String, Hashable, Sendable, CaseIterable {
    /// One order so far.
    case new
    /// Two or more orders.
    case `repeat`
    /// Spent at least the VIP threshold in some currency.
    case vip
    /// No order for the lapsed period (default 90 days).
    case lapsed
    /// Sent back at least the returner share of the units shipped to them (default 30 %).
    case returner
}

/// Where the segments begin. Defaults for a small shop; replicated settings may replace them later.
public struct SegmentThresholds: Sendable {
    /// Spent (captured − refunded) at or above this in one currency: minor units for a currency with that many
    /// minor digits (default 1,000 in the major unit).
    public var vip: @Sendable (_ minorDigits: Int) -> Int64 = { digits in
        var amount: Int64 = 1_000
        for _ in 0..<digits { amount *= 10 }
        return amount
    }
    /// No order for this long (default 90 days).
    public var lapsedMilliseconds: Int64 = 90 * 86_400_000
    /// Returned units per shipped unit at or above this (default 0.30).
    public var returnerShare: Double = 0.30

    public init() {}
}

/// What a customer's orders add up to.
public struct CustomerFacts: Hashable, Sendable {
    /// Orders that were not cancelled before anything shipped.
    public var orders: Int
    /// Money kept (captured − refunded) per currency code.
    public var spentMinor: [String: Int64]
    /// When the last order was made (Unix milliseconds, UTC).
    public var lastOrderAt: Int64?
    public var shippedUnits: Int64
    public var returnedUnits: Int64

    public init(
        orders: Int, spentMinor: [String: Int64], lastOrderAt: Int64?, shippedUnits: Int64, returnedUnits: Int64
    ) {
        self.orders = orders
        self.spentMinor = spentMinor
        self.lastOrderAt = lastOrderAt
        self.shippedUnits = shippedUnits
        self.returnedUnits = returnedUnits
    }

    /// The segments these facts put the customer in at `now`.
    public func segments(now: Int64, thresholds: SegmentThresholds = SegmentThresholds()) -> [CustomerSegment] {
        var segments: [CustomerSegment] = []
        if orders == 1 { segments.append(.new) }
        if orders >= 2 { segments.append(.repeat) }
        if spentMinor.contains(where: { code, spent in
            spent >= thresholds.vip(CurrencyCode(stored: code).minorDigits)
        }) {
            segments.append(.vip)
        }
        if let lastOrderAt, now - lastOrderAt >= thresholds.lapsedMilliseconds { segments.append(.lapsed) }
        if shippedUnits > 0, Double(returnedUnits) >= thresholds.returnerShare * Double(shippedUnits) {
            segments.append(.returner)
        }
        return segments
    }
}
