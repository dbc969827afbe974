import Foundation
import Testing

/// `outpost attention`: what needs a person, read at a time, with the command that settles it.
@Suite(.oneAtATime) struct AttentionTests {
    static func kinds(_ outpost: Outpost, asOf: String) throws -> [String: [String]] {
        var byKind: [String: [String]] = [:]
        for entry in try outpost("attention", "--as-of", asOf, "--json").array {
            byKind[entry["kind"] as? String ?? "?", default: []].append(entry["order"] as? String ?? "?")
        }
        return byKind
    }

    @Test func theListFollowsTheShopsDay() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let create = { (line: String) throws -> String in
            try #require(
                try outpost("order", "create", "--customer", "ana@example.com", "--line", line, "--json").object[
                    "number"] as? String)
        }
        let unpaid = try create("MUG:1:10")
        let offline = try create("MUG:1:10")
        try outpost("order", "pay", offline, "--amount", "10", "--provisional")
        let shipped = try create("MUG:1:10")
        try outpost("order", "pay", shipped, "--amount", "10")
        try outpost("order", "pack", shipped)
        try outpost("order", "ship", shipped, "--carrier", "DHL", "--tracking", "JD1")
        let big = try create("TV:1:900")
        try outpost("order", "pay", big, "--amount", "900")

        #expect(
            try Self.kinds(outpost, asOf: "2099-01-01") == [
                "unpaid": [unpaid], "provisional_unconfirmed": [offline], "ship_overdue": [offline, big],
                "tracking_stale": [shipped], "high_value": [big],
            ])
        let unpaidEntry = try outpost("attention", "--as-of", "2099-01-01", "--kind", "unpaid", "--json").array.first
        #expect((unpaidEntry?["next"] as? String)?.hasPrefix("outpost order pay \(unpaid)") == true)
        // Nothing is due yet today except the big order waiting to ship.
        let today = ISO8601DateFormatter().string(from: Date())
        #expect(try Self.kinds(outpost, asOf: today) == ["high_value": [big]])

        // Settling each reason takes it off the list.
        try outpost("order", "pay", unpaid, "--amount", "10")
        try outpost("order", "confirm-payment", offline)
        try outpost("order", "deliver", shipped)
        for order in [unpaid, offline, big] {
            try outpost("order", "pack", order)
            try outpost("order", "ship", order, "--carrier", "DHL", "--tracking", "T-\(order)")
            try outpost("order", "deliver", order)
        }
        #expect(try Self.kinds(outpost, asOf: "2099-01-01") == [:])
        #expect(try outpost("attention").stdout.contains("nothing needs attention"))
        #expect(try outpost("attention", "--kind", "bogus").status == 64)
    }
}
