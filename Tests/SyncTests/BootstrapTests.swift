import Foundation
import OrderDomain
import OutpostTestSupport
import Replica
import SecureLine
import Sync
import Testing

/// A new terminal bootstraps from a hub over the line, from a file snapshot (the default for an empty replica)
/// or from a record stream: the content digests match and progress reaches the total. Size:
/// OUTPOST_BOOTSTRAP_ORDERS (default 3,000; CI runs 100,000).
@Suite(.serialized) struct BootstrapTests {
    static var orders: Int {
        ProcessInfo.processInfo.environment["OUTPOST_BOOTSTRAP_ORDERS"].flatMap(Int.init) ?? 3_000
    }

    /// Seeds `replica` with `count` paid and unpaid orders of 1–3 lines through the bulk import.
    static func seed(_ replica: Replica, count: Int) async throws {
        var random = SystemRandomNumberGenerator()
        for start in stride(from: 0, to: count, by: 2_000) {
            let chunk = (start..<min(count, start + 2_000)).map { index -> ImportedOrder in
                let at = Int64(1_790_000_000_000 + index)
                var order = Order(
                    id: Identifiers.uuidV7(milliseconds: at, using: &random), number: "", customerID: "", channel: .web,
                    location: "main",
                    currency: (try? CurrencyCode("EUR")) ?? .none, createdAt: at)
                order.lines = (0..<(1 + index % 3)).map {
                    OrderLine(
                        id: Identifiers.uuidV7(milliseconds: at, using: &random), sku: "SKU-\(($0 + index) % 50)",
                        name: "Item", quantity: 1,
                        unitPriceMinor: 999, position: Int64($0))
                }
                if index % 2 == 0 {
                    order.payments = [
                        Payment(
                            id: Identifiers.uuidV7(milliseconds: at, using: &random), orderID: "", kind: .capture,
                            amountMinor: 999, method: .card, at: at + 1)
                    ]
                }
                return ImportedOrder(
                    customer: Customer(email: "c\(index % 500)@example.com", createdAt: at), order: order)
            }
            try await replica.commands.importOrders(chunk)
        }
    }

