import Foundation
import Testing

/// The payment flows of an ordinary day through the real binary.
@Suite(.oneAtATime) struct PaymentFlowTests {
    static func order(_ outpost: Outpost) throws -> String {
        try #require(
            try outpost("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:2:20", "--json").object[
                "number"] as? String)
    }

    static func shown(_ outpost: Outpost, _ number: String) throws -> [String: Any] {
        try outpost("order", "show", number, "--json").object
    }

    @Test func anAuthorizedOrderPacksAndShippingCapturesIt() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        try outpost("stock", "set", "TEE-M", "5")
        let number = try Self.order(outpost)
        #expect(try outpost("order", "pay", number, "--amount", "40.00", "--authorize").status == 0)
        var shown = try Self.shown(outpost, number)
        #expect(shown["status"] as? String == "pending_payment")
        #expect(shown["financial_status"] as? String == "authorized")
        #expect(shown["paid_minor"] as? Int == 0 && shown["authorized_minor"] as? Int == 4000)
        #expect(try outpost("order", "pack", number).status == 0)
        #expect(try outpost("order", "ship", number, "--carrier", "DHL", "--tracking", "JD1").status == 0)
        shown = try Self.shown(outpost, number)
        #expect(shown["status"] as? String == "shipped")
        #expect(shown["financial_status"] as? String == "paid")
        #expect(shown["paid_minor"] as? Int == 4000 && shown["balance_due_minor"] as? Int == 0)
        let text = try outpost("order", "show", number).stdout
        #expect(text.contains("captured") && text.contains("money       paid"), "\(text)")
    }

    @Test func captureAndVoidByHand() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let first = try Self.order(outpost)
        try outpost("order", "pay", first, "--amount", "40.00", "--authorize")
        #expect(try outpost("order", "capture", first, "--amount", "15.00").status == 0)
        #expect(try Self.shown(outpost, first)["financial_status"] as? String == "partially_paid")
        #expect(try outpost("order", "capture", first).status == 0)  // the rest
        #expect(try Self.shown(outpost, first)["financial_status"] as? String == "paid")
        let refused = try outpost("order", "capture", first)
        #expect(refused.status == 65 && refused.stderr.contains("no open authorization"), "\(refused.stderr)")

        let second = try Self.order(outpost)
        try outpost("order", "pay", second, "--amount", "40.00", "--authorize")
        #expect(try outpost("order", "void", second).status == 0)
        let voided = try Self.shown(outpost, second)
        #expect(voided["financial_status"] as? String == "voided" && voided["balance_due_minor"] as? Int == 4000)
    }

    @Test func anOfflineCardIsConfirmedOrDeclinedAndPaidAgain() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let good = try Self.order(outpost)
        try outpost("order", "pay", good, "--amount", "40.00", "--provisional")
        #expect((try Self.shown(outpost, good)["overlays"] as? [String])?.contains("payment_provisional") == true)
        #expect(try outpost("order", "confirm-payment", good).status == 0)
        #expect((try Self.shown(outpost, good)["overlays"] as? [String]) == [])

        let bad = try Self.order(outpost)
        try outpost("order", "pay", bad, "--amount", "40.00", "--provisional")
        #expect(try outpost("order", "decline-payment", bad, "--reason", "card expired").status == 0)
        var shown = try Self.shown(outpost, bad)
        #expect(shown["status"] as? String == "pending_payment")
        #expect(shown["balance_due_minor"] as? Int == 4000)
        #expect((shown["overlays"] as? [String]) == ["payment_issue"])
        #expect(try outpost("order", "pay", bad, "--amount", "40.00", "--method", "cash").status == 0)
        shown = try Self.shown(outpost, bad)
        #expect(shown["status"] as? String == "paid" && (shown["overlays"] as? [String]) == [])
        let nothing = try outpost("order", "confirm-payment", bad)
        #expect(nothing.status == 65 && nothing.stderr.contains("no provisional payment"), "\(nothing.stderr)")
    }
}
