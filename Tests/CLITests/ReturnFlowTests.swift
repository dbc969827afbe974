import Foundation
import Testing

/// Returns and exchanges end to end through the real binary.
@Suite(.oneAtATime) struct ReturnFlowTests {
    /// A paid, shipped order of two mugs (12.00 each).
    static func shipped(_ outpost: Outpost) throws -> String {
        try outpost("init", "--name", "till-1")
        try outpost("stock", "set", "MUG", "10")
        try outpost("stock", "set", "TEE-L", "10")
        let number = try #require(
            try outpost("order", "create", "--customer", "ana@example.com", "--line", "MUG:2:12.00", "--json")
                .object["number"] as? String)
        try outpost("order", "pay", number, "--amount", "24.00")
        try outpost("order", "pack", number)
        try outpost("order", "ship", number, "--carrier", "DHL", "--tracking", "JD1")
        return number
    }

    @Test func aReturnIsRequestedReceivedRestockedRefundedAndClosed() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        let number = try Self.shipped(outpost)
        let requested = try outpost("order", "return", number, "--line", "MUG:1", "--reason", "damaged")
        #expect(requested.status == 0, "\(requested.stderr)")
        let reference = try #require(requested.stdout.split(separator: ":").first.map(String.init))
        #expect(reference.hasPrefix("\(number)/R"), "\(requested.stdout)")
        #expect(try outpost("return", "list", "--open").stdout.contains(reference))
        let listed = try outpost("return", "list", "--json").array
        #expect(listed.first?["reference"] as? String == reference && listed.first?["state"] as? String == "requested")

        // Closing needs it received or cancelled first.
        let early = try outpost("return", "close", reference)
        #expect(early.status == 65, "\(early.stderr)")
        #expect(try outpost("return", "receive", reference, "--restock").stdout.contains("received"))
        let again = try outpost("return", "receive", reference)
        #expect(again.status == 65 && again.stderr.contains("already received"), "\(again.stderr)")
        let stock = try outpost("stock", "show", "MUG", "--json").array.first
        #expect(stock?["on_hand"] as? Int == 9)  // 10 counted, 2 shipped, 1 back on the shelf
        let order = try outpost("order", "show", number, "--json").object
        #expect(order["refund_due_minor"] as? Int == 1200)
        #expect(try outpost("order", "refund", number, "--amount", "12.00").status == 0)
        #expect(try outpost("return", "close", reference).stdout.contains("closed"))
        #expect(try outpost("return", "list", "--open", "--json").array.isEmpty)
        let settled = try outpost("order", "show", number, "--json").object
        #expect((settled["overlays"] as? [String])?.contains("return_open") == false)
        #expect(settled["refund_due_minor"] as? Int == 0)
        #expect(try outpost("return", "show", "\(number)/Rzzzz").status == 66)
        #expect(try outpost("return", "show", "nonsense").status == 65)
    }

    @Test func aCancelledReturnLeavesTheOrderAsItWas() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        let number = try Self.shipped(outpost)
        let reference = try #require(
            try outpost("order", "return", number, "--line", "MUG:2", "--reason", "wrong_item", "--json").object[
                "reference"] as? String)
        #expect(try outpost("return", "cancel", reference, "--json").object["state"] as? String == "cancelled")
        let order = try outpost("order", "show", number, "--json").object
        #expect(order["status"] as? String == "shipped" && (order["overlays"] as? [String]) == [])
    }

    @Test func anExchangeCreditsTheReturnedUnits() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        let number = try Self.shipped(outpost)
        // A 12.00 mug back, a 19.90 tee out: 7.90 due, not 19.90.
        let exchange = try outpost(
            "order", "exchange", number, "--return", "MUG:1", "--send", "TEE-L:1:19.90", "--reason", "wrong_item")
        #expect(exchange.status == 0, "\(exchange.stderr)")
        var order = try outpost("order", "show", number, "--json").object
        #expect(order["balance_due_minor"] as? Int == 790, "\(order)")
        #expect((order["exchanges"] as? [[String: Any]])?.first?["difference_minor"] as? Int == 790)
        #expect((order["returns"] as? [[String: Any]])?.first?["reason"] as? String == "wrong_item")
        // Receiving the mug does not credit it twice.
        let reference = try #require(try outpost("return", "list", "--json").array.first?["reference"] as? String)
        try outpost("return", "receive", reference, "--restock")
        order = try outpost("order", "show", number, "--json").object
        #expect(order["balance_due_minor"] as? Int == 790 && order["refund_due_minor"] as? Int == 0, "\(order)")
        // The other way: a cheaper item out, the difference is credited.
        let cheaper = try outpost(
            "order", "exchange", number, "--return", "MUG:1", "--send", "MUG:1:5.00", "--reason", "damaged")
        #expect(cheaper.status == 0, "\(cheaper.stderr)")
        order = try outpost("order", "show", number, "--json").object
        // 7.90 due before, 7.00 owed back by this one (a 12.00 mug for a 5.00 one): 0.90 still due.
        #expect(order["balance_due_minor"] as? Int == 90 && order["refund_due_minor"] as? Int == 0, "\(order)")
        let missing = try outpost("order", "exchange", number, "--return", "MUG:1", "--send", "MUG:1:5.00")
        #expect(missing.status == 64, "\(missing.stderr)")
    }
}
