import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// The stock rows of the concurrency table (OrderDomain.docc, "The order model"): counts on two devices, an
/// allotment racing a sale on the device that gives, and a release crossing a top-up.
@Suite struct StockConcurrencyTests {
    struct Fleet {
        let directory: TemporaryDirectory
        let hub: Replica
        let terminal: Replica

        init() throws {
            directory = try TemporaryDirectory()
            let clock = FakeClock()
            hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub", now: { clock() })
            terminal = try Replica.create(at: directory.path("terminal.sqlite"), name: "terminal", now: { clock() })
        }

        func sync() async throws {
            try await terminal.replication.pull(from: hub)
            try await hub.replication.pull(from: terminal)
            try await terminal.replication.pull(from: hub)
        }

        func rights(_ replica: Replica, of site: String) async throws -> Int64 {
            try await replica.queries.stockHoldings(sku: "TEE", location: "main").first { $0.site == site }?.rights ?? 0
        }
    }

    @Test func twoDevicesCountingOneLocation() async throws {
        let fleet = try Fleet()
        _ = try await fleet.hub.commands.count(sku: "TEE", units: 10)
        try await fleet.hub.commands.allot(sku: "TEE", units: 4, to: fleet.terminal.identity.siteID)
        try await fleet.sync()
        // The terminal may not count (the counts would race); it records what it found instead.
        await #expect(throws: DomainError.self) { try await fleet.terminal.commands.count(sku: "TEE", units: 9) }
        // It sells 2 the hub has not heard of; the hub counts 10 again: the sale applies on top of the count.
        _ = try await fleet.terminal.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "TEE", quantity: 2, unitPrice: "5.00")])
        _ = try await fleet.hub.commands.count(sku: "TEE", units: 10)
        try await fleet.sync()
        for replica in [fleet.hub, fleet.terminal] {
            let level = try #require(try await replica.queries.stockLevels(sku: "TEE").first)
            #expect(level.onHand == 10 && level.reserved == 2 && level.available == 8)
            #expect(try await StockRightsSimulationTests.violations(replica).isEmpty)
        }
        #expect(try await fleet.rights(fleet.hub, of: fleet.terminal.identity.siteID) == 2)
    }

    @Test func anAllotmentRacingASaleOnTheGivingDevice() async throws {
        let fleet = try Fleet()
        _ = try await fleet.hub.commands.receive(sku: "TEE", units: 3)
        // Two commands on the hub at once, 3 rights between them: whichever commits second is refused.
        let terminal = fleet.terminal.identity.siteID
        async let allotment: Void = fleet.hub.commands.allot(sku: "TEE", units: 2, to: terminal)
        async let sale = fleet.hub.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "TEE", quantity: 2, unitPrice: "5.00")])
        let allotted = (try? await allotment) != nil
        let sold = (try? await sale) != nil
        #expect(allotted != sold, "exactly one of the two went through")
        try await fleet.sync()
        for replica in [fleet.hub, fleet.terminal] {
            #expect(try await StockRightsSimulationTests.violations(replica).isEmpty)
        }
        #expect(try await fleet.rights(fleet.terminal, of: terminal) == (allotted ? 2 : 0))
    }

    @Test func aReleaseCrossingATopUp() async throws {
        let fleet = try Fleet()
        let terminal = fleet.terminal.identity.siteID
        _ = try await fleet.hub.commands.receive(sku: "TEE", units: 9)
        try await fleet.hub.commands.setSetting(Settings.targetPrefix + "TEE", to: "4")
        try await fleet.hub.commands.topUp(peer: terminal)
        try await fleet.sync()
        #expect(try await fleet.rights(fleet.terminal, of: terminal) == 4)
        // The terminal sells 1 and hands the rest back while the hub, not knowing, tops it up again.
        _ = try await fleet.terminal.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "TEE", quantity: 1, unitPrice: "5.00")])
        #expect(try await fleet.terminal.commands.release(sku: "TEE") == 3)
        try await fleet.hub.commands.topUp(peer: terminal)  // it sees 4 held: nothing to add
        try await fleet.hub.commands.setSetting(Settings.targetPrefix + "TEE", to: "6")
        try await fleet.hub.commands.topUp(peer: terminal)  // now 2 more, crossing the release
        try await fleet.sync()
        for replica in [fleet.hub, fleet.terminal] {
            #expect(try await StockRightsSimulationTests.violations(replica).isEmpty)
            #expect(try await fleet.rights(replica, of: terminal) == 2, "released 3 of 3, then given 2")
            #expect(try await fleet.rights(replica, of: fleet.hub.identity.siteID) == 6, "9 - 1 sold - 2 given")
        }
        #expect(try await fleet.hub.contentDump() == fleet.terminal.contentDump())
    }
}
