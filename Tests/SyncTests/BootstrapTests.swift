import Foundation
import OrderDomain
import Replica
import SecureLine
import Sync
import Testing

/// A new terminal bootstraps from a hub over the line: every record arrives once, the content digests match,
/// and progress reports reach the total. Size: OUTPOST_BOOTSTRAP_ORDERS (default 3,000 in CI; tools/soak runs
/// 100,000).
@Suite struct BootstrapTests {
    static var orders: Int { ProcessInfo.processInfo.environment["OUTPOST_BOOTSTRAP_ORDERS"].flatMap(Int.init) ?? 3_000 }

    @Test func aNewTerminalBootstrapsFromAHub() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let terminal = try await fleet.add("terminal", listening: false)
        let clock = ContinuousClock()
        let seeding = clock.now
        for index in 0..<Self.orders {
            let order = try await hub.replica.createOrder(
                customerEmail: "c\(index % 500)@example.com",
                lines: (0..<(1 + index % 3)).map { LineSpec(sku: "SKU-\(($0 + index) % 50)", quantity: 1, unitPrice: "9.99") })
            if index % 2 == 0 { try await hub.replica.pay(order: order.orderID, amount: "9.99") }
        }
        print("seeded \(Self.orders) orders in \(clock.now - seeding)")
        let progress = ProgressLog()
        let started = clock.now
        let summary = try await terminal.replica.sync(
            host: "127.0.0.1", port: hub.server?.port ?? 0, peerKey: hub.key, identity: terminal.identity, progress: { progress.record($0) })
        print("bootstrapped \(summary.rowsReceived) records (\(summary.changesReceived) field states, \(summary.bytesReceived) bytes) in \(clock.now - started)")
        #expect(try await terminal.replica.orders().count == Self.orders)
        #expect(try await terminal.replica.contentDigest() == hub.replica.contentDigest())
        #expect(summary.rowsReceived == progress.lastReceiving.done)
        #expect(progress.lastReceiving.total >= summary.rowsReceived)
        #expect(progress.updates > 1)
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
