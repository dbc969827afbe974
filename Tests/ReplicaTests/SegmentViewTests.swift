import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Synchronization
import Testing

@testable import Replica

/// The `customer_segments` view gives other tools the segments `customers()` computes, with the shared
/// settings' thresholds, before and after a setting changes.
@Suite struct SegmentViewTests {
    /// (email, segment) pairs as a plain SQLite connection reads the view.
    static func viewed(_ path: String) throws -> Set<[String]> {
        try readOnlyRows(path, "SELECT email, segment FROM customer_segments")
    }

    static func computed(_ replica: Replica) async throws -> Set<[String]> {
        Set(
            try await replica.queries.customers().flatMap { summary in
                summary.segments.map { [summary.customer.email, $0.rawValue] }
            })
    }

    @Test func theViewAgreesWithTheCommand() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("shop.sqlite")
        let day: Int64 = 86_400_000
        let realNow = Int64(Date().timeIntervalSince1970 * 1000)
        let clock = Mutex(realNow - 200 * day)
        let replica = try Replica.create(at: path, name: "shop", now: { clock.withLock { $0 } })
        let order = { (email: String, lines: [LineSpec], currency: String) async throws -> String in
            var options = NewOrderOptions()
            options.currency = currency
            return try await replica.commands.createOrder(customerEmail: email, lines: lines, options: options)
                .orderNumber
        }
        // Two hundred days ago: a customer who has not come back since.
        _ = try await order("lapsed@example.com", [LineSpec(sku: "MUG", quantity: 1, unitPrice: "5.00")], "EUR")
        clock.withLock { $0 = realNow - day }
        _ = try await order("new@example.com", [LineSpec(sku: "MUG", quantity: 1, unitPrice: "5.00")], "EUR")
        for _ in 0..<2 {
            _ = try await order("repeat@example.com", [LineSpec(sku: "MUG", quantity: 1, unitPrice: "5.00")], "EUR")
        }
        let big = try await order("vip@example.com", [LineSpec(sku: "TV", quantity: 1, unitPrice: "1500.00")], "EUR")
        try await replica.commands.pay(order: big, amount: "1500.00")
        let yen = try await order("yen@example.com", [LineSpec(sku: "TEA", quantity: 1, unitPrice: "1500")], "JPY")
        try await replica.commands.pay(order: yen, amount: "1500")
        let returned = try await order(
            "returner@example.com", [LineSpec(sku: "TEE-M", quantity: 3, unitPrice: "10.00")], "EUR")
        try await replica.commands.pay(order: returned, amount: "30.00")
        _ = try await replica.commands.pack(order: returned)
        _ = try await replica.commands.ship(order: returned, carrier: "dhl", tracking: "T1")
        _ = try await replica.commands.requestReturn(
            order: returned, lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "0")], reason: .wrongSize,
            receive: true)

        let computed = try await Self.computed(replica)
        #expect(computed.contains(["lapsed@example.com", "lapsed"]))
        #expect(computed.contains(["repeat@example.com", "repeat"]))
        #expect(computed.contains(["vip@example.com", "vip"]))
        #expect(computed.contains(["yen@example.com", "vip"]), "1,500 JPY ≥ 1,000 in the major unit")
        #expect(computed.contains(["returner@example.com", "returner"]))
        #expect(try Self.viewed(path) == computed)

        try await replica.commands.setSetting("segments.vip_spend", to: "2000")
        try await replica.commands.setSetting("segments.returner_percent", to: "50")
        let changed = try await Self.computed(replica)
        #expect(
            !changed.contains(["vip@example.com", "vip"]) && !changed.contains(["returner@example.com", "returner"]))
        #expect(try Self.viewed(path) == changed)
    }
}
