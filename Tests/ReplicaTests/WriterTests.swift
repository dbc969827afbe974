import Foundation
import GRDB
import GRDBSQLite
import OrderDomain
import OutpostTestSupport
import Synchronization
import Testing

@testable import Replica

/// The ways into the writer (`Storage/Writer.swift`): a command takes a free writer on its own thread, and
/// never waits there for another writer — of this replica (a basket, a merge, other commands) or of another
/// connection to the file.
@Suite struct WriterTests {
    /// A basket on `replica` that holds the writer (and the file's write lock) until `release` yields.
    private func holdWriter(_ replica: Replica) async -> (held: Task<Void, any Error>, release: @Sendable () -> Void) {
        let (held, holding) = AsyncStream.makeStream(of: Void.self)
        let (release, releasing) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            try await replica.transaction {
                try await replica.commands.receive(sku: "MUG", units: 50)
                holding.yield()
                for await _ in release { break }
            }
        }
        for await _ in held { break }
        return (task, { releasing.yield() })
    }

    /// Polls `condition` every 10 ms for up to 30 s.
    private func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        struct NeverHappened: Error, CustomStringConvertible { var description: String }
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw NeverHappened(description: "not within 30 s: \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private func counter(_ replica: Replica) async throws -> Int64 {
        try await replica.pool.read { db in
            try #require(try Int64.fetchOne(db, sql: "SELECT counter FROM replica_clock"))
        }
    }

    @Test func aFreeWriterIsTakenOnTheCallersThread() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        let caller = pthread_self()
        let taken = try replica.writeIfFree { db -> Bool in
            try db.execute(sql: "CREATE TABLE probe (value TEXT); INSERT INTO probe VALUES ('1')")
            return pthread_equal(caller, pthread_self()) != 0
        }
        #expect(taken == true, "the transaction ran, on the caller's thread")
        #expect(replica.writesInFlight.load(ordering: .sequentiallyConsistent) == 0)
        let value = try await replica.pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM probe")
        }
        #expect(value == "1", "and committed")
    }

    @Test func anotherConnectionHoldingTheFileIsNotWaitedForOnTheCallersThread() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("till.sqlite")
        let till = try Replica.create(at: path, name: "till")
        let other = try Replica.open(at: path)
        let (holder, release) = await holdWriter(other)

        // The other connection holds the file's write lock: the answer is "not free", at once, not after the
        // busy timeout (5 s) and not SQLite's busy error.
        let started = ContinuousClock.now
        var ran = false
        let taken = try till.writeIfFree { _ in
            ran = true
            return 1
        }
        #expect(taken == nil)
        #expect(!ran)
        #expect(ContinuousClock.now - started < .seconds(Replica.busyTimeout / 2))
        #expect(till.writesInFlight.load(ordering: .sequentiallyConsistent) == 0)

        // A command queues for the writer instead and waits there (the busy timeout is back: it does not fail
        // at once), then lands when the other connection lets go.
        let sale = Task {
            try await till.commands.createOrder(customerEmail: "a@example.com", lines: [line("MUG", 1)])
        }
        try await waitUntil("the command is queued") {
            till.writesInFlight.load(ordering: .sequentiallyConsistent) == 1
        }
        try await Task.sleep(for: .milliseconds(300))
        release()
        try await holder.value
        let order = try await sale.value
        #expect(try await till.queries.orders().map(\.id) == [order.orderID])
        #expect(try await till.queries.stockLevels(sku: "MUG").first?.available == 49)
        #expect(till.writesInFlight.load(ordering: .sequentiallyConsistent) == 0)
    }

    @Test func commandsQueueBehindThisReplicasOwnWriter() async throws {
        let directory = try TemporaryDirectory()
        let till = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        let (holder, release) = await holdWriter(till)
        #expect(till.writesInFlight.load(ordering: .sequentiallyConsistent) == 1, "the basket counts")
        // Not free: answered at once (taking GRDB's writer queue here would wait for the basket).
        #expect(try till.writeIfFree { _ in 1 } == nil)

        // More commands than Swift has cooperative threads: each waits in the writer's queue, not on a thread.
        let sales = (0..<8).map { index in
            Task {
                try await till.commands.createOrder(customerEmail: "c\(index)@example.com", lines: [line("MUG", 1)])
            }
        }
        try await waitUntil("the eight commands are queued behind the basket") {
            till.writesInFlight.load(ordering: .sequentiallyConsistent) == 9
        }
        // The threads are free meanwhile: other tasks run, reads included.
        let probes = (0..<4).map { index in Task { try await till.queries.orders().count + index } }
        for (index, probe) in probes.enumerated() { #expect(try await probe.value == index) }
        release()
        try await holder.value
        var orders: Set<String> = []
        for sale in sales { orders.insert(try await sale.value.orderID) }
        #expect(Set(try await till.queries.orders().map(\.id)) == orders)
        #expect(orders.count == 8)
        #expect(till.writesInFlight.load(ordering: .sequentiallyConsistent) == 0)
    }

    @Test func commandsBasketsAndAMergeAtOnceAllLand() async throws {
        let directory = try TemporaryDirectory()
        let till = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        for batch in 0..<10 {
            try await hub.transaction {
                for index in 0..<150 {
                    _ = try await hub.commands.createOrder(
                        customerEmail: "h\(batch)-\(index)@example.com", lines: [line("CAP", 1)])
                }
            }
        }
        let before = try await counter(till)
        let merge = Task { try await till.replication.pull(from: hub, batchSize: 100) }
        let singles = (0..<30).map { index in
            Task {
                try await till.commands.createOrder(customerEmail: "s\(index)@example.com", lines: [line("MUG", 1)])
                    .orderID
            }
        }
        let baskets = (0..<3).map { basket in
            Task {
                try await till.transaction {
                    var ids: [String] = []
                    for index in 0..<5 {
                        ids.append(
                            try await till.commands.createOrder(
                                customerEmail: "b\(basket)-\(index)@example.com", lines: [line("MUG", 1)]
                            ).orderID)
                    }
                    return ids
                }
            }
        }
        var own: Set<String> = []
        for single in singles { own.insert(try await single.value) }
        for basket in baskets { own.formUnion(try await basket.value) }
        _ = try await merge.value
        #expect(own.count == 45)
        let orders = Set(try await till.queries.orders().map(\.id))
        let merged = Set(try await hub.queries.orders().map(\.id))
        #expect(merged.count == 1_500)
        #expect(orders == own.union(merged))
        #expect(try await counter(till) == before + 33, "one dot per command, one per basket")
        #expect(till.writesInFlight.load(ordering: .sequentiallyConsistent) == 0)
    }
}

