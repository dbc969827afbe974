/// The decisions a command makes before anything is written, as pure functions of the order and the request:
/// which lines, which parcels, what an exchange costs, whether the money adds up. The store loads the order,
/// asks here, and writes the answer (OrderDomain.docc, "The order model").
extension Order {
    /// The largest total an order may have, in minor units (10¹⁵: ten trillion euros). Every sum the derivation
    /// makes of an order's amounts then stays far inside 64 bits, whatever merges add to it.
    public static let maximumTotalMinor: Int64 = 1_000_000_000_000_000

    /// Checks that the order's money adds up: each line's quantity times its price, plus shipping and tax, minus
    /// the discount, computed with checked `Money` arithmetic, is neither negative nor above
    /// `maximumTotalMinor`.
    ///
    /// - Returns: the total.
    @discardableResult
    public func checkTotals() throws(DomainError) -> Money {
        for line in lines where line.quantity < 0 || line.unitPriceMinor < 0 {
            throw DomainError(.invalidInput, "line \(line.sku): quantities and prices cannot be negative")
        }
        for (name, charge) in [("shipping", shippingMinor), ("tax", taxMinor), ("discount", discountMinor)]
        where charge < 0 {
            throw DomainError(
                .invalidInput, "the \(name) cannot be negative (\(Money(minorUnits: charge, currency: currency)))",
                hint: "give an amount from 0")
        }
        let money = { (minor: Int64) in Money(minorUnits: minor, currency: self.currency) }
        let total: Money
        let subtotal: Money
        do {
            var sum = Money.zero(currency)
            for line in lines { sum = try sum.adding(money(line.unitPriceMinor).multiplied(by: line.quantity)) }
            subtotal = sum
            total = try sum.adding(money(shippingMinor)).adding(money(taxMinor)).subtracting(money(discountMinor))
        } catch {
            throw tooLarge()  // one currency throughout, so the only failure is overflow
        }
        guard total.minorUnits <= Self.maximumTotalMinor else { throw tooLarge() }
        // A discount is taken off the goods: at most their value, never off shipping or tax.
        guard discountMinor <= subtotal.minorUnits else {
            throw DomainError(
                .invalidInput,
                "the discount (\(money(discountMinor))) is larger than the goods it applies to (\(subtotal))",
                hint: "a discount can bring the goods down to zero, not below")
        }
        return total
    }

    private func tooLarge() -> DomainError {
        DomainError(
            .invalidInput,
            "the order's total would exceed \(Money(minorUnits: Self.maximumTotalMinor, currency: currency)), the most one order may hold",
            hint: "check the quantities and prices; split a genuinely larger sale into several orders")
    }

    /// Maps `SKU:QTY` specs onto the order's lines (the first line with each SKU), adding up repeated SKUs.
    public func lineQuantities(_ specs: [LineSpec]) throws(DomainError) -> [LineQuantity] {
        var result: [LineQuantity] = []
        for spec in specs {
            guard let line = lines.first(where: { $0.sku == spec.sku }) else {
                throw DomainError(.notFound, "order \(number) has no line with SKU \(spec.sku)")
            }
            guard spec.quantity > 0 else {
                throw DomainError(.invalidInput, "line \(spec.sku): quantity must be positive")
            }
            if let index = result.firstIndex(where: { $0.lineID == line.id }) {
                result[index].quantity += spec.quantity
            } else {
                result.append(LineQuantity(lineID: line.id, quantity: spec.quantity))
            }
        }
        return result
    }

    /// The new quantities an edit sets (`SKU:QTY`, absolute), by line. Checked with `checkEdit`.
    public func quantityChanges(_ specs: [LineSpec]) throws(DomainError) -> [LineQuantity] {
        var changes: [LineQuantity] = []
        for spec in specs {
            guard let line = lines.first(where: { $0.sku == spec.sku }) else {
                throw DomainError(.notFound, "order \(number) has no line with SKU \(spec.sku)")
            }
            changes.append(LineQuantity(lineID: line.id, quantity: spec.quantity))
        }
        return changes
    }

