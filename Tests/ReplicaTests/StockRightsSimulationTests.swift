import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// A hub (the stock authority) and three terminals draw receipts, counts, moves, allotments, releases, top-ups,
/// sales and restocked returns, and exchange complete streams in random order. After every command and every
/// merge, on the replica concerned, and at the end on every replica: every device's selling rights are at least
/// zero and add up to the units available — so the units reserved plus everyone's rights never exceed what is on
/// hand — and at the end every replica holds the same records and figures.
/// More seeds: `OUTPOST_STOCK_SEEDS=500 tools/test --filter StockRightsSimulationTests`.
@Suite(.serialized) struct StockRightsSimulationTests {
    static var seeds: [UInt64] {
        // One seed at a time (each opens four replicas): 24 in CI, more by hand.
        let count = ProcessInfo.processInfo.environment["OUTPOST_STOCK_SEEDS"].flatMap(UInt64.init) ?? 24
        return Array(1...count)
    }

    static let skus = ["TEE", "MUG"]
    static let locations = ["main", "popup"]

    /// Every broken bound on `replica`: a device with negative rights, or rights not adding up to what is available.
    static func violations(_ replica: Replica) async throws -> [String] {
        var problems: [String] = []
        for level in try await replica.queries.stockLevels() {
            let holdings = try await replica.queries.stockHoldings(sku: level.sku, location: level.location)
            for holding in holdings where holding.rights < 0 {
                problems.append(
                    "\(replica.identity.name): \(holding.site.prefix(6)) holds \(holding.rights) of \(level.sku)@\(level.location)"
                )
            }
            let total = holdings.map(\.rights).reduce(0, +)
            if total != level.available {
                problems.append(
                    "\(replica.identity.name): rights \(total) ≠ available \(level.available) of \(level.sku)@\(level.location)"
                )
            }
            if level.oversold > 0 {
                problems.append(
                    "\(replica.identity.name): \(level.sku)@\(level.location) oversold by \(level.oversold)")
            }
        }
        return problems
    }

    @Test(arguments: seeds)
    func rightsNeverExceedStock(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15)
        let directory = try TemporaryDirectory()
        let clock = FakeClock()
        let names = ["hub", "t1", "t2", "t3"]
        let replicas = try names.map {
            try Replica.create(at: directory.path("\($0).sqlite"), name: $0, now: { clock() })
        }
        let hub = replicas[0]
        try await hub.commands.setSetting("stock.authority", to: hub.identity.siteID)
        for sku in Self.skus {
            for location in Self.locations {
                _ = try await hub.commands.receive(sku: sku, units: 6, location: location)
            }
        }
        for terminal in replicas.dropFirst() { try await terminal.replication.pull(from: hub) }
        var sold: [Int: [String]] = [:]
        var applied = 0
        var refused = 0

        for step in 0..<120 {
            clock.advance(by: Int64.random(in: 1...5_000, using: &random))
            let index = Int.random(in: 0..<replicas.count, using: &random)
            let replica = replicas[index]
            let sku = Self.skus.randomElement(using: &random) ?? "TEE"
            let location = Self.locations.randomElement(using: &random) ?? "main"
            let site = replica.identity.siteID
            let held =
                try await replica.queries.stockHoldings(sku: sku, location: location)
                .first { $0.site == site }?.rights ?? 0
            do {
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<10:
                    _ = try await replica.commands.receive(
                        sku: sku, units: Int64.random(in: 1...4, using: &random), location: location)
                case 10..<16 where index == 0:
                    // A recount on the authority, never below what the others hold (a loss beyond that is a
                    // shortfall, listed as oversold: the one case the bound cannot hold, tested elsewhere).
                    let level = try await hub.queries.stockLevels(sku: sku).first { $0.location == location }
                    let onHand = level?.onHand ?? 0
                    let low = max(0, onHand - max(0, held))
                    _ = try await hub.commands.count(
                        sku: sku, units: Int64.random(in: low...(onHand + 3), using: &random), location: location)
                case 16..<24 where held > 0:
                    let other = Self.locations.first { $0 != location } ?? "main"
                    _ = try await replica.commands.move(
                        sku: sku, units: Int64.random(in: 1...held, using: &random), from: location, to: other)
                case 24..<36 where held > 0:
                    let target = replicas.filter { $0.identity.siteID != site }.randomElement(using: &random) ?? hub
                    try await replica.commands.allot(
                        sku: sku, units: Int64.random(in: 1...held, using: &random), to: target.identity.siteID,
                        location: location)
                case 36..<42 where index != 0:
                    try await replica.commands.release(sku: sku, location: location)
                case 42..<50:
                    let peer = replicas.dropFirst().randomElement(using: &random) ?? replicas[1]
                    try await hub.commands.topUp(peer: peer.identity.siteID)
                case 50..<75:
                    var options = NewOrderOptions()
                    options.location = location
                    let order = try await replica.commands.createOrder(
                        customerEmail: "c\(step)@example.com",
                        lines: [
                            LineSpec(sku: sku, quantity: Int64.random(in: 1...3, using: &random), unitPrice: "5.00")
                        ],
                        options: options)
                    sold[index, default: []].append(order.orderID)
                case 75..<82:
                    // Ship one of this device's sales and take a unit back, restocked.
                    guard let orderID = sold[index]?.randomElement(using: &random) else { break }
                    let details = try await replica.queries.order(orderID)
                    guard details.order.fulfilments.isEmpty, let line = details.order.lines.first else { break }
                    try await replica.commands.pay(
                        order: orderID, amount: Money.decimalString(details.progress.balanceDueMinor, digits: 2))
                    _ = try await replica.commands.pack(order: orderID)
                    _ = try await replica.commands.ship(order: orderID, carrier: "dhl", tracking: "T\(step)")
                    _ = try await replica.commands.requestReturn(
                        order: orderID, lines: [LineSpec(sku: line.sku, quantity: 1, unitPrice: "0")],
                        reason: .changedMind, receive: true, restock: true)
                default:
                    let from = replicas.filter { $0 !== replica }.randomElement(using: &random) ?? hub
                    try await replica.replication.pull(from: from)
                }
                applied += 1
            } catch let error as DomainError where error.code == .insufficientStock {
                refused += 1
            }
            let problems = try await Self.violations(replica)
            #expect(problems.isEmpty, "seed \(seed) step \(step): \(problems.prefix(3))")
            if !problems.isEmpty { return }
        }
        // Everyone hears of everything.
        for _ in 0..<2 {
            for replica in replicas {
                for other in replicas where other !== replica { try await replica.replication.pull(from: other) }
            }
        }
        let dumps = try await replicas.asyncMap { try await $0.contentDump() }
        #expect(dumps.allSatisfy { $0 == dumps[0] }, "seed \(seed): the replicas differ")
        for replica in replicas {
            let problems = try await Self.violations(replica)
            #expect(problems.isEmpty, "seed \(seed) at the end: \(problems.prefix(3))")
        }
        let levels = try await replicas.asyncMap { try await $0.queries.stockLevels() }
        #expect(levels.allSatisfy { $0 == levels[0] })
        #expect(applied > 60, "seed \(seed): only \(applied) commands ran (\(refused) refused)")
    }
}
