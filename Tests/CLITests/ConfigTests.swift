import Foundation
import Testing

/// Shop settings every device shares: set on the hub, they change what a laptop's `attention` lists after a
/// sync; a bad value is refused with what fits; two devices changing one setting at once keep the later change
/// and show the conflict.
@Suite(.oneAtATime) struct ConfigTests {
    @Test func aSettingSetOnTheHubChangesTheLaptopsAttentionAfterSync() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let laptop = Outpost(directory: scratch.url, name: "laptop")
        try hub("init", "--name", "hub")
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        try laptop("init", "--name", "laptop")
        try hub.pair(laptop, port: port)

        let created = try laptop(
            "order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:10.00", "--json")
        let number = try #require(created.object["number"] as? String)
        let createdAt = try #require(try laptop("order", "show", number, "--json").object["created_at"] as? String)
        // Thirty hours later: not unpaid for long enough by default (48 h).
        let later = try #require(ISO8601DateFormatter.withFractions.date(from: createdAt)).addingTimeInterval(30 * 3600)
        let asOf = ISO8601DateFormatter().string(from: later)
        #expect(try laptop("attention", "--as-of", asOf, "--kind", "unpaid", "--json").array.isEmpty)

        let bad = try hub("config", "set", "attention.unpaid_hours", "two days")
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("whole number of hours"), "\(bad.stderr)")
        let unknown = try hub("config", "set", "attention.unpaid", "24")
        #expect(unknown.status == 65)
        #expect(unknown.stderr.contains("attention.unpaid_hours"), "the hint lists the settings: \(unknown.stderr)")
        #expect(try hub("config", "set", "attention.unpaid_hours", "24").status == 0)
        #expect(
            try hub("config", "get", "attention.unpaid_hours").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == "24")
        #expect(try laptop("config", "get", "attention.unpaid_hours").stdout.hasPrefix("48"), "not synced yet")

        #expect(try laptop("sync", "hub").status == 0)
        let listed = try laptop("config", "list", "--json").array
        #expect(listed.first { $0["key"] as? String == "attention.unpaid_hours" }?["value"] as? String == "24")
        let unpaid = try laptop("attention", "--as-of", asOf, "--kind", "unpaid", "--json").array
        #expect(unpaid.map { $0["order"] as? String } == [number], "the hub's 24 h now applies on the laptop")

        // Both change it before syncing: the later change wins everywhere, and the conflict is listed.
        #expect(try laptop("config", "set", "attention.unpaid_hours", "36").status == 0)
        usleep(5_000)
        #expect(try hub("config", "set", "attention.unpaid_hours", "12").status == 0)
        #expect(try laptop("sync", "hub").status == 0)
        for device in [hub, laptop] {
            #expect(try device("config", "get", "attention.unpaid_hours").stdout.hasPrefix("12"))
            let conflicts = try device("conflicts", "--json").array
            let setting = conflicts.first { $0["record_id"] as? String == "attention.unpaid_hours" }
            #expect(setting?["record"] as? String == "settings", "\(conflicts)")
            #expect(Set((setting?["values"] as? [String]) ?? []) == ["12", "36"])
        }
        #expect(try laptop("config", "unset", "attention.unpaid_hours").status == 0)
        #expect(try laptop("config", "get", "attention.unpaid_hours").stdout.hasPrefix("48"))
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