    /// What a pack of `specs` packs: those lines, or (none named) everything still unpacked. Checked with
    /// `checkPack`.
    public func packQuantities(_ specs: [LineSpec]) throws(DomainError) -> [LineQuantity] {
        let quantities =
            specs.isEmpty
            ? progress.lines.filter { $0.unpacked > 0 }.map { LineQuantity(lineID: $0.lineID, quantity: $0.unpacked) }
            : try lineQuantities(specs)
        try checkPack(quantities)
        return quantities
    }

    /// The parcels a ship command ships: the one named, or every packed, unshipped parcel. Checked with
    /// `checkShip`.
    public func parcelsToShip(named parcel: String?) throws(DomainError) -> [String] {
        let parcels =
            parcel.map { [$0] } ?? fulfilments.filter { $0.shippedAt == nil && $0.cancelledAt == nil }.map(\.id)
        try checkShip(parcels)
        return parcels
    }

    /// The packed, unshipped parcel that holds exactly `specs` (`SKU:QTY`): only packed goods ship.
    public func packedParcel(holding specs: [LineSpec]) throws(DomainError) -> String {
        var wanted: [String: Int64] = [:]
        for spec in specs { wanted[spec.sku, default: 0] += spec.quantity }
        let match = fulfilments.first { parcel in
            guard parcel.shippedAt == nil, parcel.cancelledAt == nil else { return false }
            var held: [String: Int64] = [:]
            for item in parcel.lines { held[line(item.lineID)?.sku ?? "", default: 0] += item.quantity }
            return held == wanted
        }
        guard let match else {
            let named = specs.map { "\($0.sku):\($0.quantity)" }.joined(separator: ", ")
            throw DomainError(
                .illegalTransition, "order \(number) has no packed parcel holding exactly \(named)",
                hint: "pack those lines first (`order pack \(number) --line …`); only packed goods ship")
        }
        return match.id
    }

    /// The parcel a tracking event is for: the one named, or the latest shipped.
    public func trackedParcel(named parcel: String?) throws(DomainError) -> String {
        let target: String
        if let parcel {
            target = parcel
        } else {
            guard
                let latest = fulfilments.filter({ $0.shippedAt != nil }).max(by: {
                    ($0.shippedAt ?? 0, $0.id) < ($1.shippedAt ?? 0, $1.id)
                })
            else { throw DomainError(.illegalTransition, "order \(number) has not shipped", hint: "ship it first") }
            target = latest.id
        }
        try checkShipped(target)
        return target
    }

    /// Checks the time of a carrier event for `parcel`: not before the parcel shipped, and not more than a
    /// day after `now` (a carrier's clock may run a little ahead; a date next year is a typing error).
    public func checkTrackingTime(_ at: Int64, parcel: String, now: Int64) throws(DomainError) {
        if let shipped = fulfilments.first(where: { $0.id == parcel })?.shippedAt, at < shipped {
            throw DomainError(
                .invalidInput, "a carrier event cannot come before the parcel shipped",
                hint: "give a time after the shipment (RFC 3339 UTC), or leave --at out for now")
        }
        let day: Int64 = 86_400_000
        guard at <= now.addingReportingOverflow(day).partialValue else {
            throw DomainError(
                .invalidInput, "a carrier event cannot be more than a day in the future",
                hint: "check the date, or leave --at out for now")
        }
    }

    /// The parcels a deliver command marks delivered: the one named, or every shipped, undelivered parcel.
    public func parcelsToDeliver(named parcel: String?) throws(DomainError) -> [String] {
        let parcels =
            parcel.map { [$0] } ?? fulfilments.filter { $0.shippedAt != nil && $0.deliveredAt == nil }.map(\.id)
        guard !parcels.isEmpty else {
            throw DomainError(.illegalTransition, "order \(number): nothing shipped is awaiting delivery")
        }
        for id in parcels { try checkShipped(id) }
        return parcels
    }

