import Foundation
import OrderDomain
import OutpostCore
import Plot

/// `outpost report --html FILE`: the report as one self-contained page — inline CSS and SVG, no script, no
/// font or image from the network — readable on a phone and printable. A row of figures with their change
/// against the period before, then four charts: orders per day by channel, the time-to-ship distribution,
/// return reasons, and refunds per day. The HTML is built with Plot; the charts are SVG drawn here (no library
/// draws SVG charts without a browser).
public enum ReportPage {
    /// The page for `report`, compared with `previous`, titled with `shop`.
    public static func html(_ report: Report, previous: Report, shop: String) -> String {
        let title = "\(shop): \(day(report.since)) – \(day(report.until - 1))"
        let page = HTML(
            .lang(.english),
            .head(
                .encoding(.utf8), .title(title), .viewport(.accordingToDevice),
                .style(css)),
            .body(
                .header(
                    .h1(.text(title)),
                    .p(.class("period"), .text("compared with \(day(previous.since)) – \(day(previous.until - 1))"))),
                .section(
                    .class("figures"),
                    .forEach(figures(report, previous)) { figure in
                        .div(
                            .class("figure"), .p(.class("label"), .text(figure.label)),
                            .p(.class("value"), .text(figure.value)), .p(.class("change"), .text(figure.change)))
                    }),
                .section(
                    .class("charts"),
                    chart("Orders per day by channel", "orders-per-day", ordersPerDay(report)),
                    chart("Hours from payment to shipment", "time-to-ship", timeToShip(report)),
                    chart("Return reasons", "return-reasons", returnReasons(report)),
                    chart("Refunds per day", "refunds-per-day", refundsPerDay(report))),
                .footer(
                    .p(.text("Every figure is defined in Outpost's README (\"The report\"). Made by outpost report.")))
            ))
        return page.render(indentedBy: .spaces(1))
    }

    struct Figure {
        var label: String
        var value: String
        var change: String
    }

    static func figures(_ report: Report, _ previous: Report) -> [Figure] {
        let percent = { (rate: Double) in String(format: "%.1f %%", rate * 100) }
        let points = { (now: Double, before: Double) in
            String(format: "%@%.1f points", now >= before ? "+" : "−", abs(now - before) * 100)
        }
        var figures = [
            Figure(
                label: "Orders", value: "\(report.orders)",
                change:
                    "\(report.orders >= previous.orders ? "+" : "−")\(abs(report.orders - previous.orders)) vs \(previous.orders)"
            )
        ]
        for (code, money) in report.money.sorted(by: { $0.key < $1.key }) {
            let digits = CurrencyCode(stored: code).minorDigits
            let before = previous.money[code]
            let format = { (minor: Int64) in "\(Money.decimalString(minor, digits: digits)) \(code)" }
            figures.append(
                Figure(
                    label: "Revenue \(code)", value: format(money.revenueMinor),
                    change: "previous \(format(before?.revenueMinor ?? 0))"))
            figures.append(
                Figure(
                    label: "Average order \(code)", value: format(money.averageOrderMinor),
                    change: "previous \(format(before?.averageOrderMinor ?? 0))"))
        }
        let rates: [(String, Double, Double)] = [
            (
                "Cancelled", Report.rate(report.cancelled, report.orders),
                Report.rate(previous.cancelled, previous.orders)
            ),
            ("Refunded", Report.rate(report.refunded, report.orders), Report.rate(previous.refunded, previous.orders)),
            (
                "Returned", Report.rate(report.returned, report.shipped),
                Report.rate(previous.returned, previous.shipped)
            ),
            (
                "Repeat customers", Report.rate(report.repeatCustomers, report.customers),
                Report.rate(previous.repeatCustomers, previous.customers)
            ),
        ]
        for (label, now, before) in rates {
            figures.append(Figure(label: label, value: percent(now), change: points(now, before)))
        }
        figures.append(
            Figure(
                label: "Time to ship",
                value: report.hoursToShip.map { String(format: "%.1f h median", $0.medianHours) } ?? "–",
                change: report.hoursToShip.map { String(format: "p90 %.1f h", $0.p90Hours) } ?? "nothing shipped"))
        figures.append(
            Figure(
                label: "New customers", value: "\(report.newCustomers) of \(report.customers)",
                change: "\(report.customers - report.newCustomers) returning"))
        return figures
    }

    /// A chart in its figure element: an SVG with a fixed view box that scales to the page's width.
    static func chart(_ title: String, _ name: String, _ svg: String) -> Node<HTML.BodyContext> {
        .element(
            named: "figure",
            nodes: [
                .attribute(named: "class", value: "chart"), .attribute(named: "data-chart", value: name),
                .element(named: "figcaption", text: title), .raw(svg),
            ])
    }

