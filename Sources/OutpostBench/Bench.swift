import Foundation
import GRDB
import OrderDomain
import Replica
import SecureLine
import Sync

/// The benchmark suite (issue 6): every figure against its baseline in the same run; medians of several runs.
/// Run through `tools/bench [--quick] [--out FILE]`.
@main
struct Bench {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "receive" { return try await receive(Array(arguments.dropFirst())) }
        if arguments.first == "hub" { return try await serveHub(Array(arguments.dropFirst())) }
        if arguments.first == "fanin-hub" { return try await serveFanInHub(Array(arguments.dropFirst())) }
        if arguments.first == "write-parts" { return try await writeParts(Array(arguments.dropFirst())) }
        let quick = arguments.contains("--quick")
        let out =
            arguments.firstIndex(of: "--out").flatMap {
                arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil
            }
            ?? "bench-results.json"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "outpost-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var bench = Bench(directory: directory, quick: quick)
        // `--only write|line|handshake|sync|import|live|delta` runs one group (for working on it; a full result needs all).
        let only = arguments.firstIndex(of: "--only").flatMap {
            arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil
        }
        func wanted(_ group: String) -> Bool { only == nil || only == group }
        var figures: [Figure] = []
        if wanted("write") { figures += try await bench.writeOverhead() }
        if wanted("line") { figures += try bench.lineThroughput() }
        if wanted("handshake") { figures.append(try bench.handshake()) }
        if wanted("sync") { figures += try await bench.syncFigures() }
        if wanted("import") { figures += try await bench.importFigures() }
        if wanted("live") {
            figures += try await bench.liveDelta()
            figures += try await bench.hubFanIn()
        }
        if only == "delta" {
            // The delta figures alone against a 10k-order hub (for working on latency; not a result).
            let hub = try await Served(path: bench.path("hub"), orders: 10_000)
            figures += try await bench.delta(hub: hub.replica, server: hub.server, identity: hub.identity)
            hub.serving.cancel()
        }
        print(table(figures))
        var json: [String: Any] = [:]
        for figure in figures { json[figure.key] = figure.json }
        json["_machine"] = [
            "cores": ProcessInfo.processInfo.activeProcessorCount, "quick": quick,
            "date": ISO8601DateFormatter().string(from: Date()),
        ]
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]).write(
            to: URL(fileURLWithPath: out))
        print("results written to \(out)")
    }

    let directory: URL
    let quick: Bool
    var counter = 0

    init(directory: URL, quick: Bool) {
        self.directory = directory
        self.quick = quick
    }

    mutating func path(_ name: String) -> String {
        counter += 1
        return directory.appendingPathComponent("\(name)-\(counter).sqlite").path
    }

    static func table(_ figures: [Figure]) -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
        func number(_ value: Double) -> String {
            value >= 1000 ? String(format: "%.0f", value) : String(format: "%.3g", value)
        }
        var lines = [pad("figure", 32) + pad("median", 12) + pad("min–max", 22) + pad("target", 14) + "verdict"]
        for figure in figures {
            lines.append(
                pad(figure.key, 32) + pad(number(figure.median) + " " + figure.unit, 12)
                    + pad("\(number(figure.min))–\(number(figure.max))", 22)
                    + pad(figure.target, 14) + figure.verdict)
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Writes

    /// Orders written through the replica ÷ the same rows into plain SQLite, alternating, same run.
    mutating func writeOverhead() async throws -> [Figure] {
        let dataset = Dataset(count: quick ? 1_000 : 5_000, seed: 1)
        /// The dataset through the replica's commands, `perCommit` orders per commit (a basket of them through
        /// `Replica.transaction` when more than one), then into plain SQLite with as many per transaction.
        func measure(perCommit: Int) async throws -> (ratio: Double, microseconds: Double, floor: Double) {
            let replicaPath = path(perCommit == 1 ? "write" : "basket")
            let replica = try Replica.create(at: replicaPath, name: "bench")
            let replicaTime = try await Clock.seconds {
                try await Self.sell(dataset.orders[...], perCommit: perCommit, on: replica)
            }
            // The same sales' rows and statements without the replica's code (`StorageFloor`).
            let sales = try StorageFloor.sales(ofReplicaAt: replicaPath)
            let floor = try StorageFloor(path: path(perCommit == 1 ? "floor" : "floor-basket"))
            let floorTime = try await Clock.seconds { try await floor.write(sales, perCommit: perCommit) }
            let raw = try RawBaseline(path: path(perCommit == 1 ? "raw" : "raw-basket"))
            let rawTime = try Clock.seconds { try raw.write(dataset, perCommit: perCommit) }
            return (replicaTime / rawTime, replicaTime / Double(dataset.orders.count) * 1e6, floorTime / rawTime)
        }
        var ratios: [Double] = []
        var perOrder: [Double] = []
        var basketRatios: [Double] = []
        var basketPerOrder: [Double] = []
        var floors: [Double] = []
        var basketFloors: [Double] = []
        for _ in 0..<(quick ? 3 : 5) {
            let single = try await measure(perCommit: 1)
            ratios.append(single.ratio)
            perOrder.append(single.microseconds)
            floors.append(single.floor)
        }
        for _ in 0..<(quick ? 3 : 5) {
            let basket = try await measure(perCommit: 10)
            basketRatios.append(basket.ratio)
            basketPerOrder.append(basket.microseconds)
            basketFloors.append(basket.floor)
        }
        return [
            Figure(key: "write_overhead_ratio", unit: "×", target: "≤ 1.25", runs: ratios, passes: { $0 <= 1.25 }),
            Figure(key: "write_order_us", unit: "µs", target: "report", runs: perOrder),
            Figure(
                key: "write_overhead_ratio_basket", unit: "×", target: "≤ 1.15", runs: basketRatios,
                passes: { $0 <= 1.15 }),
            Figure(key: "write_order_basket_us", unit: "µs", target: "report", runs: basketPerOrder),
            // What the replica stores, written without its code: the lowest ratio its storage allows.
            Figure(key: "write_storage_floor_ratio", unit: "×", target: "report", runs: floors),
            Figure(key: "write_storage_floor_ratio_basket", unit: "×", target: "report", runs: basketFloors),
        ]
    }

    /// Creates `orders` through the replica's commands, `perCommit` to a commit (a basket through
    /// `Replica.transaction` when more than one), then copies the log into the file.
    static func sell(_ orders: ArraySlice<Dataset.PlannedOrder>, perCommit: Int, on replica: Replica) async throws {
        for start in stride(from: orders.startIndex, to: orders.endIndex, by: perCommit) {
            let basket = orders[start..<min(orders.endIndex, start + perCommit)]
            if perCommit == 1 {
                try await sell(basket, on: replica)
            } else {
                try await replica.transaction { try await sell(basket, on: replica) }
            }
        }
        // The log its checkpointer was still copying is the replica's work too (plain SQLite copies its own in the
        // committing connection).
        try await replica.checkpoint()
    }

    /// Creates `orders` through the replica's commands (address and channel as planned).
    static func sell(_ orders: ArraySlice<Dataset.PlannedOrder>, on replica: Replica) async throws {
        for planned in orders {
            var options = NewOrderOptions()
            options.channel = planned.channel
            options.address = "1 High St"
            _ = try await replica.commands.createOrder(
                customerEmail: planned.email, lines: planned.lines, options: options)
        }
    }

    // MARK: The line

    /// 64 KiB records through one side of the line on one core: the sender seals (record encoding, encryption,
    /// framing) and the receiver opens (frame parsing, decryption, record parsing), each timed on its own; the
    /// figure is the slower side, since each side runs on its own core. `line_both_sides_gb_per_s` reports both
    /// sides on one core (at most half of libsodium's single-pass speed).
    func lineThroughput() throws -> [Figure] {
        var slower: [Double] = []
        var both: [Double] = []
        let body = [UInt8](repeating: 0xA5, count: 65536)
        let count = quick ? 4_000 : 16_000
        for _ in 0..<5 {
            var (dialler, listener) = try Self.establishedPair()
            let record = Record(verb: "DATA", json: "{}", body: body)
            // Sealed and opened 32 records (2 MiB) at a time, each side timed on its own: the working set stays
            // in cache as a socket's would, instead of a gigabyte of fresh pages.
            var wires: [[UInt8]] = []
            wires.reserveCapacity(32)
            var sealing = 0.0
            var opening = 0.0
            var delivered = 0
            for _ in 0..<(count / 32) {
                wires.removeAll(keepingCapacity: true)
                sealing += try Clock.seconds {
                    for _ in 0..<32 { wires.append(try dialler.seal(record)) }
                }
                opening += try Clock.seconds {
                    for wire in wires { delivered += try listener.receive(wire).events.count }
                }
            }
            guard delivered == count / 32 * 32 else {
                throw LineError(.protocolViolation, "lost records in the benchmark")
            }
            let bytes = Double(count / 32 * 32 * body.count)
            slower.append(bytes / max(sealing, opening) / 1e9)
            both.append(bytes / (sealing + opening) / 1e9)
        }
        return [
            Figure(key: "line_gb_per_s", unit: "GB/s", target: "≥ 1.0", runs: slower, passes: { $0 >= 1.0 }),
            Figure(key: "line_both_sides_gb_per_s", unit: "GB/s", target: "report", runs: both),
        ]
    }

    static func establishedPair() throws -> (LineMachine, LineMachine) {
        let network = KeyText.newNetworkID()
        let listenKey = KeyPair.generate()
        var dialler = LineMachine(
            dialling: KeyPair.generate(), listenerKey: listenKey.publicKey, networkID: network, hello: [])
        var listener = LineMachine(listening: listenKey, networkID: network, hello: [], trusts: { _ in true })
        let (two, _) = try listener.receive(try dialler.start())
        let (confirmation, _) = try dialler.receive(two)
        let (pong, _) = try listener.receive(confirmation)
        _ = try dialler.receive(pong)
        return (dialler, listener)
    }

    /// CPU time per handshake side.
    func handshake() throws -> Figure {
        var runs: [Double] = []
        for _ in 0..<5 {
            let count = 300
            let identities = (0..<2).map { _ in KeyPair.generate() }
            let network = KeyText.newNetworkID()
            let start = Clock.processCPU()
            for _ in 0..<count {
                var dialler = LineMachine(
                    dialling: identities[0], listenerKey: identities[1].publicKey, networkID: network, hello: [])
                var listener = LineMachine(
                    listening: identities[1], networkID: network, hello: [], trusts: { _ in true })
                let (two, _) = try listener.receive(try dialler.start())
                let (confirmation, _) = try dialler.receive(two)
                _ = try listener.receive(confirmation)
            }
            runs.append((Clock.processCPU() - start) / Double(2 * count) * 1e6)
        }
        return Figure(key: "handshake_us", unit: "µs", target: "< 1000", runs: runs, passes: { $0 < 1000 })
    }
}
