import GRDB
import OrderDomain

/// After the sale: returns (requested, received, cancelled, closed), refunds and exchanges. Each is one
/// transaction, checked by `OrderDomain` first.
extension OrderCommands {
    /// Requests a return of shipped units; with `receive` the goods are received at once (counter returns).
    @discardableResult
    public func requestReturn(
        order reference: String, lines: [LineSpec], reason: ReturnReason, note: String? = nil, receive: Bool = false,
        restock: Bool = false
    ) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            let quantities = try order.lineQuantities(lines)
            try order.checkReturn(quantities)
            return try Self.insertReturn(
                context, order, quantities, reason: reason, note: note, receive: receive, restock: restock)
        }
    }

    private static func insertReturn(
        _ context: WriteContext, _ order: Order, _ quantities: [LineQuantity], reason: ReturnReason, note: String?,
        receive: Bool, restock: Bool
    ) throws -> String {
        let id = Self.newID(context)
        try context.insert(
            .returns, id: id,
            [
                "order_id": .text(order.id), "lines": .text(LineQuantity.encode(quantities)),
                "reason": .text(reason.rawValue),
                "note": FieldValue(note), "requested_at": .integer(context.eventTime),
                "received_at": receive ? .integer(context.eventTime) : .null, "restock": FieldValue(restock),
            ])
        return id
    }

    /// Receives an open return.
    /// - Parameters:
    ///   - reference: the order's id or number.
    ///   - returnID: the return's id or short name (`R7f3a`).
    ///   - restock: put the units back on the shelf.
    @discardableResult
    public func receiveReturn(order reference: String, returnID: String, restock: Bool) async throws -> CommandResult {
        try await returnCommand(reference, returnID, check: { try $0.checkOpenReturn($1) }) { time in
            ["received_at": .integer(time), "restock": FieldValue(restock)]
        }
    }

    /// Cancels an open return (the customer kept the goods).
    /// - Parameters:
    ///   - reference: the order's id or number.
    ///   - returnID: the return's id or short name (`R7f3a`).
    @discardableResult
    public func cancelReturn(order reference: String, returnID: String) async throws -> CommandResult {
        try await returnCommand(reference, returnID, check: { try $0.checkOpenReturn($1) }) { time in
            ["cancelled_at": .integer(time)]
        }
    }

    /// Closes a received or cancelled return.
    /// - Parameters:
    ///   - reference: the order's id or number.
    ///   - returnID: the return's id or short name (`R7f3a`).
    @discardableResult
    public func closeReturn(order reference: String, returnID: String) async throws -> CommandResult {
        try await returnCommand(reference, returnID, check: { try $0.checkCloseReturn($1) }) { time in
            ["closed_at": .integer(time)]
        }
    }

    /// One step of a return's life: resolve the return's name, `check` the order, then write
    /// `values(eventTime)` into the return.
    private func returnCommand(
        _ reference: String, _ name: String, check: @escaping @Sendable (Order, String) throws -> Void,
        values: @escaping @Sendable (Int64) -> [String: FieldValue]
    ) async throws -> CommandResult {
        try await orderCommand(reference) { context, order in
            let returnID = try order.returnNamed(name).id
            try check(order, returnID)
            try context.update(.returns, id: returnID, values(context.eventTime))
            return returnID
        }
    }

    /// Refunds captured money (at most captured minus already refunded).
    @discardableResult
    public func refund(order reference: String, amount: String, reason: String? = nil, lines: [LineSpec] = [])
        async throws -> CommandResult
    {
        try await orderCommand(reference) { context, order in
            let minor = try Money(parsing: amount, currency: order.currency).minorUnits
            try order.checkRefund(amountMinor: minor)
            let quantities = try order.lineQuantities(lines)
            let id = Self.newID(context)
            try context.insert(
                .refunds, id: id,
                [
                    "order_id": .text(order.id), "amount_minor": .integer(minor),
                    "lines": .text(LineQuantity.encode(quantities)),
                    "reason": FieldValue(reason), "at": .integer(context.eventTime),
                ])
            return id
        }
    }

    /// Exchanges shipped units for new ones: a return of `returning`, new outbound lines `sending` (stock is
    /// reserved for them), and the price difference recorded (positive: the customer owes it).
    @discardableResult
    public func exchange(
        order reference: String, returning: [LineSpec], sending: [LineSpec], reason: ReturnReason
    )
        async throws -> CommandResult
    {
        try await orderCommand(reference) { context, order in
            let plan = try order.planExchange(returning: returning, sending: sending)
            // The new lines take stock and selling rights like a sale (`settleRights`, after the write).
            let returnID = try Self.insertReturn(
                context, order, plan.returning, reason: reason, note: "exchange", receive: false, restock: false)
            let exchangeID = Self.newID(context)
            var outbound: [String] = []
            for (offset, priced) in plan.sending.enumerated() {
                let line = OrderLine(
                    id: Self.newID(context), sku: priced.sku, name: priced.sku, quantity: priced.quantity,
                    unitPriceMinor: priced.unitPriceMinor, exchangeID: exchangeID,
                    position: Int64(order.lines.count + offset))
                try context.insert(Self.lineValues(line, orderID: order.id), id: line.id)
                outbound.append(line.id)
            }
            try context.insert(
                .exchanges, id: exchangeID,
                [
                    "order_id": .text(order.id), "return_id": .text(returnID),
                    "lines": .text(outbound.joined(separator: ",")),
                    "difference_minor": .integer(plan.differenceMinor), "at": .integer(context.eventTime),
                ])
            return exchangeID
        }
    }
}
