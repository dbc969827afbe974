import Foundation
import Logging
import OutpostCore
import Replica
import SecureLine
import Synchronization

/// What one round of `syncContinuously` did.
public enum WatchEvent: Sendable {
    /// A session's batched exchange completed (a live session stays open after it).
    case synced(SyncSummary)
    /// A live session pushed a change to the peer or merged one from it.
    case live(LiveExchange)
    /// A session failed in a way that retrying may fix (the link dropped, the peer is away or busy); the next
    /// attempt comes after `retryIn`.
    case linkDown(any Error, retryIn: Duration)
}

extension ReplicationStore {
    /// Keeps this replica in step with one peer. With `live` settings (the default) and a peer that offers it, one
    /// session stays open (protocol/SPEC.md §15): after its batched exchange, each local commit (here or in
    /// another process on the same file) is pushed to the peer as it happens and the peer's changes arrive as
    /// they happen, each merged whole; `report` hears `.synced` for the exchange and `.live` for every delta.
    /// A peer that does not offer live sessions gets a session as soon as `localChanges` reports a change, and
    /// every `interval` otherwise. A session that fails for a reason retrying may fix is retried with backoff
    /// (1 s, doubling, at most 30 s); a peer that fell too far behind for live deltas gets a batched session
    /// at once. Each session is the ordinary one, so a cut one resumes from what was staged and nothing is
    /// merged half. Returns when the task is cancelled.
    ///
    /// ```swift
    /// try await replica.replication.syncContinuously(
    ///     host: "hub.local", port: 7400, peerKey: hubKey, identity: me, localChanges: replica.changedOrders()
    /// ) { event in if case .live(let change) = event { print(change.direction, change.rows) } }
    /// ```
    ///
    /// - Parameters:
    ///   - batchSize: records per batch of a session's exchange (smaller batches make progress on a link that
    ///     drops every few kilobytes: each acknowledged batch stays staged).
    ///   - localChanges: the replica's `changedOrders()` (or any signal of local commits).
    ///   - report: hears about every session, every live delta and every failed attempt.
    /// - Throws: the first failure retrying cannot fix (the peer rejects this device, another schema, a site
    ///   conflict, a protocol violation).
    public func syncContinuously(
        host: String, port: Int, peerKey: [UInt8], identity: SyncIdentity, interval: Duration = .seconds(2),
        live: LiveSettings? = LiveSettings(), batchSize: Int = 500, settings: LineSettings = LineSettings(),
        localChanges: AsyncStream<Set<String>>, report: @escaping @Sendable (WatchEvent) -> Void
    ) async throws {
        let dirty = Mutex(true)
        let listening = Task {
            for await _ in localChanges { dirty.withLock { $0 = true } }
        }
        defer { listening.cancel() }
        let feed = live.map { LiveFeed(store: self, capacity: $0.feedCapacity) }
        defer { feed?.stop() }
        // Set when a session went live: its end, however it comes, is a fresh failure, not one more in a row.
        let wentLive = Mutex(false)
        let options = feed.map { feed in
            LiveOptions(feed: feed, settings: live ?? LiveSettings()) { event in
                if case .synced = event { wentLive.withLock { $0 = true } }
                report(event)
            }
        }
        let logger = Logger(label: "outpost.sync")
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
            wentLive.withLock { $0 = false }
            do {
                let summary = try await session(
                    host: host, port: port, peerKey: peerKey, identity: identity, batchSize: batchSize,
                    settings: settings, acceptSnapshot: true, progress: nil, logger: logger, live: options)
                last = clock.now
                switch summary.liveEnding {
                case .resync?:
                    // Too far behind for live deltas: a batched session at once.
                    backoff = .seconds(1)
                    dirty.withLock { $0 = true }
                    continue
                case .closed?:
                    // The peer closed a live session cleanly (it is shutting down): try again after a while.
                    backoff = .seconds(1)
                    report(.linkDown(SyncError(.unavailable, "the peer ended the live session"), retryIn: backoff))
                    try? await Task.sleep(for: backoff)
                    dirty.withLock { $0 = true }
                    backoff = min(backoff * 2, .seconds(30))
                    continue
                case nil:
                    break
                }
                backoff = .seconds(1)
                if summary.snapshotBytesReceived > 0 {
                    // A copy of the peer's file: what the peer wrote after making it comes by records, at once.
                    dirty.withLock { $0 = true }
                } else if summary.changesApplied > 0 {
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
                if wentLive.withLock({ $0 }) { backoff = .seconds(1) }
                report(.linkDown(error, retryIn: backoff))
                try? await Task.sleep(for: backoff)
                dirty.withLock { $0 = true }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }
}
