import Foundation
import OrderDomain
import Testing

@testable import Intake

/// Reading the source formats: rows grouped by order, quoted commas and line breaks, amounts in minor units,
/// source times in UTC, ids derived from the source so a second read gives the same orders.
@Suite struct SourceReadingTests {
    static let header =
        "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Notes,Id\n"

    static func read(_ csv: String) throws -> SourceOrders {
        try ShopifyOrders.read(stream: InputStream(data: Data(csv.utf8)), name: "test.csv")
    }

    @Test func rowsOfOneOrderMakeOneOrderWithQuotedFields() throws {
        let csv =
            Self.header
            + "#1,a@example.com,paid,2026-11-23 10:16:00 +0100,unfulfilled,JPY,3000,2026-11-23 10:15:00 +0100,2,\"Tee, \"\"big\"\"\",1000,TEE,\"line one\nline two\",77\n"
            + "#1,a@example.com,,,,,,,1,Cap,1000,CAP,,\n"
            + "#2,b@example.com,pending,,,EUR,5.50,2026-11-24 00:00:00 +0000,1,Mug,5.50,,,\n"
        let read = try Self.read(csv)
        #expect(read.problems.isEmpty, "\(read.problems)")
        #expect(read.orders.map(\.name) == ["#1", "#2"])
        #expect(read.orders.map(\.record) == [1, 3])
        let first = try #require(read.orders.first?.order.order)
        #expect(first.lines.map(\.name) == ["Tee, \"big\"", "Cap"])
        #expect(first.lines.map(\.unitPriceMinor) == [1000, 1000])  // JPY has no minor digits
        #expect(first.notes == "line one\nline two")
        #expect(first.createdAt == 1_795_425_300_000)  // 2026-11-23 09:15:00 UTC
        #expect(first.payments.map(\.amountMinor) == [3000])
        #expect(first.id == Identifiers.sourceID("shopify:77:order"))
        let second = try #require(read.orders.last?.order.order)
        #expect(second.lines.first?.sku == "NOSKU-MUG")
        #expect(second.lines.first?.unitPriceMinor == 550)
        #expect(try Self.read(csv).orders.map(\.order.order) == read.orders.map(\.order.order), "the same ids again")
    }

    @Test func aFileWithoutTheColumnsIsNotAnExport() throws {
        #expect(throws: SourceFileError.self) { try Self.read("order,email\n1,a@example.com\n") }
    }

    @Test func wooCommerceAmountsAsNumbersOrText() throws {
        let line = """
            {"id": 9, "number": "9", "status": "processing", "currency": "EUR", "date_created_gmt": "2026-11-20T09:00:00", "date_paid_gmt": "2026-11-20T09:01:00", "total": "20.10", "shipping_total": 0.2, "billing": {"email": "x@example.com"}, "line_items": [{"id": 1, "name": "Tee", "sku": "TEE", "quantity": 3, "price": 6.633333, "subtotal": "19.90"}]}
            """
        let read = WooCommerceOrders.read(Data(line.utf8))
        #expect(read.problems.isEmpty, "\(read.problems)")
        let order = try #require(read.orders.first?.order.order)
        #expect(order.shippingMinor == 20)
        // 19.90 does not divide by 3: the unit price is the rounded `price`.
        #expect(order.lines.first?.unitPriceMinor == 663)
        #expect(order.createdAt == 1_795_165_200_000)  // 2026-11-20 09:00:00 UTC
        #expect(order.payments.first?.amountMinor == 2010)
    }
}
