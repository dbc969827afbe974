import Dispatch
import Foundation
import GRDB
import OrderDomain
import Synchronization

extension Replica {
    /// Runs `body` as one write transaction: every command it calls on this replica joins it, and they commit
    /// together — one commit, one dot, one hybrid time — or not at all.
    ///
    /// A basket of commands (a till's ten sales, an order created and paid) costs one commit instead of one
    /// each. Each command inside stays one atomic unit with its own checks: a refused command (a `DomainError`)
    /// changes nothing and throws as usual; `body` may catch it and go on, and the others still commit. An
    /// error that leaves `body` rolls the whole transaction back.
    ///
    /// ```swift
    /// try await replica.transaction {
    ///     let sale = try await replica.commands.createOrder(customerEmail: "ana@example.com", lines: lines)
    ///     try await replica.commands.pay(order: sale.orderID, amount: "39.80", method: .cash)
    /// }
    /// ```
    ///
    /// `body` runs on the thread that holds the replica's writer (a task executor of its own), so commands in
    /// it cost no thread hops. Queries in it read the last commit: they do not see the basket's own writes
    /// until it commits. Other writers wait meanwhile (other tasks' commands, sync sessions, other processes),
    /// so keep `body` short, and do not await in it anything that writes this replica another way (a sync
    /// session): that would wait for the transaction to end. A `transaction` on the same replica inside `body`
    /// joins this one.
    ///
    /// - Returns: what `body` returns, once committed.
    /// - Throws: what `body` throws (nothing is written then), or the error that kept the transaction from
    ///   starting or committing.
    public func transaction<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if let basket = Basket.current, basket.replica === self, basket.isServing {
            return try await body()
        }
        let basket = Basket(replica: self)
        let wall = now()
        let random = self.random
        // The writer: a thread of its own holds the replica's write transaction and runs `body`'s jobs until it
        // ends (blocking a thread of the cooperative pool would starve every task).
        async let outcome: (Set<String>, ClosedRange<Int64>) = withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let result = Result {
                    try self.writeWithoutTransactionBlocking { db in
                        // Each command is a savepoint, whose journal of pages SQLite keeps in a temporary file
                        // once past 64 KiB: in memory instead, it costs a copy rather than file writes. (Set
                        // outside a transaction, as SQLite requires; a savepoint's journal goes at its release.)
                        try db.execute(sql: "PRAGMA temp_store = MEMORY")
                        defer { try? db.execute(sql: "PRAGMA temp_store = DEFAULT") }
                        var outcome: (Set<String>, ClosedRange<Int64>) = ([], 0...0)
                        try db.inTransaction(.immediate) {
                            outcome = try basket.serve(db: db, wallMilliseconds: wall, random: random)
                            return .commit
                        }
                        return outcome
                    }
                }
                // Whatever `body` still does (the transaction never began, or ended) runs here, outside it.
                basket.serveDetached(after: result)
                continuation.resume(with: result)
            }
            thread.name = "outpost.transaction"
            thread.start()
        }
        let result: Result<T, any Error>
        do {
            result = .success(
                try await withTaskExecutorPreference(basket) {
                    try await Basket.$current.withValue(basket) { try await body() }
                })
        } catch {
            result = .failure(error)
        }
        if case .success = result { basket.end(commit: true) } else { basket.end(commit: false) }
        do {
            let (touched, lseqs) = try await outcome
            notify(touched, wrote: lseqs)
        } catch {
            if case .failure(let bodyError) = result { throw bodyError }
            throw error
        }
        return try result.get()
    }
}

/// One `Replica.transaction` in progress: the task executor its body runs on (the thread holding the replica's
/// writer) and the write context its commands share.
///
/// The database and context are touched only on the serving thread, while it serves: that confinement is
/// what `@unchecked Sendable` stands for.
final class Basket: TaskExecutor, @unchecked Sendable {
    /// The transaction the current task's commands join, if any.
    @TaskLocal static var current: Basket?

