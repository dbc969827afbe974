import Foundation
import Logging
import OrderDomain
import Replica
import SecureLine
import Synchronization

/// One change pushed or merged on a live session (protocol/SPEC.md §15).
public struct LiveExchange: Hashable, Sendable {
    public enum Direction: String, Sendable { case sent, received }
    public var direction: Direction
    /// The peer's name and site id.
    public var peerName: String
    public var peerSite: String
    /// Records and field states the delta carried.
    public var rows: Int
    public var fields: Int
    /// Fields whose state the merge changed here, and those that became conflicts (received deltas).
    public var changed: Int
    public var conflicts: Int
    /// The `LIVE` record's body in bytes.
    public var bytes: Int
    /// Bytes on this session's line so far, both ways, frames included (after this delta went or came).
    public var lineBytes: Int = 0

    public init(
        direction: Direction, peerName: String, peerSite: String, rows: Int, fields: Int, changed: Int = 0,
        conflicts: Int = 0, bytes: Int, lineBytes: Int = 0
    ) {
        self.lineBytes = lineBytes
        self.direction = direction
        self.peerName = peerName
        self.peerSite = peerSite
        self.rows = rows
        self.fields = fields
        self.changed = changed
        self.conflicts = conflicts
        self.bytes = bytes
    }
}

/// The limits of live sessions (protocol/SPEC.md §15, Sync.docc "Live sessions").
public struct LiveSettings: Hashable, Sendable {
    /// Deltas sent and not yet acknowledged at most; then the sender waits, and changes gather into the next.
    public var window = 32
    /// Records one delta carries at most; a peer further behind is switched back to a batched stream.
    public var rowLimit = 2000
    /// Changed records the shared window of recent changes keeps (a session behind it reads the store).
    public var feedCapacity = 8192
    /// The shortest time between two deltas to one peer: a change after a quiet spell goes at once; changes
    /// that follow each other closer than this gather into one delta (one merge transaction at the peer).
    public var gap: Duration = .milliseconds(50)

    public init(
        window: Int = 32, rowLimit: Int = 2000, feedCapacity: Int = 8192, gap: Duration = .milliseconds(50)
    ) {
        self.window = max(1, window)
        self.rowLimit = max(1, rowLimit)
        self.feedCapacity = max(1, feedCapacity)
        self.gap = max(.zero, gap)
    }
}

/// What a session offers beyond its batched exchange: staying open as a live session (protocol/SPEC.md §15).
struct LiveOptions: Sendable {
    let feed: LiveFeed
    let settings: LiveSettings
    /// Hears the batched exchange's summary when the live phase begins, then every delta.
    let report: @Sendable (WatchEvent) -> Void
}

/// The live phase of a session (Sync.docc, "Live sessions"): after both batched streams are merged, each side
/// pushes every change the other lacks as a `LIVE` delta, merged whole when it arrives and acknowledged with
/// `LACK`. The dialler ends it with `BYE`; either side asks for a batched stream again with `RESYNC`.
struct LiveLink {
    enum Ending: Hashable, Sendable {
        /// The peer said goodbye.
        case closed
        /// One side fell too far behind: the dialler dials again for a batched session.
        case resync
    }

    let store: any ReplicationStore
    let options: LiveOptions
    let role: SyncSession.Role
    let peerSite: String
    let peerName: String
    let logger: Logger
    /// What the peer holds when the live phase begins: its vector, and this side's change sequence up to which
    /// it has every record it lacked.
    let peerVector: [String: UInt64]
    let cursor: Int64

    /// How long a receiver waits before acknowledging, so that a burst of deltas takes one `LACK`.
    static let ackDelay: Duration = .milliseconds(20)
    /// A line with nothing to say sends a `PING` this often (the idle timeout is 120 s).
    static let keepAlive: Duration = .seconds(30)

    struct Shared: Sendable {
        var peerVector: [String: UInt64]
        /// The vector of the last delta sent (vectors only grow: it covers every earlier one); kept apart from
        /// `peerVector` so that sending does not merge a whole vector per delta.
        var sentVector: [String: UInt64] = [:]
        /// The change sequences of the deltas sent and not yet acknowledged, oldest first.
        var unacknowledged: [Int64] = []
        var delivered: Int64 = 0
        var received = 0
        /// Received deltas already acknowledged.
        var acknowledged = 0
        var ackScheduled = false
        var resync = false
    }

