import Foundation
import OutpostTestSupport
import Testing

/// Orders from Shopify's CSV export and WooCommerce's REST JSON, imported through the real binary: multi-line
/// orders, payments, partial and full refunds, cancellations, partial shipments; bad records named by number
/// while the rest goes in; a second import changes nothing.
@Suite(.oneAtATime) struct ImportTests {
    static let fixtures = Outpost.root.appendingPathComponent("Tests/Fixtures")

    static func show(_ outpost: Outpost, _ number: String) throws -> [String: Any] {
        try outpost("order", "show", number, "--json").object
    }

    @Test func aShopifyExportImportsWithItsHistoryAndOnlyOnce() throws {
        let scratch = try Scratch()
        let shop = Outpost(directory: scratch.url, name: "shop")
        try shop("init", "--name", "shop")
        let file = Self.fixtures.appendingPathComponent("shopify-orders.csv").path

        let dry = try shop("import", "shopify", file, "--dry-run", "--json")
        #expect(dry.status == 65)
        #expect(dry.object["imported"] as? Int == 7 && dry.object["dry_run"] as? Bool == true)
        #expect(try shop("order", "list", "--json").array.isEmpty, "a dry run writes nothing")
        let strict = try shop("import", "shopify", file, "--strict", "--json")
        #expect(strict.status == 65)
        #expect(try shop("order", "list", "--json").array.isEmpty, "--strict imports nothing when a record is bad")

        let first = try shop("import", "shopify", file, "--json")
        #expect(first.status == 65, "two bad records: \(first.stderr)")
        #expect(first.object["imported"] as? Int == 7)
        let problems = first.object["problems"] as? [[String: Any]] ?? []
        // A history the rules refuse (more refunded than paid) comes in without it, for review.
        let review = first.object["needs_review"] as? [[String: Any]] ?? []
        #expect(review.map { $0["order"] as? String } == ["#1009"])
        #expect((review.first?["reason"] as? String)?.contains("cannot refund more than was captured") == true)
        let reviewed = try Self.show(shop, "SHOP-1009")
        #expect((reviewed["tags"] as? [String]) == ["import-review"])
        #expect((reviewed["notes"] as? String)?.contains("refund 50.00 EUR") == true, "\(reviewed)")
        #expect((reviewed["payments"] as? [Any])?.isEmpty == true)
        let attention = try shop("attention", "--kind", "import_review", "--json").array
        #expect(attention.map { $0["order"] as? String } == ["SHOP-1009"])
        #expect(problems.map { $0["record"] as? Int } == [6, 7])
        #expect(problems.map { $0["order"] as? String } == ["#1005", "#1006"])
        #expect((problems.first?["reason"] as? String)?.contains("'two'") == true)
        #expect(first.stderr.contains("import the file again"))

        let shipped = try Self.show(shop, "SHOP-1001")
        #expect(shipped["status"] as? String == "shipped")
        #expect(shipped["total_minor"] as? Int == 4970)
        #expect(shipped["channel"] as? String == "shopify")
        #expect((shipped["lines"] as? [[String: Any]])?.map { $0["sku"] as? String } == ["TEE-M", "MUG"])
        #expect(Set(shipped["tags"] as? [String] ?? []) == ["gift", "summer-sale"])
        let partlyRefunded = try Self.show(shop, "SHOP-1002")
        #expect(partlyRefunded["status"] as? String == "paid")
        #expect(partlyRefunded["refunded_minor"] as? Int == 500)
        #expect(try Self.show(shop, "SHOP-1003")["status"] as? String == "cancelled")
        let refunded = try Self.show(shop, "SHOP-1004")
        #expect(refunded["refunded_minor"] as? Int == 3980)
        #expect(["cancelled", "refunded"].contains(refunded["status"] as? String ?? ""))
        let authorized = try Self.show(shop, "SHOP-1007")
        #expect(authorized["status"] as? String == "pending_payment")
        #expect(authorized["financial_status"] as? String == "authorized")
        #expect((authorized["lines"] as? [[String: Any]])?.first?["sku"] as? String == "NOSKU-TOTE-BAG")
        #expect(try Self.show(shop, "SHOP-1008")["status"] as? String == "partially_fulfilled")
        let ana = try shop("customer", "show", "ana@example.com", "--json").object
        #expect(ana["spent_minor"] as? [String: Int] == ["EUR": 4970 + 2490])
        #expect(ana["segments"] as? [String] == ["repeat"])
        #expect((ana["last_order_at"] as? String)?.hasPrefix("2026-11-27") == true)
        // Ana bought twice: her orders are the repeat segment's.
        let repeatOrders = try shop("order", "list", "--segment", "repeat", "--json").array
        #expect(Set(repeatOrders.compactMap { $0["number"] as? String }) == ["SHOP-1001", "SHOP-1008"])

        // Out again as CSV, read back by another program (Python's csv module): the same figures.
        let exported = scratch.url.appendingPathComponent("orders.csv").path
        #expect(try shop("export", "orders", "--out", exported).status == 0)
        let rows = try Self.readCSV(exported)
        #expect(rows.count == 7)
        let listed = try shop("order", "list", "--json").array
        for row in rows {
            let shown = try Self.show(shop, row["number"] ?? "")
            #expect(Int(row["total_minor"] ?? "") == shown["total_minor"] as? Int, "\(row)")
            #expect(Int(row["refunded_minor"] ?? "") == shown["refunded_minor"] as? Int, "\(row)")
            #expect(row["status"] == shown["status"] as? String)
            #expect(row["financial_status"] == shown["financial_status"] as? String)
            #expect(row["channel"] == "shopify")
        }
        #expect(Set(rows.compactMap { $0["number"] }) == Set(listed.compactMap { $0["number"] as? String }))
        #expect(rows.first { $0["number"] == "SHOP-1001" }?["total"] == "49.70")
        let lines = try shop("export", "lines", "--format", "jsonl").stdout.split(separator: "\n")
        #expect(lines.count == 9, "one JSON line per order line")
        let since = try Self.readCSVText(try shop("export", "orders", "--since", "2026-11-26").stdout)
        #expect(Set(since.compactMap { $0["number"] }) == ["SHOP-1007", "SHOP-1008", "SHOP-1009"])

        let before = try shop("order", "list", "--json").stdout
        let again = try shop("import", "shopify", file, "--json")
        #expect(again.object["imported"] as? Int == 0)
        #expect(again.object["already_present"] as? Int == 7)
        #expect(try shop("order", "list", "--json").stdout == before, "a second import changes nothing")
    }

