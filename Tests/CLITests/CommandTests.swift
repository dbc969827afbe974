import Foundation
import Testing

@Suite(.oneAtATime) struct CommandTests {
    @Test func aShopDayThroughEveryCommand() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        #expect(try outpost("init", "--name", "till-1").status == 0)
        let me = try outpost("whoami", "--json").object
        for key in ["site_id", "name", "public_key", "network_id"] { #expect(me[key] != nil, "whoami lacks \(key)") }
        #expect((me["public_key"] as? String)?.hasPrefix("opk_") == true)
        #expect(try outpost("stock", "set", "TEE-M", "10").status == 0)
        #expect(try outpost("customer", "add", "--email", "ana@example.com", "--name", "Ana").status == 0)
        let created = try outpost(
            "order", "create", "--customer", "ana@example.com", "--line", "TEE-M:2:19.90", "--line", "MUG:1:12",
            "--shipping", "4.90", "--json")
        #expect(created.status == 0, "\(created.stderr)")
        let number = try #require(created.object["number"] as? String)
        #expect(created.object["status"] as? String == "pending_payment")
        #expect(created.object["total_minor"] as? Int == 5670)
        let lines = created.object["lines"] as? [[String: Any]] ?? []
        #expect(lines.first?["sku"] as? String == "TEE-M")
        #expect(lines.first?["unit_price_minor"] as? Int == 1990)
        #expect(try outpost("order", "pay", number, "--amount", "56.70", "--method", "cash").stdout.contains("paid"))
        #expect(try outpost("order", "process", number).stdout.contains("processing"))
        #expect(try outpost("order", "pack", number, "--line", "TEE-M:2").stdout.contains("partially_fulfilled"))
        #expect(try outpost("order", "pack", number).stdout.contains("fulfilled"))
        #expect(
            try outpost("order", "ship", number, "--carrier", "DHL", "--tracking", "JD1").stdout.contains("shipped"))
        #expect(try outpost("order", "track", number, "--event", "in_transit").status == 0)
        #expect(try outpost("order", "deliver", number).stdout.contains("delivered"))
        #expect(
            try outpost("order", "return", number, "--line", "MUG:1", "--reason", "damaged", "--receive", "--restock")
                .status == 0)
        #expect(try outpost("order", "refund", number, "--amount", "12.00").status == 0)
        let shown = try outpost("order", "show", number, "--json").object
        for key in [
            "id", "number", "status", "overlays", "customer", "currency", "lines", "total_minor", "paid_minor",
            "refunded_minor", "payments", "fulfilments", "returns", "timeline", "conflicts",
        ] {
            #expect(shown[key] != nil, "order show lacks \(key)")
        }
        #expect((shown["customer"] as? [String: Any])?["email"] as? String == "ana@example.com")
        #expect(shown["refunded_minor"] as? Int == 1200)
        #expect((shown["overlays"] as? [String])?.contains("partially_returned") == true)
        let list = try outpost("order", "list", "--json").array
        #expect(list.count == 1)
        for key in ["id", "number", "status", "total_minor", "currency", "customer_email"] {
            #expect(list.first?[key] != nil)
        }
        #expect(try outpost("order", "list", "--status", "delivered", "--json").array.count == 1)
        let stock = try outpost("stock", "show", "--json").array
        let tee = stock.first { $0["sku"] as? String == "TEE-M" }
        #expect(tee?["on_hand"] as? Int == 8)
        #expect(tee?["available"] as? Int == 8)
        #expect(try outpost("conflicts", "--json").array.isEmpty)
        #expect(try outpost("status", "--json").object["orders"] as? Int == 1)
        let customer = try outpost("customer", "show", "ana@example.com", "--json").object
        #expect((customer["orders"] as? [Any])?.count == 1)
        #expect(try outpost("order", "list").stdout.contains(number))
    }

    /// Every refusal: the right exit status, an `error:` line (and a hint where one helps), the replica unchanged.
    @Test func refusalsAreClearAndChangeNothing() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        try outpost("stock", "set", "TEE-M", "2")
        let number = try #require(
            try outpost("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:10", "--json").object[
                "number"] as? String)
        let snapshot = { () throws -> String in
            try outpost("order", "show", number, "--json").stdout + outpost("stock", "show", "--json").stdout
                + outpost("order", "list", "--json").stdout
        }
        let before = try snapshot()
        let cases: [([String], Int32, String)] = [
            (["order", "create", "--customer", "bo@example.com", "--line", "TEE-M:abc:1"], 65, "not a quantity"),
            (["order", "create", "--customer", "bo@example.com", "--line", "TEE-M"], 65, "not a line"),
            (["order", "create", "--customer", "bo@example.com", "--line", "TEE-M:5:10"], 65, "available"),
            (["order", "create", "--customer", "not-an-email", "--line", "TEE-M:1:10"], 65, "e-mail"),
            (
                ["order", "create", "--customer", "bo@example.com", "--line", "X:1:1", "--channel", "fax"], 64,
                "not a channel"
            ),
            (["order", "pay", number, "--amount=-5"], 65, "positive"),
            (["order", "pay", number, "--amount", "-5"], 65, "positive"),
            (["order", "pay", number, "--amount", "ten"], 65, "not an amount"),
            (["order", "pay", number, "--amount", "99.00"], 65, "balance due"),
            (["order", "ship", number, "--carrier", "DHL", "--tracking", "T"], 65, "pack"),
            (
                ["order", "ship", number, "--carrier", "DHL", "--tracking", "T", "--line", "TEE-M:1"], 65,
                "no packed parcel"
            ),
            (["order", "refund", number, "--amount", "1.00"], 65, "captured"),
            (["order", "cancel", "NOPE-9"], 66, "no order"),
            (["order", "list", "--status", "lost"], 64, "not a status"),
            (["order", "return", number, "--line", "TEE-M:1", "--reason", "meh"], 64, "return reason"),
            (["peer", "add", "hub", "opk_short"], 65, "public key"),
            (["join", "outpost-invite:garbage"], 65, "invite"),
            (
                ["peer", "add", "hub", "opk_a8OCKiqn9OaYHWU4aSs83z5t-e6m7SaetB2TwidXt1o", "--address", "nowhere"], 64,
                "HOST:PORT"
            ),
        ]
        for (arguments, status, text) in cases {
            let result = try outpost.run(arguments)
            #expect(result.status == status, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.hasPrefix("error: "), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(text), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack"), "\(arguments) crashed")
        }
        #expect(try snapshot() == before)
        let missing = try Outpost(directory: scratch.url, name: "nothing-here")("order", "list")
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("hint: create one with `outpost init"))
    }

    @Test func anUnreachablePeerSaysSo() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "laptop")
        try outpost("init", "--name", "laptop")
        try outpost("peer", "add", "hub", "opk_a8OCKiqn9OaYHWU4aSs83z5t-e6m7SaetB2TwidXt1o", "--address", "127.0.0.1:1")
        let result = try outpost("sync", "hub")
        #expect(result.status == 69)
        #expect(result.stderr.contains("error: cannot reach"))
        #expect(try outpost("sync", "nobody").status == 66)
    }

    /// Issue 16, item 7: a peer that moved gets its new address without being removed and re-added.
    @Test func aPeersAddressCanChange() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "laptop")
        try outpost("init", "--name", "laptop")
        try outpost("peer", "add", "hub", "opk_a8OCKiqn9OaYHWU4aSs83z5t-e6m7SaetB2TwidXt1o", "--address", "127.0.0.1:1")
        #expect(try outpost("peer", "set-address", "hub", "127.0.0.1:7401").status == 0)
        let listed = try outpost("peer", "list", "--json").array.compactMap { $0 as? [String: Any] }
        #expect(listed.first?["address"] as? String == "127.0.0.1:7401")
        #expect(try outpost("peer", "set-address", "nobody", "127.0.0.1:7401").status == 66)
        let bad = try outpost("peer", "set-address", "hub", "127.0.0.1:7401\nevil opk_x 1.2.3.4:9")
        #expect(bad.status == 64)
        #expect(try outpost("peer", "list", "--json").array.count == 1)
    }

    @Test func helpAndVersionWork() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "x")
        #expect(try outpost("--version").stdout.contains("0.1.0"))
        #expect(try outpost("order", "create", "--help").stdout.contains("SKU:QTY:UNIT_PRICE"))
        #expect(try outpost("order", "frobnicate").status == 64)
    }
}
