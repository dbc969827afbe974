import Foundation
import Logging
import OutpostCore
import Replica
import SecureLine
import Synchronization

/// What one round of `syncContinuously` did.
public enum WatchEvent: Sendable {
    /// A session completed.
    case synced(SyncSummary)
    /// A session failed in a way that retrying may fix (the link dropped, the peer is away or busy); the next
    /// attempt comes after `retryIn`.
    case linkDown(any Error, retryIn: Duration)
}

extension ReplicationStore {
    /// Keeps this replica in step with one peer: a session now, then another as soon as `localChanges` reports a
    /// change (a local command, here or in another process on the same file), and every `interval` otherwise to
    /// pick up the peer's news. A session that fails for a reason retrying may fix is retried with backoff (1 s,
    /// doubling, at most 30 s); each session is the ordinary one, so a cut one resumes from what was staged and
    /// nothing is merged half. Returns when the task is cancelled.
    ///
    /// - Parameters:
    ///   - localChanges: the replica's `changedOrders()` (or any signal of local commits).
    ///   - report: hears about every session and every failed attempt.
    /// - Throws: the first failure retrying cannot fix (the peer rejects this device, another schema, a site
    ///   conflict, a protocol violation).
    public func syncContinuously(
        host: String, port: Int, peerKey: [UInt8], identity: SyncIdentity, interval: Duration = .seconds(2),
        localChanges: AsyncStream<Set<String>>, report: @escaping @Sendable (WatchEvent) -> Void
    ) async throws {
        let dirty = Mutex(true)
        let listening = Task {
            for await _ in localChanges { dirty.withLock { $0 = true } }
        }
        defer { listening.cancel() }
        let clock = ContinuousClock()
        var backoff: Duration = .seconds(1)
        var last = clock.now - interval
        while !Task.isCancelled {
            let due = dirty.withLock { $0 } || clock.now - last >= interval
            guard due else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            dirty.withLock { $0 = false }
            do {
                let summary = try await sync(host: host, port: port, peerKey: peerKey, identity: identity)
                last = clock.now
                backoff = .seconds(1)
                if summary.changesApplied > 0 {
                    // What the session itself merged is not a local change to send back: let its notification
                    // arrive, then forget it.
                    try? await Task.sleep(for: .milliseconds(150))
                    dirty.withLock { $0 = false }
                }
                report(.synced(summary))
            } catch {
                if Task.isCancelled { return }
                let status = (error as? any OutpostError)?.exitStatus
                guard status == .temporaryFailure || status == .unavailable else { throw error }
                report(.linkDown(error, retryIn: backoff))
                try? await Task.sleep(for: backoff)
                dirty.withLock { $0 = true }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }
}
