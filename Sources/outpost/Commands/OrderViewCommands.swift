import ArgumentParser
import Foundation
import OrderDomain
import Replica

/// Reading orders: one in full, or a filtered list.
extension OrderCommand {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an order with its lines, facts, status, timeline and conflicts.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(help: "Read the flags as of this time (RFC 3339 UTC or YYYY-MM-DD); default now.") var asOf: String?

        func run() async throws {
            try await guarded {
                let details = try await global.replica().queries.order(order, asOf: try asOf.map(parseTime))
                if global.json { return printJSON(Documents.order(details)) }
                let currency = details.order.currency.code
                let progress = details.progress
                let marks = progress.overlays.map(\.rawValue) + details.flags.map(\.rawValue)
                print(
                    "\(details.order.number)  \(progress.status.rawValue)"
                        + (marks.isEmpty ? "" : "  [\(marks.joined(separator: ", "))]"))
                print("customer \(details.customerEmail ?? "-")   channel \(details.order.channel.rawValue)")
                print("")
                for (label, minor) in Self.moneyRows(details) {
                    print(
                        label.padding(toLength: 12, withPad: " ", startingAt: 0) + money(minor, currency)
                            + " \(currency)")
                }
                print("money       \(progress.financialStatus.rawValue)")
                print("")
                print(
                    table(
                        ["SKU", "QTY", "PRICE", "PACKED", "SHIPPED", "RETURNED"],
                        progress.lines.map {
                            [
                                $0.sku, String($0.ordered), money($0.unitPriceMinor, currency), String($0.packed),
                                String($0.shipped), String($0.returned),
                            ]
                        }))
                print("")
                for entry in details.timeline { print("\(rfc3339(entry.at))  \(entry.event)  \(entry.detail ?? "")") }
                for conflict in details.conflicts {
                    print(
                        "conflict: \(conflict.field) = \(conflict.values.map(\.description).joined(separator: " | ")) → \(conflict.winner) (\(conflict.rule.rawValue))"
                    )
                }
            }
        }
    }
}

extension OrderCommand.Show {
    /// The money breakdown `order show` prints: from the subtotal to what is due either way.
    static func moneyRows(_ details: OrderDetails) -> [(String, Int64)] {
        let order = details.order
        let progress = details.progress
        var rows: [(String, Int64)] = [("subtotal", progress.subtotalMinor)]
        if order.discountMinor > 0 { rows.append(("discount", -order.discountMinor)) }
        if order.shippingMinor > 0 { rows.append(("shipping", order.shippingMinor)) }
        if order.taxMinor > 0 { rows.append(("tax", order.taxMinor)) }
        rows.append(("total", progress.totalMinor))
        rows.append(("captured", progress.capturedMinor))
        if progress.authorizedOpenMinor > 0 { rows.append(("authorized", progress.authorizedOpenMinor)) }
        if progress.refundedMinor > 0 { rows.append(("refunded", progress.refundedMinor)) }
        if progress.balanceDueMinor > 0 { rows.append(("balance due", progress.balanceDueMinor)) }
        if progress.refundDueMinor > 0 { rows.append(("refund due", progress.refundDueMinor)) }
        return rows
    }
}

extension OrderCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List orders, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "One of the ten statuses.") var status: String?
        @Option(help: "A customer's e-mail.") var customer: String?
        @Option(help: "pos, web, marketplace, social, manual, shopify or woocommerce.") var channel: String?
        @Option(help: "At most this many.") var limit: Int?
        @Option(help: "Only orders with this overlay or flag (e.g. refund_due, ship_overdue).") var flag: String?
        @Option(help: "Text in the number, customer e-mail, name or phone, or a tracking number.") var search: String?
        @Option(help: "Only orders with this tag.") var tag: String?
        @Option(help: "Only orders with a line of this SKU.") var sku: String?
        @Option(help: "Created at or after (RFC 3339 UTC or YYYY-MM-DD).") var since: String?
        @Option(help: "Created before (RFC 3339 UTC or YYYY-MM-DD).") var until: String?
        @Option(help: "unpaid, authorized, partially_paid, paid, partially_refunded, refunded or voided.")
        var financialStatus: String?
        @Option(help: "Only orders of customers in this segment: new, repeat, vip, lapsed or returner.")
        var segment: String?
        @Option(help: "Read the flags as of this time (RFC 3339 UTC or YYYY-MM-DD); default now.") var asOf: String?

        func run() async throws {
            try await guarded {
                let known = Overlay.allCases.map(\.rawValue) + AttentionFlag.allCases.map(\.rawValue)
                if let flag, !known.contains(flag) {
                    throw CLIError(
                        64, "'\(flag)' is not an overlay or a flag",
                        hint: "use one of: \(known.joined(separator: ", "))")
                }
                var filter = OrderFilter(
                    customerEmail: customer, since: try since.map(parseTime), until: try until.map(parseTime),
                    limit: limit)
                filter.search = search
                filter.tag = tag
                filter.sku = sku
                filter.overlay = flag.flatMap(Overlay.init(rawValue:))
                filter.flag = flag.flatMap(AttentionFlag.init(rawValue:))
                filter.financialStatus = try financialStatus.map {
                    try choice(FinancialStatus.self, $0, "a financial status")
                }
                filter.segment = try segment.map { try choice(CustomerSegment.self, $0, "a customer segment") }
                filter.asOf = try asOf.map(parseTime)
                if let status {
                    guard let value = OrderStatus(rawValue: status) else {
                        throw CLIError(
                            64, "'\(status)' is not a status",
                            hint: "use one of: \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    filter.status = value
                }
                if let channel {
                    guard let value = Channel(rawValue: channel) else {
                        throw CLIError(
                            64, "'\(channel)' is not a channel", hint: "use pos, web, marketplace, social or manual")
                    }
                    filter.channel = value
                }
                let orders = try await global.replica().queries.orders(matching: filter)
                if global.json { return printJSON(orders.map(Documents.listing)) }
                print(
                    table(
                        ["NUMBER", "STATUS", "TOTAL", "CUSTOMER", "CHANNEL", "FLAGS"],
                        orders.map { order in
                            let marks = order.overlays.map(\.rawValue) + order.flags.map(\.rawValue)
                            return [
                                order.number, order.status.rawValue,
                                "\(money(order.totalMinor, order.currency)) \(order.currency)",
                                order.customerEmail ?? "-", order.channel.rawValue,
                                marks.isEmpty ? "-" : marks.joined(separator: ","),
                            ]
                        }))
            }
        }
    }
}
