/// What has happened to one line, derived from the order's facts.
public struct LineProgress: Hashable, Sendable {
    public var lineID: String
    public var sku: String
    /// The quantity register's value.
    public var ordered: Int64
    /// Units the order still stands for: shipped units always stand; a cancel drops the rest; an edit below
    /// what shipped does not un-ship anything.
    public var demand: Int64
    /// Units in live parcels (packed, shipped or both).
    public var packed: Int64
    public var shipped: Int64
    public var delivered: Int64
    /// Units in returns received.
    public var returned: Int64
    /// Units in returns received with restocking: back on the shelf.
    public var restocked: Int64
    /// Units in returns requested and still open.
    public var returnRequested: Int64
    public var unitPriceMinor: Int64

    /// Units still to pack.
    public var unpacked: Int64 { max(0, subtract(demand, packed)) }
    /// Units packed and not yet shipped.
    public var packedNotShipped: Int64 { max(0, subtract(packed, shipped)) }
    /// Units the order holds in reserve: not yet shipped and still wanted.
    public var reserved: Int64 { max(0, subtract(demand, shipped)) }
}

/// The derived view of an order: status, overlays, per-line progress and money. A pure function of the
/// order's fields and facts, so every replica holding the same facts derives the same view.
public struct OrderProgress: Hashable, Sendable {
    public private(set) var status: OrderStatus
    public private(set) var overlays: [Overlay]
    public private(set) var lines: [LineProgress]
    /// Σ max(quantity, shipped) × price: the goods' value.
    public private(set) var subtotalMinor: Int64
    /// Σ max(quantity, shipped) × price + shipping + tax − discount: the order's value.
    public private(set) var totalMinor: Int64
    /// Money captured.
    public private(set) var capturedMinor: Int64
    /// Authorizations neither captured nor voided.
    public private(set) var authorizedOpenMinor: Int64
    public private(set) var refundedMinor: Int64
    /// What the customer still owes (total − captured − open authorizations), never below zero.
    public private(set) var balanceDueMinor: Int64
    /// What the customer is owed back: money kept beyond what still stands.
    public private(set) var refundDueMinor: Int64
    /// What the order's goods and charges still stand for (the total, less what a cancel dropped).
    public private(set) var standingMinor: Int64
    /// Where the money stands (an authorized-only order is not `paid`).
    public private(set) var financialStatus: FinancialStatus
    /// Captured money plus open authorizations cover what stands: the order may be processed and packed
    /// (shipping captures the authorizations).
    public var isSecured: Bool { balanceDueMinor == 0 }

