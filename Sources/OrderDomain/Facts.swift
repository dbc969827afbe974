/// What a payment record says happened.
public enum PaymentKind: String, Hashable, Sendable, CaseIterable {
    /// Funds reserved on a card; counts towards "paid" until voided or captured.
    case authorize
    /// Funds taken.
    case capture
    /// An attempt that failed; moves no money.
    case fail
    /// An authorization released.
    case void
    /// A provisional payment (`reference`) went through: the processor confirmed it.
    case confirm
    /// A provisional payment (`reference`) bounced: its money no longer counts, and the balance is due again.
    case decline
}

/// How the customer paid.
public enum PaymentMethod: String, Hashable, Sendable, CaseIterable {
    case cash, card, other
}

/// An insert-only payment record.
public struct Payment: Hashable, Sendable {
    public var id: String
    public var orderID: String
    public var kind: PaymentKind
    public var amountMinor: Int64
    public var method: PaymentMethod
    /// Taken offline (card not yet confirmed by the processor).
    public var provisional: Bool
    /// For `capture` and `void`: the authorization it settles; for `confirm` and `decline`: the provisional
    /// payment it settles.
    public var reference: String?
    public var at: Int64
    public var note: String?

    public init(
        id: String, orderID: String, kind: PaymentKind, amountMinor: Int64, method: PaymentMethod,
        provisional: Bool = false, reference: String? = nil, at: Int64, note: String? = nil
    ) {
        self.id = id
        self.orderID = orderID
        self.kind = kind
        self.amountMinor = amountMinor
        self.method = method
        self.provisional = provisional
        self.reference = reference
        self.at = at
        self.note = note
    }
}

/// A parcel: lines and quantities packed together, then shipped and delivered. Insert-only; its times,
/// carrier and tracking number are registers.
public struct Fulfilment: Hashable, Sendable {
    public var id: String
    public var orderID: String
    public var lines: [LineQuantity]
    public var packedAt: Int64?
    public var shippedAt: Int64?
    public var deliveredAt: Int64?
    public var cancelledAt: Int64?
    public var carrier: String?
    public var trackingNumber: String?
    /// The address it was shipped to (a snapshot taken when shipping).
    public var shipTo: String?

    public init(
        id: String, orderID: String, lines: [LineQuantity], packedAt: Int64? = nil, shippedAt: Int64? = nil,
        deliveredAt: Int64? = nil, cancelledAt: Int64? = nil, carrier: String? = nil, trackingNumber: String? = nil,
        shipTo: String? = nil
    ) {
        self.id = id
        self.orderID = orderID
        self.lines = lines
        self.packedAt = packedAt
        self.shippedAt = shippedAt
        self.deliveredAt = deliveredAt
        self.cancelledAt = cancelledAt
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.shipTo = shipTo
    }
}

/// What a carrier reported.
public enum TrackingKind: String, Hashable, Sendable, CaseIterable {
    case inTransit = "in_transit"
    case delayed
    case delivered
    case failed
}

/// An insert-only carrier event for a shipped parcel.
public struct TrackingEvent: Hashable, Sendable {
    public var id: String
    public var orderID: String
    public var fulfilmentID: String
    public var kind: TrackingKind
    public var at: Int64
    public var note: String?

    public init(id: String, orderID: String, fulfilmentID: String, kind: TrackingKind, at: Int64, note: String? = nil) {
        self.id = id
        self.orderID = orderID
        self.fulfilmentID = fulfilmentID
        self.kind = kind
        self.at = at
        self.note = note
    }
}

/// Why goods came back: a fixed taxonomy (free text goes in the note).
public enum ReturnReason: String, Hashable, Sendable, CaseIterable {
    case damaged, defective
    case wrongItem = "wrong_item"
    case wrongSize = "wrong_size"
    case notAsDescribed = "not_as_described"
    case changedMind = "changed_mind"
    case arrivedLate = "arrived_late"
    case other
}

/// A return: requested, then received (optionally restocked) and closed, or cancelled.
/// Received ∥ cancelled: received wins — the goods are physically back.
public struct Return: Hashable, Sendable {
    public var id: String
    public var orderID: String
    public var lines: [LineQuantity]
    public var reason: ReturnReason
    public var note: String?
    public var requestedAt: Int64
    public var receivedAt: Int64?
    public var closedAt: Int64?
    public var cancelledAt: Int64?
    public var restock: Bool

    public init(
        id: String, orderID: String, lines: [LineQuantity], reason: ReturnReason, note: String? = nil,
        requestedAt: Int64, receivedAt: Int64? = nil, closedAt: Int64? = nil, cancelledAt: Int64? = nil,
        restock: Bool = false
    ) {
        self.id = id
        self.orderID = orderID
        self.lines = lines
        self.reason = reason
        self.note = note
        self.requestedAt = requestedAt
        self.receivedAt = receivedAt
        self.closedAt = closedAt
        self.cancelledAt = cancelledAt
        self.restock = restock
    }

    /// Whether the return counts: received, or still open (not cancelled).
    public var isActive: Bool { receivedAt != nil || cancelledAt == nil }
}

/// An insert-only refund. Refund ∥ refund: amounts add.
public struct Refund: Hashable, Sendable {
    public var id: String
    public var orderID: String
    public var amountMinor: Int64
    public var lines: [LineQuantity]
    public var reason: String?
    public var at: Int64

    public init(
        id: String, orderID: String, amountMinor: Int64, lines: [LineQuantity] = [], reason: String? = nil, at: Int64
    ) {
        self.id = id
        self.orderID = orderID
        self.amountMinor = amountMinor
        self.lines = lines
        self.reason = reason
        self.at = at
    }
}

/// An exchange: a return plus new outbound lines; the difference is owed by the customer (positive) or to
/// them (negative).
public struct Exchange: Hashable, Sendable {
    public var id: String
    public var orderID: String
    public var returnID: String
    /// The outbound order lines this exchange added.
    public var outboundLineIDs: [String]
    public var differenceMinor: Int64
    public var at: Int64

    public init(
        id: String, orderID: String, returnID: String, outboundLineIDs: [String], differenceMinor: Int64, at: Int64
    ) {
        self.id = id
        self.orderID = orderID
        self.returnID = returnID
        self.outboundLineIDs = outboundLineIDs
        self.differenceMinor = differenceMinor
        self.at = at
    }
}
