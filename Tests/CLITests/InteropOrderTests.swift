import Foundation
import OutpostTestSupport
import Testing

/// A third party that read only protocol/SPEC.md and protocol/schema.json (tools/interop/noise_peer.py,
/// Python) creates a customer, an order and its lines on its own device and pushes them to `outpost serve`;
/// the Swift side merges them and derives status and total, and the name-based customer id matches ours.
@Suite(.oneAtATime) struct InteropOrderTests {
    static func python() throws -> String {
        let setup = Outpost.root.appendingPathComponent("tools/interop/setup").path
        let result = try run(setup, [])
        guard result.status == 0, let path = result.stdout.split(separator: "\n").last.map(String.init) else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "interop setup: \(result.stderr)"])
        }
        return path
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Outpost.Result {
        Outpost.Result(try runProcess(executable, arguments))
    }

    @Test func aPythonPeerCreatesAnOrderTheHubMerges() throws {
        let python = try Self.python()
        let peer = Outpost.root.appendingPathComponent("tools/interop/noise_peer.py").path
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        try hub("init", "--name", "hub")
        try hub("stock", "set", "TEE-M", "10")
        // A customer the hub already has: the Python side must derive the same id for it.
        let existing = try hub(
            "order", "create", "--customer", "Ana@Example.com", "--line", "TEE-M:1:5", "--json")
        let existingNumber = try #require(existing.object["number"] as? String)
        let existingCustomer = try hub("order", "show", existingNumber, "--json").object["customer"] as? [String: Any]
        let ours = try #require(existingCustomer?["id"] as? String)
        let keys = try Self.run(python, [peer, "keygen"]).json as? [String: String]
        let (privateKey, publicKey) = (try #require(keys?["private"]), try #require(keys?["public"]))
        try hub("peer", "add", "python-till", publicKey)
        let whoami = try hub("whoami", "--json").object
        let listenerKey = try #require(whoami["public_key"] as? String)
        let network = try #require(whoami["network_id"] as? String)
        let (server, port) = try hub.serve()
        defer { server.terminate() }

        let pushed = try Self.run(
            python,
            [
                peer, "create-order", "127.0.0.1", "\(port)", "--key", privateKey, "--listener",
                listenerKey, "--network", network, "--email", "new-buyer@example.com", "--line",
                "TEE-M:2:1990", "--line", "MUG:1:500",
            ])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let created = pushed.object
        let number = try #require(created["number"] as? String)
        let shown = try hub("order", "show", number, "--json").object
        #expect(shown["status"] as? String == "pending_payment")
        #expect(shown["total_minor"] as? Int == 2 * 1990 + 500)
        #expect(shown["channel"] as? String == "web")
        #expect((shown["lines"] as? [[String: Any]])?.map { $0["sku"] as? String } == ["TEE-M", "MUG"])
        #expect((shown["customer"] as? [String: Any])?["email"] as? String == "new-buyer@example.com")
        #expect((shown["customer"] as? [String: Any])?["id"] as? String == created["customer_id"] as? String)
        let stock = try hub("stock", "show", "TEE-M", "--json").array.first
        #expect(stock?["reserved"] as? Int == 3)  // 1 of ours, 2 of theirs

        // The same customer id, computed from the SPEC alone, for an address written differently.
        let again = try Self.run(
            python,
            [
                peer, "create-order", "127.0.0.1", "\(port)", "--key", privateKey, "--listener",
                listenerKey, "--network", network, "--email", " ana@example.COM ", "--line", "MUG:1:500",
            ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.object["customer_id"] as? String == ours)
    }
}

/// The same third party receives live deltas (SPEC §15): it offers a live session to `outpost serve`, and an
/// edit made by another `outpost` process on the hub's file reaches it as a `LIVE` record it decodes alone.
@Suite(.oneAtATime) struct InteropLiveTests {
    @Test func aPythonPeerDecodesALiveDeltaFromTheHub() async throws {
        let python = try InteropOrderTests.python()
        let peer = Outpost.root.appendingPathComponent("tools/interop/noise_peer.py").path
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        try hub("init", "--name", "hub")
        let created = try hub(
            "order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:5", "--backorder", "--json")
        let number = try #require(created.object["number"] as? String)
        let orderID = try #require(hub("order", "show", number, "--json").object["id"] as? String)
        let keys = try InteropOrderTests.run(python, [peer, "keygen"]).json as? [String: String]
        let (privateKey, publicKey) = (try #require(keys?["private"]), try #require(keys?["public"]))
        try hub("peer", "add", "python-screen", publicKey)
        let whoami = try hub("whoami", "--json").object
        let listenerKey = try #require(whoami["public_key"] as? String)
        let network = try #require(whoami["network_id"] as? String)
        let (server, port) = try hub.serve()
        defer { server.terminate() }

        let ready = scratch.url.appendingPathComponent("python-live").path
        let screen = Process()
        screen.executableURL = URL(fileURLWithPath: python)
        screen.arguments = [
            peer, "live", "127.0.0.1", "\(port)", "--key", privateKey, "--listener", listenerKey, "--network", network,
            "--ready", ready,
        ]
        let output = Pipe()
        let errors = Pipe()
        screen.standardOutput = output
        screen.standardError = errors
        try screen.run()
        defer { if screen.isRunning { screen.terminate() } }
        // Generous deadlines: every process here is slow when the whole suite runs at once on two cores.
        let liveBy = ContinuousClock.now + .seconds(90)
        while !FileManager.default.fileExists(atPath: ready), screen.isRunning, ContinuousClock.now < liveBy {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(FileManager.default.fileExists(atPath: ready), "the Python peer never went live")

        // Another process writes on the hub's file; `serve` notices the commit and pushes it.
        try hub("order", "edit", number, "--note", "gift wrap, please")
        let deliveredBy = ContinuousClock.now + .seconds(90)
        while screen.isRunning, ContinuousClock.now < deliveredBy { try await Task.sleep(for: .milliseconds(20)) }
        if screen.isRunning {
            screen.terminate()
            screen.waitUntilExit()
            Issue.record("no live delta reached the Python peer within 90 s")
            return
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(screen.terminationStatus == 0, "\(stderr)")
        let line = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let delta = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "the peer printed \(line)")
        let rows = try #require(delta["rows"] as? [[String: Any]])
        let order = try #require(rows.first { $0["id"] as? String == orderID }, "rows: \(rows)")
        #expect(order["entity"] as? Int == 1)
        let values = (order["fields"] as? [String: [[String: Any]]])?.values.flatMap { $0 }.compactMap {
            $0["value"] as? String
        }
        #expect(values?.contains("gift wrap, please") == true, "fields: \(order)")
        let vector = try #require(delta["vector"] as? [String: Int])
        #expect(vector[try #require(whoami["site_id"] as? String)] ?? 0 > 0)
    }
}
