import OrderDomain
import OutpostTestSupport
import Testing

/// The decisions commands make before writing, as pure functions (`OrderPlans.swift`).
@Suite struct OrderPlanTests {
    static let eur = (try? CurrencyCode("EUR")) ?? .none

    @Test func totalsAddUpWithCheckedMoney() throws {
        #expect(try OrderBuilder().order.checkTotals() == Money(minorUnits: 5_000, currency: Self.eur))
        var discounted = OrderBuilder().order
        discounted.discountMinor = 4_000
        #expect(
            try discounted.checkTotals().minorUnits == 1_000, "a discount may bring the goods to zero; shipping stays")
    }

    @Test func aDiscountLargerThanTheGoodsIsRefused() {
        var order = OrderBuilder().order
        order.discountMinor = 4_001  // 40.00 of goods, 10.00 shipping
        let error = #expect(throws: DomainError.self) { try order.checkTotals() }
        #expect(error?.message.contains("larger than the goods") == true)
    }

    /// Issue 11's probe: a million units at 46,116,860,184,273,879.03 wrapped to a negative total.
    @Test(arguments: [
        (Int64(1_000_000), Int64(4_611_686_018_427_387_903), Int64(0)),
        (1, Order.maximumTotalMinor, 1),
        (3, Int64.max / 2, 0),
        (1, 100, Int64.max),
    ])
    func totalsBeyondTheMaximumAreRefused(quantity: Int64, price: Int64, shipping: Int64) {
        var order = OrderBuilder().order
        order.lines = [OrderLine(id: "l", sku: "X", name: "X", quantity: quantity, unitPriceMinor: price, position: 0)]
        order.shippingMinor = shipping
        let error = #expect(throws: DomainError.self) { try order.checkTotals() }
        #expect(error?.message.contains("the most one order may hold") == true, "\(error?.message ?? "")")
    }

    @Test func derivationSaturatesInsteadOfWrappingOnMergedFacts() {
        // Facts no command would accept (a peer's): derivation must neither trap nor wrap to a small number.
        var order = OrderBuilder().order
        order.lines = [
            OrderLine(id: "l", sku: "X", name: "X", quantity: Int64.max / 2, unitPriceMinor: 1_000, position: 0)
        ]
        order.payments = [
            Payment(id: "p1", orderID: "order-1", kind: .capture, amountMinor: Int64.max, method: .card, at: 1),
            Payment(id: "p2", orderID: "order-1", kind: .capture, amountMinor: Int64.max, method: .card, at: 2),
        ]
        let progress = order.progress
        #expect(progress.totalMinor == Int64.max)
        #expect(progress.capturedMinor == Int64.max)
        #expect(progress.balanceDueMinor == 0)
    }

    @Test func anExchangeIsCheckedLikeANewOrderAndCostsTheDifference() throws {
        let order = OrderBuilder().paid().parcel("p", shipped: true).order
        let plan = try order.planExchange(
            returning: [LineSpec(sku: "CAP", quantity: 1)],
            sending: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "17.90")])
        #expect(plan.returning == [LineQuantity(lineID: "line-cap", quantity: 1)])
        #expect(plan.sending == [PricedLine(sku: "MUG", quantity: 1, unitPriceMinor: 1_790)])
        #expect(plan.differenceMinor == 790, "17.90 sent − 10.00 returned")

        for (sending, problem) in [
            (LineSpec(sku: "MUG", quantity: 0, unitPrice: "1.00"), "a quantity is a whole number"),
            (LineSpec(sku: "MUG", quantity: 1, unitPrice: "-1.00"), "a price cannot be negative"),
            (LineSpec(sku: "MUG", quantity: 1, unitPrice: "1.005"), "more decimals"),
            (LineSpec(sku: "MU G", quantity: 1, unitPrice: "1.00"), "SKU"),
            (LineSpec(sku: "MUG", quantity: 1_000_000, unitPrice: "46116860184273.87"), "the most one order may hold"),
        ] {
            let error = #expect(throws: DomainError.self) {
                try order.planExchange(returning: [LineSpec(sku: "CAP", quantity: 1)], sending: [sending])
            }
            #expect(error?.message.contains(problem) == true, "\(error?.message ?? "") should say \(problem)")
        }
        #expect(throws: DomainError.self) {
            try order.planExchange(
                returning: [LineSpec(sku: "CAP", quantity: 2)],
                sending: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "1.00")])
        }
    }

    @Test func onlyAParcelHoldingExactlyTheLinesShipsByLines() throws {
        let order = OrderBuilder().paid()
            .parcel("tee", [LineQuantity(lineID: "line-tee", quantity: 2)])
            .parcel("cap", [LineQuantity(lineID: "line-cap", quantity: 1)]).order
        #expect(try order.packedParcel(holding: [LineSpec(sku: "CAP", quantity: 1)]) == "cap")
        #expect(
            try order.packedParcel(holding: [LineSpec(sku: "TEE-M", quantity: 1), LineSpec(sku: "TEE-M", quantity: 1)])
                == "tee")
        let error = #expect(throws: DomainError.self) {
            try order.packedParcel(holding: [LineSpec(sku: "TEE-M", quantity: 1)])
        }
        #expect(error?.hint?.contains("pack those lines first") == true)
    }

    @Test func parcelsToShipTrackAndDeliverFollowThePhysicalFacts() throws {
        let packed = OrderBuilder().paid().parcel("a").order
        #expect(try packed.parcelsToShip(named: nil) == ["a"])
        #expect(throws: DomainError.self) { try packed.trackedParcel(named: nil) }
        #expect(throws: DomainError.self) { try packed.parcelsToDeliver(named: nil) }
        let shipped = OrderBuilder().paid().parcel("a", shipped: true).order
        #expect(throws: DomainError.self) { try shipped.parcelsToShip(named: nil) }
        #expect(try shipped.trackedParcel(named: nil) == "a")
        #expect(try shipped.parcelsToDeliver(named: nil) == ["a"])
        let delivered = OrderBuilder().paid().parcel("a", shipped: true, delivered: true).order
        #expect(throws: DomainError.self) { try delivered.parcelsToDeliver(named: nil) }
    }

    @Test func packingWithoutLinesPacksWhatIsLeft() throws {
        let order = OrderBuilder().paid().parcel("tee", [LineQuantity(lineID: "line-tee", quantity: 1)]).order
        #expect(
            try order.packQuantities([]) == [
                LineQuantity(lineID: "line-tee", quantity: 1), LineQuantity(lineID: "line-cap", quantity: 1),
            ])
        #expect(
            try order.packQuantities([LineSpec(sku: "CAP", quantity: 1)]) == [
                LineQuantity(lineID: "line-cap", quantity: 1)
            ])
        #expect(throws: DomainError.self) { try order.packQuantities([LineSpec(sku: "MUG", quantity: 1)]) }
    }

    @Test func aQuantityEditMustKeepTheOrderWithinItsMaximum() {
        let order = OrderBuilder().order
        #expect(throws: DomainError.self) {
            try order.checkEdit(
                addressChanged: false, quantities: [LineQuantity(lineID: "line-tee", quantity: 1_000_001)])
        }
    }

    @Test(arguments: ["ana@example.com", "a.b+c@shop.example.co.uk"])
    func emailAddressesAreAccepted(email: String) throws { try InputRules.checkEmail(email) }

    @Test(arguments: [
        "", "ana", "ana@", "@example.com", "ana@example", "a b@example.com", "a@b@example.com", "ana@example.com\n",
    ])
    func whatIsNotAnEmailAddressIsRefused(email: String) {
        #expect(throws: DomainError.self) { try InputRules.checkEmail(email) }
    }

    /// The check decides printable ASCII on its bytes and anything else on its characters; both must agree with
    /// the rule stated on characters, here over random texts of `@`, dots, letters, spaces and non-ASCII.
    @Test func theEmailCheckDecidesAsTheRuleOnCharacters() {
        func rule(_ email: String) -> Bool {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            return email.utf8.count <= 254 && parts.count == 2 && (1...64).contains(parts[0].utf8.count)
                && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
                && !email.contains(where: \.isWhitespace)
                && !email.unicodeScalars.contains(where: InputRules.isControl)
        }
        let pieces = [
            "a", "b", "@", "@", ".", ".", "-", " ", "é", "\u{301}", "\n", "\u{7F}", String(repeating: "x", count: 63),
        ]
        var random = SeededGenerator(seed: 18)
        func text(_ count: ClosedRange<Int>) -> String {
            (0..<Int.random(in: count, using: &random)).map { _ in pieces.randomElement(using: &random) ?? "" }
                .joined()
        }
        var accepted = 0
        for round in 0..<20_000 {
            // Half of them shaped like an address, so that both verdicts are common.
            let email = round.isMultiple(of: 2) ? text(0...9) : text(0...3) + "@" + text(0...3) + "." + text(0...3)
            let checked = (try? InputRules.checkEmail(email)) != nil
            #expect(checked == rule(email), "\(email.debugDescription)")
            if checked { accepted += 1 }
        }
        #expect(accepted > 100, "the texts include addresses")
    }
}
