import Foundation
import OrderDomain
import Replica
import SecureLine
import Sync
import Synchronization

/// Live sessions (issue 17): one change between two terminals through a hub, and a hub holding many terminals.
extension Bench {
    /// Events of one watching terminal, as they happen: when, and the line's byte count then.
    final class Mailbox: Sendable {
        private let events = Mutex<[(ContinuousClock.Instant, LiveExchange)]>([])
        private let read = Mutex(0)
        private let live = Mutex(false)
        private let failure = Mutex<String?>(nil)

        func note(_ event: WatchEvent) {
            switch event {
            case .synced: live.withLock { $0 = true }
            case .live(let change): events.withLock { $0.append((.now, change)) }
            case .linkDown(let error, _):
                live.withLock { $0 = false }
                failure.withLock { $0 = "\(error)" }
            }
        }

        var isLive: Bool { live.withLock { $0 } }
        /// The last failure the watcher reported.
        var lastFailure: String? { failure.withLock { $0 } }

        /// Waits until every mailbox's terminal is live; throws, saying why, after `timeout`.
        static func waitUntilLive(_ mailboxes: [Mailbox], watchers: [Task<Void, any Error>], timeout: Duration)
            async throws
        {
            let deadline = ContinuousClock.now + timeout
            while !mailboxes.allSatisfy(\.isLive) {
                guard ContinuousClock.now < deadline else {
                    let stuck = mailboxes.indices.filter { !mailboxes[$0].isLive }
                    var reasons: [String] = []
                    for index in stuck.prefix(3) {
                        let ended = watchers[index].isCancelled ? "cancelled" : ""
                        reasons.append(
                            "terminal \(index): \(mailboxes[index].lastFailure ?? "no failure reported") \(ended)")
                    }
                    throw ReplicaError(
                        .corrupt, "\(stuck.count) terminals never went live: " + reasons.joined(separator: "; "))
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        /// The next exchange in `direction` (others are skipped), or nil after `timeout`. Each event carries the
        /// time it happened, so the polling here does not move the figures.
        func next(_ direction: LiveExchange.Direction, timeout: Duration = .seconds(5)) async
            -> (ContinuousClock.Instant, LiveExchange)?
        {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let found = read.withLock { read -> (ContinuousClock.Instant, LiveExchange)? in
                    let all = events.withLock { $0 }
                    while read < all.count {
                        read += 1
                        if all[read - 1].1.direction == direction { return all[read - 1] }
                    }
                    return nil
                }
                if let found { return found }
                try? await Task.sleep(for: .microseconds(200))
            }
            return nil
        }
    }

    static func watch(
        _ replica: Replica, port: Int, hubKey: [UInt8], identity: SyncIdentity, mailbox: Mailbox
    ) -> Task<Void, any Error> {
        Task {
            try await replica.replication.syncContinuously(
                host: "127.0.0.1", port: port, peerKey: hubKey, identity: identity, interval: .seconds(3600),
                localChanges: replica.changedOrders()
            ) { mailbox.note($0) }
        }
    }

    /// One field change, terminal A → hub → terminal B, both on live sessions: the time from A's commit to B's
    /// merge, and the bytes both lines carried for it (the delta and its acknowledgement on each hop).
    mutating func liveDelta() async throws -> [Figure] {
        let network = KeyText.newNetworkID()
        let hubIdentity = SyncIdentity(keyPair: KeyPair.generate(), networkID: network)
        let hub = try Replica.create(at: path("live-hub"), name: "hub")
        var ids: [String] = []
        var options = NewOrderOptions()
        options.backorder = true
        for index in 0..<200 {
            ids.append(
                try await hub.commands.createOrder(
                    customerEmail: "c\(index)@example.com",
                    lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")], options: options
                ).orderID)
        }
        let server = try await SyncServer.bind(replica: hub.replication, identity: hubIdentity) { _ in true }
        let serving = Task { try await server.run() }
        defer { serving.cancel() }
        let one = try Replica.create(at: path("live-a"), name: "a")
        let two = try Replica.create(at: path("live-b"), name: "b")
        let identity = SyncIdentity(keyPair: KeyPair.generate(), networkID: network)
        let identities = [identity, SyncIdentity(keyPair: KeyPair.generate(), networkID: network)]
        for (terminal, identity) in zip([one, two], identities) {
            _ = try await terminal.replication.sync(
                host: "127.0.0.1", port: server.port, peerKey: hubIdentity.keyPair.publicKey, identity: identity)
        }
        let (sent, received) = (Mailbox(), Mailbox())
        let watchers = [
            Self.watch(
                one, port: server.port, hubKey: hubIdentity.keyPair.publicKey, identity: identities[0], mailbox: sent),
            Self.watch(
                two, port: server.port, hubKey: hubIdentity.keyPair.publicKey, identity: identities[1],
                mailbox: received),
        ]
        defer { for watcher in watchers { watcher.cancel() } }
        try await Mailbox.waitUntilLive([sent, received], watchers: watchers, timeout: .seconds(30))
        let order = ids[0]
        var latencies: [Double] = []
        var lineA: [Int] = []
        var lineB: [Int] = []
        let rounds = quick ? 60 : 300
        for round in 0...rounds {
            try await one.commands.edit(order: order, notes: "note \(round)")
            let committed = ContinuousClock.now
            guard let (_, out) = await sent.next(.sent), let (arrived, into) = await received.next(.received) else {
                throw ReplicaError(.corrupt, "round \(round): the change did not arrive on the live session")
            }
            let seen = try await two.queries.order(order).order.notes
            guard seen == "note \(round)" else { throw ReplicaError(.corrupt, "round \(round) saw \(seen ?? "nil")") }
            // The first round (the first delta names the sites, the vector and the row) is not a steady change.
            if round > 0 { latencies.append(Self.milliseconds(arrived - committed)) }
            lineA.append(out.lineBytes)
            lineB.append(into.lineBytes)
            // A change a tenth of a second: after its acknowledgement (20 ms) and the link's gap (50 ms), so each
            // round is one change on a quiet link, as a terminal's changes are.
            try await Task.sleep(for: .milliseconds(100))
        }
        // Bytes of round r on each line: from its delta to the next round's (the delta, then its LACK).
        var bytes: [Double] = []
        for round in 1..<rounds {
            bytes.append(Double(lineA[round + 1] - lineA[round] + lineB[round + 1] - lineB[round]))
        }
        let sorted = latencies.sorted()
        let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        return [
            Figure(key: "live_delta_ms", unit: "ms", target: "< 5", runs: latencies, passes: { $0 < 5 }),
            Figure(key: "live_delta_p99_ms", unit: "ms", target: "< 20", runs: [p99], passes: { $0 < 20 }),
            Figure(key: "live_delta_wire_bytes", unit: "B", target: "< 200", runs: bytes, passes: { $0 < 200 }),
        ]
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}

extension Bench {
    /// Terminals held by one hub, each changing one field a second on live sessions: for each count, the p99 of
    /// commit → merged on an observing terminal, and the hub's peak RSS. The hub is a replica file served by
    /// `SyncServer` in a child process (its RSS and CPU are its own); the terminals run in this process, each
    /// with its own in-memory replica (`MemoryStore`: site id, records, vector, the same merge rule), its own
    /// key and its own TCP session, on one shared set of event-loop threads.
    mutating func hubFanIn() async throws -> [Figure] {
        let levels =
            ProcessInfo.processInfo.environment["OUTPOST_FANIN"].map { [Int($0) ?? 10] }
            ?? (quick ? [10, 25, 50] : [25, 50, 100, 200, 400, 1000])
        let seconds = quick ? 6 : 12
        var held = 0
        var heldP99 = Double.nan
        var heldRSS = Double.nan
        var perTerminalKB = Double.nan
        var previous: (count: Int, rss: Double)?
        for count in levels {
            let p99: Double
            let rss: Double
            let samples: Int
            do {
                (p99, rss, samples) = try await fanIn(terminals: count, seconds: seconds)
            } catch {
                Self.progress("fan-in: \(count) terminals failed: \(error)")
                break
            }
            Self.progress(
                "fan-in: \(count) terminals, \(samples) changes observed, p99 \(String(format: "%.1f", p99)) ms, hub peak RSS \(String(format: "%.1f", rss)) MB"
            )
            guard p99 < 100 else { break }
            (held, heldP99, heldRSS) = (count, p99, rss)
            // What one more terminal costs the hub: the growth of its peak RSS from the level before.
            if let previous { perTerminalKB = (rss - previous.rss) * 1024 / Double(count - previous.count) }
            previous = (count, rss)
        }
        return [
            Figure(key: "hub_terminals", unit: "", target: "1000", runs: [Double(held)], passes: { $0 >= 1000 }),
            Figure(key: "hub_p99_ms", unit: "ms", target: "< 100", runs: [heldP99], passes: { $0 < 100 }),
            Figure(key: "hub_rss_mb", unit: "MB", target: "report", runs: [heldRSS]),
            Figure(key: "hub_rss_per_terminal_kb", unit: "kB", target: "report", runs: [perTerminalKB]),
        ]
    }

    /// One level of the fan-in: returns the p99 in ms, the hub's peak RSS in MB and the changes observed.
    mutating func fanIn(terminals count: Int, seconds: Int) async throws -> (Double, Double, Int) {
        let hubPath = path("fanin-hub")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["fanin-hub", hubPath, "\(count)"]
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        defer { child.terminate() }
        var line: [UInt8] = []
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 10 { line.append(byte) }
        let parts = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
        guard parts.count == 3, let port = Int(parts[0]) else {
            throw ReplicaError(.corrupt, "the fan-in hub said \(String(decoding: line, as: UTF8.self))")
        }
        let (hubKey, network) = (Self.unhex(parts[1]), Self.unhex(parts[2]))

        var terminals: [MemoryStore] = []
        var identities: [SyncIdentity] = []
        for index in 0..<count {
            let terminal = MemoryStore(name: "t\(index)")
            let identity = SyncIdentity(keyPair: KeyPair.generate(), networkID: network)
            _ = try await terminal.sync(host: "127.0.0.1", port: port, peerKey: hubKey, identity: identity)
            terminals.append(terminal)
            identities.append(identity)
        }
        let orders = terminals[0].orderIDs()
        guard orders.count == count else { throw ReplicaError(.corrupt, "the fan-in hub holds \(orders.count) orders") }
        let mailboxes = (0..<count).map { _ in Mailbox() }
        var watchers: [Task<Void, any Error>] = []
        for index in 0..<count {
            let (terminal, identity, mailbox) = (terminals[index], identities[index], mailboxes[index])
            watchers.append(
                Task {
                    try await terminal.syncContinuously(
                        host: "127.0.0.1", port: port, peerKey: hubKey, identity: identity, interval: .seconds(3600),
                        localChanges: terminal.changedOrders()
                    ) { mailbox.note($0) }
                })
        }
        defer { for watcher in watchers { watcher.cancel() } }
        try await Mailbox.waitUntilLive(mailboxes, watchers: watchers, timeout: .seconds(120))

        // Terminal 0 observes: every order another terminal changes is timed from its commit to its merge here.
        let timings = Timings()
        let observed = terminals[0].changedOrders()
        let observing = Task {
            for await changed in observed {
                let now = ContinuousClock.now
                let times = timings.pending.withLock { pending in changed.compactMap { pending.removeValue(forKey: $0) }
                }
                timings.latencies.withLock { $0 += times.map { Self.milliseconds(now - $0) } }
            }
        }
        defer { observing.cancel() }
        let start = ContinuousClock.now + .milliseconds(200)
        let (hubCPUBefore, ownCPUBefore) = (Self.cpuSeconds(of: child.processIdentifier), Clock.processCPU())
        let measuring = ContinuousClock.now
        let terminalsCopy = terminals
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1..<count {
                group.addTask {
                    let offset = Duration.milliseconds(1000 * index / count)
                    for tick in 0..<seconds {
                        try await Task.sleep(until: start + offset + .seconds(tick))
                        terminalsCopy[index].edit(order: orders[index], notes: "tick \(tick)")
                        let committed = ContinuousClock.now
                        timings.pending.withLock { $0[orders[index]] = committed }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await Task.sleep(for: .seconds(1))
        let wall = Self.milliseconds(ContinuousClock.now - measuring) / 1000
        Self.progress(
            String(
                format: "fan-in: %d terminals: the hub used %.0f%% of a core, the terminals' process %.0f%%", count,
                (Self.cpuSeconds(of: child.processIdentifier) - hubCPUBefore) / wall * 100,
                (Clock.processCPU() - ownCPUBefore) / wall * 100))
        let rss = Self.peakRSS(of: child.processIdentifier)
        let sorted = timings.latencies.withLock { $0 }.sorted()
        let missed = timings.pending.withLock { $0.count }
        guard !sorted.isEmpty else { throw ReplicaError(.corrupt, "no change reached the observing terminal") }
        // A change never seen counts as one beyond any target.
        let all = sorted + Array(repeating: 10_000, count: missed)
        return (all[min(all.count - 1, Int(Double(all.count) * 0.99))], rss, sorted.count)
    }

    /// Commit times of changes not yet observed, and the latencies of those observed.
    final class Timings: Sendable {
        let pending = Mutex<[String: ContinuousClock.Instant]>([:])
        let latencies = Mutex<[Double]>([])
    }

    /// A progress line on stderr (shown at once, unlike buffered stdout).
    static func progress(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    /// CPU seconds process `pid` has used (user and system; /proc/PID/stat, in clock ticks of 1/100 s).
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return .nan }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / 100
    }

    /// The peak RSS of process `pid` in MB.
    static func peakRSS(of pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return .nan }
        return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan) / 1024
    }

    /// Child mode: `fanin-hub PATH ORDERS` creates a hub of ORDERS orders, serves live sessions to any key on its
    /// network, and prints `PORT KEY NETWORK` (hex) once listening.
    static func serveFanInHub(_ arguments: [String]) async throws {
        guard arguments.count == 2, let count = Int(arguments[1]) else {
            throw ReplicaError(.corrupt, "usage: fanin-hub PATH ORDERS")
        }
        let hub = try Replica.create(at: arguments[0], name: "hub")
        var options = NewOrderOptions()
        options.backorder = true
        for index in 0..<count {
            _ = try await hub.commands.createOrder(
                customerEmail: "t\(index)@example.com", lines: [LineSpec(sku: "MUG", quantity: 1, unitPrice: "9.50")],
                options: options)
        }
        let identity = SyncIdentity(keyPair: KeyPair.generate(), networkID: KeyText.newNetworkID())
        let server = try await SyncServer.bind(replica: hub.replication, identity: identity, trusts: { _ in true })
        FileHandle.standardOutput.write(
            Data("\(server.port) \(hex(identity.keyPair.publicKey)) \(hex(identity.networkID))\n".utf8))
        try await server.run()
    }
}
