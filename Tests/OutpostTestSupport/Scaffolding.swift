import Foundation

/// A fake wall clock shared by a test's replicas: every reading advances one millisecond.
public final class FakeClock: Sendable {
    private let value = LockedValue<Int64>(1_790_000_000_000)
    public init() {}
    public func callAsFunction() -> Int64 {
        value.update {
            $0 += 1
            return $0
        }
    }

    /// Moves the clock forward by `milliseconds`.
    public func advance(by milliseconds: Int64) {
        value.update {
            $0 += milliseconds
            return $0
        }
    }
}

/// A value shared between tasks behind a lock.
public final class LockedValue<T: Sendable>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    public init(_ value: T) { self.value = value }
    public func update<R>(_ body: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// A directory removed when the test ends.
public final class TemporaryDirectory: Sendable {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// `what` did not happen within its deadline: the test fails with this instead of hanging.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let description: String
}

/// The result of `body`, or `DeadlineExceeded` naming `what` after `seconds` (the body is then cancelled).
public func withDeadline<T: Sendable>(
    _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw DeadlineExceeded(description: "\(what) did not happen within \(seconds) s")
        }
        return value
    }
}