    @Test(arguments: [true, false])
    func aNewTerminalBootstrapsFromAHub(snapshot: Bool) async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let terminal = try await fleet.add("terminal", listening: false)
        let clock = ContinuousClock()
        let seeding = clock.now
        try await Self.seed(hub.replica, count: Self.orders)
        print("seeded \(Self.orders) orders in \(clock.now - seeding)")
        let progress = ProgressLog()
        let started = clock.now
        let summary = try await terminal.replica.replication.sync(
            host: "127.0.0.1", port: hub.server?.port ?? 0, peerKey: hub.key, identity: terminal.identity,
            acceptSnapshot: snapshot,
            progress: { progress.record($0) })
        print(
            "bootstrapped (snapshot: \(snapshot)) \(summary.rowsReceived) records, \(summary.snapshotBytesReceived) snapshot bytes, \(summary.bytesReceived) bytes on the wire in \(clock.now - started)"
        )
        #expect(try await terminal.replica.queries.orders().count == Self.orders)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())
        #expect(progress.updates > 1)
        if snapshot {
            #expect(summary.rowsReceived == 0)
            #expect(summary.snapshotBytesReceived > 0)
            #expect(progress.lastReceiving.unit == .bytes)
            #expect(progress.lastReceiving.done == summary.snapshotBytesReceived)
            #expect(!FileManager.default.fileExists(atPath: terminal.replica.path + ".snapshot-incoming"))
        } else {
            #expect(summary.snapshotBytesReceived == 0)
            #expect(summary.rowsReceived == progress.lastReceiving.done)
            #expect(progress.lastReceiving.total >= summary.rowsReceived)
        }
        await fleet.shutdown()
    }

    /// After a snapshot the terminal is a replica of its own: its writes carry its site, reach the hub and a
    /// third replica (bootstrapped from the terminal's own snapshot), and the hub's later writes reach it.
    @Test func aSnapshotTerminalWritesAsItself() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let terminal = try await fleet.add("terminal")
        let third = try await fleet.add("third", listening: false)
        try await hub.replica.commands.setStock(sku: "TEE-M", onHand: 5)
        try await Self.seed(hub.replica, count: 200)
        let first = try await fleet.sync(terminal, with: hub)
        #expect(first.snapshotBytesReceived > 0)
        // Each side knows the other holds the copied records: nothing is pending either way.
        let hubSite = hub.replica.identity.siteID
        let terminalSite = terminal.replica.identity.siteID
        #expect(try await terminal.replica.status().peers.first { $0.siteID == hubSite }?.pendingRecords == 0)
        // The listener records the delivery when its side of the session ends, after the dialler's returned.
        try await withDeadline(10, "the hub finishing its side of the session") { await hub.waitForSessions(1) }
        #expect(try await hub.replica.status().peers.first { $0.siteID == terminalSite }?.pendingRecords == 0)
        #expect(
            try await terminal.replica.status().versionVector[hub.replica.identity.siteID]
                == hub.replica.status().versionVector[hub.replica.identity.siteID])

        let sold = try await terminal.replica.commands.createOrder(
            customerEmail: "new@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "5.00")])
        #expect(sold.orderNumber.hasPrefix(terminal.replica.identity.numberPrefix))
        #expect(try await terminal.replica.status().versionVector[terminal.replica.identity.siteID] == 1)
        let paid =
            try await hub.replica.queries.orders(matching: OrderFilter(status: .pendingPayment, limit: 1)).first?.id
            ?? ""
        let balance = try await hub.replica.queries.order(paid).progress.balanceDueMinor
        try await hub.replica.commands.pay(order: paid, amount: Money.decimalString(balance, digits: 2))
        let second = try await fleet.sync(terminal, with: hub)
        #expect(second.snapshotBytesReceived == 0, "a replica with data syncs by records")
        #expect(second.rowsSent == 4, "the new customer, order and line, and its selling-rights ledger row")
        #expect(try await hub.replica.queries.order(sold.orderID).order.number == sold.orderNumber)
        #expect(try await terminal.replica.queries.order(paid).progress.status == .paid)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())

        let fromTerminal = try await fleet.sync(third, with: terminal)
        #expect(fromTerminal.snapshotBytesReceived > 0)
        #expect(try await third.replica.contentDigest() == terminal.replica.contentDigest())
        try await third.replica.commands.addStock(sku: "SKU-2", quantity: 1)
        try await fleet.sync(third, with: hub)
        try await fleet.sync(terminal, with: hub)
        // The hub topped the terminal up with rights to SKU-2 as it synced: the third device hears of it next.
        try await fleet.sync(third, with: hub)
        #expect(try await fleet.identical([hub, terminal, third]))
        await fleet.shutdown()
    }

    /// A hub of 1,000 orders and an empty terminal whose first sync (by snapshot) a proxy cut after `after` bytes.
    static func cutFirstSync(after: Int) async throws -> (Fleet, Fleet.Device, Fleet.Device) {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let terminal = try await fleet.add("terminal", listening: false)
        try await seed(hub.replica, count: 1_000)
        let proxy = try CuttingProxy(target: hub.server?.port ?? 0, cutAfter: after)
        defer { proxy.close() }  // and alive until then
        await #expect(throws: (any Error).self) { try await fleet.sync(terminal, with: hub, via: proxy.port) }
        return (fleet, hub, terminal)
    }

    /// A snapshot cut on the wire leaves the terminal empty and ready, with the bytes that arrived kept (synced to
    /// disk); the next sync continues at the kept byte and ends with the hub's replica, the kept part gone.
    @Test(arguments: [2_000, 200_000, 600_000])
    func aCutSnapshotResumesWhereItWasCut(cutAfter: Int) async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let terminal = try await fleet.add("terminal", listening: false)
        try await Self.seed(hub.replica, count: 1_000)
        let hubSite = hub.replica.identity.siteID
        let proxy = try CuttingProxy(target: hub.server?.port ?? 0, cutAfter: cutAfter)
        defer { proxy.close() }  // and alive until then
        await #expect(throws: (any Error).self) { try await fleet.sync(terminal, with: hub, via: proxy.port) }
        #expect(
            try await terminal.replica.status().bootstrappingFrom == nil, "a cut snapshot returns the replica to ready")
        #expect(try await terminal.replica.queries.orders().isEmpty)
        let request = try await terminal.replica.replication.streamRequest(from: hubSite)
        #expect(request.snapshot)
        let kept = request.snapshotResume?.offset ?? 0
        if cutAfter > 65_000 {
            // At least one 65,000-byte PAGES record arrived whole before the cut.
            #expect(kept > 0 && kept < cutAfter, "kept \(kept) bytes of a copy cut after \(cutAfter) line bytes")
        } else {
            #expect(kept == 0)
        }
        let retry = try await fleet.sync(terminal, with: hub)
        #expect(retry.snapshotResumedAt == kept)
        #expect(retry.snapshotBytesReceived > 0)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())
        #expect(!FileManager.default.fileExists(atPath: terminal.replica.path + ".snapshot-incoming"))
        #expect(!FileManager.default.fileExists(atPath: terminal.replica.path + ".snapshot-incoming.json"))
        await fleet.shutdown()
    }

    /// A link that drops every 150 kB still bootstraps: each session continues where the last was cut.
    @Test func aSnapshotCompletesOverALinkThatKeepsDropping() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let terminal = try await fleet.add("terminal", listening: false)
        try await Self.seed(hub.replica, count: 1_000)
        var offsets: [Int] = []
        var completed: SyncSummary?
        for _ in 0..<40 where completed == nil {
            let proxy = try CuttingProxy(target: hub.server?.port ?? 0, cutAfter: 150_000)
            defer { proxy.close() }  // and alive until then
            do {
                completed = try await fleet.sync(terminal, with: hub, via: proxy.port)
            } catch {
                offsets.append(
                    try await terminal.replica.replication.streamRequest(from: hub.replica.identity.siteID)
                        .snapshotResume?.offset ?? 0)
            }
        }
        let summary = try #require(completed, "no session completed; kept offsets: \(offsets)")
        #expect(offsets.count >= 2, "the copy is large enough to be cut more than once")
        #expect(
            offsets == offsets.sorted() && Set(offsets).count == offsets.count, "each session kept more: \(offsets)")
        #expect(summary.snapshotResumedAt == offsets.last)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())
        await fleet.shutdown()
    }

    /// When the hub no longer keeps the cut copy (past its retention), the terminal gets a new one from its start.
    @Test func aCopyPastItsRetentionStartsOver() async throws {
        let (fleet, hub, terminal) = try await Self.cutFirstSync(after: 300_000)
        let kept = try await terminal.replica.replication.streamRequest(from: hub.replica.identity.siteID)
        #expect((kept.snapshotResume?.offset ?? 0) > 0)
        // The hub's copy was last served two retentions ago.
        let directory = URL(fileURLWithPath: hub.replica.path).deletingLastPathComponent().path
        let descriptions = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("hub.sqlite.snapshot-kept-") && $0.hasSuffix(".json")
        }
        #expect(descriptions.count == 1)
        let past = Date().addingTimeInterval(-2 * ReplicationLog.keptSnapshotRetention)
        for name in descriptions {
            try FileManager.default.setAttributes(
                [.modificationDate: past], ofItemAtPath: directory + "/" + name)
            try FileManager.default.setAttributes(
                [.modificationDate: past], ofItemAtPath: directory + "/" + String(name.dropLast(5)))
        }
        let retry = try await fleet.sync(terminal, with: hub)
        #expect(retry.snapshotResumedAt == 0)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("hub.sqlite.snapshot-kept-") && $0.hasSuffix(".json")
        }
        #expect(left.count == 1 && left != descriptions, "the expired copy is gone, a new one is kept: \(left)")
        await fleet.shutdown()
    }

    /// A kept part changed on the terminal's disk fails the whole copy's digest: nothing is installed, the copy is
    /// discarded, and the next sync starts a new one.
    @Test func aDamagedKeptPartIsRefusedByTheDigest() async throws {
        let (fleet, hub, terminal) = try await Self.cutFirstSync(after: 300_000)
        let incoming = terminal.replica.path + ".snapshot-incoming"
        let handle = try #require(FileHandle(forUpdatingAtPath: incoming))
        try handle.seek(toOffset: 5_000)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: 5_000)
        try handle.write(contentsOf: [byte ^ 0xFF])
        try handle.close()
        await #expect(throws: (any Error).self) { try await fleet.sync(terminal, with: hub) }
        #expect(try await terminal.replica.queries.orders().isEmpty)
        #expect(try await terminal.replica.status().bootstrappingFrom == nil)
        #expect(!FileManager.default.fileExists(atPath: incoming))
        let retry = try await fleet.sync(terminal, with: hub)
        #expect(retry.snapshotResumedAt == 0)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())
        await fleet.shutdown()
    }

    /// A terminal that wrote after a cut snapshot is no longer empty: it syncs by records and drops the kept part.
    @Test func aTerminalThatWroteDropsItsKeptPart() async throws {
        let (fleet, hub, terminal) = try await Self.cutFirstSync(after: 300_000)
        #expect(FileManager.default.fileExists(atPath: terminal.replica.path + ".snapshot-incoming"))
        _ = try await terminal.replica.commands.createOrder(
            customerEmail: "walk-in@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "10.00")])
        let summary = try await fleet.sync(terminal, with: hub)
        #expect(summary.snapshotBytesReceived == 0 && summary.rowsReceived > 0)
        #expect(!FileManager.default.fileExists(atPath: terminal.replica.path + ".snapshot-incoming"))
        #expect(try await terminal.replica.queries.orders(matching: OrderFilter(limit: 2_000)).count == 1_001)
        await fleet.shutdown()
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var last = SyncProgress(direction: .receiving, done: 0, total: 0)
    private var count = 0
    func record(_ progress: SyncProgress) {
        lock.withLock {
            count += 1
            if progress.direction == .receiving { last = progress }
        }
    }
    var lastReceiving: SyncProgress { lock.withLock { last } }
    var updates: Int { lock.withLock { count } }
}
