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
    /// it cost no thread hops, and the basket commits on that thread as `body` returns: a basket costs two thread
    /// wake-ups (into the writer and back), whatever its size. Queries in it read the last commit: they do not
    /// see the basket's own writes until it commits. Other writers wait meanwhile (other tasks' commands, sync
    /// sessions, other processes), so keep `body` short, and do not await in it anything that writes this
    /// replica another way (a sync session): that would wait for the transaction to end. A `transaction` on the
    /// same replica inside `body` joins this one.
    ///
    /// - Returns: what `body` returns, once committed.
    /// - Throws: what `body` throws (nothing is written then), or the error that kept the transaction from
    ///   starting or committing.
    public func transaction<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if let basket = Basket.current, basket.replica === self, basket.isServing {
            return try await body()
        }
        let basket = Basket(replica: self)
        basket.begin(wallMilliseconds: now(), random: random)
        let value = try await withTaskExecutorPreference(basket) {
            try await Basket.$current.withValue(basket) {
                let value: T
                do {
                    value = try await body()
                } catch {
                    try? await basket.end(commit: false)
                    throw error
                }
                try await basket.end(commit: true)
                return value
            }
        }
        let (touched, lseqs) = basket.outcome
        notify(touched, wrote: lseqs)
        return value
    }
}

/// One `Replica.transaction` in progress: the task executor its body runs on (the thread holding the replica's
/// writer) and the write context its commands share.
///
/// The database, the context and the failures are touched only on the serving thread, while it serves: that
/// confinement is what `@unchecked Sendable` stands for.
final class Basket: TaskExecutor, @unchecked Sendable {
    /// The transaction the current task's commands join, if any.
    @TaskLocal static var current: Basket?

    let replica: Replica
    private enum Item {
        case job(UnownedJob)
        /// The body ended off the serving thread: commit or roll back there, then resume the body's task.
        case end(commit: Bool, CheckedContinuation<Void, any Error>)
    }
    private let queue = Mutex<(items: [Item], closed: Bool)>(([], false))
    private let signal = DispatchSemaphore(value: 0)
    private let servingThread = Mutex<pthread_t?>(nil)
    /// Set and read on the serving thread only.
    private var session: (db: Database, context: WriteContext)?
    private var touched: Set<String> = []
    /// Why the transaction could not run the commands (it never began), for those that come anyway.
    private var failure: (any Error)?
    /// Why the writer could not be had at all: what the basket's commit throws.
    private var writerFailure: (any Error)?
    /// What the commit wrote: the orders the commands changed and the change sequences.
    private let committed = Mutex<(Set<String>, ClosedRange<Int64>)>(([], 0...0))

    init(replica: Replica) {
        self.replica = replica
    }

