import Foundation
import OrderDomain

/// Reading the values other shop systems write: decimal amounts, their dates, free text that must fit our
/// rules (SKUs, tags).
enum SourceValues {
    /// Minor units of a decimal amount as text ("19.90", "-5.00", "", "1,234.50"); nil for empty text.
    static func minor(_ text: String?, _ currency: CurrencyCode, field: String) throws -> Int64? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        let plain = text.replacingOccurrences(of: ",", with: "")
        let negative = plain.hasPrefix("-")
        let digits = negative ? String(plain.dropFirst()) : plain
        do {
            let money = try Money(parsing: digits, currency: currency)
            return negative ? -money.minorUnits : money.minorUnits
        } catch {
            throw SourceError("\(field) '\(text)' is not an amount in \(currency): \(error.message)")
        }
    }

    /// Minor units of a JSON amount, which WooCommerce writes as text ("19.90") or as a number (19.9).
    static func minor(json value: Any?, _ currency: CurrencyCode, field: String) throws -> Int64? {
        switch value {
        case let text as String: return try minor(text, currency, field: field)
        case let number as NSNumber:
            return try minor(String(format: "%.\(currency.minorDigits)f", number.doubleValue), currency, field: field)
        default: return nil
        }
    }

    private static let shopifyDates: [DateFormatter] = [
        "yyyy-MM-dd HH:mm:ss Z", "yyyy-MM-dd HH:mm:ssZ", "yyyy-MM-dd'T'HH:mm:ssZ",
    ]
    .map(formatter)
    private static let gmtDates: [DateFormatter] = ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss"].map {
        let formatter = formatter($0)
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter
    }

    private static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = format
        return formatter
    }

    /// Unix milliseconds of a Shopify time ("2026-11-23 10:15:00 +0100"); nil for empty text.
    static func shopifyTime(_ text: String?, field: String) throws -> Int64? {
        try time(text, field: field, formatters: shopifyDates, example: "2026-11-23 10:15:00 +0100")
    }

    /// Unix milliseconds of a WooCommerce `_gmt` time ("2026-11-23T10:15:00", UTC); nil when absent.
    static func gmtTime(_ value: Any?, field: String) throws -> Int64? {
        try time(value as? String, field: field, formatters: gmtDates, example: "2026-11-23T10:15:00")
    }

    private static func time(_ text: String?, field: String, formatters: [DateFormatter], example: String) throws
        -> Int64?
    {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        for formatter in formatters {
            if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        throw SourceError("\(field) '\(text)' is not a time like \(example)")
    }

    /// A SKU for a source line: its own SKU when it has one that fits our rules, else one made from its name
    /// (`NOSKU-` and the name's letters and digits), so that lines without SKUs still count in stock reports.
    static func sku(_ given: String?, name: String) -> String {
        if let given = given?.trimmingCharacters(in: .whitespaces), !given.isEmpty,
            (try? LineSpec.checkSKU(given)) != nil
        {
            return given
        }
        let source = given.flatMap { $0.isEmpty ? nil : $0 } ?? name
        let base = source.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let cleaned = String(base).split(separator: "-").joined(separator: "-")
        return String(("NOSKU-" + (cleaned.isEmpty ? "ITEM" : cleaned)).prefix(64))
    }

    /// Tags that fit our rules, lowercased with spaces turned to dashes; others are dropped.
    static func tags(_ names: [String]) -> Set<String> {
        Set(
            names.compactMap { name in
                let tag = name.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(
                    of: " ", with: "-")
                return (try? InputRules.checkTag(tag)) != nil ? tag : nil
            })
    }

    /// How a source names a payment method, mapped to ours.
    static func method(_ text: String?) -> PaymentMethod {
        let name = (text ?? "").lowercased()
        if name.contains("cash") || name == "cod" { return .cash }
        if name.isEmpty || name.contains("manual") || name.contains("bank") || name == "bacs" || name == "cheque" {
            return .other
        }
        return .card
    }

    /// Non-empty parts joined into one address line.
    static func address(_ parts: [String?]) -> String? {
        let kept = parts.compactMap { $0?.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return kept.isEmpty ? nil : kept.joined(separator: ", ")
    }
}

/// A value of a source record that cannot be read.
struct SourceError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
