import Foundation
import Testing

/// `customer list`: totals and behaviour segments, filterable.
@Suite(.oneAtATime) struct CustomerListTests {
    @Test func customersFallIntoSegmentsByWhatTheyDid() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let sale = { (email: String, line: String) throws -> String in
            let number = try #require(
                try outpost("order", "create", "--customer", email, "--line", line, "--json").object["number"]
                    as? String)
            let total = try #require(try outpost("order", "show", number, "--json").object["total_minor"] as? Int)
            try outpost("order", "pay", number, "--amount", String(format: "%d.%02d", total / 100, total % 100))
            return number
        }
        _ = try sale("once@example.com", "MUG:1:10")
        _ = try sale("twice@example.com", "MUG:1:10")
        _ = try sale("twice@example.com", "MUG:1:10")
        _ = try sale("big@example.com", "TV:1:1200")
        let returned = try sale("back@example.com", "MUG:2:10")
        try outpost("order", "pack", returned)
        try outpost("order", "ship", returned, "--carrier", "DHL", "--tracking", "T1")
        try outpost("order", "return", returned, "--line", "MUG:1", "--reason", "damaged", "--receive")
        try outpost("customer", "add", "--email", "never@example.com", "--name", "Nora Never")

        let segments = { (arguments: [String]) throws -> [String: [String]] in
            var result: [String: [String]] = [:]
            for row in try outpost.run(["customer", "list", "--json"] + arguments).array {
                result[row["email"] as? String ?? "?"] = row["segments"] as? [String] ?? ["?"]
            }
            return result
        }
        #expect(
            try segments([]) == [
                "once@example.com": ["new"], "twice@example.com": ["repeat"], "big@example.com": ["new", "vip"],
                "back@example.com": ["new", "returner"], "never@example.com": [],
            ])
        #expect(try segments(["--segment", "vip"]).keys.sorted() == ["big@example.com"])
        #expect(try segments(["--search", "nora"]).keys.sorted() == ["never@example.com"])
        #expect(try segments(["--as-of", "2099-01-01", "--segment", "lapsed"]).count == 4)
        let spent = try outpost("customer", "list", "--json", "--search", "twice").array.first?["spent_minor"]
        #expect((spent as? [String: Any])?["EUR"] as? Int == 2000)
        #expect(try outpost("customer", "list", "--segment", "whales").status == 64)
    }
}
