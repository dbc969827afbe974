import CSV
import Foundation
import OrderDomain
import OutpostCore
import Replica

/// Orders, lines and customers out as CSV (written with CSV.swift) or JSON lines: the columns an accountant's
/// spreadsheet needs — amounts in decimal and in minor units with their currency, status and financial status,
/// times in RFC 3339 UTC (README, "Exports").
public enum OrderExport {
    /// What to export.
    public enum Kind: String, CaseIterable, Sendable {
        case orders, lines, customers
    }

    /// How to write it.
    public enum Format: String, CaseIterable, Sendable {
        case csv, jsonl
    }

    /// The table of `kind` for `orders`: a header and one row per order, line or customer (customers: those
    /// with an order among `orders`, with their order count and spend per currency).
    public static func table(_ kind: Kind, _ orders: [(order: Order, customer: Customer?)]) -> (
        header: [String], rows: [[String]]
    ) {
        switch kind {
        case .orders: return (orderHeader, orders.map(orderRow))
        case .lines: return (lineHeader, orders.flatMap(lineRows))
        case .customers: return customerTable(orders)
        }
    }

    /// Writes the table as CSV or JSON lines to `stream`.
    public static func write(header: [String], rows: [[String]], format: Format, to stream: OutputStream) throws {
        switch format {
        case .csv:
            let writer = try CSVWriter(stream: stream)
            try writer.write(row: header)
            for row in rows { try writer.write(row: row) }
            writer.stream.close()
        case .jsonl:
            stream.open()
            defer { stream.close() }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for row in rows {
                var object: [String: String] = [:]
                for (index, column) in header.enumerated() where index < row.count && !row[index].isEmpty {
                    object[column] = row[index]
                }
                var bytes = [UInt8](try encoder.encode(object))
                bytes.append(UInt8(ascii: "\n"))
                let written = bytes.withUnsafeBufferPointer { buffer in
                    buffer.baseAddress.map { stream.write($0, maxLength: buffer.count) } ?? 0
                }
                guard written == bytes.count else { throw CSVError.cannotWriteStream }
            }
        }
    }

    static let orderHeader = [
        "number", "id", "created_at", "channel", "location", "status", "financial_status", "customer_email",
        "customer_name", "currency", "subtotal", "shipping", "tax", "discount", "total", "paid", "refunded",
        "balance_due", "subtotal_minor", "shipping_minor", "tax_minor", "discount_minor", "total_minor",
        "paid_minor", "refunded_minor", "balance_due_minor", "items", "tags", "cancelled_at",
    ]

    static func orderRow(_ entry: (order: Order, customer: Customer?)) -> [String] {
        let order = entry.order
        let progress = order.progress
        let money = { (minor: Int64) in Money.decimalString(minor, digits: order.currency.minorDigits) }
        let amounts = [
            progress.subtotalMinor, order.shippingMinor, order.taxMinor, order.discountMinor, progress.totalMinor,
            progress.capturedMinor, progress.refundedMinor, progress.balanceDueMinor,
        ]
        return [
            order.number, order.id, time(order.createdAt), order.channel.rawValue, order.location,
            progress.status.rawValue, progress.financialStatus.rawValue, entry.customer?.email ?? "",
            entry.customer?.name ?? "", order.currency.code,
        ] + amounts.map(money) + amounts.map { "\($0)" } + [
            "\(order.lines.reduce(Int64(0)) { $0 + $1.quantity })", order.tags.sorted().joined(separator: " "),
            order.cancelledAt.map(time) ?? "",
        ]
    }

    static let lineHeader = [
        "order_number", "order_id", "created_at", "line_id", "sku", "name", "quantity", "shipped", "returned",
        "currency", "unit_price", "line_total", "unit_price_minor", "line_total_minor",
    ]

    static func lineRows(_ entry: (order: Order, customer: Customer?)) -> [[String]] {
        let order = entry.order
        let progress = order.progress
        return order.lines.map { line in
            let state = progress.lines.first { $0.lineID == line.id }
            let (total, overflow) = line.quantity.multipliedReportingOverflow(by: line.unitPriceMinor)
            let lineTotal = overflow ? Int64.max : total
            let money = { (minor: Int64) in Money.decimalString(minor, digits: order.currency.minorDigits) }
            return [
                order.number, order.id, time(order.createdAt), line.id, line.sku, line.name, "\(line.quantity)",
                "\(state?.shipped ?? 0)", "\(state?.returned ?? 0)", order.currency.code, money(line.unitPriceMinor),
                money(lineTotal), "\(line.unitPriceMinor)", "\(lineTotal)",
            ]
        }
    }

    static func customerTable(_ orders: [(order: Order, customer: Customer?)]) -> (
        header: [String], rows: [[String]]
    ) {
        struct Tally {
            var customer: Customer
            var orders = 0
            var first = Int64.max
            var last = Int64.min
            var spent: [String: Int64] = [:]
        }
        var tallies: [String: Tally] = [:]
        for (order, customer) in orders {
            guard let customer else { continue }
            var tally = tallies[customer.id] ?? Tally(customer: customer)
            tally.orders += 1
            tally.first = min(tally.first, order.createdAt)
            tally.last = max(tally.last, order.createdAt)
            let progress = order.progress
            tally.spent[order.currency.code, default: 0] += progress.capturedMinor - progress.refundedMinor
            tallies[customer.id] = tally
        }
        let header = [
            "email", "id", "name", "phone", "orders", "first_order_at", "last_order_at", "spent", "spent_minor",
        ]
        let rows = tallies.values.sorted { $0.customer.email < $1.customer.email }.map { tally -> [String] in
            let currencies = tally.spent.keys.sorted()
            let spent = currencies.map { code in
                let digits = (try? CurrencyCode(code))?.minorDigits ?? 2
                return "\(Money.decimalString(tally.spent[code] ?? 0, digits: digits)) \(code)"
            }
            return [
                tally.customer.email, tally.customer.id, tally.customer.name ?? "", tally.customer.phone ?? "",
                "\(tally.orders)", time(tally.first), time(tally.last), spent.joined(separator: "; "),
                currencies.map { "\(tally.spent[$0] ?? 0) \($0)" }.joined(separator: "; "),
            ]
        }
        return (header, rows)
    }

    /// RFC 3339 UTC with milliseconds.
    static func time(_ milliseconds: Int64) -> String { UTCTime.rfc3339(milliseconds) }
}
