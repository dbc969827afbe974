import OrderDomain
import Replica
import Synchronization

/// What one replica changed lately, read once for every live session of the process (Sync.docc, "Live
/// sessions"): each commit signalled by the store is read by one task into a bounded window of records, which
/// every session's sender filters for its own peer. A hub with a thousand terminals reads each change once, not
/// a thousand times, and never waits for a session: a session too far behind for the window reads the store
/// itself, or, further behind still, is switched back to a batched stream.
final class LiveFeed: Sendable {
    /// What the feed holds: every record changed in `(floor, latest]`, in change order.
    struct Window: Sendable {
        var sites: [String] = []
        var siteIndex: [String: UInt32] = [:]
        var records: [ChangedRecord] = []
        var floor: Int64 = 0
        var latest: Int64 = 0
        var vector: [String: UInt64] = [:]
        /// Per refresh, oldest first: its change sequence and the vector entries that rose in it, so that a
        /// sender names the entries that rose since its last delta without scanning the whole vector.
        var rises: [(latest: Int64, sites: [String])] = []
        /// `rises` covers every refresh after this change sequence.
        var risesFloor: Int64 = 0
    }

    let store: any ReplicationStore
    /// Records the window keeps at most.
    let capacity: Int
    private let window = Mutex(Window())
    private let waiters = Mutex<[Int: (after: Int64, continuation: CheckedContinuation<Void, Never>)]>([:])
    private let nextWaiter = Atomic<Int>(0)
    private let reader = Mutex<Task<Void, Never>?>(nil)

    init(store: any ReplicationStore, capacity: Int = 8192) {
        self.store = store
        self.capacity = capacity
    }

    /// Starts following the store's commits (from its current change sequence); idempotent.
    func start() async throws {
        if reader.withLock({ $0 != nil }) { return }
        let first = try await store.recentChanges(after: Int64.max - 1, limit: 0)
        // Subscribed outside the lock: a store may read to set its watcher up, and nothing may wait on I/O
        // while holding a lock other sessions' tasks spin on.
        let commits = store.commits()
        let started = reader.withLock { task -> Bool in
            guard task == nil else { return false }
            window.withLock {
                $0.floor = first.snapshotLseq
                $0.latest = first.snapshotLseq
                $0.vector = first.vector
                $0.risesFloor = first.snapshotLseq
            }
            task = Task { [weak self] in
                for await _ in commits {
                    guard let self else { return }
                    await self.refresh()
                }
            }
            return true
        }
        // Commits made between the first read and the subscription are caught by this look.
        if started { await refresh() }
    }

    /// Stops following the store; sessions waiting are released.
    func stop() {
        reader.withLock {
            $0?.cancel()
            $0 = nil
        }
        releaseWaiters(all: true)
    }

    /// Reads what changed since the window's latest change sequence into the window.
    func refresh() async {
        let after = window.withLock { $0.latest }
        guard let changes = try? await store.recentChanges(after: after, limit: capacity) else { return }
        window.withLock { window in
            guard changes.snapshotLseq > window.latest else { return }
            if !changes.complete {
                window.records.removeAll()
                window.floor = changes.snapshotLseq
            } else {
                var map: [UInt32] = []
                for site in changes.sites {
                    if let known = window.siteIndex[site] {
                        map.append(known)
                    } else {
                        let next = UInt32(window.sites.count)
                        window.siteIndex[site] = next
                        window.sites.append(site)
                        map.append(next)
                    }
                }
                for record in changes.records {
                    var row = record.row
                    row.fields = row.fields.map { field in
                        FieldState(
                            siblings: field.siblings.map {
                                Sibling(
                                    value: $0.value, dot: Dot(site: map[Int($0.dot.site)], counter: $0.dot.counter),
                                    time: $0.time)
                            })
                    }
                    window.records.append(ChangedRecord(lseq: record.lseq, row: row))
                }
                let excess = window.records.count - capacity
                if excess > 0 {
                    window.floor = window.records[excess - 1].lseq
                    window.records.removeFirst(excess)
                }
            }
            let rose = changes.vector.compactMap { site, counter in counter > window.vector[site] ?? 0 ? site : nil }
            window.rises.append((changes.snapshotLseq, rose))
            if window.rises.count > 4096 {
                window.risesFloor = window.rises[1023].latest
                window.rises.removeFirst(1024)
            }
            window.latest = changes.snapshotLseq
            window.vector = changes.vector
        }
        releaseWaiters(all: false)
    }

