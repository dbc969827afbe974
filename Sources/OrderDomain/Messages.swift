/// An automated customer message: what happened that the customer should hear about.
public enum MessageKind: String, Hashable, Sendable, CaseIterable {
    /// The order was placed.
    case orderConfirmation = "order_confirmation"
    /// Money was taken (a capture, or an offline card payment the processor confirmed).
    case paymentReceived = "payment_received"
    /// A payment failed or an offline card payment bounced.
    case paymentFailed = "payment_failed"
    /// A parcel left, with its carrier and tracking number.
    case shipped
    /// The carrier reported a parcel delayed.
    case delayed
    /// A parcel was delivered.
    case delivered
    /// Money was refunded.
    case refundIssued = "refund_issued"
    /// Returned goods arrived back.
    case returnReceived = "return_received"
    /// Asking for a review, `messages.review_days` after the whole order was delivered.
    case reviewRequest = "review_request"

    /// What the message is about, for people.
    public var summary: String {
        switch self {
        case .orderConfirmation: "the order was placed"
        case .paymentReceived: "a payment was received"
        case .paymentFailed: "a payment failed"
        case .shipped: "a parcel shipped"
        case .delayed: "the carrier reported a delay"
        case .delivered: "a parcel was delivered"
        case .refundIssued: "a refund was issued"
        case .returnReceived: "returned goods arrived"
        case .reviewRequest: "asking for a review after delivery"
        }
    }
}

/// A message an order's facts call for: one per (order, kind, triggering fact). Every device derives the same
/// triggers from the same facts, so the id (`Identifiers.messageID`) names one message fleet-wide however many
/// devices saw the fact.
public struct MessageTrigger: Hashable, Sendable {
    /// The message's id: `Identifiers.messageID(orderID:kind:trigger:)`.
    public var id: String
    public var kind: MessageKind
    /// The id of the fact that calls for it: a payment, parcel, tracking event, refund or return, or the order
    /// itself (confirmation, review request).
    public var trigger: String
    /// When the fact happened (Unix milliseconds, UTC).
    public var at: Int64
    /// When the message may be sent: `at`, or later for the review request.
    public var dueAt: Int64

    public init(id: String, kind: MessageKind, trigger: String, at: Int64, dueAt: Int64) {
        self.id = id
        self.kind = kind
        self.trigger = trigger
        self.at = at
        self.dueAt = dueAt
    }
}

/// What the sending device recorded about one message: a replicated record (entity `messages`) with the
/// message's id, written only by the device named by `messages.sender`.
public struct MessageDelivery: Hashable, Sendable {
    public var id: String
    public var orderID: String
    public var kind: MessageKind
    public var trigger: String
    /// When it was handed over for delivery (earliest wins: once sent is sent).
    public var sentAt: Int64?
    /// Failed attempts so far.
    public var attempts: Int64
    /// Why the last attempt failed (nil once sent or before any failure).
    public var lastError: String?
    /// When the last attempt failed.
    public var failedAt: Int64?
    /// Not before this time will the sender try again.
    public var retryAt: Int64?

    public init(
        id: String, orderID: String, kind: MessageKind, trigger: String, sentAt: Int64? = nil, attempts: Int64 = 0,
        lastError: String? = nil, failedAt: Int64? = nil, retryAt: Int64? = nil
    ) {
        self.id = id
        self.orderID = orderID
        self.kind = kind
        self.trigger = trigger
        self.sentAt = sentAt
        self.attempts = attempts
        self.lastError = lastError
        self.failedAt = failedAt
        self.retryAt = retryAt
    }

    /// Failing: tried, not sent.
    public var isFailing: Bool { sentAt == nil && lastError != nil }

    /// How long the sender waits after the `attempts`-th failure: one minute, doubling, at most an hour.
    public static func retryDelay(afterAttempts attempts: Int64) -> Int64 {
        let minute: Int64 = 60_000
        let doublings = max(0, min(attempts - 1, 6))
        return min(minute << doublings, 60 * minute)
    }
}

extension Order {
    /// The channels whose orders came from another shop system, which has already told the customer about them:
    /// their orders trigger no messages.
    public static let importedChannels: Set<Channel> = [.shopify, .woocommerce]

