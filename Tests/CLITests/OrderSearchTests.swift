import Foundation
import Testing

/// `order list` finds orders by text, tag, SKU, dates and financial status.
@Suite(.oneAtATime) struct OrderSearchTests {
    @Test func ordersAreFoundByWhatPeopleRemember() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        try outpost(
            "customer", "add", "--email", "ana@example.com", "--name", "Ana Silva", "--phone", "+44 7700 900111")
        let create = { (arguments: [String]) throws -> String in
            try #require(try outpost.run(["order", "create", "--json"] + arguments).object["number"] as? String)
        }
        let ana = try create(["--customer", "ana@example.com", "--line", "MUG:1:10", "--tag", "gift"])
        let bo = try create(["--customer", "bo@example.com", "--line", "TEE-M:1:20", "--tag", "vip", "--phone", "0101"])
        try outpost("order", "pay", bo, "--amount", "20")
        try outpost("order", "pack", bo)
        try outpost("order", "ship", bo, "--carrier", "DHL", "--tracking", "JD0001234")
        let numbers = { (arguments: [String]) throws -> [String] in
            try outpost.run(["order", "list", "--json"] + arguments).array.compactMap { $0["number"] as? String }
                .sorted()
        }
        #expect(try numbers(["--search", "SILVA"]) == [ana])
        #expect(try numbers(["--search", "7700 900"]) == [ana])
        #expect(try numbers(["--search", "jd0001"]) == [bo])
        #expect(try numbers(["--search", bo]) == [bo])
        #expect(try numbers(["--search", "bo@"]) == [bo])
        #expect(try numbers(["--search", "%"]).isEmpty, "a % is a character, not a wildcard")
        #expect(try numbers(["--tag", "gift"]) == [ana])
        #expect(try numbers(["--tag", "gif"]).isEmpty)
        #expect(try numbers(["--sku", "TEE-M"]) == [bo])
        #expect(try numbers(["--financial-status", "paid"]) == [bo])
        #expect(try numbers(["--financial-status", "unpaid"]) == [ana])
        #expect(try numbers(["--since", "2099-01-01"]).isEmpty)
        #expect(try numbers(["--until", "2099-01-01"]) == [ana, bo].sorted())
        #expect(try outpost("order", "list", "--financial-status", "rich").status == 64)
    }
}
