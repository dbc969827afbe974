import Foundation
import Messages
import OrderDomain
import Replica
import Testing

/// Rendering and wrapping: the Message-ID is the message's id, headers cannot be injected by stored text, non-ASCII
/// travels encoded, and a template that does not parse is refused with a clear error.
@Suite struct MessageComposerTests {
    static func order() -> Order {
        var order = Order(
            id: "0190f0aa-0000-7000-8000-000000000001", number: "K3QZ-7", customerID: "c", channel: .web,
            location: "main", currency: CurrencyCode(stored: "EUR"), createdAt: 1_700_000_000_000)
        order.lines = [
            OrderLine(id: "l1", sku: "TEE-M", name: "Tee, medium", quantity: 2, unitPriceMinor: 1_990, position: 0)
        ]
        order.fulfilments = [
            Fulfilment(
                id: "f1", orderID: order.id, lines: [LineQuantity(lineID: "l1", quantity: 2)],
                packedAt: 1_700_000_100_000, shippedAt: 1_700_000_200_000, carrier: "DHL", trackingNumber: "JD0042")
        ]
        return order
    }

    static func message(_ kind: MessageKind, trigger: String, name: String? = "Ana Lima") -> OutboxMessage {
        let order = order()
        return OutboxMessage(
            id: Identifiers.messageID(orderID: order.id, kind: kind, trigger: trigger), orderID: order.id,
            orderNumber: order.number, kind: kind, trigger: trigger, at: 1_700_000_200_000, dueAt: 1_700_000_200_000,
            customerEmail: "ana@example.com", customerName: name, state: .pending, sentAt: nil, attempts: 0,
            lastError: nil, retryAt: nil)
    }

    @Test func aShippedMessageNamesTheCarrierAndCarriesItsIdAsMessageID() throws {
        let message = Self.message(.shipped, trigger: "f1")
        let composed = try MessageComposer.compose(
            message, order: Self.order(), settings: Settings(["messages.shop_name": "Corner Shop"]),
            now: 1_700_000_300_000)
        #expect(composed.subject == "Order K3QZ-7 has shipped")
        #expect(composed.body.contains("with DHL") && composed.body.contains("Tracking number: JD0042"))
        #expect(composed.body.contains("Hello Ana Lima,") && composed.body.hasSuffix("Corner Shop\n"))
        #expect(composed.text.contains("\r\nMessage-ID: <\(message.id)@outpost>\r\n"))
        #expect(composed.text.contains("\r\nTo: \"Ana Lima\" <ana@example.com>\r\n"))
        #expect(composed.text.contains("\r\nDate: Tue, 14 Nov 2023 22:18:20 +0000\r\n"))
        // Composing again (a resend after a crash) gives the same id and the same content.
        let again = try MessageComposer.compose(
            message, order: Self.order(), settings: Settings(["messages.shop_name": "Corner Shop"]),
            now: 1_700_000_300_000)
        #expect(again.text == composed.text)
    }

    @Test func storedTextCannotAddHeaders() throws {
        let message = Self.message(.orderConfirmation, trigger: Self.order().id, name: "Eve\nBcc: all@example.com")
        var order = Self.order()
        order.number = "K3QZ-7\nBcc: x@example.com"
        let composed = try MessageComposer.compose(message, order: order, settings: Settings(), now: 0)
        let headers = composed.text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(!headers.contains { $0.hasPrefix("Bcc:") })
        #expect(headers.filter { $0.hasPrefix("Subject:") }.count == 1)
    }

    @Test func nonASCIIIsEncoded() throws {
        let message = Self.message(.orderConfirmation, trigger: Self.order().id, name: "Zoë Ångström")
        let composed = try MessageComposer.compose(
            message, order: Self.order(), settings: Settings(["messages.shop_name": "Café Été"]), now: 0)
        let head = composed.text.components(separatedBy: "\r\n\r\n")[0]
        #expect(head.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(head.contains("To: =?utf-8?b?"))
        #expect(head.contains("Content-Transfer-Encoding: base64"))
        #expect(composed.body.contains("Zoë Ångström") && composed.body.contains("Café Été"))
    }

    @Test func aCustomTemplateIsUsedAndABrokenOneRefused() throws {
        let custom = "Subject: {{order_number}} is on its way\n\nHi {{customer_name}}: {{carrier}} {{tracking_number}}"
        try MessageComposer.check(custom)
        let composed = try MessageComposer.compose(
            Self.message(.shipped, trigger: "f1"), order: Self.order(),
            settings: Settings([Settings.templateKey(.shipped): custom]), now: 0)
        #expect(composed.subject == "K3QZ-7 is on its way")
        #expect(composed.body == "Hi Ana Lima: DHL JD0042")
        #expect(throws: MessageError.self) { try MessageComposer.check("Hello {{name}}") }
        #expect(throws: MessageError.self) { try MessageComposer.check("Subject: x\n\n{{#items}}unclosed") }
    }

    @Test func everyDefaultTemplateParsesAndRendersItsKind() throws {
        for kind in MessageKind.allCases {
            try MessageComposer.check(kind.defaultTemplate)
            let composed = try MessageComposer.compose(
                Self.message(kind, trigger: "f1"), order: Self.order(), settings: Settings(), now: 0)
            #expect(!composed.subject.isEmpty && composed.body.contains("K3QZ-7"), "\(kind)")
            #expect(!composed.body.contains("{{"), "\(kind)")
        }
    }
}
