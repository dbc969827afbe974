import Foundation
import Testing

/// Carrier trouble and promises as flags, read at a time (`--as-of`), never stored.
@Suite(.oneAtATime) struct AttentionFlagTests {
    static func flags(_ outpost: Outpost, _ number: String, asOf: String? = nil) throws -> [String] {
        let arguments = ["order", "show", number, "--json"] + (asOf.map { ["--as-of", $0] } ?? [])
        return try outpost.run(arguments).object["flags"] as? [String] ?? ["<missing>"]
    }

    @Test func aDelayedParcelIsFlaggedUntilItMovesAgain() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let number = try #require(
            try outpost("order", "create", "--customer", "ana@example.com", "--line", "MUG:1:10", "--json").object[
                "number"] as? String)
        try outpost("order", "pay", number, "--amount", "10")
        try outpost("order", "pack", number)
        try outpost("order", "ship", number, "--carrier", "DHL", "--tracking", "JD1")
        #expect(try Self.flags(outpost, number) == [])
        try outpost("order", "track", number, "--event", "delayed")
        #expect(try Self.flags(outpost, number) == ["shipment_delayed"])
        #expect(try outpost("order", "list", "--flag", "shipment_delayed", "--json").array.count == 1)
        #expect(try outpost("order", "list").stdout.contains("shipment_delayed"))
        try outpost("order", "track", number, "--event", "failed")
        #expect(try Self.flags(outpost, number) == ["delivery_failed"])
        try outpost("order", "track", number, "--event", "in_transit")
        #expect(try Self.flags(outpost, number) == [])
        try outpost("order", "track", number, "--event", "delayed")
        try outpost("order", "deliver", number)
        #expect(try Self.flags(outpost, number) == [])
        #expect(try outpost("order", "list", "--flag", "shipment_delayed", "--json").array.isEmpty)
        #expect(try outpost("order", "list", "--flag", "nonsense").status == 64)
    }

    @Test func promisesAndAuthorizationsComeDue() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let promised = try #require(
            try outpost(
                "order", "create", "--customer", "ana@example.com", "--line", "MUG:1:10", "--ship-by", "2099-01-10",
                "--json"
            ).object["number"] as? String)
        #expect(try Self.flags(outpost, promised) == [])
        #expect(try Self.flags(outpost, promised, asOf: "2099-01-11") == ["ship_overdue"])
        try outpost("order", "pay", promised, "--amount", "10", "--authorize")
        let authorizedAt = try #require(
            (try outpost("order", "show", promised, "--json").object["payments"] as? [[String: Any]])?.first?["at"]
                as? String)
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let made = try #require(parser.date(from: authorizedAt) ?? ISO8601DateFormatter().date(from: authorizedAt))
        let day = 86_400.0
        let formatter = ISO8601DateFormatter()
        #expect(try Self.flags(outpost, promised, asOf: formatter.string(from: made.addingTimeInterval(5 * day))) == [])
        #expect(
            try Self.flags(outpost, promised, asOf: formatter.string(from: made.addingTimeInterval(6.5 * day)))
                == ["authorization_expiring"])
        try outpost("order", "capture", promised)
        #expect(
            try Self.flags(outpost, promised, asOf: formatter.string(from: made.addingTimeInterval(6.5 * day))) == [])
        // Shipped on time: no longer overdue, whatever the date.
        try outpost("order", "pack", promised)
        try outpost("order", "ship", promised, "--carrier", "DHL", "--tracking", "JD2")
        #expect(try Self.flags(outpost, promised, asOf: "2099-02-01") == [])
    }
}
