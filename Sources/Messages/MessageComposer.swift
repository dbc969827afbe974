import Foundation
import Mustache
import OrderDomain
import OutpostCore
import Replica

/// A customer message ready to hand over: its id and the RFC 5322 text.
public struct ComposedMessage: Sendable {
    /// The message's id; its `Message-ID` is `<id@outpost>`.
    public var id: String
    public var to: String
    public var subject: String
    public var body: String
    /// The whole message: headers, an empty line, the body (CRLF line ends).
    public var text: String
}

/// Renders a message's template (Mustache, plain text) with what it is about, and wraps it as an RFC 5322
/// message with a deterministic `Message-ID`, so a receiving system can drop a copy sent twice.
public enum MessageComposer {
    /// The `Message-ID` of message `id`.
    public static func messageID(_ id: String) -> String { "<\(id)@outpost>" }

    /// Checks that `template` is a message template: a `Subject:` line, an empty line, a body, both parts
    /// valid Mustache.
    ///
    /// - Throws: `MessageError(.badTemplate)` saying what is wrong.
    public static func check(_ template: String) throws {
        _ = try parts(of: template)
    }

    /// Composes `message` of `order` (with its lines and facts) for sending at `now`.
    ///
    /// - Throws: `MessageError(.badTemplate)` when the template set for its kind does not parse.
    public static func compose(
        _ message: OutboxMessage, order: Order, settings: Settings, now: Int64
    ) throws -> ComposedMessage {
        let (subjectTemplate, bodyTemplate) = try parts(of: settings.value(Settings.templateKey(message.kind)))
        let context = self.context(message, order: order, settings: settings)
        // The subject is one line whatever the values hold; the body has plain line ends.
        let subject = subjectTemplate.render(context).split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        let body = bodyTemplate.render(context).replacingOccurrences(of: "\r\n", with: "\n")
        let to = message.customerEmail ?? ""
        var headers = [
            ("From", header(settings.value("messages.from"))),
            ("To", message.customerName.map { "\(phrase($0)) <\(to)>" } ?? to),
            ("Subject", encodedWords(subject)),
            ("Date", rfc5322Date(now)),
            ("Message-ID", messageID(message.id)),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
        let plain =
            body.utf8.allSatisfy { $0 < 0x80 } && body.split(separator: "\n").allSatisfy { $0.utf8.count <= 900 }
        let encodedBody: String
        if plain {
            headers.append(("Content-Transfer-Encoding", "7bit"))
            encodedBody = body
        } else {
            headers.append(("Content-Transfer-Encoding", "base64"))
            encodedBody = Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        }
        headers.append(("X-Outpost-Order", message.orderNumber))
        headers.append(("X-Outpost-Message", message.kind.rawValue))
        var text =
            headers.map { "\($0.0): \($0.1)" }.joined(separator: "\r\n") + "\r\n\r\n"
            + encodedBody.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        if !text.hasSuffix("\r\n") { text += "\r\n" }
        return ComposedMessage(id: message.id, to: to, subject: subject, body: body, text: text)
    }

    /// The names a template can use (`MessageKind.defaultTemplate` lists them).
    static func context(_ message: OutboxMessage, order: Order, settings: Settings) -> [String: Any] {
        let money = { (minor: Int64) in
            "\(Money.decimalString(minor, digits: order.currency.minorDigits)) \(order.currency)"
        }
        let lineItems = { (lines: [LineQuantity]) -> [[String: Any]] in
            lines.compactMap { item in
                order.line(item.lineID).map { ["name": $0.name, "quantity": item.quantity] }
            }
        }
        var context: [String: Any] = [
            "shop_name": settings.value("messages.shop_name"),
            "customer_name": message.customerName.flatMap { $0.isEmpty ? nil : $0 } ?? "there",
            "order_number": order.number,
            "total": money(order.progress.totalMinor),
            "items": order.lines.filter { $0.quantity > 0 }.map { ["name": $0.name, "quantity": $0.quantity] },
            "review_days": settings.value("messages.review_days"),
        ]
        switch message.kind {
        case .paymentReceived, .paymentFailed:
            if let payment = order.payments.first(where: { $0.id == message.trigger }) {
                // A confirmation or decline settles an earlier provisional payment: its amount is that one's.
                let settled = payment.reference.flatMap { reference in order.payments.first { $0.id == reference } }
                context["amount"] = money(payment.amountMinor != 0 ? payment.amountMinor : settled?.amountMinor ?? 0)
            }
        case .shipped, .delivered:
            if let parcel = order.fulfilments.first(where: { $0.id == message.trigger }) {
                context["carrier"] = parcel.carrier ?? ""
                context["tracking_number"] = parcel.trackingNumber ?? ""
                context["items"] = lineItems(parcel.lines)
            }
        case .delayed:
            context["note"] = order.trackingEvents.first { $0.id == message.trigger }?.note ?? ""
        case .refundIssued:
            if let refund = order.refunds.first(where: { $0.id == message.trigger }) {
                context["amount"] = money(refund.amountMinor)
            }
        case .returnReceived:
            if let item = order.returns.first(where: { $0.id == message.trigger }) {
                context["items"] = lineItems(item.lines)
                context["note"] = item.note ?? ""
            }
        case .orderConfirmation, .reviewRequest:
            break
        }
        return context
    }

    /// The subject and body templates of a message template.
    private static func parts(of template: String) throws -> (MustacheTemplate, MustacheTemplate) {
        let normalized = template.replacingOccurrences(of: "\r\n", with: "\n")
        guard let firstBreak = normalized.firstIndex(of: "\n"),
            normalized[..<firstBreak].lowercased().hasPrefix("subject:")
        else {
            throw MessageError(
                .badTemplate, "a message template starts with a 'Subject: …' line, then an empty line, then the body",
                hint: "start from the default: outpost messages template show KIND")
        }
        let subject = normalized[normalized.index(normalized.startIndex, offsetBy: 8)..<firstBreak]
        var body = normalized[normalized.index(after: firstBreak)...]
        if body.first == "\n" { body = body.dropFirst() }
        // Plain text: values are inserted as they are, not HTML-escaped.
        let pragma = "{{% CONTENT_TYPE: TEXT }}"
        do {
            return (
                try MustacheTemplate(string: pragma + subject.trimmingCharacters(in: .whitespaces)),
                try MustacheTemplate(string: pragma + body)
            )
        } catch {
            throw MessageError(
                .badTemplate, "the template does not parse as Mustache: \(error)",
                hint: "check that every {{#section}} has its {{/section}} and every tag is closed")
        }
    }

    /// A header value: as it is when printable ASCII, else RFC 2047 encoded words.
    static func header(_ value: String) -> String {
        let cleaned = value.unicodeScalars.map { InputRules.isControl($0) ? " " : String($0) }.joined()
        return cleaned.unicodeScalars.allSatisfy({ $0.isASCII }) ? cleaned : encodedWords(cleaned)
    }

    /// A display name: quoted when plain ASCII, encoded words otherwise.
    static func phrase(_ name: String) -> String {
        let cleaned = name.unicodeScalars.map { InputRules.isControl($0) ? " " : String($0) }.joined()
        guard cleaned.unicodeScalars.allSatisfy({ $0.isASCII }) else { return encodedWords(cleaned) }
        return "\"" + cleaned.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }

    /// RFC 2047 `=?utf-8?b?…?=` words (each under 76 characters) when `text` is not plain ASCII.
    static func encodedWords(_ text: String) -> String {
        let cleaned = text.unicodeScalars.map { InputRules.isControl($0) ? " " : String($0) }.joined()
        guard !cleaned.unicodeScalars.allSatisfy({ $0.isASCII }) else { return cleaned }
        var words: [String] = []
        var chunk = ""
        for character in cleaned {
            if (chunk + String(character)).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?utf-8?b?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// `Tue, 01 Dec 2026 09:30:00 +0000`.
    static func rfc5322Date(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
