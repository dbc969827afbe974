import OrderDomain
import Testing

/// `Order.checkHistory()`: a whole history is legal exactly when each fact, in time order, was a legal command.
@Suite struct HistoryTests {
    @Test func legalHistoriesPass() throws {
        let builder = OrderBuilder()
        try builder.order.checkHistory()
        try builder.paid().order.checkHistory()
        try builder.paid().processing().parcel("p1", shipped: true, delivered: true).order.checkHistory()
        try builder.paid().parcel("p1", shipped: true).returned().order.checkHistory()
        try builder.cancelled().order.checkHistory()
    }

    @Test func impossibleHistoriesAreRefused() {
        let builder = OrderBuilder()
        let cases: [(String, Order)] = [
            ("packed before payment", builder.parcel("p1").order),
            ("overpaid", builder.paid(5001).order),
            ("returned without shipping", builder.paid().returned().order),
            ("cancelled after everything shipped", builder.paid().cancelled().parcel("p1", shipped: true).order),
        ]
        for (name, order) in cases {
            #expect(throws: DomainError.self, "\(name)") { try order.checkHistory() }
        }
    }
}
