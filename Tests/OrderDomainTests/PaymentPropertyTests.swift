import OrderDomain
import OutpostTestSupport
import Testing

/// Random payment histories built only from commands the rules accept: the money always adds up.
@Suite struct PaymentPropertyTests {
    @Test(arguments: 0..<8)
    func moneyAddsUpOverRandomAcceptedHistories(seed: UInt64) {
        var random = SeededGenerator(seed: 7_000 + seed)
        for _ in 0..<60 {
            var builder = OrderBuilder()
            var clock: Int64 = 2_000
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                clock += 10
                let order = builder.order
                let progress = order.progress
                let amount = Int64.random(in: 1...6_000, using: &random)
                let attempt: (PaymentKind, Int64, String?, Bool)
                switch Int.random(in: 0..<7, using: &random) {
                case 0:
                    attempt = (
                        .capture, min(amount, max(1, progress.balanceDueMinor)), nil, Bool.random(using: &random)
                    )
                case 1:
                    attempt = (
                        .authorize, min(amount, max(1, progress.balanceDueMinor)), nil, Bool.random(using: &random)
                    )
                case 2:
                    attempt = (
                        .capture, min(amount, order.openAuthorizations.first?.openMinor ?? 1),
                        order.openAuthorizations.first?.id, false
                    )
                case 3: attempt = (.void, 0, order.openAuthorizations.first?.id, false)
                case 4: attempt = (.confirm, 0, order.unsettledProvisional.first?.id, false)
                case 5: attempt = (.decline, 0, order.unsettledProvisional.first?.id, false)
                default:
                    if (try? order.checkRefund(amountMinor: amount)) != nil { builder = builder.refunded(amount) }
                    continue
                }
                let (kind, minor, reference, provisional) = attempt
                guard (try? order.checkPayment(kind: kind, amountMinor: minor, reference: reference)) != nil else {
                    continue
                }
                builder = builder.payment(kind, minor, reference: reference, provisional: provisional, at: clock)
                let after = builder.progress
                #expect(after.capturedMinor >= 0 && after.balanceDueMinor >= 0 && after.refundDueMinor >= 0)
                #expect(after.refundedMinor <= after.capturedMinor, "\(builder.order.payments)")
                if after.financialStatus == .paid || after.status == .paid {
                    #expect(after.capturedMinor >= after.standingMinor, "\(builder.order.payments)")
                }
                if after.financialStatus == .authorized {
                    #expect(after.capturedMinor == 0 && after.authorizedOpenMinor > 0)
                }
                #expect(order.openAuthorizations.allSatisfy { $0.openMinor > 0 })
            }
        }
    }
}