    /// The messages this order's facts call for, oldest first. `reviewDelay`: how long after the whole order was
    /// delivered the review request is due (`messages.review_days`); `progress`: this order's `progress`, when the
    /// caller has it (it is not cheap to compute again).
    public func messageTriggers(reviewDelay: Int64, progress known: OrderProgress? = nil) -> [MessageTrigger] {
        guard !Self.importedChannels.contains(channel) else { return [] }
        var triggers: [MessageTrigger] = []
        func add(_ kind: MessageKind, _ trigger: String, at: Int64, due: Int64? = nil) {
            triggers.append(
                MessageTrigger(
                    id: Identifiers.messageID(orderID: id, kind: kind, trigger: trigger), kind: kind,
                    trigger: trigger, at: at, dueAt: due ?? at))
        }
        add(.orderConfirmation, id, at: createdAt)
        for payment in payments {
            switch payment.kind {
            case .capture where !payment.provisional, .confirm: add(.paymentReceived, payment.id, at: payment.at)
            case .fail, .decline: add(.paymentFailed, payment.id, at: payment.at)
            default: break
            }
        }
        for parcel in fulfilments {
            if let shipped = parcel.shippedAt { add(.shipped, parcel.id, at: shipped) }
            if let delivered = parcel.deliveredAt { add(.delivered, parcel.id, at: delivered) }
        }
        for event in trackingEvents where event.kind == .delayed { add(.delayed, event.id, at: event.at) }
        for refund in refunds { add(.refundIssued, refund.id, at: refund.at) }
        for item in returns { if let received = item.receivedAt { add(.returnReceived, item.id, at: received) } }
        // Only an order with a delivered parcel can be delivered as a whole (its progress is not cheap).
        if let delivered = fulfilments.compactMap(\.deliveredAt).max(), (known ?? progress).status == .delivered {
            let (due, overflow) = delivered.addingReportingOverflow(reviewDelay)
            add(.reviewRequest, id, at: delivered, due: overflow ? .max : due)
        }
        return triggers.sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
    }
}

extension Identifiers {
    /// The id of the message of `kind` that fact `trigger` of order `orderID` calls for: a name-based UUID
    /// (version 8), so every device derives the same one. It is also the message's `Message-ID` (with
    /// `@outpost`), by which a receiving system can drop a copy sent twice.
    public static func messageID(orderID: String, kind: MessageKind, trigger: String) -> String {
        sourceID(joining: "message", orderID, kind.rawValue, trigger)
    }
}

extension MessageKind {
    /// The built-in template (a Mustache template: a `Subject:` line, an empty line, the body; plain text). The
    /// names a template can use: `shop_name`, `customer_name`, `order_number`, `total`, `items` (each with
    /// `name`, `quantity`), `amount` (the payment or refund), `carrier`, `tracking_number`, `note` (the carrier's
    /// or the return's), `review_days`.
    public var defaultTemplate: String {
        let greeting = "Hello {{customer_name}},\n\n"
        let signature = "\n\n{{shop_name}}\n"
        let order = "order {{order_number}}"
        switch self {
        case .orderConfirmation:
            return "Subject: Your order {{order_number}} at {{shop_name}}\n\n" + greeting
                + "thank you for your order. We have received \(order):\n\n"
                + "{{#items}}  {{quantity}} × {{name}}\n{{/items}}\nTotal: {{total}}" + signature
        case .paymentReceived:
            return "Subject: Payment received for \(order)\n\n" + greeting
                + "we have received your payment of {{amount}} for \(order)." + signature
        case .paymentFailed:
            return "Subject: A payment for \(order) did not go through\n\n" + greeting
                + "your payment of {{amount}} for \(order) did not go through. Nothing was charged for it; "
                + "please get in touch or try again." + signature
        case .shipped:
            return "Subject: \(order.capitalizedFirst) has shipped\n\n" + greeting
                + "\(order) is on its way{{#carrier}} with {{carrier}}{{/carrier}}."
                + "{{#tracking_number}} Tracking number: {{tracking_number}}.{{/tracking_number}}" + signature
        case .delayed:
            return "Subject: \(order.capitalizedFirst) is delayed\n\n" + greeting
                + "the carrier tells us that your parcel for \(order) is delayed{{#note}} ({{note}}){{/note}}. "
                + "We are sorry for the wait." + signature
        case .delivered:
            return "Subject: \(order.capitalizedFirst) was delivered\n\n" + greeting
                + "your parcel for \(order) was delivered. We hope you enjoy it." + signature
        case .refundIssued:
            return "Subject: Refund for \(order)\n\n" + greeting
                + "we have refunded {{amount}} for \(order). Depending on your bank it may take a few days "
                + "to show." + signature
        case .returnReceived:
            return "Subject: We received your return for \(order)\n\n" + greeting
                + "your return for \(order) has arrived:\n\n{{#items}}  {{quantity}} × {{name}}\n{{/items}}\n"
                + "We will let you know when it is settled." + signature
        case .reviewRequest:
            return "Subject: How was \(order)?\n\n" + greeting
                + "\(order) arrived {{review_days}} days ago. If you have a minute, we would love to hear how "
                + "you like it: just reply to this e-mail." + signature
        }
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
