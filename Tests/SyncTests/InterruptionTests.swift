import Foundation
import OrderDomain
import OutpostTestSupport
import Replica
import SecureLine
import Sync
import Testing

/// Sessions cut at random byte offsets by a flaky link: live state is never touched by an unfinished stream,
/// the next sync resumes from what was staged, and nothing is lost or duplicated.
@Suite struct InterruptionTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func cutSessionsResumeAndConverge(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let laptop = try await fleet.add("laptop", listening: false)
        for index in 0..<30 {
            let replica = index % 3 == 0 ? hub.replica : laptop.replica
            let order = try await replica.commands.createOrder(
                customerEmail: "c\(index % 5)@example.com",
                lines: [LineSpec(sku: "S\(index % 4)", quantity: 1, unitPrice: "\(index + 1).00")])
            if index % 2 == 0 { try await replica.commands.pay(order: order.orderID, amount: "\(index + 1).00") }
        }
        let hubOwn = try await hub.replica.queries.orders().count
        let laptopOwn = try await laptop.replica.queries.orders().count
        var cuts = 0
        for _ in 0..<12 {
            let cutAfter = Int.random(in: 50...9_000, using: &random)
            let proxy = try CuttingProxy(target: hub.server?.port ?? 0, cutAfter: cutAfter)
            defer { proxy.close() }  // and alive until then
            let hubOrders = try await hub.replica.queries.orders().count
            let laptopOrders = try await laptop.replica.queries.orders().count
            do {
                try await fleet.sync(laptop, with: hub, via: proxy.port)
            } catch {
                cuts += 1
                // A stream merges whole or not at all: order counts move only from "own" to "everything".
                let nowHub = try await hub.replica.queries.orders().count
                let nowLaptop = try await laptop.replica.queries.orders().count
                #expect(nowHub == hubOrders || nowHub == hubOwn + laptopOwn, "seed \(seed)")
                #expect(nowLaptop == laptopOrders || nowLaptop == hubOwn + laptopOwn, "seed \(seed)")
            }
        }
        #expect(cuts > 0, "seed \(seed): no session was cut")
        try await fleet.sync(laptop, with: hub)
        #expect(try await fleet.identical(), "seed \(seed)")
        #expect(try await hub.replica.queries.orders().count == hubOwn + laptopOwn)
        let payments = try await hub.replica.queries.orders().reduce(0) { total, order in
            total + (order.status == .paid ? 1 : 0)
        }
        #expect(payments == 15)
        await fleet.shutdown()
    }
}