    /// The state the receiving loop and the sending task share.
    final class Box: Sendable {
        private let state: Mutex<Shared>
        init(_ initial: Shared) { state = Mutex(initial) }
        func withLock<T>(_ body: (inout Shared) throws -> T) rethrows -> T { try state.withLock { try body(&$0) } }
    }

    func run(_ session: inout LineSession) async throws -> Ending {
        let shared = Box(Shared(peerVector: peerVector))
        let (acks, ackSignal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let sender = session.sender
        let counters = session.counters
        let sending = Task { try await send(shared: shared, sender: sender, counters: counters, acks: acks) }
        defer {
            sending.cancel()
            ackSignal.finish()
        }
        var decoder = LiveCodec()
        do {
            // A cancelled watcher says goodbye: the peer ends its side, and this side's read returns.
            let ending = try await withTaskCancellationHandler {
                try await receive(&session, decoder: &decoder, shared: shared, ackSignal: ackSignal)
            } onCancel: {
                Task { try? await sender.goodbye() }
            }
            await markDelivered(shared)
            return ending
        } catch {
            await markDelivered(shared)
            if Task.isCancelled { throw CancellationError() }
            if shared.withLock({ $0.resync }) { return .resync }
            // The sender's own failure, when it failed first, says more than the cut line it left.
            sending.cancel()
            if let failure = await Self.failure(of: sending) { throw failure }
            throw error
        }
    }

    /// The receiving loop: merges each `LIVE`, notes each `LACK`, until the peer's goodbye or `RESYNC`.
    private func receive(
        _ session: inout LineSession, decoder: inout LiveCodec, shared: Box,
        ackSignal: AsyncStream<Void>.Continuation
    ) async throws -> Ending {
        let sender = session.sender
        while let record = try await session.next() {
            switch record.verb {
            case "LIVE":
                let delta = try decoder.decode(record.body, sender: peerSite)
                // The peer holds what it sent: known before the merge signals the feed, so that the change
                // is not sent back to it.
                shared.withLock { $0.peerVector.merge(delta.end.vector, uniquingKeysWith: max) }
                let merged = try await store.mergeLive(delta, from: peerSite)
                let ack = shared.withLock { state -> Bool in
                    state.received += 1
                    defer { state.ackScheduled = true }
                    return !state.ackScheduled
                }
                if ack {
                    Task {
                        try? await Task.sleep(for: Self.ackDelay)
                        let count = shared.withLock { state -> Int in
                            state.ackScheduled = false
                            defer { state.acknowledged = state.received }
                            return state.received - state.acknowledged
                        }
                        try? await sender.send(Record(verb: "LACK", json: count == 1 ? "{}" : "{\"n\":\(count)}"))
                    }
                }
                options.report(
                    .live(
                        LiveExchange(
                            direction: .received, peerName: peerName, peerSite: peerSite, rows: delta.rows.count,
                            fields: delta.rows.reduce(0) { $0 + $1.fields.count }, changed: merged.fieldsChanged,
                            conflicts: merged.conflictsDetected, bytes: record.body.count,
                            lineBytes: session.counters.bytesSent + session.counters.bytesReceived)))
            case "LACK":
                // `n` more deltas merged (absent: one).
                let newly = record.fields["n"].map { $0 as? Int ?? 0 } ?? 1
                try shared.withLock { state in
                    guard newly >= 1, newly <= state.unacknowledged.count else {
                        throw SyncError(
                            .protocolViolation,
                            "LACK of \(newly) deltas when \(state.unacknowledged.count) await acknowledgement")
                    }
                    state.delivered = max(state.delivered, state.unacknowledged[newly - 1])
                    state.unacknowledged.removeFirst(newly)
                }
                ackSignal.yield()
            case "RESYNC":
                guard role == .dialler else { throw SyncError(.protocolViolation, "RESYNC from the dialler") }
                logger.info("the peer asks for a batched stream", metadata: ["peer": "\(peerName)"])
                try? await session.goodbye()
                return .resync
            default:
                throw SyncError(.protocolViolation, "\(record.verb.prefix(32)) in a live session")
            }
        }
        return .closed
    }

    /// The sending half: waits for the feed, sends what the peer lacks, keeps the line alive.
    private func send(shared: Box, sender: LineSender, counters: LineCounters, acks: AsyncStream<Void>) async throws {
        var encoder = LiveCodec()
        var cursor = self.cursor
        var markedAt = ContinuousClock.now
        var acks = acks.makeAsyncIterator()
        let feed = options.feed
        var lastSend = ContinuousClock.now
        var lastDelta = ContinuousClock.now - options.settings.gap
        // Whether the encoder's vector is the feed's at the encoder's last change sequence (not before the first
        // delta, nor after one read from the store).
        var vectorFromFeed = false
        while !Task.isCancelled {
            await feed.wait(after: cursor, timeout: Self.keepAlive)
            if Task.isCancelled || feed.isStopped { return }
            // Changes close behind the last delta gather for the rest of the gap.
            let quietFor = ContinuousClock.now - lastDelta
            if quietFor < options.settings.gap {
                try? await Task.sleep(for: options.settings.gap - quietFor)
                if Task.isCancelled { return }
            }
            while shared.withLock({ $0.unacknowledged.count >= options.settings.window }) {
                guard await acks.next() != nil else { return }
            }
            let (peerVector, sentVector) = shared.withLock { ($0.peerVector, $0.sentVector) }
            var pendingFromStore = false
            var pending = feed.delta(
                after: cursor, peerVector: peerVector, sentVector: sentVector, sender: store.identity.siteID,
                limit: options.settings.rowLimit)
            if case .outOfWindow = pending {
                // The peer's cursor is older than what the feed holds (a session that began before the feed, or
                // a peer slower than the window): read the store itself.
                let changes = try await store.recentChanges(after: cursor, limit: options.settings.rowLimit * 4)
                pendingFromStore = true
                pending =
                    changes.complete
                    ? LiveFeed.filter(
                        changes.records[...], sites: changes.sites, vector: changes.vector,
                        latest: changes.snapshotLseq, peerVector: peerVector, sentVector: sentVector,
                        sender: store.identity.siteID,
                        limit: options.settings.rowLimit)
                    : .tooMany
            }
            switch pending {
            case .nothing(let latest):
                cursor = max(cursor, latest)
                if ContinuousClock.now - lastSend >= Self.keepAlive {
                    try await sender.send(Record(verb: "PING", json: "{\"n\":1}"))
                    lastSend = .now
                }
            case .outOfWindow, .tooMany:
                logger.info("the peer is too far behind for live deltas", metadata: ["peer": "\(peerName)"])
                shared.withLock { $0.resync = true }
                switch role {
                case .listener: try await sender.send(Record(verb: "RESYNC", json: "{}"))
                case .dialler: try await sender.goodbye()
                }
                return
            case .delta(let delta):
                // Only the entries that rose since the last delta are compared, when the last delta's vector was
                // the feed's at its change sequence (the feed records each rise after it); otherwise all of them.
                let rose = vectorFromFeed ? feed.rises(after: encoder.lastSnapshot) : nil
                let body = try encoder.encode(delta, rose: pendingFromStore ? nil : rose)
                vectorFromFeed = !pendingFromStore
                shared.withLock {
                    $0.unacknowledged.append(delta.end.snapshotLseq)
                    $0.sentVector = delta.end.vector
                }
                try await sender.send(Record(verb: "LIVE", json: "{}", body: body))
                lastSend = .now
                lastDelta = lastSend
                cursor = delta.end.snapshotLseq
                options.report(
                    .live(
                        LiveExchange(
                            direction: .sent, peerName: peerName, peerSite: peerSite, rows: delta.rows.count,
                            fields: delta.rows.reduce(0) { $0 + $1.fields.count }, bytes: body.count,
                            lineBytes: counters.bytesSent + counters.bytesReceived)))
            }
            if ContinuousClock.now - markedAt >= .seconds(5) {
                markedAt = .now
                await markDelivered(shared)
            }
        }
    }

    /// Records what the peer acknowledged (best effort: `status()`'s figures, not correctness).
    private func markDelivered(_ shared: Box) async {
        let delivered = shared.withLock { $0.delivered }
        guard delivered > 0 else { return }
        try? await store.markDelivered(to: peerSite, snapshotLseq: delivered)
    }

    private static func failure(of task: Task<Void, any Error>) async -> (any Error)? {
        guard case .failure(let error) = await task.result else { return nil }
        return error is CancellationError ? nil : error
    }
}
