import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

@Suite struct ObservationTests {
    @Test func embeddersSeeWhichOrdersChanged() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "till")
        let changes = replica.changedOrders()
        let created = try await replica.commands.createOrder(customerEmail: "ana@example.com", lines: [line("MUG", 1)])
        try await replica.commands.pay(order: created.orderID, amount: "10.00")
        // Two notifications, or a failure after five seconds (never a hang).
        let seen = try await withDeadline(5, "two change notifications") {
            var seen: [Set<String>] = []
            for await changed in changes {
                seen.append(changed)
                if seen.count == 2 { break }
            }
            return seen
        }
        #expect(seen == [[created.orderID], [created.orderID]])
    }

    @Test func ordersFilterByStatusCustomerChannelAndDate() async throws {
        let directory = try TemporaryDirectory()
        let clock = FakeClock()
        let replica = try Replica.create(at: directory.path("a.sqlite"), name: "till", now: { clock() })
        var web = NewOrderOptions()
        web.channel = .web
        let first = try await replica.commands.createOrder(
            customerEmail: "ana@example.com", lines: [line("MUG", 1)], options: web)
        let second = try await replica.commands.createOrder(customerEmail: "bo@example.com", lines: [line("MUG", 1)])
        try await replica.commands.pay(order: second.orderID, amount: "10.00")
        #expect(try await replica.queries.orders(matching: OrderFilter(status: .paid)).map(\.id) == [second.orderID])
        #expect(
            try await replica.queries.orders(matching: OrderFilter(customerEmail: "ANA@example.com")).map(\.id) == [
                first.orderID
            ])
        #expect(try await replica.queries.orders(matching: OrderFilter(channel: .web)).map(\.id) == [first.orderID])
        let createdAt = try await replica.queries.order(second.orderID).order.createdAt
        #expect(try await replica.queries.orders(matching: OrderFilter(since: createdAt)).map(\.id) == [second.orderID])
        #expect(try await replica.queries.orders(matching: OrderFilter(until: createdAt)).map(\.id) == [first.orderID])
        let ana = try await replica.queries.customer(email: "ana@example.com")
        #expect(ana.orders.map(\.id) == [first.orderID])
        #expect(ana.purchased == ["MUG": 1])
    }
}
