import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// A refused or failing command leaves the file's content exactly as it was.
@Suite struct AtomicityTests {
    /// Runs `command`, expects a `DomainError` with `code`, and checks every table is unchanged.
    private func expectUnchanged(_ replica: Replica, code: DomainError.Code, _ command: () async throws -> Void)
        async throws
    {
        let before = try await replica.rawDump()
        do {
            try await command()
            Issue.record("the command was expected to be refused")
        } catch let error as DomainError {
            #expect(error.code == code, "\(error)")
            #expect(!error.message.isEmpty)
        }
        #expect(try await replica.rawDump() == before)
    }

    @Test func refusedCommandsLeaveTheFileUnchanged() async throws {
        let pair = try await Pair.make(paid: false)
        let replica = pair.a
        let order = pair.order
        try await expectUnchanged(replica, code: .illegalTransition) {
            try await replica.commands.startProcessing(order: order)
        }
        try await expectUnchanged(replica, code: .illegalTransition) { try await replica.commands.pack(order: order) }
        try await expectUnchanged(replica, code: .illegalTransition) {
            try await replica.commands.ship(order: order, carrier: "DHL", tracking: "T")
        }
        try await expectUnchanged(replica, code: .illegalTransition) {
            try await replica.commands.pay(order: order, amount: "50.01")
        }
        try await expectUnchanged(replica, code: .invalidInput) {
            try await replica.commands.pay(order: order, amount: "-1")
        }
        try await expectUnchanged(replica, code: .notFound) {
            try await replica.commands.editCustomer(email: "nobody@example.com", name: "Nobody")
        }
        try await expectUnchanged(replica, code: .invalidInput) {
            var options = NewOrderOptions()
            options.discount = "30.00"
            _ = try await replica.commands.createOrder(
                customerEmail: "cy@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "20.00")],
                options: options)
        }
        try await expectUnchanged(replica, code: .invalidInput) {
            _ = try await replica.commands.createOrder(
                customerEmail: "cy@example.com",
                lines: [LineSpec(sku: "MUG", quantity: 1_000_000, unitPrice: "46116860184273879.03")])
        }
        try await expectUnchanged(replica, code: .invalidInput) {
            try await replica.commands.pay(order: order, amount: "12.345")
        }
        try await expectUnchanged(replica, code: .illegalTransition) {
            try await replica.commands.refund(order: order, amount: "1.00")
        }
        try await expectUnchanged(replica, code: .notFound) { try await replica.commands.cancel(order: "NOPE-1") }
        try await expectUnchanged(replica, code: .insufficientStock) {
            _ = try await replica.commands.createOrder(customerEmail: "bo@example.com", lines: [line("TEE-M", 9)])
        }
        try await expectUnchanged(replica, code: .invalidInput) {
            _ = try await replica.commands.createOrder(customerEmail: "not-an-email", lines: [line("TEE-M", 1)])
        }
        try await expectUnchanged(replica, code: .invalidInput) {
            var options = NewOrderOptions()
            options.currency = "EURO"
            _ = try await replica.commands.createOrder(
                customerEmail: "bo@example.com", lines: [line("TEE-M", 1)], options: options)
        }
        try await replica.commands.pay(order: order, amount: "50.00")
        try await replica.commands.pack(order: order)
        try await replica.commands.ship(order: order, carrier: "DHL", tracking: "T1")
        try await expectUnchanged(replica, code: .illegalTransition) { try await replica.commands.cancel(order: order) }
        try await expectUnchanged(replica, code: .illegalTransition) {
            try await replica.commands.edit(order: order, address: "elsewhere")
        }
        try await expectUnchanged(replica, code: .illegalTransition) {
            try await replica.commands.requestReturn(
                order: order, lines: [LineSpec(sku: "CAP", quantity: 2)], reason: .damaged)
        }
    }

    @Test func aCommandFailingAfterItsFirstWritesRollsBack() async throws {
        let pair = try await Pair.make { a, order in
            try await a.commands.pack(order: order)
            try await a.commands.ship(order: order, carrier: "DHL", tracking: "T1")
        }
        // The exchange inserts its return before it meets the malformed outbound SKU.
        try await expectUnchanged(pair.a, code: .invalidInput) {
            try await pair.a.commands.exchange(
                order: pair.order, returning: [LineSpec(sku: "TEE-M", quantity: 1)], sending: [line("BAD SKU", 1)],
                reason: .wrongSize)
        }
        let exchanged = try await pair.a.commands.exchange(
            order: pair.order, returning: [LineSpec(sku: "TEE-M", quantity: 1)], sending: [line("TEE-S", 1, "15.00")],
            reason: .wrongSize)
        let details = try await pair.a.queries.order(pair.order)
        #expect(details.order.exchanges.first?.id == exchanged.recordID)
        #expect(details.order.exchanges.first?.differenceMinor == 0)
        #expect(details.progress.overlays.contains(.returnOpen))
    }

    @Test func stockIsNeverOversoldLocally() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "till")
        try await replica.commands.setStock(sku: "MUG", onHand: 3)
        _ = try await replica.commands.createOrder(customerEmail: "a@example.com", lines: [line("MUG", 2)])
        let refusal = await #expect(throws: DomainError.self) {
            _ = try await replica.commands.createOrder(customerEmail: "b@example.com", lines: [line("MUG", 2)])
        }
        #expect(refusal?.code == .insufficientStock)
        #expect(refusal?.hint?.contains("stock receive") == true)
        _ = try await replica.commands.createOrder(
            customerEmail: "b@example.com", lines: [line("MUG", 1), line("UNTRACKED", 5)])
        #expect(try await replica.queries.stockLevels(sku: "MUG").first?.available == 0)
    }
}
