/// A reason an order needs a person today (`outpost attention`), in the order the list shows them.
public enum AttentionKind: String, Hashable, Sendable, CaseIterable {
    case unpaid
    case paymentIssue = "payment_issue"
    case provisionalUnconfirmed = "provisional_unconfirmed"
    case authorizationExpiring = "authorization_expiring"
    case shipOverdue = "ship_overdue"
    case shipmentDelayed = "shipment_delayed"
    case deliveryFailed = "delivery_failed"
    case trackingStale = "tracking_stale"
    case returnOpen = "return_open"
    case refundDue = "refund_due"
    case overRefunded = "over_refunded"
    case overFulfilled = "over_fulfilled"
    /// More units promised than on hand (decided over all orders by the replica: see `StockLevel.oversold`).
    case oversold
    case highValue = "high_value"
    case conflict
    /// An order imported without the history its source recorded, because that history broke a rule (tagged
    /// `import-review`; its notes say what the source said). Settled by editing its tags.
    case importReview = "import_review"
    /// A customer message that could not be sent (the sender retries it; the list says why it failed).
    case messageFailed = "message_failed"
}

extension Order {
    /// The tag an import puts on an order it brought in without its history (`AttentionKind.importReview`).
    public static let importReviewTag = "import-review"
}

/// When an order starts to need attention. The defaults are what a small shop expects; the shared settings
/// (`Settings.attention`) change them.
public struct AttentionThresholds: Sendable {
    /// Pending payment for longer than this (default 48 h).
    public var unpaidMilliseconds: Int64 = 48 * 3_600_000
    /// An offline card not confirmed after this (default 24 h).
    public var provisionalMilliseconds: Int64 = 24 * 3_600_000
    /// Paid and not shipped this long after the order was made, when it has no ship-by (default 2 days).
    public var shipMilliseconds: Int64 = 2 * 86_400_000
    /// Shipped, not delivered, no carrier word for this long (default 5 days).
    public var trackingMilliseconds: Int64 = 5 * 86_400_000
    /// A return still open after this (default 7 days).
    public var returnMilliseconds: Int64 = 7 * 86_400_000
    /// An order worth at least this not yet shipped: minor units for a currency with that many minor digits
    /// (default 500 in the major unit: 500.00 EUR, 500 JPY).
    public var highValue: @Sendable (_ minorDigits: Int) -> Int64 = { digits in
        var amount: Int64 = 500
        for _ in 0..<digits { amount *= 10 }
        return amount
    }

    public init() {}
}

/// One reason one order needs attention.
public struct AttentionItem: Hashable, Sendable {
    public var kind: AttentionKind
    /// Since when (Unix milliseconds, UTC): the list shows the oldest first.
    public var since: Int64
    /// Why, in a sentence.
    public var why: String

    public init(kind: AttentionKind, since: Int64, why: String) {
        self.kind = kind
        self.since = since
        self.why = why
    }
}

/// A reason an order needs attention from a time on: it holds at every `now` at or after `dueAt` while the order's
/// facts stay as they are (every condition only ever becomes true with time). `Int64.min`: regardless of time.
public struct ScheduledAttention: Hashable, Sendable {
    public var item: AttentionItem
    public var dueAt: Int64

    public init(item: AttentionItem, dueAt: Int64) {
        self.item = item
        self.dueAt = dueAt
    }
}

extension Order {
    /// Why this order needs attention at `now`. `conflicted`: some of its fields hold concurrent values.
    public func attention(now: Int64, thresholds: AttentionThresholds = AttentionThresholds(), conflicted: Bool)
        -> [AttentionItem]
    {
        attentionSchedule(thresholds: thresholds, conflicted: conflicted).filter { $0.dueAt <= now }.map(\.item)
    }