    static let channelColors = ["#2f6690", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#3a506b"]

    /// Bars of one series each, stacked, labelled below; `bars` are (label, [(series, value)]).
    static func bars(
        _ label: String, _ bars: [(String, [(String, Double)])], series: [String], unit: String
    ) -> String {
        let width = 640.0
        let height = 240.0
        let left = 44.0
        let bottom = 40.0
        let top = 12.0
        let maximum = max(1, bars.map { $0.1.reduce(0) { $0 + $1.1 } }.max() ?? 1)
        let slot = (width - left - 8) / Double(max(1, bars.count))
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height + 24))\" role=\"img\" aria-label=\"\(escape(label))\">"
        out +=
            "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 4)\" y2=\"\(height - bottom)\" class=\"axis\"/>"
        for tick in 0...4 {
            let value = maximum * Double(tick) / 4
            let y = height - bottom - (height - bottom - top) * Double(tick) / 4
            out += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" class=\"tick\" text-anchor=\"end\">\(number(value))</text>"
            out += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 4)\" y2=\"\(y)\" class=\"grid\"/>"
        }
        for (index, bar) in bars.enumerated() {
            var y = height - bottom
            let x = left + Double(index) * slot + slot * 0.15
            for (name, value) in bar.1 where value > 0 {
                let h = (height - bottom - top) * value / maximum
                y -= h
                let color = channelColors[(series.firstIndex(of: name) ?? 0) % channelColors.count]
                out +=
                    "<rect x=\(quote(x)) y=\(quote(y)) width=\(quote(slot * 0.7)) height=\(quote(h)) fill=\"\(color)\"><title>\(escape(bar.0)): \(escape(name)) \(number(value)) \(unit)</title></rect>"
            }
            if bars.count <= 16 || index % max(1, bars.count / 8) == 0 {
                out +=
                    "<text x=\(quote(x + slot * 0.35)) y=\"\(height - bottom + 16)\" class=\"tick\" text-anchor=\"middle\">\(escape(bar.0))</text>"
            }
        }
        // The legend, one entry per series.
        for (index, name) in series.enumerated() {
            let x = left + Double(index) * 120
            out +=
                "<rect x=\(quote(x)) y=\"\(height + 4)\" width=\"12\" height=\"12\" fill=\"\(channelColors[index % channelColors.count])\"/>"
            out += "<text x=\(quote(x + 16)) y=\"\(height + 15)\" class=\"tick\">\(escape(name))</text>"
        }
        if bars.allSatisfy({ $0.1.allSatisfy { $0.1 == 0 } }) {
            out +=
                "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" class=\"empty\">none in this period</text>"
        }
        return out + "</svg>"
    }

    static func ordersPerDay(_ report: Report) -> String {
        let channels = Set(report.ordersPerDay.values.flatMap(\.keys)).sorted()
        let days = report.ordersPerDay.keys.sorted().map { start in
            (String(day(start).suffix(5)), channels.map { ($0, Double(report.ordersPerDay[start]?[$0] ?? 0)) })
        }
        return bars("Orders per day by channel", days, series: channels.isEmpty ? ["orders"] : channels, unit: "orders")
    }

    static func timeToShip(_ report: Report) -> String {
        let edges: [(String, Double)] = [
            ("< 6 h", 6), ("6–12 h", 12), ("12–24 h", 24), ("1–2 d", 48), ("2–4 d", 96), ("4 d +", .infinity),
        ]
        var lower = -Double.infinity
        let bins = edges.map { name, upper -> (String, [(String, Double)]) in
            defer { lower = upper }
            return (name, [("orders", Double(report.shipHours.filter { $0 >= lower && $0 < upper }.count))])
        }
        return bars("Hours from payment to shipment", bins, series: ["orders"], unit: "orders")
    }

    static func returnReasons(_ report: Report) -> String {
        let reasons = ReturnReason.allCases.map(\.rawValue).map {
            ($0.replacingOccurrences(of: "_", with: " "), [("returns", Double(report.returnReasons[$0] ?? 0))])
        }
        return bars("Return reasons", reasons, series: ["returns"], unit: "returns")
    }

    static func refundsPerDay(_ report: Report) -> String {
        let currencies = Set(report.refundsPerDay.values.flatMap(\.keys)).union(report.money.keys).sorted()
        let days = report.ordersPerDay.keys.sorted().map { start in
            (
                String(day(start).suffix(5)),
                currencies.map { code in
                    let digits = CurrencyCode(stored: code).minorDigits
                    return (code, Double(report.refundsPerDay[start]?[code] ?? 0) / pow(10, Double(digits)))
                }
            )
        }
        return bars("Refunds per day", days, series: currencies.isEmpty ? ["refunds"] : currencies, unit: "")
    }

    static func day(_ milliseconds: Int64) -> String { UTCTime.day(milliseconds) }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) : String(format: "%.2f", value)
    }

    static func quote(_ value: Double) -> String { "\"\(String(format: "%.1f", value))\"" }

    /// Text for SVG markup: the five XML specials escaped.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    static let css = """
        :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
        body { margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1b1b1b; background: #fff; }
        h1 { font-size: 1.4rem; margin: 0.5rem 0 0; }
        .period { color: #555; margin: 0.2rem 0 1rem; }
        .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: 0.6rem; }
        .figure { border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 0.7rem; }
        .figure p { margin: 0; }
        .label { color: #555; font-size: 0.8rem; }
        .value { font-size: 1.2rem; font-weight: 600; }
        .change { color: #555; font-size: 0.8rem; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; margin-top: 1rem; }
        figure.chart { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem; }
        figcaption { font-weight: 600; margin-bottom: 0.3rem; }
        svg { width: 100%; height: auto; display: block; }
        svg .axis { stroke: #333; } svg .grid { stroke: #eee; }
        svg .tick { font-size: 11px; fill: #444; } svg .empty { font-size: 14px; fill: #888; }
        footer { color: #777; font-size: 0.8rem; margin-top: 1.5rem; }
        @media print { body { max-width: none; } .charts { grid-template-columns: 1fr 1fr; } figure.chart { break-inside: avoid; } }
        """
}
