import OrderDomain

/// A two-line order (2 × TEE-M at 15.00, 1 × CAP at 10.00, 10.00 shipping: total 50.00) and fact builders.
struct OrderBuilder {
    var order: Order

    init() {
        var order = Order(
            id: "order-1", number: "TEST-1", customerID: "customer-1", channel: .web, location: "main",
            currency: CurrencyCode.none, shippingMinor: 1000, createdAt: 1_000, address: "1 Harbour St")
        order.currency = (try? CurrencyCode("EUR")) ?? .none
        order.lines = [
            OrderLine(id: "line-tee", sku: "TEE-M", name: "Tee", quantity: 2, unitPriceMinor: 1500, position: 0),
            OrderLine(id: "line-cap", sku: "CAP", name: "Cap", quantity: 1, unitPriceMinor: 1000, position: 1),
        ]
        self.order = order
    }

    var all: [LineQuantity] {
        [LineQuantity(lineID: "line-tee", quantity: 2), LineQuantity(lineID: "line-cap", quantity: 1)]
    }

    func paid(_ amount: Int64 = 5000, kind: PaymentKind = .capture) -> OrderBuilder {
        var copy = self
        copy.order.payments.append(
            Payment(
                id: "pay-\(copy.order.payments.count)", orderID: "order-1", kind: kind, amountMinor: amount,
                method: .card, at: 2_000))
        return copy
    }

    /// A payment fact of any kind, e.g. a capture of an authorization or the processor's answer to a provisional
    /// payment (`reference`).
    func payment(
        _ kind: PaymentKind, _ amount: Int64 = 0, reference: String? = nil, provisional: Bool = false, at: Int64 = 2_000
    ) -> OrderBuilder {
        var copy = self
        copy.order.payments.append(
            Payment(
                id: "pay-\(copy.order.payments.count)", orderID: "order-1", kind: kind, amountMinor: amount,
                method: .card, provisional: provisional, reference: reference, at: at))
        return copy
    }

    func failedPayment() -> OrderBuilder {
        var copy = self
        copy.order.payments.append(
            Payment(
                id: "fail-\(copy.order.payments.count)", orderID: "order-1", kind: .fail, amountMinor: 0, method: .card,
                at: 2_500))
        return copy
    }

    func processing() -> OrderBuilder {
        var copy = self
        copy.order.processingAt = 3_000
        return copy
    }

    func parcel(
        _ id: String, _ lines: [LineQuantity]? = nil, shipped: Bool = false, delivered: Bool = false,
        shipTo: String? = nil
    )
        -> OrderBuilder
    {
        var copy = self
        copy.order.fulfilments.append(
            Fulfilment(
                id: id, orderID: "order-1", lines: lines ?? all, packedAt: 4_000, shippedAt: shipped ? 5_000 : nil,
                deliveredAt: delivered ? 6_000 : nil, carrier: shipped ? "DHL" : nil,
                trackingNumber: shipped ? "T" : nil,
                shipTo: shipped ? (shipTo ?? copy.order.address) : nil))
        return copy
    }

    func cancelled() -> OrderBuilder {
        var copy = self
        copy.order.cancelledAt = 7_000
        return copy
    }

    func returned(_ lines: [LineQuantity]? = nil, received: Bool = true, cancelled: Bool = false, restock: Bool = true)
        -> OrderBuilder
    {
        var copy = self
        copy.order.returns.append(
            Return(
                id: "ret-\(copy.order.returns.count)", orderID: "order-1", lines: lines ?? all, reason: .damaged,
                requestedAt: 8_000,
                receivedAt: received ? 8_500 : nil, cancelledAt: cancelled ? 8_600 : nil, restock: restock))
        return copy
    }

    func refunded(_ amount: Int64) -> OrderBuilder {
        var copy = self
        copy.order.refunds.append(
            Refund(id: "ref-\(copy.order.refunds.count)", orderID: "order-1", amountMinor: amount, at: 9_000))
        return copy
    }

    var progress: OrderProgress { order.progress }
}