    /// Every reason this order needs attention and from when, given its facts: what `attention(now:)` lists at a
    /// time is exactly the entries due by then (the replica keeps this schedule for the SQL view `attention`).
    /// `progress`: the order's progress when the caller has it already (`self.progress` otherwise).
    public func attentionSchedule(
        thresholds: AttentionThresholds = AttentionThresholds(), conflicted: Bool, progress known: OrderProgress? = nil
    ) -> [ScheduledAttention] {
        let progress = known ?? self.progress
        let timeless = Set(flags(now: .min, progress: progress))
        let overlays = Set(progress.overlays)
        let open = cancelledAt == nil
        let unshipped = progress.lines.contains { $0.demand > $0.shipped }
        var items: [ScheduledAttention] = []
        func add(_ kind: AttentionKind, since: Int64, due: Int64 = .min, _ why: String) {
            items.append(ScheduledAttention(item: AttentionItem(kind: kind, since: since, why: why), dueAt: due))
        }
        /// The first time strictly after `start + span` (the conditions read `now - start > span`).
        func after(_ start: Int64, _ span: Int64) -> Int64 {
            let (sum, overflow) = start.addingReportingOverflow(span)
            return overflow ? .max : (sum == .max ? .max : sum + 1)
        }
        let amount = { (minor: Int64) in
            "\(Money.decimalString(minor, digits: self.currency.minorDigits)) \(self.currency)"
        }
        let lastAttempt = payments.filter { $0.kind == .fail || $0.kind == .decline }.map(\.at).max()

        if open, progress.status == .pendingPayment, !progress.isSecured {
            add(
                .unpaid, since: createdAt, due: after(createdAt, thresholds.unpaidMilliseconds),
                "\(amount(progress.balanceDueMinor)) still due")
        }
        if overlays.contains(.paymentIssue) {
            add(
                .paymentIssue, since: lastAttempt ?? createdAt,
                "the last payment failed or bounced; \(amount(progress.balanceDueMinor)) due")
        }
        for payment in unsettledProvisional {
            add(
                .provisionalUnconfirmed, since: payment.at, due: after(payment.at, thresholds.provisionalMilliseconds),
                "an offline card payment of \(amount(payment.amountMinor)) is not confirmed")
        }
        let openMade = openAuthorizations.compactMap { open in payments.first { $0.id == open.id }?.at }
        if let oldest = openMade.min() {
            // Flagged from a day before the oldest open authorization expires (`flags(now:)`).
            add(
                .authorizationExpiring, since: oldest,
                due: oldest.addingReportingOverflow(Self.authorizationLifetime - Self.authorizationWarning).overflow
                    ? .max : oldest + (Self.authorizationLifetime - Self.authorizationWarning),
                "a card authorization expires within a day")
        }
        if open, unshipped {
            if let shipBy {
                add(.shipOverdue, since: shipBy, due: after(shipBy, 0), "promised to ship by then")
            } else if progress.isSecured {
                add(
                    .shipOverdue, since: createdAt, due: after(createdAt, thresholds.shipMilliseconds),
                    "paid and not shipped")
            }
        }
        let onTheWay = fulfilments.filter { $0.shippedAt != nil && $0.deliveredAt == nil }
        let latestWord = { (parcel: Fulfilment) in
            trackingEvents.filter { $0.fulfilmentID == parcel.id }.map(\.at).max() ?? parcel.shippedAt ?? 0
        }
        if timeless.contains(.shipmentDelayed) {
            add(
                .shipmentDelayed, since: onTheWay.map(latestWord).min() ?? createdAt,
                "the carrier says a parcel is delayed")
        }
        if timeless.contains(.deliveryFailed) {
            add(
                .deliveryFailed, since: onTheWay.map(latestWord).min() ?? createdAt,
                "the carrier could not deliver a parcel")
        }
        if let earliest = onTheWay.map(latestWord).min(), !timeless.contains(.shipmentDelayed),
            !timeless.contains(.deliveryFailed)
        {
            add(
                .trackingStale, since: earliest, due: after(earliest, thresholds.trackingMilliseconds),
                "no word from the carrier")
        }
        for item in returns where item.state == .requested {
            add(
                .returnOpen, since: item.requestedAt, due: after(item.requestedAt, thresholds.returnMilliseconds),
                "return \(item.shortName) has not come back")
        }
        if overlays.contains(.refundDue) {
            add(
                .refundDue,
                since: refunds.map(\.at).max() ?? returns.compactMap(\.receivedAt).max() ?? cancelledAt ?? createdAt,
                "\(amount(progress.refundDueMinor)) is owed back")
        }
        if overlays.contains(.overRefunded) {
            add(
                .overRefunded, since: refunds.map(\.at).max() ?? createdAt, "more was refunded than taken")
        }
        if overlays.contains(.overFulfilled) {
            add(
                .overFulfilled, since: fulfilments.compactMap(\.shippedAt).max() ?? createdAt,
                "more units shipped than ordered")
        }
        if open, unshipped, progress.totalMinor >= thresholds.highValue(currency.minorDigits) {
            add(
                .highValue, since: createdAt, "worth \(amount(progress.totalMinor)), not yet shipped")
        }
        if conflicted {
            add(
                .conflict, since: createdAt, "two devices wrote different values")
        }
        if tags.contains(Self.importReviewTag) {
            add(
                .importReview, since: createdAt,
                "imported without the history its source recorded (its notes say why)")
        }
        for message in messages where message.isFailing {
            add(
                .messageFailed, since: message.failedAt ?? createdAt,
                "the \(message.kind.rawValue) message could not be sent (\(message.attempts) attempt(s)): \(message.lastError ?? "")"
            )
        }
        return items
    }
}
