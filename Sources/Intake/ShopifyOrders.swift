import CSV
import Foundation
import OrderDomain
import Replica

/// Shopify's order export (Admin → Orders → Export, CSV): one row per line item, the order's own columns on its
/// first row, rows of one order next to each other (README, "Imports"). Read with CSV.swift, streaming, so a
/// large export never sits in memory whole.
public enum ShopifyOrders {
    /// Columns an export must have to be read at all.
    public static let requiredColumns = [
        "Name", "Email", "Financial Status", "Currency", "Created at", "Lineitem quantity", "Lineitem name",
        "Lineitem price",
    ]

    /// Reads the export at `path`.
    ///
    /// - Throws: `SourceFileError` when the file cannot be read or is not a Shopify order export (a required
    ///   column is missing); problems with single orders are returned in `SourceOrders.problems` instead.
    public static func read(path: String) throws -> SourceOrders {
        guard let stream = InputStream(fileAtPath: path) else {
            throw SourceFileError("cannot read \(path)", hint: "check the path and its permissions", unreadable: true)
        }
        return try read(stream: stream, name: path)
    }

    /// Reads an export from `stream` (`name` is for messages).
    public static func read(stream: InputStream, name: String) throws -> SourceOrders {
        let reader: CSVReader
        do {
            reader = try CSVReader(stream: stream, hasHeaderRow: true)
        } catch {
            throw SourceFileError("\(name) is not a CSV file: \(error)", hint: "export the orders from Shopify again")
        }
        let header = reader.headerRow ?? []
        let missing = requiredColumns.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw SourceFileError(
                "\(name) is not a Shopify order export: it lacks the column(s) \(missing.joined(separator: ", "))",
                hint: "in Shopify's admin, export the orders as CSV (\"Plain CSV file\") and import that file")
        }
        var columns: [String: Int] = [:]
        for (index, column) in header.enumerated() where columns[column] == nil { columns[column] = index }
        var result = SourceOrders()
        var group: [Row] = []
        var record = 0
        func flush() {
            guard let first = group.first else { return }
            do {
                result.orders.append((first.record, first["Name"] ?? "", try order(group)))
            } catch let error as SourceError {
                result.problems.append(
                    ImportProblem(record: first.record, order: first["Name"] ?? "", reason: error.message))
            } catch let error as DomainError {
                result.problems.append(
                    ImportProblem(record: first.record, order: first["Name"] ?? "", reason: error.message))
            } catch {
                result.problems.append(
                    ImportProblem(record: first.record, order: first["Name"] ?? "", reason: "\(error)"))
            }
            group = []
        }
        while let fields = reader.next() {
            record += 1
            let row = Row(record: record, fields: fields, columns: columns)
            let name = row["Name"] ?? ""
            if name.isEmpty {
                result.problems.append(ImportProblem(record: record, order: "", reason: "the row has no order Name"))
                continue
            }
            if let current = group.first?["Name"], current != name { flush() }
            group.append(row)
        }
        flush()
        // CSV.swift reports the end of the stream as `cannotReadFile`; anything else stopped the reading early.
        if let error = reader.error, !Self.isEndOfFile(error) {
            let why =
                if case CSVError.unicodeDecoding = error { "it is not UTF-8 text" } else { "\(error)" }
            result.problems.append(
                ImportProblem(
                    record: record + 1, order: "",
                    reason: "reading stopped after record \(record): \(why); the records after it were not read"))
        }
        return result
    }

    private static func isEndOfFile(_ error: any Error) -> Bool {
        if case CSVError.cannotReadFile = error { return true }
        return false
    }

    /// One CSV row with its columns by name.
    struct Row {
        let record: Int
        let fields: [String]
        let columns: [String: Int]

        subscript(_ column: String) -> String? {
            guard let index = columns[column], index < fields.count else { return nil }
            let value = fields[index].trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
    }

    /// The order of one group of rows (its line items), with its history.
    static func order(_ rows: [Row]) throws -> ImportedOrder {
        guard let first = rows.first, let name = first["Name"] else { throw SourceError("the order has no Name") }
        guard let email = first["Email"] else {
            throw SourceError("the order has no e-mail address (Outpost keys customers by e-mail)")
        }
        let currency: CurrencyCode
        do {
            currency = try CurrencyCode(first["Currency"] ?? "")
        } catch {
            throw SourceError("the currency '\(first["Currency"] ?? "")' is not an ISO 4217 code")
        }
        guard let created = try SourceValues.shopifyTime(first["Created at"], field: "Created at") else {
            throw SourceError("the order has no 'Created at' time")
        }
        let key = "shopify:" + (first["Id"] ?? name)
        let orderID = Identifiers.sourceID(key + ":order")
        let number = "SHOP-" + name.trimmingCharacters(in: CharacterSet(charactersIn: "#"))
        var order = Order(
            id: orderID, number: number, customerID: "", channel: .shopify,
            location: first["Location"].flatMap { (try? InputRules.checkText($0, field: "location")) != nil ? $0 : nil }
                ?? "main",
            currency: currency,
            shippingMinor: try SourceValues.minor(first["Shipping"], currency, field: "Shipping") ?? 0,
            taxMinor: try SourceValues.minor(first["Taxes"], currency, field: "Taxes") ?? 0,
            discountMinor: try SourceValues.minor(first["Discount Amount"], currency, field: "Discount Amount") ?? 0,
            createdAt: created, notes: first["Notes"],
            phone: first["Phone"] ?? first["Shipping Phone"] ?? first["Billing Phone"],
            address: SourceValues.address(
                [
                    "Shipping Name", "Shipping Address1", "Shipping Address2", "Shipping City", "Shipping Zip",
                    "Shipping Province", "Shipping Country",
                ].map { first[$0] }),
            tags: SourceValues.tags((first["Tags"] ?? "").split(separator: ",").map(String.init)))
        var fulfilled: [LineQuantity] = []
        for (index, row) in rows.enumerated() {
            guard let quantityText = row["Lineitem quantity"], let quantity = Int64(quantityText), quantity > 0 else {
                throw SourceError(
                    "\(row.record == first.record ? "" : "record \(row.record): ")the line item quantity '\(row["Lineitem quantity"] ?? "")' is not a positive whole number"
                )
            }
            let lineName = row["Lineitem name"] ?? "Item"
            guard let price = try SourceValues.minor(row["Lineitem price"], currency, field: "Lineitem price") else {
                throw SourceError(
                    "\(row.record == first.record ? "" : "record \(row.record): ")the line item '\(lineName)' has no price"
                )
            }
            let line = OrderLine(
                id: Identifiers.sourceID(key + ":line:\(index)"),
                sku: SourceValues.sku(row["Lineitem sku"], name: lineName),
                name: lineName, quantity: quantity, unitPriceMinor: price, position: Int64(index))
            order.lines.append(line)
            if row["Lineitem fulfillment status"] == "fulfilled" {
                fulfilled.append(LineQuantity(lineID: line.id, quantity: quantity))
            }
        }
        let paidAt = try SourceValues.shopifyTime(first["Paid at"], field: "Paid at") ?? created
        let cancelledAt = try SourceValues.shopifyTime(first["Cancelled at"], field: "Cancelled at")
        let fulfilledAt = try SourceValues.shopifyTime(first["Fulfilled at"], field: "Fulfilled at")
        let itemsMinor = order.lines.reduce(Int64(0)) { $0 + $1.quantity * $1.unitPriceMinor }
        let total =
            try SourceValues.minor(first["Total"], currency, field: "Total")
            ?? (itemsMinor + order.shippingMinor + order.taxMinor - order.discountMinor)
        let method = SourceValues.method(first["Payment Method"])
        func payment(_ kind: PaymentKind, _ amount: Int64, at: Int64, _ suffix: String, reference: String? = nil)
            -> Payment
        {
            Payment(
                id: Identifiers.sourceID(key + ":payment:" + suffix), orderID: orderID, kind: kind, amountMinor: amount,
                method: method, reference: reference, at: at, note: first["Payment Reference"])
        }
        let status = (first["Financial Status"] ?? "pending").lowercased()
        switch status {
        case "paid", "partially_refunded", "refunded":
            order.payments.append(payment(.capture, total, at: paidAt, "capture"))
        case "partially_paid":
            let outstanding = try SourceValues.minor(
                first["Outstanding Balance"], currency, field: "Outstanding Balance")
            order.payments.append(payment(.capture, total - (outstanding ?? 0), at: paidAt, "capture"))
        case "authorized":
            order.payments.append(payment(.authorize, total, at: paidAt, "authorize"))
        case "voided":
            let authorization = payment(.authorize, total, at: created, "authorize")
            order.payments.append(authorization)
            order.payments.append(
                payment(
                    .void, total, at: max(created + 1, cancelledAt ?? created + 1), "void", reference: authorization.id)
            )
        case "pending", "expired", "":
            break
        default:
            throw SourceError("the financial status '\(status)' is not one Shopify exports")
        }
        let status2 = (first["Fulfillment Status"] ?? "unfulfilled").lowercased()
        let shipped: [LineQuantity] =
            switch status2 {
            case "fulfilled": order.lines.map { LineQuantity(lineID: $0.id, quantity: $0.quantity) }
            case "partial": fulfilled
            default: []
            }
        var latest = max(created, paidAt)
        if !shipped.isEmpty {
            let at = max(fulfilledAt ?? paidAt, paidAt)
            latest = max(latest, at)
            order.fulfilments.append(
                Fulfilment(
                    id: Identifiers.sourceID(key + ":fulfilment"), orderID: orderID, lines: shipped, packedAt: at,
                    shippedAt: at, shipTo: order.address))
        }
        if let cancelledAt {
            order.cancelledAt = max(cancelledAt, created)
            order.cancelReason = "cancelled in Shopify"
            latest = max(latest, cancelledAt)
        }
        var refunded = try SourceValues.minor(first["Refunded Amount"], currency, field: "Refunded Amount") ?? 0
        if status == "refunded" && refunded == 0 { refunded = total }
        if refunded > 0 {
            // The export has no refund time: a second after the last thing it does date.
            order.refunds.append(
                Refund(
                    id: Identifiers.sourceID(key + ":refund"), orderID: orderID, amountMinor: refunded,
                    reason: "refunded in Shopify", at: latest + 1000))
        }
        let customer = Customer(
            email: email, name: first["Billing Name"] ?? first["Shipping Name"], phone: order.phone,
            address: order.address, createdAt: created)
        return ImportedOrder(customer: customer, order: order)
    }
}

/// A source file that cannot be read at all.
public struct SourceFileError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// What to do.
    public let hint: String
    /// The file could not be read at all (rather than read and found to be something else).
    public let unreadable: Bool

    init(_ message: String, hint: String, unreadable: Bool = false) {
        self.message = message
        self.hint = hint
        self.unreadable = unreadable
    }

    public var description: String { "\(message) (hint: \(hint))" }
}