    /// Rows of a CSV file as Python's csv module reads them (an independent reader).
    static func readCSV(_ path: String) throws -> [[String: String]] {
        let result = Outpost.Result(
            try runProcess(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import csv,json,sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))", path,
                ]))
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: String]]) ?? []
    }

    static func readCSVText(_ text: String) throws -> [[String: String]] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-\(UUID().uuidString).csv")
            .path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try readCSV(path)
    }

    @Test func aWooCommerceFileImportsWithItsHistoryAndOnlyOnce() throws {
        let scratch = try Scratch()
        let shop = Outpost(directory: scratch.url, name: "shop")
        try shop("init", "--name", "shop")
        let file = Self.fixtures.appendingPathComponent("woocommerce-orders.jsonl").path
        let first = try shop("import", "woocommerce", file, "--json")
        #expect(first.status == 65)
        #expect(first.object["imported"] as? Int == 5)
        let problems = first.object["problems"] as? [[String: Any]] ?? []
        #expect(problems.map { $0["record"] as? Int } == [5, 7])
        #expect((problems.last?["reason"] as? String)?.contains("EURO") == true)

        let completed = try Self.show(shop, "WOO-701")
        #expect(completed["status"] as? String == "shipped")
        #expect(completed["total_minor"] as? Int == 4970)
        #expect(completed["channel"] as? String == "woocommerce")
        #expect((completed["customer"] as? [String: Any])?["email"] as? String == "gus@example.com")
        #expect(try Self.show(shop, "WOO-702")["refunded_minor"] as? Int == 250)
        #expect(try Self.show(shop, "WOO-703")["status"] as? String == "cancelled")
        #expect(try Self.show(shop, "WOO-704")["refunded_minor"] as? Int == 500)
        let failed = try Self.show(shop, "WOO-706")
        #expect(failed["status"] as? String == "pending_payment")
        #expect((failed["overlays"] as? [String])?.contains("payment_issue") == true, "\(failed)")

        let before = try shop("order", "list", "--json").stdout
        let again = try shop("import", "woocommerce", file, "--json")
        #expect(again.object["imported"] as? Int == 0 && again.object["already_present"] as? Int == 5)
        #expect(try shop("order", "list", "--json").stdout == before)

        let missing = try shop("import", "woocommerce", "/nonexistent/orders.jsonl")
        #expect(missing.status == 66, "\(missing.stderr)")
        let notShopify = try shop("import", "shopify", file)
        #expect(notShopify.status == 65)
        #expect(notShopify.stderr.contains("is not a Shopify order export"), "\(notShopify.stderr)")
    }
}
