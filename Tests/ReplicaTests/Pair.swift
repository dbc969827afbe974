import Foundation
import OrderDomain
import OutpostTestSupport

@testable import Replica

/// Two replicas (a hub-less pair of laptops) that start from a shared order, for concurrency-table tests.
struct Pair {
    let directory: TemporaryDirectory
    let a: Replica
    let b: Replica
    let order: String

    /// Creates A and B, stocks `TEE-M`/`CAP` on A (10 each, B holding the rights to 5 of each), creates a paid order of 2 TEE-M + 1 CAP on A (total 50.00
    /// with 10.00 shipping), and syncs it to B. `prepare` runs on A before the sync.
    static func make(paid: Bool = true, prepare: (Replica, String) async throws -> Void = { _, _ in }) async throws
        -> Pair
    {
        let directory = try TemporaryDirectory()
        let clock = FakeClock()
        let a = try Replica.create(at: directory.path("a.sqlite"), name: "laptop-a", now: { clock() })
        let b = try Replica.create(at: directory.path("b.sqlite"), name: "laptop-b", now: { clock() })
        try await a.commands.setStock(sku: "TEE-M", onHand: 10)
        try await a.commands.setStock(sku: "CAP", onHand: 10)
        // A is the stock authority (it counted first); B may sell half of each.
        try await a.commands.allot(sku: "TEE-M", units: 5, to: b.identity.siteID)
        try await a.commands.allot(sku: "CAP", units: 5, to: b.identity.siteID)
        var options = NewOrderOptions()
        options.shipping = "10.00"
        options.address = "1 Harbour St, Leith"
        let order = try await a.commands.createOrder(
            customerEmail: "ana@example.com", lines: [line("TEE-M", 2, "15.00"), line("CAP", 1, "10.00")],
            options: options)
        if paid { try await a.commands.pay(order: order.orderID, amount: "50.00") }
        try await prepare(a, order.orderID)
        try await b.replication.pull(from: a)
        return Pair(directory: directory, a: a, b: b, order: order.orderID)
    }

    /// Exchanges complete streams both ways.
    func sync() async throws {
        try await a.replication.pull(from: b)
        try await b.replication.pull(from: a)
    }

    /// Both replicas' content; equal after `sync()`.
    func converged() async throws -> Bool {
        try await a.contentDump() == b.contentDump()
    }
}