    let replica: Replica
    private enum Item {
        case job(UnownedJob)
        case end(commit: Bool)
    }
    private let queue = Mutex<(items: [Item], closed: Bool)>(([], false))
    private let signal = DispatchSemaphore(value: 0)
    private let servingThread = Mutex<pthread_t?>(nil)
    /// Set and read on the serving thread only.
    private var session: (db: Database, context: WriteContext)?
    private var touched: Set<String> = []
    /// Why the transaction could not run the commands (it never began), for those that come anyway.
    private var failure: (any Error)?

    init(replica: Replica) {
        self.replica = replica
    }

    /// Whether the caller runs on the thread holding the transaction, while it does.
    var isServing: Bool {
        servingThread.withLock { thread in thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let accepted = queue.withLock { state in
            guard !state.closed else { return false }
            state.items.append(.job(unowned))
            return true
        }
        if accepted {
            signal.signal()
        } else {
            // A task that outlived the body (it kept the preference) goes on on the global executor.
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
        }
    }

    /// The body ended: commit what its commands wrote, or roll it all back.
    func end(commit: Bool) {
        queue.withLock { $0.items.append(.end(commit: commit)) }
        signal.signal()
    }

    /// In the write transaction: runs the body's jobs until it ends, then stores the clock.
    /// - Returns: the orders the commands changed, and the change sequences they wrote.
    func serve(db: Database, wallMilliseconds: Int64, random: @escaping @Sendable () -> UInt64) throws -> (
        Set<String>, ClosedRange<Int64>
    ) {
        do {
            session = (db, try WriteContext(db, wallMilliseconds: wallMilliseconds, random: random))
        } catch {
            // The commands of the body fail with the reason (a replica still bootstrapping, say).
            failure = error
            return ([], 0...0)
        }
        servingThread.withLock { $0 = pthread_self() }
        let commit = runJobs()
        servingThread.withLock { $0 = nil }
        defer { session = nil }
        guard commit, let context = session?.context else { throw Rollback() }
        try context.finish()
        return (touched, context.startLseq...context.currentLseq)
    }

    /// After the transaction (or instead of it): whatever the body still runs, on this thread, until it ends.
    func serveDetached(after result: Result<(Set<String>, ClosedRange<Int64>), any Error>) {
        if case .failure(let error) = result, failure == nil, !(error is Rollback) { failure = error }
        if queue.withLock({ state in state.closed }) { return }
        servingThread.withLock { $0 = pthread_self() }
        _ = runJobs()
        servingThread.withLock { $0 = nil }
    }

    /// Runs jobs until the end item; closes the queue. Returns whether to commit.
    private func runJobs() -> Bool {
        while true {
            signal.wait()
            let (item, after) = queue.withLock { state -> (Item?, [Item]) in
                guard !state.items.isEmpty else { return (nil, []) }
                let item = state.items.removeFirst()
                guard case .end = item else { return (item, []) }
                state.closed = true
                defer { state.items = [] }
                return (item, state.items)
            }
            switch item {
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            case .end(let commit):
                // Jobs behind the end belong to tasks that outlived the body: they go on elsewhere.
                for case .job(let job) in after { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
                return commit
            case nil: continue
            }
        }
    }

    /// Runs one command's body in the transaction (on the serving thread), as one savepoint: a refusal undoes
    /// just that command.
    func perform<T>(_ body: (WriteContext) throws -> T) throws -> T {
        if let failure { throw failure }
        guard let (db, context) = session else {
            throw ReplicaError(
                .unavailable, "the transaction this command belongs to has ended",
                hint: "run the command inside the `transaction` body, or after it returns")
        }
        defer {
            context.touchedOrders = []
            context.refreshedOrders = []
        }
        return try db.savepoint {
            let value = try body(context)
            for id in context.touchedOrders.sorted() {
                try OrderRecords.refresh(db, id: id, schedules: try context.dueSchedules())
            }
            touched.formUnion(context.touchedOrders)
            touched.formUnion(context.refreshedOrders)
            return value
        }
    }

    /// The body threw: the transaction rolls back.
    struct Rollback: Error {}
}
