import ArgumentParser
import Foundation
import OrderDomain
import OutpostCore
import Replica
import ReportPage

/// A period's figures: orders, money, shipping times, cancellations, refunds, returns, customers, SKUs.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "A week's (or any period's) figures, against the period before.",
        discussion: """
            An order belongs to the period it was created in (UTC); money is per currency; an order cancelled and \
            then refunded counts as cancelled. Every figure is defined in README ("The report"). Without a \
            period: the last seven days.

            Examples:
              outpost report --week 2026-W48
              outpost report --since 2026-11-01 --until 2026-12-01 --json
              outpost report --week 2026-W48 --html week48.html
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "An ISO week, e.g. 2026-W48 (Monday 00:00 UTC to the next Monday).") var week: String?
    @Option(help: "From this time (RFC 3339 UTC or YYYY-MM-DD).") var since: String?
    @Option(help: "Until this time, not included (RFC 3339 UTC or YYYY-MM-DD).") var until: String?
    @Option(help: "Also write the report as one self-contained HTML page (charts included) to this file.")
    var html: String?

    func run() async throws {
        try await guarded {
            let replica = try global.replica()
            let (start, end) = try period(now: Int64(Date().timeIntervalSince1970 * 1000))
            let report = try await replica.queries.report(since: start, until: end)
            let previous = try await replica.queries.report(since: start - (end - start), until: start)
            if let html {
                let page = ReportPage.html(report, previous: previous, shop: replica.identity.name)
                try AtomicFile.write(Array(page.utf8), to: html)
            }
            if global.json {
                return printJSON(["period": Self.document(report), "previous": Self.document(previous)])
            }
            Self.print(report, previous)
        }
    }

    /// The period the options name.
    func period(now: Int64) throws -> (Int64, Int64) {
        if let week {
            guard since == nil, until == nil else {
                throw CLIError(64, "--week and --since/--until name a period each", hint: "give one of them")
            }
            return try Self.isoWeek(week)
        }
        let end = try until.map(parseTime) ?? now
        let start = try since.map(parseTime) ?? end - 7 * 86_400_000
        guard start < end else {
            throw CLIError(65, "the period ends before it starts", hint: "give --since before --until")
        }
        return (start, end)
    }

    /// Monday 00:00 UTC of ISO week `text` (YYYY-Www) and the Monday after.
    static func isoWeek(_ text: String) throws -> (Int64, Int64) {
        let parts = text.split(separator: "-W")
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard parts.count == 2, let year = Int(parts[0]), let week = Int(parts[1]), (1...53).contains(week),
            let monday = calendar.date(
                from: DateComponents(weekday: 2, weekOfYear: week, yearForWeekOfYear: year)),
            calendar.component(.yearForWeekOfYear, from: monday) == year
        else {
            throw CLIError(65, "'\(text)' is not an ISO week", hint: "write the year and the week, e.g. 2026-W48")
        }
        let start = Int64(monday.timeIntervalSince1970 * 1000)
        return (start, start + 7 * 86_400_000)
    }

    static func document(_ report: Report) -> [String: Any] {
        let distribution = { (value: Report.Distribution?) -> Any in
            value.map { ["count": $0.count, "median_hours": $0.medianHours, "p90_hours": $0.p90Hours] } ?? NSNull()
        }
        return [
            "since": rfc3339(report.since), "until": rfc3339(report.until), "orders": report.orders,
            "orders_by_channel": report.ordersByChannel, "revenue_by_channel_minor": report.revenueByChannel,
            "money": report.money.mapValues {
                [
                    "orders": $0.orders, "captured_minor": $0.capturedMinor, "refunded_minor": $0.refundedMinor,
                    "revenue_minor": $0.revenueMinor, "paid_orders": $0.paidOrders,
                    "average_order_minor": $0.averageOrderMinor,
                ]
            },
            "hours_to_ship": distribution(report.hoursToShip), "hours_to_deliver": distribution(report.hoursToDeliver),
            "cancelled": report.cancelled, "cancellation_rate": Report.rate(report.cancelled, report.orders),
            "refunded_orders": report.refunded, "refund_rate": Report.rate(report.refunded, report.orders),
            "shipped_orders": report.shipped, "returned_orders": report.returned,
            "return_rate": Report.rate(report.returned, report.shipped), "return_reasons": report.returnReasons,
            "parcels_delayed": report.parcelsDelayed, "parcels_failed": report.parcelsFailed,
            "customers": report.customers, "new_customers": report.newCustomers,
            "returning_customers": report.customers - report.newCustomers,
            "repeat_customers": report.repeatCustomers,
            "repeat_rate": Report.rate(report.repeatCustomers, report.customers),
            "top_skus": report.topSKUs.map { ["sku": $0.sku, "units": $0.units] as [String: Any] },
            "oversold_orders": report.oversoldOrders, "attention_at_end": report.attentionAtEnd,
        ]
    }

    static func print(_ report: Report, _ previous: Report) {
        let day = UTCTime.day
        let percent = { (rate: Double) in String(format: "%.1f %%", rate * 100) }
        let change = { (now: Int, before: Int) in "(\(now - before >= 0 ? "+" : "")\(now - before) vs \(before))" }
        Swift.print(
            "report \(day(report.since)) – \(day(report.until)) (previous: \(day(previous.since)) – \(day(previous.until)))"
        )
        var rows: [[String]] = [["orders", "\(report.orders) \(change(report.orders, previous.orders))"]]
        if !report.ordersByChannel.isEmpty {
            rows.append([
                "  by channel",
                report.ordersByChannel.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    .joined(separator: ", "),
            ])
        }
        for (code, figures) in report.money.sorted(by: { $0.key < $1.key }) {
            let digits = CurrencyCode(stored: code).minorDigits
            let money = { (minor: Int64) in Money.decimalString(minor, digits: digits) }
            let before = previous.money[code]?.revenueMinor ?? 0
            rows.append([
                "revenue \(code)",
                "\(money(figures.revenueMinor)) (previous \(money(before))); captured \(money(figures.capturedMinor)), refunded \(money(figures.refundedMinor))",
            ])
            rows.append(["average order \(code)", money(figures.averageOrderMinor)])
            let channels = report.revenueByChannel.sorted { $0.key < $1.key }.compactMap { channel, revenue in
                revenue[code].map { "\(channel) \(money($0))" }
            }
            if channels.count > 1 { rows.append(["  by channel", channels.joined(separator: ", ")]) }
        }
        let hours = { (value: Report.Distribution?) in
            value.map { String(format: "median %.1f h, p90 %.1f h (%d orders)", $0.medianHours, $0.p90Hours, $0.count) }
                ?? "-"
        }
        rows += [
            ["time to ship", hours(report.hoursToShip)], ["time to deliver", hours(report.hoursToDeliver)],
            ["cancellations", "\(report.cancelled) (\(percent(Report.rate(report.cancelled, report.orders))))"],
            ["refunds", "\(report.refunded) orders (\(percent(Report.rate(report.refunded, report.orders))))"],
            [
                "returns",
                "\(report.returned) of \(report.shipped) shipped (\(percent(Report.rate(report.returned, report.shipped))))"
                    + (report.returnReasons.isEmpty
                        ? ""
                        : ": "
                            + report.returnReasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                            .joined(separator: ", ")),
            ],
            ["carrier trouble", "\(report.parcelsDelayed) delayed, \(report.parcelsFailed) failed parcels"],
            [
                "customers",
                "\(report.customers): \(report.newCustomers) new, \(report.customers - report.newCustomers) returning; \(report.repeatCustomers) repeat (\(percent(Report.rate(report.repeatCustomers, report.customers))))",
            ],
            ["top SKUs", report.topSKUs.map { "\($0.sku) \($0.units)" }.joined(separator: ", ")],
            ["oversold", "\(report.oversoldOrders) orders"],
            [
                "attention at end",
                report.attentionAtEnd.isEmpty
                    ? "nothing"
                    : report.attentionAtEnd.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                        .joined(separator: ", "),
            ],
        ]
        Swift.print(table(["FIGURE", "VALUE"], rows))
    }
}
