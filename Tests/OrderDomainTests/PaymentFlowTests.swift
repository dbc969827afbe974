import OrderDomain
import Testing

/// Money as shops know it: authorizations hold, captures take, an offline card is confirmed or declined later,
/// and the financial status says which (the order's total here is 50.00).
@Suite struct PaymentFlowTests {
    let base = OrderBuilder()

    @Test func theFinancialStatusFollowsTheMoney() {
        let cases: [(OrderBuilder, FinancialStatus)] = [
            (base, .unpaid),
            (base.paid(5000, kind: .authorize), .authorized),
            (base.paid(2000), .partiallyPaid),
            (base.paid(), .paid),
            (base.paid().refunded(1000), .partiallyRefunded),
            (base.paid().refunded(5000), .refunded),
            (base.paid(5000, kind: .authorize).payment(.void, 5000, reference: "pay-0"), .voided),
            (base.paid(5000, kind: .authorize).payment(.capture, 5000, reference: "pay-0"), .paid),
            (base.cancelled(), .unpaid),
        ]
        for (builder, financial) in cases {
            #expect(builder.progress.financialStatus == financial, "\(builder.order.payments)")
        }
    }

    @Test func anAuthorizedOrderIsSecuredButNotPaid() throws {
        let authorized = base.paid(5000, kind: .authorize)
        let progress = authorized.progress
        #expect(progress.status == .pendingPayment)
        #expect(progress.isSecured)
        #expect(progress.balanceDueMinor == 0 && progress.capturedMinor == 0)
        try authorized.order.checkProcess()
        try authorized.order.checkPack([LineQuantity(lineID: "line-tee", quantity: 1)])
        // Shipping captures what the authorization holds, up to what the order stands for.
        let captures = authorized.order.capturesAtShipment
        #expect(captures.count == 1 && captures.first?.authorization == "pay-0" && captures.first?.amountMinor == 5000)
        #expect(base.paid().order.capturesAtShipment.isEmpty)
        // A partial capture leaves the rest open; shipping takes only what is still missing.
        let partly = authorized.payment(.capture, 2000, reference: "pay-0")
        #expect(partly.order.openAuthorizations.first?.openMinor == 3000)
        #expect(partly.order.capturesAtShipment.first?.amountMinor == 3000)
    }

    @Test func anUnsecuredOrderCannotBeProcessedOrPacked() {
        let half = base.paid(2000, kind: .authorize)
        #expect(!half.progress.isSecured)
        #expect(throws: DomainError.self) { try half.order.checkProcess() }
        #expect(throws: DomainError.self) { try half.order.checkPack([LineQuantity(lineID: "line-tee", quantity: 1)]) }
    }

    @Test func anOfflineCardIsConfirmedOrDeclinedLater() throws {
        let offline = base.payment(.capture, 5000, provisional: true)
        #expect(offline.progress.overlays.contains(.paymentProvisional))
        #expect(offline.progress.status == .paid)
        #expect(offline.order.unsettledProvisional.map(\.id) == ["pay-0"])

        let confirmed = offline.payment(.confirm, 5000, reference: "pay-0", at: 3_000)
        #expect(!confirmed.progress.overlays.contains(.paymentProvisional))
        #expect(confirmed.progress.financialStatus == .paid)
        #expect(confirmed.order.unsettledProvisional.isEmpty)
        #expect(throws: DomainError.self) {
            try confirmed.order.checkPayment(kind: .decline, amountMinor: 0, reference: "pay-0")
        }

        let declined = offline.payment(.decline, 5000, reference: "pay-0", at: 3_000)
        #expect(declined.progress.status == .pendingPayment)
        #expect(declined.progress.financialStatus == .unpaid)
        #expect(declined.progress.balanceDueMinor == 5000)
        #expect(declined.progress.overlays == [.paymentIssue])
        // The customer pays again; the issue clears.
        let repaid = declined.paid(5000)
        #expect(repaid.progress.status == .paid && repaid.progress.overlays.isEmpty)

        // Confirm ∥ decline of one provisional card (two devices heard different answers): the decline stands.
        let both = offline.payment(.confirm, 5000, reference: "pay-0", at: 3_000)
            .payment(.decline, 5000, reference: "pay-0", at: 3_000)
        #expect(both.progress.financialStatus == .unpaid && both.progress.overlays.contains(.paymentIssue))
    }

    @Test func captureAndVoidOfOneAuthorizationConcurrently() {
        // Two devices: one captured, one voided the same authorization. The capture is money taken: it stands.
        let both = base.paid(5000, kind: .authorize).payment(.capture, 5000, reference: "pay-0")
            .payment(.void, 5000, reference: "pay-0")
        #expect(both.progress.capturedMinor == 5000)
        #expect(both.progress.financialStatus == .paid)
        #expect(both.progress.authorizedOpenMinor == 0)
    }
}
