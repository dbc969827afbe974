import GRDB
import OrderDomain

/// The order lifecycle commands. Each is one transaction: validated against the local view by
/// `OrderDomain`'s transition checks, written with one dot, refused without a trace.
extension OrderCommands {
    /// Takes a payment: `capture` (default) or `authorize` up to the balance due.
    /// - Parameters:
    ///   - reference: the order's id or number.
    ///   - amount: a decimal amount in the order's currency, e.g. `12.50`.
    ///   - method: card, cash or another tender.
    ///   - provisional: taken offline; the card is not yet confirmed by the processor.
    ///   - kind: `capture` takes the money; `authorize` holds it for a later capture.
    ///   - authorization: for a capture, the authorization (payment id) it settles.
    @discardableResult
    public func pay(
        order reference: String, amount: String, method: PaymentMethod = .card, provisional: Bool = false,
        kind: PaymentKind = .capture, authorization: String? = nil
    ) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            let minor = try Money(parsing: amount, currency: order.currency).minorUnits
            try order.checkPayment(kind: kind, amountMinor: minor, reference: authorization)
            return try Self.insertPayment(
                context, order, kind: kind, amountMinor: minor, method: method, provisional: provisional,
                reference: authorization, note: nil)
        }
    }

    /// Records a failed payment attempt (moves no money; shows the `payment_issue` overlay).
    @discardableResult
    public func failPayment(order reference: String, reason: String? = nil, method: PaymentMethod = .card) async throws
        -> CommandResult
    {
        try await orderCommand(reference) { context, order in
            try order.checkPayment(kind: .fail, amountMinor: 0, reference: nil)
            return try Self.insertPayment(
                context, order, kind: .fail, amountMinor: 0, method: method, provisional: false, reference: nil,
                note: reason)
        }
    }

    /// Captures money held by an authorization: the one named, or the oldest open one.
    /// - Parameters:
    ///   - reference: the order's id or number.
    ///   - amount: a decimal amount; by default what the order still lacks, up to what the authorization holds.
    ///   - authorization: the authorization's payment id.
    @discardableResult
    public func capture(order reference: String, amount: String? = nil, authorization: String? = nil) async throws
        -> CommandResult
    {
        try await orderCommand(reference) { context, order in
            guard let open = order.openAuthorizations.first(where: { authorization == nil || $0.id == authorization })
            else {
                throw DomainError(
                    .illegalTransition, "order \(order.number) has no open authorization to capture",
                    hint: "take a payment with `order pay` instead")
            }
            let progress = order.progress
            let minor =
                try amount.map { try Money(parsing: $0, currency: order.currency).minorUnits }
                ?? min(open.openMinor, max(0, progress.standingMinor - progress.capturedMinor))
            guard minor > 0 else {
                throw DomainError(
                    .illegalTransition, "order \(order.number): captured money already covers the order",
                    hint: "release the authorization with `order void`")
            }
            try order.checkPayment(kind: .capture, amountMinor: minor, reference: open.id)
            let method = order.payments.first { $0.id == open.id }?.method ?? .card
            return try Self.insertPayment(
                context, order, kind: .capture, amountMinor: minor, method: method, provisional: false,
                reference: open.id, note: nil)
        }
    }

    /// Records the processor's answer to a provisional (offline) payment: the one named, or the oldest one
    /// still waiting. `accepted`: it went through (the `payment_provisional` overlay clears); otherwise it
    /// bounced: its money no longer counts, the balance is due again and `payment_issue` shows.
    @discardableResult
    public func settleProvisional(
        order reference: String, accepted: Bool, payment: String? = nil, reason: String? = nil
    ) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            let target = payment ?? order.unsettledProvisional.first?.id
            let kind: PaymentKind = accepted ? .confirm : .decline
            try order.checkPayment(kind: kind, amountMinor: 0, reference: target)
            let settled = order.payments.first { $0.id == target }
            return try Self.insertPayment(
                context, order, kind: kind, amountMinor: settled?.amountMinor ?? 0, method: settled?.method ?? .card,
                provisional: false, reference: target, note: reason)
        }
    }

    /// Releases an authorization: the one named, or the oldest open one.
    @discardableResult
    public func voidAuthorization(order reference: String, authorization: String? = nil) async throws
        -> CommandResult
    {
        try await orderCommand(reference) { context, order in
            let authorization = authorization ?? order.openAuthorizations.first?.id
            try order.checkPayment(kind: .void, amountMinor: 0, reference: authorization)
            let amount = order.payments.first { $0.id == authorization }?.amountMinor ?? 0
            return try Self.insertPayment(
                context, order, kind: .void, amountMinor: amount, method: .card, provisional: false,
                reference: authorization, note: nil)
        }
    }

    private static func insertPayment(
        _ context: WriteContext, _ order: Order, kind: PaymentKind, amountMinor: Int64, method: PaymentMethod,
        provisional: Bool, reference: String?, note: String?
    ) throws -> String {
        let id = Self.newID(context)
        try context.insert(
            .payments, id: id,
            [
                "order_id": .text(order.id), "kind": .text(kind.rawValue), "amount_minor": .integer(amountMinor),
                "method": .text(method.rawValue), "provisional": FieldValue(provisional),
                "reference": FieldValue(reference),
                "at": .integer(context.eventTime), "note": FieldValue(note),
            ])
        return id
    }

    /// Starts processing (picking) a paid order.
    @discardableResult
    public func startProcessing(order reference: String) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            try order.checkProcess()
            try context.update(.orders, id: order.id, ["processing_at": .integer(context.eventTime)])
            return nil
        }
    }

    /// Packs a parcel: the given `SKU:QTY` lines, or everything still unpacked.
    @discardableResult
    public func pack(order reference: String, lines: [LineSpec] = []) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            let quantities = try order.packQuantities(lines)
            let id = Self.newID(context)
            try context.insert(
                .fulfilments, id: id,
                [
                    "order_id": .text(order.id), "lines": .text(LineQuantity.encode(quantities)),
                    "packed_at": .integer(context.eventTime),
                ])
            return id
        }
    }

    /// Ships parcels with a carrier and tracking number: the one named, or every packed, unshipped parcel.
    /// Only packed parcels ship.
    @discardableResult
    public func ship(order reference: String, carrier: String, tracking: String, parcel: String? = nil) async throws
        -> CommandResult
    {
        try await orderCommand(reference) { context, order in
            let parcels = try order.parcelsToShip(named: parcel)
            // Capture at shipment: what open authorizations hold is taken as the goods leave.
            for capture in order.capturesAtShipment {
                let method = order.payments.first { $0.id == capture.authorization }?.method ?? .card
                _ = try Self.insertPayment(
                    context, order, kind: .capture, amountMinor: capture.amountMinor, method: method,
                    provisional: false, reference: capture.authorization, note: "captured at shipment")
            }
            for id in parcels {
                try context.update(
                    .fulfilments, id: id,
                    [
                        "shipped_at": .integer(context.eventTime), "carrier": .text(carrier),
                        "tracking_number": .text(tracking),
                        "ship_to": FieldValue(order.address),
                    ])
            }
            return parcels.joined(separator: ",")
        }
    }

    /// Ships the packed, unshipped parcel that holds exactly `lines` (`SKU:QTY`). Only packed goods ship:
    /// when no parcel holds exactly those lines, the command is refused with a hint to pack them first.
    @discardableResult
    public func ship(order reference: String, carrier: String, tracking: String, lines: [LineSpec]) async throws
        -> CommandResult
    {
        let parcel = try await replica.pool.read { db in
            try OrderRecords.require(db, reference).packedParcel(holding: lines)
        }
        return try await ship(order: reference, carrier: carrier, tracking: tracking, parcel: parcel)
    }

    /// Records a carrier event for a shipped parcel (the latest shipped one unless named).
    @discardableResult
    public func track(
        order reference: String, event: TrackingKind, at: Int64? = nil, note: String? = nil, parcel: String? = nil
    ) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            let target = try order.trackedParcel(named: parcel)
            if let at { try order.checkTrackingTime(at, parcel: target, now: context.eventTime) }
            let id = Self.newID(context)
            try context.insert(
                .trackingEvents, id: id,
                [
                    "order_id": .text(order.id), "fulfilment_id": .text(target), "kind": .text(event.rawValue),
                    "at": .integer(at ?? context.eventTime), "note": FieldValue(note),
                ])
            if event == .delivered {
                try context.update(.fulfilments, id: target, ["delivered_at": .integer(at ?? context.eventTime)])
            }
            return id
        }
    }

    /// Marks shipped parcels delivered (the one named, or every shipped, undelivered parcel).
    @discardableResult
    public func deliver(order reference: String, parcel: String? = nil) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            let parcels = try order.parcelsToDeliver(named: parcel)
            for id in parcels {
                try context.update(.fulfilments, id: id, ["delivered_at": .integer(context.eventTime)])
            }
            return parcels.joined(separator: ",")
        }
    }

    /// Cancels what has not shipped; packed parcels return to stock. Refused once everything has shipped.
    @discardableResult
    public func cancel(order reference: String, reason: String? = nil) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            try order.checkCancel()
            try context.update(
                .orders, id: order.id,
                ["cancelled_at": .integer(context.eventTime), "cancel_reason": FieldValue(reason)])
            return nil
        }
    }

    /// Edits an order: contact details, notes, tags, and the quantity of unfulfilled lines (`SKU:QTY`).
    /// Nil leaves a field unchanged.
    @discardableResult
    public func edit(
        order reference: String, phone: String? = nil, address: String? = nil, notes: String? = nil,
        tags: Set<String>? = nil,
        quantities: [LineSpec] = []
    ) async throws -> CommandResult {
        for tag in tags ?? [] { try InputRules.checkTag(tag) }
        return try await orderCommand(reference) { context, order in
            let changes = try order.quantityChanges(quantities)
            try order.checkEdit(addressChanged: address != nil && address != order.address, quantities: changes)
            var values: [String: FieldValue] = [:]
            if let phone { values["phone"] = .text(phone) }
            if let address { values["address"] = .text(address) }
            if let notes { values["notes"] = .text(notes) }
            if let tags { values["tags"] = TagSet.value(of: tags) }
            guard !values.isEmpty || !changes.isEmpty else {
                throw DomainError(
                    .invalidInput, "nothing to change", hint: "pass --phone, --address, --note, --tag or --line")
            }
            // A larger quantity takes stock and selling rights like a sale (`settleRights`, after the write).
            if !values.isEmpty { try context.update(.orders, id: order.id, values) }
            for change in changes {
                try context.update(.orderLines, id: change.lineID, ["quantity": .integer(change.quantity)])
            }
            return nil
        }
    }
}
