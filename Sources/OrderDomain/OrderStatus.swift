/// The ten order statuses. Derived from facts (`OrderProgress`), never stored as authority.
public enum OrderStatus: String, Hashable, Sendable, CaseIterable {
    case pendingPayment = "pending_payment"
    case paid
    case processing
    case partiallyFulfilled = "partially_fulfilled"
    case fulfilled
    case shipped
    case delivered
    case cancelled
    case refunded
    case returned
}

/// Conditions shown beside the status; they are not statuses and several can hold at once.
/// Where the money of an order stands, as shops know it (beside the status, which follows the goods).
public enum FinancialStatus: String, Hashable, Sendable, CaseIterable {
    /// Nothing captured or held.
    case unpaid
    /// Held by open card authorizations, nothing captured: not paid yet.
    case authorized
    /// Some money captured, less than the order's value.
    case partiallyPaid = "partially_paid"
    /// Captured money covers the order's value.
    case paid
    /// Some captured money was refunded.
    case partiallyRefunded = "partially_refunded"
    /// Every captured unit of money was refunded.
    case refunded
    /// Authorizations were released and nothing was captured.
    case voided
}

public enum Overlay: String, Hashable, Sendable, CaseIterable, Comparable {
    /// The latest payment attempt failed and the order is not paid.
    case paymentIssue = "payment_issue"
    /// Some money was taken offline and is not yet confirmed.
    case paymentProvisional = "payment_provisional"
    /// Some, not all, captured money was refunded.
    case partiallyRefunded = "partially_refunded"
    /// Some, not all, shipped units came back.
    case partiallyReturned = "partially_returned"
    /// A return was requested and is neither received nor cancelled.
    case returnOpen = "return_open"
    /// The customer is owed money: paid more than what stands (cancelled after payment, returns received),
    /// or a cancel arrived after goods shipped (return-and-refund needed).
    case refundDue = "refund_due"
    /// More units shipped than ordered (e.g. two devices shipped the same units in different parcels).
    case overFulfilled = "over_fulfilled"
    /// Refunds exceed captured money (e.g. two devices refunded concurrently).
    case overRefunded = "over_refunded"
    /// The address changed after (or concurrently with) shipping: the carrier must be asked to redirect.
    case redirectRequested = "redirect_requested"

    public static func < (lhs: Overlay, rhs: Overlay) -> Bool { lhs.rawValue < rhs.rawValue }
}
