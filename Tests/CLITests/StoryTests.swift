import Foundation
import Testing

/// A hub and two laptops as real processes: offline sales, conflicting operations, syncs in several orders →
/// identical `order list --json` on all three.
@Suite(.oneAtATime) struct StoryTests {
    @Test func aHubAndTwoLaptopsConvergeThroughRealProcesses() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let one = Outpost(directory: scratch.url, name: "popup-1")
        let two = Outpost(directory: scratch.url, name: "popup-2")
        try hub("init", "--name", "hub")
        try hub("stock", "set", "TEE-M", "10")
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        let invite = try hub("invite", "--address", "127.0.0.1:\(port)").stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        for (laptop, name) in [(one, "popup-1"), (two, "popup-2")] {
            try laptop("init", "--name", name)
            let joined = try laptop("join", invite, "--json").object
            let addLine = try #require(joined["run_on_peer"] as? String).split(separator: " ").map(String.init)
            #expect(try hub.run(Array(addLine.dropFirst())).status == 0)
            #expect(try laptop("sync", "hub").status == 0)
        }
        let sale = try #require(
            try one("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:2:20", "--json").object[
                "number"] as? String)
        try one("order", "pay", sale, "--amount", "40")
        let other = try #require(
            try two("order", "create", "--customer", "bo@example.com", "--line", "TEE-M:1:20", "--json").object[
                "number"] as? String)
        for laptop in [one, two, one] { #expect(try laptop("sync", "hub", "--json").object["sent_changes"] != nil) }
        try one("order", "pack", sale)
        try one("order", "ship", sale, "--carrier", "DHL", "--tracking", "T1")
        try two("order", "cancel", sale)
        try one("order", "edit", other, "--phone", "+44 1")
        try two("order", "edit", other, "--phone", "+44 2")
        for laptop in [two, one, two] { #expect(try laptop("sync", "hub").status == 0) }
        let lists = try [hub, one, two].map { try $0("order", "list", "--json").stdout }
        #expect(lists[0] == lists[1] && lists[1] == lists[2])
        let shown = try hub("order", "show", sale, "--json").object
        #expect(shown["status"] as? String == "shipped")
        #expect((shown["overlays"] as? [String])?.contains("refund_due") == true)
        let conflicts = try two("conflicts", "--json").array
        #expect(conflicts.count == 1)
        #expect(conflicts.first?["field"] as? String == "phone")
        for key in ["order_id", "field", "values", "winner", "rule", "sites", "detected_at"] {
            #expect(conflicts.first?[key] != nil)
        }
        let status = try one("status", "--json").object
        #expect((status["peers"] as? [[String: Any]])?.first?["name"] as? String == "hub")
        server.interrupt()
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
    }

    /// A laptop that runs `serve` from its first moment: its first sync cannot replace the file the serving
    /// process has open, so it loads the hub's records instead; the serving process then serves them to a
    /// second laptop, and a writer process works beside it.
    @Test func aLaptopServingFromItsFirstMomentTakesRecordsAndServesThem() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let one = Outpost(directory: scratch.url, name: "popup-1")
        let two = Outpost(directory: scratch.url, name: "popup-2")
        try hub("init", "--name", "hub")
        try hub("stock", "set", "TEE-M", "10")
        for index in 0..<5 {
            try hub("order", "create", "--customer", "c\(index)@example.com", "--line", "TEE-M:1:20")
        }
        let (hubServer, hubPort) = try hub.serve()
        defer { hubServer.terminate() }
        let trust = { (listener: Outpost, dialler: Outpost, listenerName: String, port: Int) throws in
            let invite = try listener("invite", "--address", "127.0.0.1:\(port)").stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)
            let joined = try dialler("join", invite, "--name", listenerName, "--json").object
            let addLine = try #require(joined["run_on_peer"] as? String).split(separator: " ").map(String.init)
            #expect(try listener.run(Array(addLine.dropFirst())).status == 0)
        }
        try one("init", "--name", "popup-1")
        try trust(hub, one, "hub", hubPort)
        let (oneServer, onePort) = try one.serve()  // before its first sync
        defer { oneServer.terminate() }
        try two("init", "--name", "popup-2")
        try trust(one, two, "popup-1", onePort)

        let first = try one("sync", "hub", "--json")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.object["snapshot_bytes_received"] as? Int == 0, "a snapshot replaced a file in use")
        let hubList = try hub("order", "list", "--json").stdout
        #expect(try one("order", "list", "--json").stdout == hubList)

        let second = try two("sync", "popup-1")
        #expect(second.status == 0, "the serving process refused: \(second.stderr)")
        #expect(try two("order", "list", "--json").stdout == hubList)

        let sale = try #require(
            try one("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:20", "--json").object[
                "number"] as? String)
        #expect(try two("sync", "popup-1").status == 0)
        #expect(try two("order", "show", sale).status == 0)
        #expect(try one("status").stdout.contains("bootstrapping") == false)
    }

    @Test func anUntrustedLaptopIsRejected() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let stranger = Outpost(directory: scratch.url, name: "stranger")
        try hub("init", "--name", "hub")
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        try stranger("init", "--name", "stranger")
        try stranger("join", try hub("invite", "--address", "127.0.0.1:\(port)").stdout)
        let result = try stranger("sync", "hub")
        #expect(result.status == 77)
        #expect(result.stderr.contains("hint: the peer must trust this device"))
    }
}
