import Synchronization
import Testing

/// Runs the tests it marks one at a time, each waiting its turn without holding a thread.
///
/// These tests run the `outpost` binary and wait for it, blocking the thread they run on for seconds at a time.
/// That thread is one of Swift's cooperative threads, which are as many as the cores: on a 2-core machine, two
/// such tests at once stop every other test's tasks — sessions' reads and sends included — for as long as they
/// run. Measured with a test that slept 100 ms at a time through a whole quick run: its longest wait was 72 s; a
/// CI run's stall of about two minutes let a live test's session reach its 120-second idle deadline. One at a
/// time, they leave the other thread to the rest of the suite: the same probe's longest wait became 4 s.
struct OneAtATimeTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        await ProcessTurns.shared.enter()
        defer { ProcessTurns.shared.leave() }
        try await function()
    }
}

extension Trait where Self == OneAtATimeTrait {
    /// The marked tests run one at a time (see ``OneAtATimeTrait``).
    static var oneAtATime: Self { OneAtATimeTrait() }
}

/// Turns, first come first served: `enter` suspends (holding no thread) until the previous holder calls `leave`.
final class ProcessTurns: Sendable {
    static let shared = ProcessTurns()
    private let state = Mutex<(taken: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func enter() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if !state.taken {
                    state.taken = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.taken = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
