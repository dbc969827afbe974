import Foundation
import Testing

/// A hub and two laptops as real processes: offline sales, conflicting operations, syncs in several orders →
/// identical `order list --json` on all three.
@Suite struct StoryTests {
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
