import Foundation
import OrderDomain
import OutpostTestSupport
import Replica
import SecureLine
import Sync
import Testing

@Suite struct SyncSessionTests {
    /// Two laptops and a hub: offline sales on each, conflicting operations on one order, syncs in several
    /// orders: all three identical, with the concurrency table's outcomes.
    @Test func twoLaptopsAndAHubConverge() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let one = try await fleet.add("popup-1", listening: false)
        let two = try await fleet.add("popup-2", listening: false)
        try await hub.replica.commands.setStock(sku: "TEE-M", onHand: 10)
        try await fleet.sync(one, with: hub)
        try await fleet.sync(two, with: hub)

        let sale = try await one.replica.commands.createOrder(
            customerEmail: "ana@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "20.00")])
        try await one.replica.commands.pay(order: sale.orderID, amount: "40.00")
        let other = try await two.replica.commands.createOrder(
            customerEmail: "bo@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "20.00")])
        try await fleet.sync(one, with: hub)
        try await fleet.sync(two, with: hub)
        try await fleet.sync(one, with: hub)

        try await one.replica.commands.pack(order: sale.orderID)
        try await one.replica.commands.ship(order: sale.orderID, carrier: "DHL", tracking: "T1")
        try await two.replica.commands.cancel(order: sale.orderID)
        try await one.replica.commands.edit(order: other.orderID, phone: "+44 1")
        try await two.replica.commands.edit(order: other.orderID, phone: "+44 2")
        try await two.replica.commands.pay(order: other.orderID, amount: "20.00", method: .cash)

        let summary = try await fleet.sync(two, with: hub)
        #expect(summary.changesSent > 0)
        #expect(summary.bytesSent > 0 && summary.bytesReceived > 0)
        try await fleet.sync(one, with: hub)
        try await fleet.sync(two, with: hub)
        #expect(try await fleet.identical())
        let shipped = try await hub.replica.queries.order(sale.orderID)
        #expect(shipped.progress.status == .shipped)
        #expect(shipped.progress.overlays.contains(.refundDue))
        let conflicts = try await one.replica.queries.conflicts()
        #expect(conflicts.map(\.field) == ["phone"])
        #expect(try await two.replica.queries.stockLevels(sku: "TEE-M").first?.onHand == 8)
        await fleet.shutdown()
    }

    @Test func peersSyncDirectlyThenWithTheHub() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let one = try await fleet.add("laptop-1")
        let two = try await fleet.add("laptop-2", listening: false)
        _ = try await one.replica.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "X", quantity: 1, unitPrice: "1.00")])
        _ = try await two.replica.commands.createOrder(
            customerEmail: "b@example.com", lines: [LineSpec(sku: "Y", quantity: 1, unitPrice: "2.00")])
        try await fleet.sync(two, with: one)
        #expect(try await fleet.identical([one, two]))
        try await fleet.sync(one, with: hub)
        try await fleet.sync(two, with: hub)
        #expect(try await fleet.identical())
        #expect(try await hub.replica.queries.orders().count == 2)
        await fleet.shutdown()
    }

    @Test(arguments: ["untrusted", "other network"])
    func strangersGetNothingAndGiveNothing(kind: String) async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let stranger = try await fleet.add(
            "stranger", network: kind == "other network" ? KeyText.newNetworkID() : nil, listening: false,
            trustedByOthers: kind != "untrusted")
        _ = try await hub.replica.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "X", quantity: 1, unitPrice: "1.00")])
        _ = try await stranger.replica.commands.createOrder(
            customerEmail: "s@example.com", lines: [LineSpec(sku: "S", quantity: 1, unitPrice: "1.00")])
        let hubBefore = try await hub.replica.contentDump()
        let strangerBefore = try await stranger.replica.contentDump()
        let error = await #expect(throws: LineError.self) { try await fleet.sync(stranger, with: hub) }
        #expect(error?.code == .rejected)
        #expect(try await hub.replica.contentDump() == hubBefore)
        #expect(try await stranger.replica.contentDump() == strangerBefore)
        await fleet.shutdown()
    }

    /// Issue 16, item 7: a sync that had nothing to send still tells `status` the peer lacks nothing — records
    /// this laptop merged from the hub got new local change numbers, which the hub holds already.
    @Test func aSyncThatSendsNothingLeavesNothingPending() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let laptop = try await fleet.add("laptop", listening: false)
        _ = try await laptop.replica.commands.createOrder(
            customerEmail: "l@example.com", lines: [LineSpec(sku: "CAP", quantity: 1, unitPrice: "5.00")])
        try await fleet.sync(laptop, with: hub)
        _ = try await hub.replica.commands.createOrder(
            customerEmail: "h@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")])
        let second = try await fleet.sync(laptop, with: hub)
        #expect(second.rowsReceived > 0 && second.rowsSent == 0)
        let third = try await fleet.sync(laptop, with: hub)
        #expect(third.rowsSent == 0)
        let hubSite = hub.replica.identity.siteID
        #expect(try await laptop.replica.status().peers.first { $0.siteID == hubSite }?.pendingRecords == 0)
        await fleet.shutdown()
    }

    /// Five replicas, random operations, random pairwise syncs over real sockets, then a full round.
    @Test(arguments: [UInt64(11), 12])
    func randomPartitionsConverge(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let fleet = try Fleet()
        for index in 0..<5 { try await fleet.add("r\(index)") }
        for device in fleet.devices {
            try await device.replica.commands.setStock(sku: "SKU", location: "main", onHand: 5)
        }
        var applied = 0
        var synced = 0
        for _ in 0..<40 {
            let device = fleet.devices[Int.random(in: 0..<5, using: &random)]
            let orders = try await device.replica.queries.orders()
            do {
                switch Int.random(in: 0..<5, using: &random) {
                case 0, 1:
                    _ = try await device.replica.commands.createOrder(
                        customerEmail: "c\(Int.random(in: 0..<3, using: &random))@example.com",
                        lines: [LineSpec(sku: "SKU", quantity: 1, unitPrice: "3.00")])
                    applied += 1
                case 2:
                    guard let order = orders.randomElement(using: &random) else { continue }
                    _ = try await device.replica.commands.cancel(order: order.id)
                    applied += 1
                case 3:
                    guard let order = orders.randomElement(using: &random) else { continue }
                    _ = try await device.replica.commands.edit(
                        order: order.id, notes: "n\(Int.random(in: 0..<9, using: &random))")
                    applied += 1
                default:
                    let other = fleet.devices[Int.random(in: 0..<5, using: &random)]
                    if other !== device {
                        try await fleet.sync(device, with: other)
                        synced += 1
                    }
                }
            } catch is DomainError {
                continue  // refused by the order rules (out of stock, already cancelled): nothing was written
            }
        }
        #expect(applied >= 10 && synced >= 3, "seed \(seed): only \(applied) commands and \(synced) syncs ran")
        for _ in 0..<2 {
            for device in fleet.devices.dropFirst() { try await fleet.sync(device, with: fleet.devices[0]) }
        }
        #expect(try await fleet.identical(), "seed \(seed)")
        await fleet.shutdown()
    }
}