    /// An exchange, decided: the units going back, the new lines going out, and the price difference.
    public struct ExchangePlan: Hashable, Sendable {
        /// The shipped units returned.
        public var returning: [LineQuantity]
        /// The new lines.
        public var sending: [PricedLine]
        /// What the new lines cost minus what the returned units were sold for: positive, the customer owes it;
        /// negative, it is owed to the customer.
        public var differenceMinor: Int64
    }

    /// Plans an exchange of shipped units (`returning`, `SKU:QTY`) for new lines (`sending`, `SKU:QTY:PRICE`),
    /// with the checks a new order's lines get (SKU, positive quantity, a price in the order's currency) and the
    /// difference computed with checked `Money` arithmetic. The order with the new lines must still add up.
    public func planExchange(returning specs: [LineSpec], sending: [LineSpec]) throws(DomainError) -> ExchangePlan {
        let returning = try lineQuantities(specs)
        try checkReturn(returning)
        guard !sending.isEmpty else {
            throw DomainError(.invalidInput, "an exchange needs something to send", hint: "pass --send SKU:QTY:PRICE")
        }
        var outbound: [PricedLine] = []
        var grown = self  // the order as it will be: it must still add up, which bounds every sum below
        for spec in sending {
            let priced = try spec.priced(in: currency)
            outbound.append(priced)
            grown.lines.append(
                OrderLine(
                    id: "", sku: priced.sku, name: priced.sku, quantity: priced.quantity,
                    unitPriceMinor: priced.unitPriceMinor, position: 0))
        }
        try grown.checkTotals()
        var sentValue = Money.zero(currency)
        for priced in outbound { sentValue = try sentValue.adding(priced.value(in: currency)) }
        var returnedValue = Money.zero(currency)
        for item in returning {
            let price = Money(minorUnits: line(item.lineID)?.unitPriceMinor ?? 0, currency: currency)
            returnedValue = try returnedValue.adding(price.multiplied(by: item.quantity))
        }
        let difference = try sentValue.subtracting(returnedValue).minorUnits
        return ExchangePlan(returning: returning, sending: outbound, differenceMinor: difference)
    }
}

/// A line checked for sale: a valid SKU, a quantity from 1 to `LineSpec.maximumQuantity`, a non-negative unit
/// price in minor units of the order's currency.
public struct PricedLine: Hashable, Sendable {
    public var sku: String
    public var quantity: Int64
    public var unitPriceMinor: Int64

    public init(sku: String, quantity: Int64, unitPriceMinor: Int64) {
        self.sku = sku
        self.quantity = quantity
        self.unitPriceMinor = unitPriceMinor
    }

    /// Quantity times unit price, checked.
    public func value(in currency: CurrencyCode) throws(DomainError) -> Money {
        try Money(minorUnits: unitPriceMinor, currency: currency).multiplied(by: quantity)
    }
}

extension LineSpec {
    /// The largest quantity one line may have.
    public static let maximumQuantity: Int64 = 1_000_000

    /// This line checked for a new order or an exchange in `currency`.
    public func priced(in currency: CurrencyCode) throws(DomainError) -> PricedLine {
        try Self.checkSKU(sku)
        guard quantity > 0, quantity <= Self.maximumQuantity else {
            throw DomainError(
                .invalidInput,
                "line \(sku): a quantity is a whole number from 1 to \(Self.maximumQuantity), not \(quantity)")
        }
        let price = try Money(parsing: unitPrice ?? "", currency: currency)
        guard price.minorUnits >= 0 else { throw DomainError(.invalidInput, "line \(sku): a price cannot be negative") }
        return PricedLine(sku: sku, quantity: quantity, unitPriceMinor: price.minorUnits)
    }
}