    /// Derives the view from `order`.
    public init(_ order: Order) {
        let cancelled = order.cancelledAt != nil
        var lines: [LineProgress] = []
        lines.reserveCapacity(order.lines.count)
        var index: [String: Int] = [:]
        for line in order.lines.sorted(by: { ($0.position, $0.id) < ($1.position, $1.id) }) {
            index[line.id] = lines.count
            lines.append(
                LineProgress(
                    lineID: line.id, sku: line.sku, ordered: line.quantity, demand: 0, packed: 0, shipped: 0,
                    delivered: 0, returned: 0, restocked: 0, returnRequested: 0, unitPriceMinor: line.unitPriceMinor))
        }
        let deliveredByTracking = Set(order.trackingEvents.filter { $0.kind == .delivered }.map(\.fulfilmentID))
        for parcel in order.fulfilments {
            // Physical facts beat intents: a shipped parcel stands even if it or the order was cancelled.
            let shipped = parcel.shippedAt != nil
            let live = shipped || (parcel.cancelledAt == nil && !cancelled)
            guard live else { continue }
            let delivered = shipped && (parcel.deliveredAt != nil || deliveredByTracking.contains(parcel.id))
            for item in parcel.lines {
                guard let at = index[item.lineID] else { continue }
                lines[at].packed = add(lines[at].packed, item.quantity)
                if shipped { lines[at].shipped = add(lines[at].shipped, item.quantity) }
                if delivered { lines[at].delivered = add(lines[at].delivered, item.quantity) }
            }
        }
        for item in order.returns {
            for quantity in item.lines {
                guard let at = index[quantity.lineID] else { continue }
                if item.receivedAt != nil {
                    lines[at].returned = add(lines[at].returned, quantity.quantity)
                    if item.restock { lines[at].restocked = add(lines[at].restocked, quantity.quantity) }
                } else if item.cancelledAt == nil {
                    lines[at].returnRequested = add(lines[at].returnRequested, quantity.quantity)
                }
            }
        }
        // Units coming back in an exchange are a credit against what it sends out, from the moment of the
        // exchange until its return is cancelled; they never count again as a refund due.
        let exchanged = Set(order.exchanges.map(\.returnID))
        var exchangeCredit: Int64 = 0
        var creditedUnits: [Int: Int64] = [:]
        for item in order.returns where exchanged.contains(item.id) && item.cancelledAt == nil {
            for quantity in item.lines {
                guard let at = index[quantity.lineID] else { continue }
                creditedUnits[at] = add(creditedUnits[at] ?? 0, quantity.quantity)
            }
        }
        var subtotal: Int64 = 0
        var standingGoods: Int64 = 0
        var returnedValue: Int64 = 0
        for at in lines.indices {
            let shipped = lines[at].shipped
            lines[at].demand = cancelled ? shipped : max(lines[at].ordered, shipped)
            subtotal = add(subtotal, multiply(max(lines[at].ordered, shipped), lines[at].unitPriceMinor))
            standingGoods = add(standingGoods, multiply(lines[at].demand, lines[at].unitPriceMinor))
            let credited = min(creditedUnits[at] ?? 0, shipped)
            exchangeCredit = add(exchangeCredit, multiply(credited, lines[at].unitPriceMinor))
            let returnedForRefund = max(0, subtract(min(lines[at].returned, shipped), credited))
            returnedValue = add(returnedValue, multiply(returnedForRefund, lines[at].unitPriceMinor))
        }
        let charges = subtract(add(order.shippingMinor, order.taxMinor), order.discountMinor)
        subtotalMinor = subtotal
        totalMinor = add(subtotal, charges)
        let anyShipped = lines.contains { $0.shipped > 0 }
        let standing = subtract(
            cancelled ? (anyShipped ? add(standingGoods, charges) : 0) : totalMinor, exchangeCredit)

        var captured: Int64 = 0
        var authorized: [String: Int64] = [:]
        var settled: [String: Int64] = [:]
        let declined = Set(order.payments.filter { $0.kind == .decline }.compactMap(\.reference))
        let confirmed = Set(order.payments.filter { $0.kind == .confirm }.compactMap(\.reference))
        var voided = false
        for payment in order.payments {
            switch payment.kind {
            case .capture:
                // A declined provisional capture moved no money (a decline wins over a concurrent confirm:
                // the processor's "no" is the fact that stands).
                guard !declined.contains(payment.id) else { continue }
                captured = add(captured, payment.amountMinor)
                if let reference = payment.reference {
                    settled[reference] = add(settled[reference] ?? 0, payment.amountMinor)
                }
            case .authorize:
                guard !declined.contains(payment.id) else { continue }
                authorized[payment.id] = add(authorized[payment.id] ?? 0, payment.amountMinor)
            case .void:
                voided = true
                if let reference = payment.reference { settled[reference, default: 0] = Int64.max / 4 }
            case .fail, .confirm, .decline: break
            }
        }
        capturedMinor = captured
        authorizedOpenMinor = authorized.reduce(0) { add($0, max(0, subtract($1.value, settled[$1.key] ?? 0))) }
        refundedMinor = order.refunds.reduce(0) { add($0, $1.amountMinor) }
        balanceDueMinor = max(0, subtract(subtract(standing, capturedMinor), authorizedOpenMinor))
        let kept = subtract(capturedMinor, refundedMinor)
        refundDueMinor = max(0, subtract(kept, subtract(standing, returnedValue)))
        standingMinor = standing
        self.lines = lines
        financialStatus =
            if refundedMinor > 0 {
                refundedMinor >= capturedMinor ? .refunded : .partiallyRefunded
            } else if capturedMinor > 0 {
                capturedMinor >= standing ? .paid : .partiallyPaid
            } else if authorizedOpenMinor > 0 {
                .authorized
            } else if voided {
                .voided
            } else {
                standing <= 0 && !cancelled ? .paid : .unpaid
            }

        let shippedUnits = lines.reduce(0) { add($0, $1.shipped) }
        let returnedUnits = lines.reduce(0) { add($0, min($1.returned, $1.shipped)) }
        status = Self.status(
            order: order, lines: lines, shippedUnits: shippedUnits, returnedUnits: returnedUnits,
            captured: capturedMinor, refunded: refundedMinor, paid: balanceDueMinor == 0 && capturedMinor >= standing)

        var overlays = Set<Overlay>()
        let lastAttempt = order.payments.filter { [.capture, .authorize, .fail].contains($0.kind) }
            .max { ($0.at, $0.id) < ($1.at, $1.id) }
        let lastFailed = lastAttempt?.kind == .fail || (lastAttempt.map { declined.contains($0.id) } ?? false)
        if lastFailed && balanceDueMinor > 0 { overlays.insert(.paymentIssue) }
        if order.payments.contains(where: {
            $0.provisional && ($0.kind == .capture || $0.kind == .authorize) && !confirmed.contains($0.id)
                && !declined.contains($0.id)
        }) {
            overlays.insert(.paymentProvisional)
        }
        if refundedMinor > 0 && refundedMinor < capturedMinor { overlays.insert(.partiallyRefunded) }
        if refundedMinor > capturedMinor { overlays.insert(.overRefunded) }
        if returnedUnits > 0 && returnedUnits < shippedUnits { overlays.insert(.partiallyReturned) }
        if lines.contains(where: { $0.returnRequested > 0 }) { overlays.insert(.returnOpen) }
        if refundDueMinor > 0 || (cancelled && anyShipped && kept > 0 && returnedUnits < shippedUnits) {
            overlays.insert(.refundDue)
        }
        if lines.contains(where: { $0.shipped > $0.ordered }) { overlays.insert(.overFulfilled) }
        if let address = order.address,
            order.fulfilments.contains(where: { $0.shippedAt != nil && $0.shipTo != nil && $0.shipTo != address })
        {
            overlays.insert(.redirectRequested)
        }
        self.overlays = overlays.sorted()
    }

