/// The legal transition graph: each check validates a command against the local view of an order and
/// throws a `DomainError` saying why it is refused. Merges may still produce states these checks would
/// refuse locally (two devices acting concurrently); `OrderProgress` derives the outcome and the overlays
/// that flag it.
extension Order {
    /// The derived view of this order.
    public var progress: OrderProgress { OrderProgress(self) }

    private func refuse(_ message: String, hint: String? = nil) -> DomainError {
        DomainError(.illegalTransition, "order \(number): \(message)", hint: hint)
    }

    private func requireOpen(_ action: String) throws(DomainError) {
        if cancelledAt != nil {
            throw refuse("cannot \(action) a cancelled order")
        }
    }

    /// Payment: capture or authorize up to the balance due; fail records an attempt; void needs an open
    /// authorization.
    public func checkPayment(kind: PaymentKind, amountMinor: Int64, reference: String?) throws(DomainError) {
        let progress = self.progress
        switch kind {
        case .capture, .authorize:
            try requireOpen("take payment for")
            guard amountMinor > 0 else { throw DomainError(.invalidInput, "a payment amount must be positive") }
            if kind == .capture, let reference {
                guard let authorization = payments.first(where: { $0.id == reference && $0.kind == .authorize }) else {
                    throw DomainError(.notFound, "order \(number) has no authorization \(reference)")
                }
                guard amountMinor <= authorization.amountMinor else {
                    throw refuse(
                        "cannot capture more than the authorization's \(authorization.amountMinor) minor units")
                }
                return
            }
            guard amountMinor <= progress.balanceDueMinor else {
                throw refuse(
                    "the amount is more than the balance due (\(Money.decimalString(progress.balanceDueMinor, digits: currency.minorDigits)) \(currency))",
                    hint: "take at most the balance due")
            }
        case .fail:
            guard progress.balanceDueMinor > 0 else { throw refuse("is already paid; there is no attempt to fail") }
        case .void:
            guard let reference, payments.contains(where: { $0.id == reference && $0.kind == .authorize }) else {
                throw DomainError(.notFound, "order \(number) has no authorization to void")
            }
            let settled = payments.contains { $0.reference == reference && ($0.kind == .void || $0.kind == .capture) }
            guard !settled else { throw refuse("authorization \(reference) is already captured or voided") }
        case .confirm, .decline:
            guard let reference, let pending = unsettledProvisional.first(where: { $0.id == reference }) else {
                throw refuse(
                    "has no provisional payment \(reference.map { "\($0) " } ?? "")waiting for the processor's answer",
                    hint: "see the payments in `outpost order show`")
            }
            // Money already refunded cannot bounce away: declining would leave refunds above what was taken.
            if kind == .decline, pending.kind == .capture,
                progress.capturedMinor - pending.amountMinor < progress.refundedMinor
            {
                throw refuse(
                    "refunds were made from this payment's money; declining it would leave more refunded than taken",
                    hint:
                        "settle the refund with the customer first; a decline recorded elsewhere shows as over_refunded"
                )
            }
        }
    }

    /// Provisional (offline) payments the processor has neither confirmed nor declined, oldest first.
    public var unsettledProvisional: [Payment] {
        let settled = Set(payments.filter { $0.kind == .confirm || $0.kind == .decline }.compactMap(\.reference))
        return payments.filter {
            $0.provisional && ($0.kind == .capture || $0.kind == .authorize) && !settled.contains($0.id)
        }.sorted { ($0.at, $0.id) < ($1.at, $1.id) }
    }

    /// Authorizations neither captured nor voided (nor declined), with what is still open on each, oldest
    /// first.
    public var openAuthorizations: [(id: String, openMinor: Int64)] {
        let declined = Set(payments.filter { $0.kind == .decline }.compactMap(\.reference))
        return payments.filter { $0.kind == .authorize && !declined.contains($0.id) }
            .sorted { ($0.at, $0.id) < ($1.at, $1.id) }
            .compactMap { authorization in
                if payments.contains(where: { $0.kind == .void && $0.reference == authorization.id }) { return nil }
                let captured = payments.filter { $0.kind == .capture && $0.reference == authorization.id }
                    .reduce(Int64(0)) { $0 + $1.amountMinor }
                let open = authorization.amountMinor - captured
                return open > 0 ? (authorization.id, open) : nil
            }
    }

    /// The captures that shipping makes (capture at shipment): from the open authorizations, oldest first,
    /// until captured money covers what the order stands for.
    public var capturesAtShipment: [(authorization: String, amountMinor: Int64)] {
        let progress = self.progress
        var missing = progress.standingMinor - progress.capturedMinor
        var captures: [(authorization: String, amountMinor: Int64)] = []
        for (id, open) in openAuthorizations where missing > 0 {
            let amount = min(open, missing)
            captures.append((id, amount))
            missing -= amount
        }
        return captures
    }

