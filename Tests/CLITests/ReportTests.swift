import Foundation
import GRDB
import Testing

/// `outpost report` against independent SQL over the same replica (imported Shopify and WooCommerce orders:
/// paid, refunded, cancelled, shipped, partly shipped, two currencies, two channels).
@Suite(.oneAtATime) struct ReportTests {
    @Test func theReportsFiguresAreTheDatabases() throws {
        let scratch = try Scratch()
        let shop = Outpost(directory: scratch.url, name: "shop")
        try shop("init", "--name", "shop")
        try shop("import", "shopify", ImportTests.fixtures.appendingPathComponent("shopify-orders.csv").path)
        try shop("import", "woocommerce", ImportTests.fixtures.appendingPathComponent("woocommerce-orders.jsonl").path)
        // A parcel delivered, one delayed, one return: the week has every kind of fact.
        #expect(try shop("order", "deliver", "SHOP-1001").status == 0)
        #expect(try shop("order", "track", "WOO-701", "--event", "delayed").status == 0)
        #expect(try shop("order", "return", "SHOP-1001", "--line", "MUG:1", "--reason", "damaged").status == 0)
        let queue = try DatabaseQueue(path: shop.db)

        for (arguments, since, until) in [
            (["--week", "2026-W48"], "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"),
            (["--since", "2026-11-16", "--until", "2026-12-01"], "2026-11-16T00:00:00Z", "2026-12-01T00:00:00Z"),
        ] {
            let result = try shop.run(["report", "--json"] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
            let report = try #require(result.object["period"] as? [String: Any])
            let formatter = ISO8601DateFormatter()
            let start = Int64(try #require(formatter.date(from: since)).timeIntervalSince1970 * 1000)
            let end = Int64(try #require(formatter.date(from: until)).timeIntervalSince1970 * 1000)
            try queue.read { db in
                let period = "o.created_at >= \(start) AND o.created_at < \(end)"
                let count = { (sql: String) in try Int.fetchOne(db, sql: sql) ?? -1 }
                #expect(report["orders"] as? Int == (try count("SELECT COUNT(*) FROM orders o WHERE \(period)")))
                var channels: [String: Int] = [:]
                for row in try Row.fetchAll(
                    db, sql: "SELECT channel, COUNT(*) AS n FROM orders o WHERE \(period) GROUP BY channel")
                {
                    channels[row["channel"]] = row["n"]
                }
                #expect(report["orders_by_channel"] as? [String: Int] == channels)
                let money = report["money"] as? [String: [String: Any]] ?? [:]
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT o.currency,
                               COALESCE((SELECT SUM(p.amount_minor) FROM payments p JOIN orders x ON x.id = p.order_id
                                         WHERE p.kind = 'capture' AND x.currency = o.currency
                                           AND x.created_at >= \(start) AND x.created_at < \(end)), 0) AS captured,
                               COALESCE((SELECT SUM(r.amount_minor) FROM refunds r JOIN orders x ON x.id = r.order_id
                                         WHERE x.currency = o.currency
                                           AND x.created_at >= \(start) AND x.created_at < \(end)), 0) AS refunded
                        FROM orders o WHERE \(period) GROUP BY o.currency
                        """)
                {
                    let figures = money[row["currency"] as String]
                    #expect(figures?["captured_minor"] as? Int == row["captured"], "\(row)")
                    #expect(figures?["refunded_minor"] as? Int == row["refunded"], "\(row)")
                }
                var byChannel: [String: [String: Int]] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT o.channel, o.currency,
                               COALESCE(SUM((SELECT SUM(amount_minor) FROM payments p WHERE p.order_id = o.id AND p.kind = 'capture')), 0)
                             - COALESCE(SUM((SELECT SUM(amount_minor) FROM refunds r WHERE r.order_id = o.id)), 0) AS revenue
                        FROM orders o WHERE \(period) GROUP BY o.channel, o.currency
                        """)
                {
                    byChannel[row["channel"], default: [:]][row["currency"]] = row["revenue"]
                }
                #expect(report["revenue_by_channel_minor"] as? [String: [String: Int]] == byChannel)
                #expect(
                    report["cancelled"] as? Int
                        == (try count("SELECT COUNT(*) FROM orders o WHERE \(period) AND cancelled_at IS NOT NULL")))
                #expect(
                    report["refunded_orders"] as? Int
                        == (try count(
                            "SELECT COUNT(DISTINCT r.order_id) FROM refunds r JOIN orders o ON o.id = r.order_id WHERE \(period)"
                        )))
                #expect(
                    report["shipped_orders"] as? Int
                        == (try count(
                            "SELECT COUNT(DISTINCT f.order_id) FROM fulfilments f JOIN orders o ON o.id = f.order_id WHERE \(period) AND f.shipped_at IS NOT NULL"
                        )))
                #expect(
                    report["customers"] as? Int
                        == (try count("SELECT COUNT(DISTINCT customer_id) FROM orders o WHERE \(period)")))
                #expect(
                    report["new_customers"] as? Int
                        == (try count(
                            """
                            SELECT COUNT(*) FROM (SELECT customer_id, MIN(created_at) AS first FROM orders GROUP BY customer_id)
                            WHERE first >= \(start) AND first < \(end)
                            """)))
                let skus = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT l.sku, SUM(l.quantity) AS units FROM order_lines l JOIN orders o ON o.id = l.order_id
                        WHERE \(period) AND o.cancelled_at IS NULL GROUP BY l.sku ORDER BY units DESC, l.sku LIMIT 5
                        """
                ).map { [$0["sku"] as String: $0["units"] as Int] }
                #expect(
                    (report["top_skus"] as? [[String: Any]])?.map {
                        [$0["sku"] as? String ?? "": $0["units"] as? Int ?? 0]
                    } == skus)
                #expect(
                    report["returned_orders"] as? Int
                        == (try count(
                            "SELECT COUNT(DISTINCT r.order_id) FROM returns r JOIN orders o ON o.id = r.order_id WHERE \(period) AND r.cancelled_at IS NULL AND EXISTS (SELECT 1 FROM fulfilments f WHERE f.order_id = o.id AND f.shipped_at IS NOT NULL)"
                        )))
                var reasons: [String: Int] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql:
                        "SELECT r.reason, COUNT(*) AS n FROM returns r JOIN orders o ON o.id = r.order_id WHERE \(period) AND r.cancelled_at IS NULL GROUP BY r.reason"
                ) {
                    reasons[row["reason"]] = row["n"]
                }
                #expect(report["return_reasons"] as? [String: Int] == reasons)
                #expect(
                    report["parcels_delayed"] as? Int
                        == (try count(
                            "SELECT COUNT(DISTINCT t.fulfilment_id) FROM tracking_events t JOIN orders o ON o.id = t.order_id WHERE \(period) AND t.kind = 'delayed'"
                        )))
                #expect(
                    report["repeat_customers"] as? Int
                        == (try count(
                            """
                            SELECT COUNT(*) FROM (SELECT DISTINCT customer_id FROM orders o WHERE \(period)) p
                            WHERE (SELECT COUNT(*) FROM orders x WHERE x.customer_id = p.customer_id) >= 2
                            """)))
                let deliver = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT (MIN(f.delivered_at) - MIN(f.shipped_at)) / 3600000.0 AS h FROM fulfilments f
                        JOIN orders o ON o.id = f.order_id WHERE \(period) AND f.shipped_at IS NOT NULL
                        GROUP BY o.id HAVING MIN(f.delivered_at) IS NOT NULL ORDER BY h
                        """
                ).map { $0["h"] as Double }
                #expect((report["hours_to_deliver"] as? [String: Any])?["count"] as? Int == deliver.count)
                for (code, figures) in money {
                    let paid = figures["paid_orders"] as? Int ?? 0
                    let revenue = (figures["captured_minor"] as? Int ?? 0) - (figures["refunded_minor"] as? Int ?? 0)
                    #expect(
                        figures["average_order_minor"] as? Int == (paid == 0 ? 0 : (revenue + paid / 2) / paid),
                        "\(code)")
                }
                // Hours to ship: first shipment after the first capture, per shipped order.
                let hours = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT (MIN(f.shipped_at) - COALESCE((SELECT MIN(p.at) FROM payments p WHERE p.order_id = o.id
                                                              AND p.kind = 'capture'), o.created_at)) / 3600000.0 AS h
                        FROM fulfilments f JOIN orders o ON o.id = f.order_id
                        WHERE \(period) AND f.shipped_at IS NOT NULL GROUP BY o.id ORDER BY h
                        """
                ).map { $0["h"] as Double }
                let ship = report["hours_to_ship"] as? [String: Any]
                #expect(ship?["count"] as? Int == hours.count)
                if !hours.isEmpty {
                    let median =
                        hours.count % 2 == 1
                        ? hours[hours.count / 2] : (hours[hours.count / 2 - 1] + hours[hours.count / 2]) / 2
                    #expect(ship?["median_hours"] as? Double == median)
                }
            }
        }
        let human = try shop("report", "--week", "2026-W48")
        #expect(human.status == 0)
        #expect(human.stdout.contains("revenue EUR"))
        let bad = try shop("report", "--week", "2026-48")
        #expect(bad.status == 65 && bad.stderr.contains("ISO week"))
    }
}