    /// Whether the caller runs on the thread holding the transaction, while it does.
    var isServing: Bool {
        servingThread.withLock { thread in thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// The orders the committed basket changed and the change sequences it wrote (none before it commits).
    var outcome: (Set<String>, ClosedRange<Int64>) { committed.withLock { $0 } }

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

    /// The body ended: commit what its commands wrote, or roll it all back. On the serving thread (where the
    /// body's last job runs) this happens at once; elsewhere the serving thread does it and the task waits.
    func end(commit: Bool) async throws {
        if isServing {
            close()
            try finish(commit: commit)
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = queue.withLock { state in
                guard !state.closed else { return false }
                state.items.append(.end(commit: commit, continuation))
                return true
            }
            if accepted {
                signal.signal()
            } else {
                continuation.resume()
            }
        }
    }

    /// Starts the writer: a thread of the replica's transaction queue takes the replica's writer, begins the
    /// write transaction and runs the body's jobs until the body ends (blocking a thread of the cooperative pool
    /// would starve every task).
    func begin(wallMilliseconds: Int64, random: @escaping @Sendable () -> UInt64) {
        replica.transactionQueue.async {
            do {
                try self.replica.writeWithoutTransactionBlocking { db in
                    // Each command is a savepoint, whose journal of pages SQLite keeps in a temporary file once
                    // past 64 KiB: in memory instead, it costs a copy rather than file writes. (Set outside a
                    // transaction, as SQLite requires; a savepoint's journal goes at its release.)
                    try db.execute(sql: "PRAGMA temp_store = MEMORY")
                    defer { try? db.execute(sql: "PRAGMA temp_store = DEFAULT") }
                    try self.serve(db: db, wallMilliseconds: wallMilliseconds, random: random)
                }
            } catch {
                self.writerFailed(error)
            }
            // Whatever the body still does (the transaction never began) runs here, outside it.
            self.serveDetached()
        }
    }

    /// On the writer's thread, holding the writer: begins the write transaction and runs the body's jobs until
    /// it ends. Throws only when the transaction cannot begin.
    private func serve(db: Database, wallMilliseconds: Int64, random: @escaping @Sendable () -> UInt64) throws {
        try db.beginTransaction(.immediate)
        do {
            session = (db, try WriteContext(db, wallMilliseconds: wallMilliseconds, random: random))
        } catch {
            // The commands of the body fail with the reason (a replica still bootstrapping, say).
            try? db.rollback()
            failure = error
            return
        }
        serveUntilEnd()
        // The body's task always ends the basket; should it not have, nothing it wrote stays.
        if session != nil { try? finish(commit: false) }
    }

    /// The writer could not be had or the transaction not begun: the commands fail with `error`, and so does the
    /// basket's commit.
    private func writerFailed(_ error: any Error) {
        if failure == nil { failure = error }
        writerFailure = error
    }

    /// After the transaction (or instead of it): whatever the body still runs, on this thread, until it ends.
    private func serveDetached() {
        if queue.withLock({ state in state.closed }) { return }
        serveUntilEnd()
    }

    /// Runs the body's jobs on this thread until the body ends; an end handed over from another thread is done
    /// here, and its task resumed.
    private func serveUntilEnd() {
        servingThread.withLock { $0 = pthread_self() }
        let ending = runJobs()
        servingThread.withLock { $0 = nil }
        if let (commit, continuation) = ending {
            continuation.resume(with: Result { try finish(commit: commit) })
        }
    }

    /// Runs jobs until the body ends (its last job ended the basket, or an end item came). Returns the end item.
    private func runJobs() -> (Bool, CheckedContinuation<Void, any Error>)? {
        while true {
            signal.wait()
            let item = queue.withLock { state in state.items.isEmpty ? nil : state.items.removeFirst() }
            switch item {
            case .job(let job):
                job.runSynchronously(on: asUnownedTaskExecutor())
                if queue.withLock({ state in state.closed }) {
                    close()
                    return nil
                }
            case .end(let commit, let continuation):
                close()
                return (commit, continuation)
            case nil: continue
            }
        }
    }

    /// No more jobs: those already queued or still coming belong to tasks that outlived the body, and go on
    /// elsewhere.
    private func close() {
        let after = queue.withLock { state in
            state.closed = true
            defer { state.items = [] }
            return state.items
        }
        for case .job(let job) in after { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// On the serving thread: commits the basket (the clock stored with it) or rolls it back.
    private func finish(commit: Bool) throws {
        guard let (db, context) = session else {
            if commit, let writerFailure { throw writerFailure }
            return
        }
        session = nil
        guard commit else {
            try db.rollback()
            return
        }
        do {
            // The clock is stored only with the basket it counts.
            try Self.checkNotAborted(db)
            try context.finish()
            try db.commit()
        } catch {
            try? db.rollback()
            throw error
        }
        committed.withLock { $0 = (touched, context.startLseq...context.currentLseq) }
    }

    /// Throws SQLite's abort error when SQLite has ended the basket's transaction by itself, as GRDB's
    /// transaction block does for every statement inside it.
    private static func checkNotAborted(_ db: Database) throws {
        guard db.isInsideTransaction else {
            throw DatabaseError(
                resultCode: .SQLITE_ABORT, message: "the basket's transaction was rolled back by SQLite after an error")
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
        // SQLite rolled the whole basket back itself (a full disk, an I/O error) while a body caught the error and
        // went on: this command would write outside any transaction.
        try Self.checkNotAborted(db)
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
}
