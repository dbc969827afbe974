/// What needs a person's attention on an order *now*: derived when read, from the order's facts and the
/// current time, never stored (unlike `Overlay`, which follows from facts alone and is kept with the order).
public enum AttentionFlag: String, Hashable, Sendable, CaseIterable, Comparable {
    /// The carrier's latest word on a parcel still on its way is "delayed".
    case shipmentDelayed = "shipment_delayed"
    /// The carrier's latest word on a parcel still on its way is "failed" (cleared by a later in-transit or
    /// delivered event).
    case deliveryFailed = "delivery_failed"
    /// The promised ship-by time has passed with units still to ship.
    case shipOverdue = "ship_overdue"
    /// A card authorization is at most a day from expiring (or has expired) uncaptured.
    case authorizationExpiring = "authorization_expiring"

    public static func < (lhs: AttentionFlag, rhs: AttentionFlag) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Order {
    /// How long a card authorization holds money: 7 days, as card networks commonly allow.
    public static let authorizationLifetime: Int64 = 7 * 86_400_000
    /// How long before an authorization expires its order is flagged.
    public static let authorizationWarning: Int64 = 86_400_000

    /// The flags of this order at `now` (Unix milliseconds, UTC). `progress`: the order's progress when the
    /// caller has it already (`self.progress` otherwise).
    public func flags(now: Int64, progress known: OrderProgress? = nil) -> [AttentionFlag] {
        var flags = Set<AttentionFlag>()
        let progress = known ?? self.progress
        for parcel in fulfilments where parcel.shippedAt != nil && parcel.deliveredAt == nil {
            let latest = trackingEvents.filter { $0.fulfilmentID == parcel.id }.max { ($0.at, $0.id) < ($1.at, $1.id) }
            switch latest?.kind {
            case .delayed?: flags.insert(.shipmentDelayed)
            case .failed?: flags.insert(.deliveryFailed)
            default: break
            }
        }
        if let shipBy, now > shipBy, cancelledAt == nil,
            progress.lines.contains(where: { $0.demand > $0.shipped })
        {
            flags.insert(.shipOverdue)
        }
        let expiring = openAuthorizations.contains { open in
            guard let made = payments.first(where: { $0.id == open.id }) else { return false }
            return now >= made.at + Self.authorizationLifetime - Self.authorizationWarning
        }
        if expiring { flags.insert(.authorizationExpiring) }
        return flags.sorted()
    }
}
