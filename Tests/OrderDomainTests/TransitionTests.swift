import OrderDomain
import Testing

/// The legal transition graph: each command against each state, legal or refused with a reason.
@Suite struct TransitionTests {
    let base = OrderBuilder()
    let tee = [LineQuantity(lineID: "line-tee", quantity: 1)]

    /// The refusal `body` throws, or nil when it is legal.
    private func refused(_ body: () throws -> Void) -> DomainError? {
        do {
            try body()
            return nil
        } catch let error as DomainError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func payment() {
        #expect(refused { try base.order.checkPayment(kind: .capture, amountMinor: 5000, reference: nil) } == nil)
        #expect(refused { try base.order.checkPayment(kind: .authorize, amountMinor: 2000, reference: nil) } == nil)
        #expect(
            refused { try base.order.checkPayment(kind: .capture, amountMinor: 5001, reference: nil) }?.code
                == .illegalTransition)
        #expect(
            refused { try base.order.checkPayment(kind: .capture, amountMinor: 0, reference: nil) }?.code
                == .invalidInput)
        #expect(refused { try base.paid().order.checkPayment(kind: .capture, amountMinor: 1, reference: nil) } != nil)
        #expect(
            refused { try base.cancelled().order.checkPayment(kind: .capture, amountMinor: 100, reference: nil) } != nil
        )
        #expect(refused { try base.order.checkPayment(kind: .fail, amountMinor: 0, reference: nil) } == nil)
        #expect(refused { try base.paid().order.checkPayment(kind: .fail, amountMinor: 0, reference: nil) } != nil)
        let authorized = base.paid(5000, kind: .authorize)
        #expect(refused { try authorized.order.checkPayment(kind: .void, amountMinor: 0, reference: "pay-0") } == nil)
        #expect(
            refused { try authorized.order.checkPayment(kind: .capture, amountMinor: 5000, reference: "pay-0") } == nil)
        #expect(
            refused { try authorized.order.checkPayment(kind: .capture, amountMinor: 6000, reference: "pay-0") } != nil)
        #expect(
            refused { try base.order.checkPayment(kind: .void, amountMinor: 0, reference: "nope") }?.code == .notFound)
    }

    @Test func processing() {
        #expect(refused { try base.paid().order.checkProcess() } == nil)
        #expect(refused { try base.order.checkProcess() }?.hint == "take payment first")
        #expect(refused { try base.paid().processing().order.checkProcess() } != nil)
        #expect(refused { try base.cancelled().order.checkProcess() } != nil)
    }

    @Test func packing() {
        #expect(refused { try base.paid().order.checkPack(base.all) } == nil)
        #expect(refused { try base.paid().processing().order.checkPack(tee) } == nil)
        #expect(refused { try base.order.checkPack(base.all) } != nil)  // unpaid
        #expect(refused { try base.paid().order.checkPack([LineQuantity(lineID: "line-tee", quantity: 3)]) } != nil)
        #expect(refused { try base.paid().parcel("p1").order.checkPack(tee) } != nil)  // nothing left
        #expect(
            refused { try base.paid().order.checkPack([LineQuantity(lineID: "ghost", quantity: 1)]) }?.code == .notFound
        )
        #expect(refused { try base.paid().cancelled().order.checkPack(tee) } != nil)
    }

    @Test func shipping() {
        #expect(refused { try base.paid().parcel("p1").order.checkShip(["p1"]) } == nil)
        #expect(refused { try base.paid().order.checkShip([]) }?.hint == "pack the order first")
        #expect(refused { try base.paid().parcel("p1", shipped: true).order.checkShip(["p1"]) } != nil)
        #expect(refused { try base.paid().parcel("p1").cancelled().order.checkShip(["p1"]) } != nil)
        #expect(refused { try base.paid().parcel("p1").order.checkShipped("p1") } != nil)
        #expect(refused { try base.paid().parcel("p1", shipped: true).order.checkShipped("p1") } == nil)
    }

    @Test func cancelling() {
        #expect(refused { try base.order.checkCancel() } == nil)
        #expect(refused { try base.paid().parcel("p1").order.checkCancel() } == nil)
        #expect(refused { try base.paid().parcel("p1", tee, shipped: true).order.checkCancel() } == nil)
        #expect(
            refused { try base.paid().parcel("p1", shipped: true).order.checkCancel() }?.hint
                == "request a return instead")
        #expect(refused { try base.cancelled().order.checkCancel() } != nil)
    }

    @Test func returns() {
        let shipped = base.paid().parcel("p1", shipped: true)
        #expect(refused { try shipped.order.checkReturn(tee) } == nil)
        #expect(refused { try base.paid().parcel("p1").order.checkReturn(tee) } != nil)  // not shipped
        #expect(refused { try shipped.order.checkReturn([LineQuantity(lineID: "line-tee", quantity: 3)]) } != nil)
        #expect(refused { try shipped.returned(received: false).order.checkReturn(tee) } != nil)  // already returning
        let open = shipped.returned(received: false)
        #expect(refused { try open.order.checkOpenReturn("ret-0") } == nil)
        #expect(refused { try open.order.checkCloseReturn("ret-0") } != nil)
        #expect(refused { try shipped.returned().order.checkOpenReturn("ret-0") } != nil)
        #expect(refused { try shipped.returned().order.checkCloseReturn("ret-0") } == nil)
        #expect(refused { try shipped.order.checkOpenReturn("ret-9") }?.code == .notFound)
    }

    @Test func refunds() {
        #expect(refused { try base.paid().order.checkRefund(amountMinor: 5000) } == nil)
        #expect(refused { try base.paid().refunded(4000).order.checkRefund(amountMinor: 1001) } != nil)
        #expect(refused { try base.order.checkRefund(amountMinor: 1) } != nil)  // nothing captured
        #expect(refused { try base.paid().order.checkRefund(amountMinor: -5) }?.code == .invalidInput)
    }

    @Test func edits() {
        #expect(
            refused {
                try base.order.checkEdit(
                    addressChanged: true, quantities: [LineQuantity(lineID: "line-tee", quantity: 5)])
            } == nil)
        #expect(
            refused {
                try base.paid().parcel("p1", shipped: true).order.checkEdit(addressChanged: true, quantities: [])
            } != nil)
        #expect(refused { try base.paid().parcel("p1").order.checkEdit(addressChanged: false, quantities: tee) } != nil)
        #expect(refused { try base.cancelled().order.checkEdit(addressChanged: false, quantities: []) } != nil)
    }

    @Test func lineSpecsParseOrExplain() throws {
        #expect(
            try LineSpec(parsing: "TEE-M:2:19.90", requirePrice: true)
                == LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "19.90"))
        #expect(try LineSpec(parsing: "TEE-M:2", requirePrice: false).quantity == 2)
        for bad in ["TEE-M", "TEE-M:0:1", "TEE-M:-1:1", ":2:1", "TEE M:2:1", "TEE-M:two:1", "A:1:2:3"] {
            #expect(throws: DomainError.self) { try LineSpec(parsing: bad, requirePrice: true) }
        }
    }

    @Test func identifiersAreWellFormed() {
        var random = SystemRandomNumberGenerator()
        let id = Identifiers.uuidV7(milliseconds: 1_790_000_000_000, using: &random)
        #expect(id.count == 36)
        #expect(Array(id)[14] == "7")
        #expect(Identifiers.customerID(email: "Ana@Example.com ") == Identifiers.customerID(email: "ana@example.com"))
        #expect(Identifiers.customerID(email: "ana@example.com") != Identifiers.customerID(email: "bo@example.com"))
        let earlier = Identifiers.uuidV7(milliseconds: 1_000, using: &random)
        #expect(earlier < id)
    }

    @Test func hybridClockNeverGoesBackwards() {
        var clock = HybridClock()
        let first = clock.tick(nowMilliseconds: 1_000)
        let second = clock.tick(nowMilliseconds: 900)  // wall clock stepped back
        #expect(second > first)
        clock.observe(HybridTime(milliseconds: 5_000, logical: 3))
        #expect(clock.tick(nowMilliseconds: 1_100) > HybridTime(milliseconds: 5_000, logical: 3))
    }
}