/// The checkpointer (`Storage/Checkpointer.swift`): the log is copied into the file off the commands, and stays
/// bounded under writes that never pause.
@Suite struct CheckpointerTests {
    private func walPages(_ path: String) -> Int {
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        return max(0, bytes - 32) / (4_096 + 24)
    }

    @Test func theLogIsCopiedInTheBackgroundAndStaysBounded() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("till.sqlite")
        let replica = try Replica.create(at: path, name: "till")
        let checkpointer = try #require(replica.checkpointer)
        var largest = 0
        // About 20 pages a sale: past the limit (8,000 pages) twice, with no pause between commands.
        for index in 0..<900 {
            _ = try await replica.commands.createOrder(
                customerEmail: "c\(index)@example.com", lines: [line("MUG", 1), line("CAP", 2)])
            largest = max(largest, walPages(path))
        }
        #expect(checkpointer.runs.load(ordering: .relaxed) > 0, "the checkpointer copied the log")
        #expect(largest > Int(Checkpointer.threshold), "the log grew past where SQLite would have copied it")
        #expect(
            largest <= Int(Checkpointer.limit) + 200,
            "the writer copied the log itself at the limit, and it started over (largest: \(largest) pages)")
    }

    @Test func afterACheckpointTheFileAloneHoldsEveryCommit() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("till.sqlite")
        let replica = try Replica.create(at: path, name: "till")
        var created: Set<String> = []
        for index in 0..<40 {
            created.insert(
                try await replica.commands.createOrder(
                    customerEmail: "c\(index)@example.com", lines: [line("MUG", 1)]
                ).orderID)
        }
        try await replica.checkpoint()
        // A copy of the file without its log, as `cp replica.sqlite` would make while the replica is open.
        let copy = directory.path("copy.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"))
        let ids = try readOnlyRows(copy, "SELECT id FROM orders")
        #expect(Set(ids.map { $0[0] }) == created)
    }

    /// SQLite's memory statistics are off when the process's first connection is a replica's
    /// (`Replica.sqliteConfigured`), so its allocations take no global mutex. With them on, an open connection
    /// counts the bytes its caches hold; off, SQLite counts nothing. (A test process may open SQLite some other
    /// way first; then the setting was refused and the count must be on.)
    @Test func sqliteCountsNoMemoryOnceConfigured() throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("till.sqlite"), name: "till")
        let orders = try replica.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM orders") }
        #expect(orders == 0)
        #expect((sqlite3_memory_used() == 0) == Replica.sqliteConfigured)
    }
}