    /// Precedence: returned > refunded > cancelled > the fulfilment pipeline > processing > paid > pending.
    private static func status(
        order: Order, lines: [LineProgress], shippedUnits: Int64, returnedUnits: Int64, captured: Int64,
        refunded: Int64, paid: Bool
    ) -> OrderStatus {
        if shippedUnits > 0 && returnedUnits >= shippedUnits { return .returned }
        if captured > 0 && refunded >= captured { return .refunded }
        if order.cancelledAt != nil && shippedUnits == 0 { return .cancelled }
        let demand = lines.reduce(0) { add($0, $1.demand) }
        let packed = lines.reduce(0) { add($0, min($1.packed, $1.demand)) }
        let shipped = lines.reduce(0) { add($0, min($1.shipped, $1.demand)) }
        let delivered = lines.reduce(0) { add($0, min($1.delivered, $1.demand)) }
        if demand > 0 && delivered >= demand { return .delivered }
        if demand > 0 && shipped >= demand { return .shipped }
        if demand > 0 && packed >= demand { return .fulfilled }
        if packed > 0 { return .partiallyFulfilled }
        if order.processingAt != nil { return .processing }
        return paid ? .paid : .pendingPayment
    }

    /// Units of `sku` this order holds in reserve.
    public func reserved(sku: String) -> Int64 {
        lines.filter { $0.sku == sku }.reduce(0) { add($0, $1.reserved) }
    }
}

// Derivation is total: it runs on whatever facts merged in, which commands checked (`Order.checkTotals` bounds
// an order's money far inside 64 bits) but a faulty or hostile peer may not have. Sums and products saturate
// instead of trapping or wrapping, so such an order shows absurd amounts (and the overlays they raise) rather
// than crashing the replica or showing a wrapped, plausible-looking figure.
private func add(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}

private func subtract(_ a: Int64, _ b: Int64) -> Int64 {
    let (difference, overflow) = a.subtractingReportingOverflow(b)
    return overflow ? (b < 0 ? .max : .min) : difference
}

private func multiply(_ a: Int64, _ b: Int64) -> Int64 {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? ((a < 0) == (b < 0) ? .max : .min) : product
}
