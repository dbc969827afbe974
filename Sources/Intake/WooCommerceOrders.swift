import Foundation
import OrderDomain
import Replica

/// WooCommerce orders as its REST API v3 returns them (`GET /wp-json/wc/v3/orders`), one JSON object per line
/// (README, "Imports").
public enum WooCommerceOrders {
    /// Reads the JSON lines at `path`; a line that is not an order is reported with its number.
    ///
    /// - Throws: `SourceFileError` when the file cannot be read.
    public static func read(path: String) throws -> SourceOrders {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SourceFileError("cannot read \(path)", hint: "check the path and its permissions", unreadable: true)
        }
        return read(data)
    }

    /// Reads JSON lines from `data`.
    public static func read(_ data: Data) -> SourceOrders {
        var result = SourceOrders()
        var number = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }
            if trimmed.isEmpty || trimmed.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                result.problems.append(
                    ImportProblem(record: number, order: "", reason: "the line is not a JSON object"))
                continue
            }
            let name = (object["number"] as? String) ?? (object["id"].map { "\($0)" } ?? "")
            do {
                result.orders.append((number, name, try order(object)))
            } catch let error as SourceError {
                result.problems.append(ImportProblem(record: number, order: name, reason: error.message))
            } catch let error as DomainError {
                result.problems.append(ImportProblem(record: number, order: name, reason: error.message))
            } catch {
                result.problems.append(ImportProblem(record: number, order: name, reason: "\(error)"))
            }
        }
        return result
    }

    static func text(_ value: Any?) -> String? {
        switch value {
        case let text as String:
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : trimmed
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    /// The order one JSON object describes, with its history.
    static func order(_ object: [String: Any]) throws -> ImportedOrder {
        guard let id = text(object["id"]) ?? text(object["number"]) else { throw SourceError("the order has no id") }
        let billing = object["billing"] as? [String: Any] ?? [:]
        let shipping = object["shipping"] as? [String: Any] ?? [:]
        guard let email = text(billing["email"]) else {
            throw SourceError("the order has no billing e-mail address (Outpost keys customers by e-mail)")
        }
        let currency: CurrencyCode
        do {
            currency = try CurrencyCode(text(object["currency"]) ?? "")
        } catch {
            throw SourceError("the currency '\(text(object["currency"]) ?? "")' is not an ISO 4217 code")
        }
        guard let created = try SourceValues.gmtTime(object["date_created_gmt"], field: "date_created_gmt") else {
            throw SourceError("the order has no date_created_gmt")
        }
        let key = "woocommerce:" + id
        let orderID = Identifiers.sourceID(key + ":order")
        let address = { (part: [String: Any]) in
            SourceValues.address(
                [
                    [text(part["first_name"]), text(part["last_name"])].compactMap { $0 }.joined(separator: " "),
                    text(part["address_1"]), text(part["address_2"]), text(part["city"]), text(part["postcode"]),
                    text(part["state"]), text(part["country"]),
                ])
        }
        let couponTotal = ((object["coupon_lines"] as? [[String: Any]]) ?? []).reduce(Int64(0)) { sum, coupon in
            sum
                + (((try? SourceValues.minor(json: coupon["discount"], currency, field: "coupon discount")) ?? nil) ?? 0)
        }
        var order = Order(
            id: orderID, number: "WOO-" + (text(object["number"]) ?? id), customerID: "", channel: .woocommerce,
            location: "main", currency: currency,
            shippingMinor: try SourceValues.minor(json: object["shipping_total"], currency, field: "shipping_total")
                ?? 0,
            taxMinor: try SourceValues.minor(json: object["total_tax"], currency, field: "total_tax") ?? 0,
            discountMinor: try SourceValues.minor(json: object["discount_total"], currency, field: "discount_total")
                ?? couponTotal,
            createdAt: created, notes: text(object["customer_note"]),
            phone: text(billing["phone"]) ?? text(shipping["phone"]),
            address: address(shipping) ?? address(billing))
        let items = object["line_items"] as? [[String: Any]] ?? []
        guard !items.isEmpty else { throw SourceError("the order has no line_items") }
        for (index, item) in items.enumerated() {
            let name = text(item["name"]) ?? "Item"
            guard let quantity = (item["quantity"] as? NSNumber)?.int64Value, quantity > 0 else {
                throw SourceError("line item \(index + 1) ('\(name)') has no positive quantity")
            }
            // `price` is the unit price after discounts as a number; `subtotal` the line before discounts, as text.
            let unit: Int64
            if let subtotal = try SourceValues.minor(json: item["subtotal"], currency, field: "subtotal"),
                subtotal % quantity == 0
            {
                unit = subtotal / quantity
            } else if let price = try SourceValues.minor(json: item["price"], currency, field: "price") {
                unit = price
            } else {
                throw SourceError("line item \(index + 1) ('\(name)') has no price")
            }
            order.lines.append(
                OrderLine(
                    id: Identifiers.sourceID(key + ":line:\(text(item["id"]) ?? "\(index)")"),
                    sku: SourceValues.sku(text(item["sku"]), name: name), name: name, quantity: quantity,
                    unitPriceMinor: unit, position: Int64(index)))
        }
        let status = text(object["status"]) ?? "pending"
        let paidAt = try SourceValues.gmtTime(object["date_paid_gmt"], field: "date_paid_gmt")
        let completedAt = try SourceValues.gmtTime(object["date_completed_gmt"], field: "date_completed_gmt")
        let modifiedAt = try SourceValues.gmtTime(object["date_modified_gmt"], field: "date_modified_gmt")
        let total = try SourceValues.minor(json: object["total"], currency, field: "total") ?? 0
        let method = SourceValues.method(text(object["payment_method"]))
        var latest = created
        let paid = paidAt != nil || ["processing", "completed", "refunded"].contains(status)
        if paid {
            let at = max(paidAt ?? created, created)
            latest = max(latest, at)
            order.payments.append(
                Payment(
                    id: Identifiers.sourceID(key + ":payment"), orderID: orderID, kind: .capture, amountMinor: total,
                    method: method, at: at, note: text(object["transaction_id"])))
        } else if status == "failed" {
            order.payments.append(
                Payment(
                    id: Identifiers.sourceID(key + ":payment"), orderID: orderID, kind: .fail, amountMinor: total,
                    method: method, at: max(modifiedAt ?? created, created)))
        }
        switch status {
        case "pending", "processing", "on-hold", "failed", "checkout-draft", "refunded":
            break
        case "completed":
            let at = max(completedAt ?? modifiedAt ?? latest, latest)
            latest = at
            order.fulfilments.append(
                Fulfilment(
                    id: Identifiers.sourceID(key + ":fulfilment"), orderID: orderID,
                    lines: order.lines.map { LineQuantity(lineID: $0.id, quantity: $0.quantity) }, packedAt: at,
                    shippedAt: at, shipTo: order.address))
        case "cancelled":
            let at = max(modifiedAt ?? latest, latest)
            latest = at
            order.cancelledAt = at
            order.cancelReason = "cancelled in WooCommerce"
        default:
            throw SourceError("the status '\(status)' is not one WooCommerce uses")
        }
        for (index, refund) in ((object["refunds"] as? [[String: Any]]) ?? []).enumerated() {
            guard let amount = try SourceValues.minor(json: refund["total"], currency, field: "refund total") else {
                continue
            }
            // Refunds carry no time in the order object: a second apart after the last dated event.
            order.refunds.append(
                Refund(
                    id: Identifiers.sourceID(key + ":refund:\(text(refund["id"]) ?? "\(index)")"), orderID: orderID,
                    amountMinor: abs(amount), reason: text(refund["reason"]) ?? "refunded in WooCommerce",
                    at: latest + Int64(index + 1) * 1000))
        }
        if status == "refunded" && order.refunds.isEmpty && total > 0 {
            order.refunds.append(
                Refund(
                    id: Identifiers.sourceID(key + ":refund"), orderID: orderID, amountMinor: total,
                    reason: "refunded in WooCommerce", at: latest + 1000))
        }
        let name = [text(billing["first_name"]), text(billing["last_name"])].compactMap { $0 }.joined(separator: " ")
        let customer = Customer(
            email: email, name: name.isEmpty ? nil : name, phone: order.phone, address: order.address,
            createdAt: created)
        return ImportedOrder(customer: customer, order: order)
    }
}
