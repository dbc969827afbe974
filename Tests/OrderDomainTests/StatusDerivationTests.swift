import OrderDomain
import PropertyBased
import Testing

@Suite struct StatusDerivationTests {
    let base = OrderBuilder()

    @Test func everyStatusIsReachableFromFacts() {
        let tee = [LineQuantity(lineID: "line-tee", quantity: 2)]
        let cases: [(OrderBuilder, OrderStatus)] = [
            (base, .pendingPayment),
            (base.paid(), .paid),
            (base.paid(3000).paid(2000), .paid),
            // Authorized only is not paid: money held is not money taken.
            (base.paid(5000, kind: .authorize), .pendingPayment),
            (base.paid().processing(), .processing),
            (base.paid().parcel("p1", tee), .partiallyFulfilled),
            (base.paid().parcel("p1"), .fulfilled),
            (base.paid().parcel("p1", shipped: true), .shipped),
            (base.paid().parcel("p1", tee, shipped: true), .partiallyFulfilled),
            (base.paid().parcel("p1", shipped: true, delivered: true), .delivered),
            (base.cancelled(), .cancelled),
            (base.paid().refunded(5000), .refunded),
            (base.paid().parcel("p1", shipped: true).returned(), .returned),
        ]
        for (builder, status) in cases {
            #expect(builder.progress.status == status, "\(builder.order)")
        }
    }

    @Test func overlaysAreDerivedFromFacts() {
        #expect(base.failedPayment().progress.overlays == [.paymentIssue])
        #expect(base.paid().refunded(1000).progress.overlays == [.partiallyRefunded])
        #expect(base.paid().refunded(6000).progress.overlays.contains(.overRefunded))
        let capReturned = base.paid().parcel("p1", shipped: true).returned([
            LineQuantity(lineID: "line-cap", quantity: 1)
        ])
        #expect(capReturned.progress.overlays.contains(.partiallyReturned))
        #expect(capReturned.progress.overlays.contains(.refundDue))
        #expect(capReturned.progress.refundDueMinor == 1000)
        let open = base.paid().parcel("p1", shipped: true).returned(received: false)
        #expect(open.progress.overlays.contains(.returnOpen))
        #expect(
            base.paid().parcel("p1", shipped: true).parcel("p2", shipped: true).progress.overlays.contains(
                .overFulfilled))
        #expect(
            base.paid().parcel("p1", shipped: true, shipTo: "elsewhere").progress.overlays.contains(.redirectRequested))
        #expect(base.paid().cancelled().progress.overlays.contains(.refundDue))
    }

    @Test func cancelVoidsUnshippedParcelsAndKeepsShippedOnes() {
        let packedThenCancelled = base.paid().parcel("p1").cancelled().progress
        #expect(packedThenCancelled.status == .cancelled)
        #expect(packedThenCancelled.lines.allSatisfy { $0.packed == 0 && $0.reserved == 0 })
        let shippedThenCancelled = base.paid().parcel("p1", shipped: true).cancelled().progress
        #expect(shippedThenCancelled.status == .shipped)
        #expect(shippedThenCancelled.overlays.contains(.refundDue))
    }

    @Test func receivedBeatsCancelledForAReturn() {
        let progress = base.paid().parcel("p1", shipped: true).returned(received: true, cancelled: true).progress
        #expect(progress.status == .returned)
        #expect(progress.lines.allSatisfy { $0.returned == $0.shipped && $0.restocked == $0.returned })
    }

    @Test func moneyTotalsAreExact() {
        let progress = base.paid(2000).progress
        #expect(progress.totalMinor == 5000)
        #expect(progress.capturedMinor == 2000)
        #expect(progress.balanceDueMinor == 3000)
    }

    /// Derived status is a function of the facts only: the order in which facts are listed (as different
    /// replicas may read them) never changes the result.
    @Test func derivationIgnoresFactOrder() async {
        let scenarios: [OrderBuilder] = [
            base.paid(2000).paid(3000).parcel("p1", [LineQuantity(lineID: "line-tee", quantity: 1)], shipped: true)
                .parcel("p2")
                .returned([LineQuantity(lineID: "line-tee", quantity: 1)], received: false).refunded(500)
                .failedPayment(),
            base.paid().parcel("p1", shipped: true).parcel("p2", shipped: true).cancelled().refunded(100).refunded(200),
        ]
        for scenario in scenarios {
            let expected = scenario.progress
            await propertyCheck(
                count: 50, input: Gen.shuffled(scenario.order.payments), Gen.shuffled(scenario.order.fulfilments),
                Gen.shuffled(scenario.order.refunds)
            ) {
                payments, parcels, refunds in
                var order = scenario.order
                order.payments = payments
                order.fulfilments = parcels
                order.refunds = refunds
                order.lines.reverse()
                #expect(order.progress == expected)
            }
        }
    }
}
