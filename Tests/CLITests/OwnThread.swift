import Foundation
import OutpostTestSupport
import Testing

/// Runs each test of a suite on a thread of its own, not on one of Swift's cooperative threads.
///
/// These tests run the `outpost` binary and wait for it, blocking the thread they run on for seconds at a time.
/// On a cooperative thread that wait holds one of the pool's threads, which are as many as the cores: on a 2-core
/// machine, two such tests stop every other test's tasks — sessions' reads and sends, listeners, timers' callers —
/// for as long as they run. Measured with a test that slept 100 ms at a time during a whole quick run: its longest
/// wait was 72 s before this trait and 27 s with it (the rest is CPU-bound tests); a CI run's stall of about two
/// minutes let a live test's session reach its 120-second idle deadline. Here each test's body, and the tasks it
/// awaits, run on a thread that only it uses.
struct OwnThreadTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        let executor = ThreadExecutor()
        defer { executor.finish() }
        try await withTaskExecutorPreference(executor) { try await function() }
    }
}

extension Trait where Self == OwnThreadTrait {
    /// Each test runs on a thread of its own (see ``OwnThreadTrait``).
    static var ownThread: Self { OwnThreadTrait() }
}

/// A task executor with one thread, which runs the jobs enqueued on it in order.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false
    private var running = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        // A job enqueued after `finish` (a task that outlived the test) still runs, on a new thread.
        let start = !running
        running = true
        condition.signal()
        condition.unlock()
        if start {
            Thread {
                blockSignalsOnThisThread()
                self.drain()
            }.start()
        }
    }

    /// Lets the thread end once no job is left.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func drain() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty {
                running = false
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