    /// The vector entries that rose after change sequence `lseq` (nil when the feed's record of them does not reach
    /// back that far: then the whole vector must be compared).
    func rises(after lseq: Int64) -> Set<String>? {
        window.withLock { window in
            guard lseq >= window.risesFloor else { return nil }
            var sites = Set<String>()
            for rise in window.rises.reversed() {
                guard rise.latest > lseq else { break }
                sites.formUnion(rise.sites)
            }
            return sites
        }
    }

    /// Whether the feed has stopped (its replica's server shut down): senders end.
    var isStopped: Bool { reader.withLock { $0 == nil } }

    /// Waits until the window holds changes after `lseq` (or `timeout` passes, or the feed stops).
    func wait(after lseq: Int64, timeout: Duration) async {
        if window.withLock({ $0.latest > lseq }) { return }
        let id = nextWaiter.add(1, ordering: .relaxed).newValue
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.release(id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = window.withLock { $0.latest > lseq } || reader.withLock { $0 == nil }
                if ready {
                    continuation.resume()
                } else {
                    waiters.withLock { $0[id] = (lseq, continuation) }
                    // A refresh between the check and the registration would have found no waiter.
                    if window.withLock({ $0.latest > lseq }) { release(id) }
                }
            }
        } onCancel: {
            release(id)
        }
    }

    private func release(_ id: Int) {
        waiters.withLock { $0.removeValue(forKey: id) }?.continuation.resume()
    }

    private func releaseWaiters(all: Bool) {
        let latest = window.withLock { $0.latest }
        let ready = waiters.withLock { waiters in
            let ids = waiters.filter { all || $0.value.after < latest }.map(\.key)
            return ids.compactMap { waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in ready { continuation.resume() }
    }

    /// What a peer whose vector is `peerVector` lacks of the records changed after `cursor`: the delta to send
    /// (nil when there is nothing), or `behind` when the window no longer reaches back to `cursor` or more than
    /// `limit` records would go.
    func delta(
        after cursor: Int64, peerVector: [String: UInt64], sentVector: [String: UInt64] = [:], sender: String,
        limit: Int
    ) -> Pending {
        window.withLock { window in
            guard cursor >= window.floor else { return .outOfWindow }
            guard window.latest > cursor else { return .nothing(latest: window.latest) }
            var first = window.records.count
            var low = 0
            while low < first {
                let middle = (low + first) / 2
                if window.records[middle].lseq > cursor { first = middle } else { low = middle + 1 }
            }
            let delta = Self.filter(
                window.records[first...], sites: window.sites, vector: window.vector, latest: window.latest,
                peerVector: peerVector, sentVector: sentVector, sender: sender, limit: limit)
            return delta
        }
    }

    /// Keeps the newest copy of each record whose fields hold a dot the peer does not hold — one that neither
    /// `peerVector` (what the peer said it holds) nor `sentVector` (the vector of the last delta sent to it)
    /// covers — and of those fields only. Only the sites the records' dots name are looked up: a hub's vectors
    /// name every terminal.
    static func filter(
        _ records: ArraySlice<ChangedRecord>, sites: [String], vector: [String: UInt64], latest: Int64,
        peerVector: [String: UInt64], sentVector: [String: UInt64] = [:], sender: String, limit: Int
    ) -> Pending {
        var memo: [UInt32: UInt64] = [:]
        func held(_ site: UInt32) -> UInt64 {
            if let known = memo[site] { return known }
            let id = sites[Int(site)]
            let known = max(peerVector[id] ?? 0, sentVector[id] ?? 0)
            memo[site] = known
            return known
        }
        var seen = Set<RecordKey>()
        var rows: [RowDelta] = []
        for record in records.reversed() {
            guard seen.insert(RecordKey(entity: record.row.entity.code, id: record.row.id)).inserted else { continue }
            var fields: [FieldChange] = []
            for (index, field) in record.row.fields.enumerated()
            where field.siblings.contains(where: { $0.dot.counter > held($0.dot.site) }) {
                fields.append(FieldChange(index: index, state: field))
            }
            guard !fields.isEmpty else { continue }
            rows.append(RowDelta(entity: record.row.entity, id: record.row.id, fields: fields))
            if rows.count > limit { return .tooMany }
        }
        guard !rows.isEmpty else { return .nothing(latest: latest) }
        return .delta(
            LiveDelta(
                sites: sites, rows: rows.reversed(),
                end: StreamEnd(sender: sender, vector: vector, snapshotLseq: latest)))
    }

    private struct RecordKey: Hashable {
        var entity: UInt8
        var id: String
    }

    /// What a session's sender has to do.
    enum Pending: Sendable {
        case delta(LiveDelta)
        /// The peer lacks nothing up to `latest`.
        case nothing(latest: Int64)
        /// The window does not reach back to the cursor: read the store.
        case outOfWindow
        /// More than the limit: back to a batched stream.
        case tooMany
    }
}
