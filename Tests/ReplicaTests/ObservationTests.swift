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
        let seen = try await withDeadline(30, "two change notifications") {
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

/// Changes committed through another connection to the file — another process (an `outpost serve` merging a
/// peer's push, a CLI command) or another `Replica` instance — reach an observer too.
@Suite struct OtherProcessObservationTests {
    @Test func anObserverSeesAnotherInstancesCommits() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("shared.sqlite")
        let watching = try Replica.create(at: path, name: "app")
        let writer = try Replica.open(at: path)
        let earlier = try await writer.commands.createOrder(customerEmail: "old@example.com", lines: [line("MUG", 1)])
        let changes = watching.changedOrders()
        let created = try await writer.commands.createOrder(customerEmail: "ana@example.com", lines: [line("MUG", 1)])
        let first = try await withDeadline(30, "a report of the other instance's order") {
            for await changed in changes { return changed }
            return []
        }
        #expect(first == [created.orderID], "only what changed after observing began (not \(earlier.orderID))")
        // A merge into the other instance, and this instance's own command: each reported, neither twice.
        let laptop = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        let sold = try await laptop.commands.createOrder(customerEmail: "bo@example.com", lines: [line("MUG", 1)])
        try await writer.replication.pull(from: laptop)
        let merged = try await withDeadline(30, "a report of the merged order") {
            for await changed in changes { return changed }
            return []
        }
        #expect(merged == [sold.orderID])
        let own = try await watching.commands.pay(order: created.orderID, amount: "10.00")
        let next = try await withDeadline(30, "a report of this instance's payment") {
            for await changed in changes { return changed }
            return []
        }
        #expect(next == [own.orderID])
        try await Task.sleep(for: .milliseconds(400))
        try await writer.commands.edit(order: sold.orderID, notes: "gift wrap")
        let after = try await withDeadline(30, "the next change, not the payment again") {
            for await changed in changes { return changed }
            return []
        }
        #expect(after == [sold.orderID], "the own payment is not reported a second time by the watcher")
    }
}