    /// Processing starts once the order is secured: paid, or held by authorizations that shipping captures.
    public func checkProcess() throws(DomainError) {
        try requireOpen("process")
        let progress = self.progress
        let status = progress.status
        guard status == .paid || (status == .pendingPayment && progress.isSecured) else {
            throw refuse(
                "cannot start processing an order that is \(status.rawValue)",
                hint: status == .pendingPayment ? "take payment first" : nil)
        }
    }

    /// Packing: the order is paid; each quantity is at most what is still unpacked on that line.
    public func checkPack(_ quantities: [LineQuantity]) throws(DomainError) {
        try requireOpen("pack")
        let progress = self.progress
        let secured = progress.status == .pendingPayment && progress.isSecured
        guard secured || [.paid, .processing, .partiallyFulfilled].contains(progress.status) else {
            throw refuse("cannot pack an order that is \(progress.status.rawValue)")
        }
        guard !quantities.isEmpty else { throw refuse("nothing is left to pack") }
        for item in quantities {
            guard let line = progress.lines.first(where: { $0.lineID == item.lineID }) else {
                throw DomainError(.notFound, "order \(number) has no line \(item.lineID)")
            }
            guard item.quantity > 0 else { throw DomainError(.invalidInput, "quantities must be positive") }
            guard item.quantity <= line.unpacked else {
                throw refuse("only \(line.unpacked) unit(s) of \(line.sku) are left to pack")
            }
        }
    }

    /// Shipping: only packed, unshipped, uncancelled parcels ship ("cannot ship what is not packed").
    public func checkShip(_ fulfilmentIDs: [String]) throws(DomainError) {
        guard !fulfilmentIDs.isEmpty else {
            throw refuse("has nothing packed to ship", hint: "pack the order first")
        }
        for id in fulfilmentIDs {
            guard let parcel = fulfilments.first(where: { $0.id == id }) else {
                throw DomainError(.notFound, "order \(number) has no parcel \(id)")
            }
            guard parcel.shippedAt == nil else { throw refuse("parcel \(id) has already shipped") }
            guard parcel.cancelledAt == nil && cancelledAt == nil else { throw refuse("parcel \(id) was cancelled") }
        }
    }

    /// Tracking events and delivery apply to shipped parcels.
    public func checkShipped(_ fulfilmentID: String) throws(DomainError) {
        guard let parcel = fulfilments.first(where: { $0.id == fulfilmentID }) else {
            throw DomainError(.notFound, "order \(number) has no parcel \(fulfilmentID)")
        }
        guard parcel.shippedAt != nil else { throw refuse("parcel \(fulfilmentID) has not shipped") }
    }

    /// Cancelling: not once everything has shipped (that is a return), not twice.
    public func checkCancel() throws(DomainError) {
        try requireOpen("cancel")
        let progress = self.progress
        let unshipped = progress.lines.reduce(0) { $0 + max(0, $1.demand - $1.shipped) }
        guard unshipped > 0 else {
            throw refuse("has fully shipped and cannot be cancelled", hint: "request a return instead")
        }
    }

    /// Returns: at most what shipped and is not already being returned.
    public func checkReturn(_ quantities: [LineQuantity]) throws(DomainError) {
        let progress = self.progress
        guard !quantities.isEmpty else { throw DomainError(.invalidInput, "a return needs at least one line") }
        for item in quantities {
            guard let line = progress.lines.first(where: { $0.lineID == item.lineID }) else {
                throw DomainError(.notFound, "order \(number) has no line \(item.lineID)")
            }
            guard item.quantity > 0 else { throw DomainError(.invalidInput, "quantities must be positive") }
            let returnable = line.shipped - line.returned - line.returnRequested
            guard item.quantity <= returnable else {
                throw refuse(
                    "only \(max(0, returnable)) unit(s) of \(line.sku) can be returned",
                    hint: "only shipped units that are not already being returned can come back")
            }
        }
    }

    /// Receiving or cancelling a return: it must still be open.
    public func checkOpenReturn(_ returnID: String) throws(DomainError) {
        guard let item = returns.first(where: { $0.id == returnID }) else {
            throw DomainError(.notFound, "order \(number) has no return \(returnID)")
        }
        guard item.receivedAt == nil, item.cancelledAt == nil else {
            throw refuse("return \(returnID) is already \(item.receivedAt != nil ? "received" : "cancelled")")
        }
    }

