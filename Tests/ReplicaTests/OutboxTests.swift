import Foundation
import OrderDomain
import OutpostTestSupport
import Synchronization
import Testing

@testable import Replica

/// The outbox is a function of the replicated facts: devices that see the same facts list the same messages under
/// the same ids, whoever made the facts; the sender's records sync and settle them everywhere.
@Suite struct OutboxTests {
    static func rows(_ replica: Replica) async throws -> Set<[String]> {
        Set(
            try await replica.queries.messages().map {
                [$0.id, $0.kind.rawValue, $0.trigger, "\($0.dueAt)", $0.state.rawValue]
            })
    }

    /// An order paid, shipped and delivered on `replica`.
    static func deliverAnOrder(_ replica: Replica) async throws {
        let order = try await replica.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "5.00")])
        try await replica.commands.pay(order: order.orderNumber, amount: "5.00")
        _ = try await replica.commands.pack(order: order.orderNumber)
        _ = try await replica.commands.ship(order: order.orderNumber, carrier: "dhl", tracking: "T1")
        _ = try await replica.commands.deliver(order: order.orderNumber)
    }

    @Test func twoDevicesThatSeeATriggerListOneMessage() async throws {
        let pair = try await Pair.make()
        // B ships, A records a refund: each device makes a fact, both derive every message.
        _ = try await pair.b.commands.pack(order: pair.order)
        _ = try await pair.b.commands.ship(order: pair.order, carrier: "DHL", tracking: "JD1")
        _ = try await pair.a.commands.refund(order: pair.order, amount: "5.00")
        try await pair.sync()
        let onA = try await Self.rows(pair.a)
        #expect(onA == (try await Self.rows(pair.b)))
        #expect(
            onA.map { $0[1] }.sorted() == [
                "order_confirmation", "payment_received", "refund_issued", "shipped",
            ])
        #expect(Set(onA.map { $0[0] }).count == onA.count, "one id per message")
        #expect(try await pair.converged())
    }

    @Test func theSendersRecordSettlesTheMessageEverywhere() async throws {
        let pair = try await Pair.make()
        let pending = try await pair.a.queries.messages(.sendable(retryNow: false))
        #expect(pending.map(\.kind) == [.orderConfirmation, .paymentReceived])
        let first = try #require(pending.first)
        try await pair.a.commands.recordMessageFailure(first, error: "connection refused\nby 127.0.0.1")
        try await pair.a.commands.recordMessageSent(pending[1])
        try await pair.b.replication.pull(from: pair.a)
        let onB = try await pair.b.queries.messages()
        #expect(onB.first { $0.kind == .paymentReceived }?.state == .sent)
        let failed = try #require(onB.first { $0.kind == .orderConfirmation })
        #expect(failed.state == .failed && failed.attempts == 1)
        #expect(failed.lastError == "connection refused by 127.0.0.1", "one line, no control characters")
        // Not retried before its backoff; retried when asked.
        #expect(try await pair.a.queries.messages(.sendable(retryNow: false)).isEmpty)
        #expect(try await pair.a.queries.messages(.sendable(retryNow: true)).map(\.id) == [first.id])
        let attention = try await pair.b.queries.attention().filter { $0.item.kind == .messageFailed }
        #expect(attention.count == 1)
        // Sent at last: the failure is gone from both lists.
        try await pair.a.commands.recordMessageSent(failed)
        try await pair.b.replication.pull(from: pair.a)
        #expect(try await pair.b.queries.messages(.state(.sent)).count == 2)
        #expect(try await pair.b.queries.attention().filter { $0.item.kind == .messageFailed }.isEmpty)
    }

    @Test func aConflictHoldsTheOrdersMessagesUntilSettled() async throws {
        let pair = try await Pair.make()
        try await pair.a.commands.editCustomer(email: "ana@example.com", name: "Ana L.")
        try await pair.b.commands.editCustomer(email: "ana@example.com", name: "Ana Lima-Silva")
        try await pair.sync()
        #expect(Set(try await pair.a.queries.messages().map(\.state)) == [.held])
        #expect(try await pair.a.queries.messages(.sendable(retryNow: true)).isEmpty)
        try await pair.a.commands.editCustomer(email: "ana@example.com", name: "Ana Lima")
        #expect(Set(try await pair.a.queries.messages().map(\.state)) == [.pending])
    }

    @Test func theReviewRequestWaitsItsDaysAndStaleMessagesExpire() async throws {
        let directory = try TemporaryDirectory()
        let day: Int64 = 86_400_000
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        let clock = Mutex(start)
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub", now: { clock.withLock { $0 } })
        try await Self.deliverAnOrder(hub)
        let review = try #require(try await hub.queries.messages().first { $0.kind == .reviewRequest })
        #expect(review.state == .scheduled)
        #expect(review.dueAt - review.at == 7 * day)
        // Four days on, nothing sent: the others are past messages.expire_hours (72), expired, not sent late.
        clock.withLock { $0 = start + 4 * day }
        let later = try await hub.queries.messages()
        #expect(Set(later.filter { $0.kind != .reviewRequest }.map(\.state)) == [.expired])
        #expect(later.first { $0.kind == .reviewRequest }?.state == .scheduled)
        // Six days on, a new review delay of five days: due now; the expired ones are no longer kept.
        clock.withLock { $0 = start + 6 * day }
        try await hub.commands.setSetting("messages.review_days", to: "5")
        let moved = try await hub.queries.messages()
        #expect(moved.map(\.kind) == [.reviewRequest])
        #expect(moved.first?.state == .pending)
        #expect(try await hub.queries.messages(.sendable(retryNow: false)).map(\.kind) == [.reviewRequest])
    }

    @Test func theAttentionViewListsAFailingMessageOfAnOrderAtRest() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("hub.sqlite")
        let hub = try Replica.create(at: path, name: "hub")
        try await Self.deliverAnOrder(hub)
        let delivered = try #require(try await hub.queries.messages().first { $0.kind == .delivered })
        try await hub.commands.recordMessageFailure(delivered, error: "mailbox unavailable")
        let listed = try await AttentionViewTests.listed(hub)
        #expect(listed.map { $0[1] } == ["message_failed"])
        #expect(try AttentionViewTests.viewed(path) == listed)
    }
}
