import Foundation
import GRDB
import GRDBSQLite
import OrderDomain
import OutpostTestSupport
import Synchronization
import Testing

@testable import Replica

/// `Replica.transaction`: a basket of commands commits once, with one dot, or not at all; each command inside
/// stays atomic on its own.
@Suite struct TransactionTests {
    private func clock(_ replica: Replica) async throws -> (counter: Int64, lseq: Int64) {
        try await replica.pool.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT counter, lseq FROM replica_clock"))
            return (row["counter"], row["lseq"])
        }
    }

    @Test func aBasketCommitsOnceWithOneDot() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        let changes = replica.changedOrders()
        let before = try await clock(replica)
        let created = try await replica.transaction {
            var results: [CommandResult] = []
            for index in 0..<10 {
                results.append(
                    try await replica.commands.createOrder(
                        customerEmail: "c\(index)@example.com", lines: [line("MUG", 1, "4.00")]))
            }
            try await replica.commands.pay(order: results[0].orderID, amount: "4.00", method: .cash)
            return results
        }
        let after = try await clock(replica)
        #expect(after.counter == before.counter + 1, "ten orders and a payment in one basket take one dot")
        #expect(after.lseq > before.lseq)
        let orders = try await replica.queries.orders()
        #expect(Set(orders.map(\.id)) == Set(created.map(\.orderID)))
        #expect(Set(orders.map(\.createdAt)).count == 1, "one hybrid time for the whole basket")
        #expect(orders.first { $0.id == created[0].orderID }?.status == .paid)
        // Observers hear of the basket once, with every order in it.
        var iterator = changes.makeAsyncIterator()
        #expect(await iterator.next() == Set(created.map(\.orderID)))
    }

    @Test func aRefusedCommandInsideUndoesOnlyItself() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        try await replica.commands.setStock(sku: "MUG", onHand: 3)
        let kept = try await replica.transaction {
            let first = try await replica.commands.createOrder(
                customerEmail: "a@example.com", lines: [line("MUG", 2)])
            // Wants more than is left: refused, and the basket goes on.
            let refusal = await #expect(throws: DomainError.self) {
                _ = try await replica.commands.createOrder(
                    customerEmail: "b@example.com", lines: [line("MUG", 1), line("MUG", 1)])
            }
            #expect(refusal?.code == .insufficientStock)
            let second = try await replica.commands.createOrder(
                customerEmail: "c@example.com", lines: [line("MUG", 1)])
            return [first.orderID, second.orderID]
        }
        let orders = try await replica.queries.orders()
        #expect(Set(orders.map(\.id)) == Set(kept))
        let noCustomer = await #expect(throws: DomainError.self, "the refused order left no customer") {
            _ = try await replica.queries.customer(email: "b@example.com")
        }
        #expect(noCustomer?.code == .notFound)
        #expect(try await replica.queries.stockLevels(sku: "MUG").first?.available == 0)
    }

    @Test func anErrorLeavingTheBodyWritesNothing() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        _ = try await replica.commands.createOrder(customerEmail: "a@example.com", lines: [line("MUG", 1)])
        let before = try await replica.rawDump()
        struct Abandoned: Error {}
        await #expect(throws: Abandoned.self) {
            try await replica.transaction {
                _ = try await replica.commands.createOrder(customerEmail: "b@example.com", lines: [line("MUG", 1)])
                try await replica.commands.createCustomer(email: "c@example.com", name: "Cy")
                throw Abandoned()
            }
        }
        #expect(try await replica.rawDump() == before)
        // The replica writes on as usual afterwards.
        _ = try await replica.commands.createOrder(customerEmail: "d@example.com", lines: [line("MUG", 1)])
        #expect(try await replica.queries.orders().count == 2)
    }

    @Test func queriesInsideReadTheLastCommitAndNestedBasketsJoin() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        let before = try await clock(replica)
        try await replica.transaction {
            _ = try await replica.commands.createOrder(customerEmail: "a@example.com", lines: [line("MUG", 1)])
            #expect(try await replica.queries.orders().isEmpty, "a query reads the last commit")
            try await replica.transaction {
                _ = try await replica.commands.createOrder(customerEmail: "b@example.com", lines: [line("MUG", 1)])
            }
        }
        #expect(try await replica.queries.orders().count == 2)
        #expect(try await clock(replica).counter == before.counter + 1, "the nested basket joined the outer one")
        // A body that returns nil (an optional result) still commits.
        let none: Int? = try await replica.transaction {
            _ = try await replica.commands.createOrder(customerEmail: "c@example.com", lines: [line("MUG", 1)])
            return nil
        }
        #expect(none == nil)
        #expect(try await replica.queries.orders().count == 3)
    }

    @Test func otherWritersWaitForTheBasket() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        // A task started inside the body writes on its own once the basket commits (nobody awaits it inside).
        let outside = try await replica.transaction {
            _ = try await replica.commands.createOrder(customerEmail: "a@example.com", lines: [line("MUG", 1)])
            return Task {
                try await replica.commands.createOrder(customerEmail: "b@example.com", lines: [line("MUG", 1)])
            }
        }
        let second = try await outside.value
        let orders = try await replica.queries.orders()
        #expect(orders.count == 2)
        #expect(orders.contains { $0.id == second.orderID })
        // Another replica instance on the same file (another process, in effect) writes after the basket.
        let other = try Replica.open(at: replica.path)
        async let basket: Void = replica.transaction {
            for index in 0..<5 {
                _ = try await replica.commands.createOrder(
                    customerEmail: "c\(index)@example.com", lines: [line("MUG", 1)])
            }
        }
        _ = try await other.commands.createOrder(customerEmail: "z@example.com", lines: [line("MUG", 1)])
        try await basket
        #expect(try await replica.queries.orders().count == 8)
    }

    /// A body's task that ends the basket off the writer's thread (not how `transaction` ends it, but what a
    /// body running on another executor at its end would do) hands the commit or rollback to that thread and
    /// waits for it.
    @Test func aBasketEndedOffItsThreadCommitsOrRollsBackThere() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        for commit in [true, false] {
            let basket = Basket(replica: replica)
            basket.begin(wallMilliseconds: replica.now(), random: replica.random)
            let email = "\(commit)@example.com"
            try await withTaskExecutorPreference(basket) {
                try await Basket.$current.withValue(basket) {
                    #expect(basket.isServing, "the body runs on the writer's thread")
                    _ = try await replica.commands.createCustomer(email: email, name: "Off")
                }
            }
            #expect(!basket.isServing, "the task is back on the global executor")
            try await basket.end(commit: commit)
            let found = try? await replica.queries.customer(email: email)
            #expect((found != nil) == commit, "committed: \(commit)")
        }
        // The writer is free again: a command outside any basket writes.
        _ = try await replica.commands.createOrder(customerEmail: "after@example.com", lines: [line("MUG", 1)])
        #expect(try await replica.queries.orders().count == 1)
    }

    /// SQLite may roll a whole transaction back by itself (a full disk, an I/O error). A body that catches the
    /// failing command and goes on must not write outside the basket: the next command and the commit fail with
    /// SQLite's abort error, and nothing the basket did stays, the clock included.
    @Test func aBasketSQLiteRolledBackWritesNothingMore() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        _ = try await replica.commands.createOrder(customerEmail: "a@example.com", lines: [line("MUG", 1)])
        let before = try await replica.rawDump()
        // What each step inside threw (checked outside: the body runs inside the expectation).
        let steps = Mutex<[any Error]>([])
        let error = await #expect(throws: DatabaseError.self) {
            try await replica.transaction {
                _ = try await replica.commands.createOrder(customerEmail: "b@example.com", lines: [line("MUG", 1)])
                // What SQLite does on a full disk: the whole transaction rolled back, under the command.
                do {
                    try await replica.write { context in
                        sqlite3_exec(context.db.sqliteConnection, "ROLLBACK", nil, nil, nil)
                    }
                } catch { steps.withLock { $0.append(error) } }
                do {
                    _ = try await replica.commands.createOrder(
                        customerEmail: "c@example.com", lines: [line("MUG", 1)])
                } catch { steps.withLock { $0.append(error) } }
            }
        }
        let thrown = steps.withLock { $0 }
        #expect(thrown.count == 2, "the rolled-back command and the one after it failed: \(thrown)")
        #expect((thrown.last as? DatabaseError)?.resultCode == .SQLITE_ABORT)
        #expect(error?.resultCode == .SQLITE_ABORT)
        #expect(try await replica.rawDump() == before)
        // The writer is whole: the next command writes as usual.
        _ = try await replica.commands.createOrder(customerEmail: "d@example.com", lines: [line("MUG", 1)])
        #expect(try await replica.queries.orders().count == 2)
    }

    /// A basket on a file that may not write (a copy not yet given its own site id): each command inside throws
    /// what it throws outside, the body sees it, and nothing is written.
    @Test func aBasketOnACopyRefusesEachCommandLikeOutside() async throws {
        let directory = try TemporaryDirectory()
        let original = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        _ = try await original.commands.createOrder(customerEmail: "a@example.com", lines: [line("MUG", 1)])
        _ = try original.replication.writeSnapshot(to: directory.path("copy.sqlite"))
        let copy = try Replica.open(at: directory.path("copy.sqlite"))
        let before = try await copy.rawDump()
        let refusals = try await copy.transaction {
            var codes: [ReplicaError.Code] = []
            for index in 0..<2 {
                do {
                    _ = try await copy.commands.createOrder(
                        customerEmail: "c\(index)@example.com", lines: [line("MUG", 1)])
                } catch let error as ReplicaError {
                    codes.append(error.code)
                }
            }
            return codes
        }
        #expect(refusals == [.siteConflict, .siteConflict])
        #expect(try await copy.rawDump() == before)
    }
}