    /// Closing: the return was received (or cancelled) and is not closed yet.
    public func checkCloseReturn(_ returnID: String) throws(DomainError) {
        guard let item = returns.first(where: { $0.id == returnID }) else {
            throw DomainError(.notFound, "order \(number) has no return \(returnID)")
        }
        guard item.closedAt == nil else { throw refuse("return \(returnID) is already closed") }
        guard item.receivedAt != nil || item.cancelledAt != nil else {
            throw refuse("return \(returnID) has not been received", hint: "receive it first")
        }
    }

    /// Refunds: positive and at most captured minus already refunded.
    public func checkRefund(amountMinor: Int64) throws(DomainError) {
        guard amountMinor > 0 else { throw DomainError(.invalidInput, "a refund amount must be positive") }
        let progress = self.progress
        let refundable = progress.capturedMinor - progress.refundedMinor
        guard amountMinor <= refundable else {
            throw refuse(
                "cannot refund more than was captured (refundable: \(Money.decimalString(max(0, refundable), digits: currency.minorDigits)) \(currency))"
            )
        }
    }

    /// Edits: not on a cancelled order; the address not once everything shipped; a line's quantity not
    /// below what is already packed or shipped.
    public func checkEdit(addressChanged: Bool, quantities: [LineQuantity]) throws(DomainError) {
        try requireOpen("edit")
        let progress = self.progress
        if addressChanged && [.shipped, .delivered, .returned].contains(progress.status) {
            throw refuse(
                "has shipped; its address can no longer change", hint: "ask the carrier to redirect the parcel")
        }
        for item in quantities {
            guard let line = progress.lines.first(where: { $0.lineID == item.lineID }) else {
                throw DomainError(.notFound, "order \(number) has no line \(item.lineID)")
            }
            guard item.quantity >= max(line.packed, line.shipped) else {
                throw refuse("\(line.sku) already has \(max(line.packed, line.shipped)) unit(s) packed or shipped")
            }
            guard item.quantity <= LineSpec.maximumQuantity else {
                throw DomainError(.invalidInput, "line \(line.sku): a quantity is at most \(LineSpec.maximumQuantity)")
            }
        }
        var edited = self
        for item in quantities {
            if let index = edited.lines.firstIndex(where: { $0.id == item.lineID }) {
                edited.lines[index].quantity = item.quantity
            }
        }
        try edited.checkTotals()
    }
}

/// A line as typed by a person or a script: `SKU:QTY:UNIT_PRICE` (price optional where not needed).
public struct LineSpec: Hashable, Sendable {
    public var sku: String
    public var quantity: Int64
    public var unitPrice: String?

    public init(sku: String, quantity: Int64, unitPrice: String? = nil) {
        self.sku = sku
        self.quantity = quantity
        self.unitPrice = unitPrice
    }

    /// Parses `SKU:QTY[:PRICE]`; `requirePrice` demands the price part.
    public init(parsing text: String, requirePrice: Bool) throws(DomainError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let shape = requirePrice ? "SKU:QTY:UNIT_PRICE, e.g. TEE-M:2:19.90" : "SKU:QTY, e.g. TEE-M:2"
        guard parts.count == (requirePrice ? 3 : 2) else {
            throw DomainError(.invalidInput, "'\(text)' is not a line", hint: "write \(shape)")
        }
        try Self.checkSKU(parts[0])
        guard let quantity = Int64(parts[1]), quantity > 0, quantity <= Self.maximumQuantity else {
            throw DomainError(
                .invalidInput, "'\(parts[1])' is not a quantity in '\(text)'", hint: "use a whole number from 1")
        }
        self.init(sku: parts[0], quantity: quantity, unitPrice: requirePrice ? parts[2] : nil)
    }

    /// A SKU is 1–64 printable characters without `:`, `,`, `@`, white space (they delimit stored forms) or
    /// control characters.
    public static func checkSKU(_ sku: String) throws(DomainError) {
        // Printable ASCII without the three separators is a SKU when 1–64 long (the common case, on the bytes).
        if (1...64).contains(sku.utf8.count),
            sku.utf8.allSatisfy({
                $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "@")
            })
        {
            return
        }
        let forbidden: Set<Character> = [":", ",", "@"]
        guard !sku.isEmpty, sku.count <= 64,
            !sku.contains(where: { forbidden.contains($0) || $0.isWhitespace }),
            !sku.unicodeScalars.contains(where: InputRules.isControl)
        else {
            throw DomainError(
                .invalidInput, "'\(sku.escapingControlCharacters)' is not a SKU",
                hint: "use 1–64 characters without white space, control characters, ':', ',' or '@'")
        }
    }
}
