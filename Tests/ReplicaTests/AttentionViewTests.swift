import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport
import Synchronization
import Testing

@testable import Replica

/// The `attention` view lists, at SQLite's clock, exactly what `attention()` lists: time-based reasons once
/// due, the shared settings' thresholds, conflicts, oversold lines, and orders at rest left out.
@Suite struct AttentionViewTests {
    static func viewed(_ path: String) throws -> Set<[String]> {
        try readOnlyRows(path, "SELECT order_number, kind, since, why FROM attention")
    }

    static func listed(_ replica: Replica) async throws -> Set<[String]> {
        Set(
            try await replica.queries.attention().map {
                [$0.orderNumber, $0.item.kind.rawValue, "\($0.item.since)", $0.item.why]
            })
    }

    @Test func theViewListsWhatTheCommandLists() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("hub.sqlite")
        let day: Int64 = 86_400_000
        let realNow = Int64(Date().timeIntervalSince1970 * 1000)
        let clock = Mutex(realNow - 10 * day)
        let hub = try Replica.create(at: path, name: "hub", now: { clock.withLock { $0 } })
        let laptop = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        try await hub.commands.setStock(sku: "LAMP", onHand: 1)
        let line = { (sku: String, price: String) in [LineSpec(sku: sku, quantity: 1, unitPrice: price)] }
        // Ten days ago: unpaid, paid and not shipped, an offline card unconfirmed, a big order, a return.
        let unpaid = try await hub.commands.createOrder(customerEmail: "a@example.com", lines: line("MUG", "5.00"))
        let paid = try await hub.commands.createOrder(customerEmail: "b@example.com", lines: line("MUG", "5.00"))
        try await hub.commands.pay(order: paid.orderNumber, amount: "5.00")
        let card = try await hub.commands.createOrder(customerEmail: "c@example.com", lines: line("MUG", "5.00"))
        try await hub.commands.pay(order: card.orderNumber, amount: "5.00", provisional: true)
        _ = try await hub.commands.createOrder(customerEmail: "d@example.com", lines: line("TV", "900.00"))
        let returned = try await hub.commands.createOrder(customerEmail: "e@example.com", lines: line("MUG", "5.00"))
        try await hub.commands.pay(order: returned.orderNumber, amount: "5.00")
        _ = try await hub.commands.pack(order: returned.orderNumber)
        _ = try await hub.commands.ship(order: returned.orderNumber, carrier: "dhl", tracking: "T9")
        _ = try await hub.commands.requestReturn(
            order: returned.orderNumber, lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "0")], reason: .damaged)
        try await laptop.replication.pull(from: hub)
        // The one lamp, sold on both devices while apart (the laptop, holding no rights to it, as a backorder); and yesterday, a fresh unpaid order (not yet due).
        _ = try await hub.commands.createOrder(customerEmail: "f@example.com", lines: line("LAMP", "20.00"))
        var backorder = NewOrderOptions()
        backorder.backorder = true
        let lamp = try await laptop.commands.createOrder(
            customerEmail: "h@example.com", lines: line("LAMP", "20.00"), options: backorder)
        clock.withLock { $0 = realNow - day }
        _ = try await hub.commands.createOrder(customerEmail: "g@example.com", lines: line("MUG", "5.00"))
        // Both edit one order's notes: a conflict.
        try await laptop.commands.edit(order: unpaid.orderNumber, notes: "laptop")
        try await hub.commands.edit(order: unpaid.orderNumber, notes: "hub")
        try await hub.replication.pull(from: laptop)

        let listed = try await Self.listed(hub)
        let kinds = Set(listed.map { $0[1] })
        #expect(
            kinds.isSuperset(of: [
                "unpaid", "ship_overdue", "provisional_unconfirmed", "high_value", "return_open", "oversold",
                "conflict",
            ]), "\(kinds)")
        #expect(listed.filter { $0[1] == "oversold" }.map { $0[0] } == [lamp.orderNumber], "the newer lamp sale")
        let viewed = try Self.viewed(path)
        #expect(
            viewed == listed,
            "only in the view: \(viewed.subtracting(listed)); only listed: \(listed.subtracting(viewed))")

        // A shared setting moves a threshold: the view follows at once.
        try await hub.commands.setSetting("attention.unpaid_hours", to: "8760")
        try await hub.commands.setSetting("attention.high_value", to: "1000")
        let changed = try await Self.listed(hub)
        #expect(!changed.contains { $0[1] == "unpaid" } && !changed.contains { $0[1] == "high_value" })
        #expect(try Self.viewed(path) == changed)
        // And on a replica that gets the setting by sync.
        try await laptop.replication.pull(from: hub)
        #expect(try await laptop.queries.settings().value("attention.unpaid_hours") == "8760")
        let laptopListed = try await Self.listed(laptop)
        #expect(try Self.viewed(laptop.path) == laptopListed)
    }
}
