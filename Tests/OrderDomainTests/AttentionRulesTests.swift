import OrderDomain
import Testing

/// Each reason for attention, from an order's facts and the time (a year after the fixtures' events).
@Suite struct AttentionRulesTests {
    let base = OrderBuilder()
    let later: Int64 = 365 * 86_400_000

    func kinds(_ builder: OrderBuilder, conflicted: Bool = false) -> Set<AttentionKind> {
        Set(builder.order.attention(now: later, conflicted: conflicted).map(\.kind))
    }

    @Test func everyReasonComesFromFacts() {
        #expect(kinds(base) == [.unpaid])
        #expect(kinds(base.failedPayment()).isSuperset(of: [.paymentIssue]))
        #expect(kinds(base.paid().cancelled()) == [.refundDue])
        #expect(
            kinds(base.paid().parcel("p1", shipped: true).returned(received: false)) == [.returnOpen, .trackingStale])
        #expect(kinds(base.paid().refunded(6000)).contains(.overRefunded))
        #expect(kinds(base.paid().parcel("p1", shipped: true, delivered: true), conflicted: true) == [.conflict])
        #expect(kinds(base.paid().parcel("p1", shipped: true, delivered: true)) == [])
        // Before the thresholds pass, an unpaid order is not yet a reason.
        #expect(base.order.attention(now: base.order.createdAt + 3_600_000, conflicted: false).isEmpty)
        // Every item says why in words.
        #expect(base.paid().cancelled().order.attention(now: later, conflicted: false).allSatisfy { !$0.why.isEmpty })
    }
}
