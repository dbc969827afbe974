import Foundation
import OrderDomain
import Replica
import Sync

/// A replica held in memory, for the fan-in bench's simulated terminals: its own site id, records, vector and
/// change sequence, merging with the same field rule as a replica file (`FieldState.merged`), reached by `Sync`
/// only through `ReplicationStore`. It writes no file, keeps no derived views and takes no file snapshots, so a
/// thousand of them fit in one process and the figure measures the hub, not a thousand SQLite files.
final class MemoryStore: ReplicationStore, @unchecked Sendable {
    let identity: ReplicaIdentity
    var schemaVersion: Int { Replica.schemaVersion }
    var snapshots: (any SnapshotStore)? { nil }

    private struct Key: Hashable {
        var entity: UInt8
        var id: String
    }

    private let lock = NSLock()
    /// Site ids by ordinal; 0 is this store's own.
    private var sites: [String]
    private var ordinals: [String: UInt32]
    private var rows: [Key: (row: RowChange, lseq: Int64)] = [:]
    private var vector = VersionVector()
    private var lseq: Int64 = 0
    private var time: UInt64 = 0
    private var cursors: [String: Int64] = [:]
    private var staged: [String: [RowChange]] = [:]
    private var observers: [UUID: AsyncStream<Int64>.Continuation] = [:]
    private var orderObservers: [UUID: AsyncStream<Set<String>>.Continuation] = [:]

    init(name: String) {
        let site = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        identity = ReplicaIdentity(siteID: site, name: name, numberPrefix: "MEM")
        sites = [site]
        ordinals = [site: 0]
    }

    private func ordinal(_ site: String) -> UInt32 {
        if let known = ordinals[site] { return known }
        let next = UInt32(sites.count)
        sites.append(site)
        ordinals[site] = next
        return next
    }

    private func vectorBySite() -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for (site, counter) in vector.counters { result[sites[Int(site)]] = counter }
        return result
    }

    private func theirVector(_ bySite: [String: UInt64]) -> VersionVector {
        var theirs = VersionVector()
        for (site, counter) in bySite { theirs.add(Dot(site: ordinal(site), counter: counter)) }
        return theirs
    }

    private func rename(_ fields: [FieldState], _ map: [UInt32]) throws -> [FieldState] {
        try fields.map { field in
            FieldState(
                siblings: try field.siblings.map {
                    guard Int($0.dot.site) < map.count else {
                        throw SyncError(.protocolViolation, "a dot names an unknown site")
                    }
                    return Sibling(
                        value: $0.value, dot: Dot(site: map[Int($0.dot.site)], counter: $0.dot.counter), time: $0.time)
                })
        }
    }

    /// Merges `fields` (indexes given) of a record; returns the order it belongs to when it changed.
    private func merge(
        _ entity: Entity, _ id: String, _ fields: [(Int, FieldState)], ours: VersionVector, theirs: VersionVector
    ) -> String? {
        let key = Key(entity: entity.code, id: id)
        var row =
            rows[key]?.row
            ?? RowChange(entity: entity, id: id, fields: Array(repeating: .empty, count: entity.fields.count))
        var changed = false
        for (index, field) in fields where index < row.fields.count {
            let merged = row.fields[index].merged(with: field, ourVector: ours, theirVector: theirs)
            if merged != row.fields[index] {
                row.fields[index] = merged
                changed = true
            }
            for sibling in field.siblings { time = max(time, sibling.time.rawValue) }
        }
        guard changed else { return nil }
        lseq += 1
        rows[key] = (row, lseq)
        if entity == .orders { return id }
        let orderField = entity.fieldIndex("order_id").map { row.fields[$0].siblings.first?.value.text ?? "" }
        return orderField ?? ""
    }

    private func signal(_ orders: Set<String>) {
        for continuation in observers.values { continuation.yield(lseq) }
        let touched = orders.filter { !$0.isEmpty }
        if !touched.isEmpty { for continuation in orderObservers.values { continuation.yield(touched) } }
    }

    // MARK: Local writes

    /// Sets an order's notes, as a command would: one new dot, one hybrid time.
    func edit(order id: String, notes: String) {
        lock.withLock {
            let key = Key(entity: Entity.orders.code, id: id)
            guard var row = rows[key]?.row, let index = Entity.orders.fieldIndex("notes") else { return }
            let counter = vector[0] + 1
            vector.add(Dot(site: 0, counter: counter))
            let now = UInt64(Date().timeIntervalSince1970 * 1000) << 16
            time = max(now, time + 1)
            row.fields[index] = .written(
                .text(notes), dot: Dot(site: 0, counter: counter), time: HybridTime(rawValue: time))
            lseq += 1
            rows[key] = (row, lseq)
            signal([id])
        }
    }

    /// The notes of an order as this store holds them.
    func notes(of id: String) -> String? {
        lock.withLock {
            guard let index = Entity.orders.fieldIndex("notes"),
                let row = rows[Key(entity: Entity.orders.code, id: id)]?.row
            else { return nil }
            return row.fields[index].resolved(by: Entity.orders.fields[index].resolution).text
        }
    }

    /// The ids of the orders held.
    func orderIDs() -> [String] {
        lock.withLock { rows.keys.filter { $0.entity == Entity.orders.code }.map(\.id).sorted() }
    }

    /// Orders changed by merges and local writes, as they happen.
    func changedOrders() -> AsyncStream<Set<String>> {
        let (stream, continuation) = AsyncStream<Set<String>>.makeStream()
        lock.withLock { orderObservers[UUID()] = continuation }
        return stream
    }

    // MARK: ReplicationStore

    func notePeer(site: String, name: String, key: [UInt8]) async throws {}
    func prepareSession(peer: String) async {}
    func bootstrappingFrom() async throws -> String? { nil }

    func streamRequest(from peer: String) async throws -> StreamRequest {
        lock.withLock { StreamRequest(vector: vectorBySite(), cursor: cursors[peer] ?? 0) }
    }

    func reconcileClaim(peer: String, peerCounter: UInt64) async throws -> ClaimRepair? { nil }

    func withChanges(
        for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?,
        _ emit: (ChangeBatch) throws -> Void
    ) throws -> StreamEnd {
        let records: [(row: RowChange, lseq: Int64)] = lock.withLock {
            rows.values.filter { $0.lseq > request.cursor }.sorted { $0.lseq < $1.lseq }
        }
        let (sites, vector, snapshot): ([String], [String: UInt64], Int64) = lock.withLock {
            (self.sites, vectorBySite(), lseq)
        }
        try estimate?(records.count)
        var known: [UInt32: UInt64] = [:]
        for (index, site) in sites.enumerated() { known[UInt32(index)] = request.vector[site] ?? 0 }
        let wanted = records.filter { record in
            record.row.fields.contains { $0.siblings.contains { $0.dot.counter > known[$0.dot.site] ?? 0 } }
        }
        var start = 0
        while start < wanted.count {
            let slice = wanted[start..<min(wanted.count, start + batchSize)]
            try emit(
                ChangeBatch(
                    sites: sites, rows: slice.map { $0.row },
                    position: StreamPosition(entity: 0, lseq: slice.last?.lseq ?? 0), snapshotLseq: snapshot))
            start += batchSize
        }
        return StreamEnd(sender: identity.siteID, vector: vector, snapshotLseq: snapshot)
    }

    func stage(_ batch: ChangeBatch, from peer: String) async throws {
        try lock.withLock {
            let map = batch.sites.map(ordinal)
            staged[peer, default: []] += try batch.rows.map {
                RowChange(entity: $0.entity, id: $0.id, fields: try rename($0.fields, map))
            }
        }
    }

    func completeStream(from peer: String, end: StreamEnd, lastBatch: ChangeBatch?) async throws -> MergeSummary {
        if let lastBatch { try await stage(lastBatch, from: peer) }
        return lock.withLock {
            let theirs = theirVector(end.vector)
            let ours = vector
            var summary = MergeSummary()
            var touched = Set<String>()
            for row in staged.removeValue(forKey: peer) ?? [] {
                summary.rows += 1
                if let order = merge(row.entity, row.id, Array(row.fields.enumerated()), ours: ours, theirs: theirs) {
                    touched.insert(order)
                }
            }
            vector = ours.joined(with: theirs)
            cursors[peer] = end.snapshotLseq
            signal(touched)
            return summary
        }
    }

    func markDelivered(to peer: String, snapshotLseq: Int64) async throws {}

    func commits() -> AsyncStream<Int64> {
        let (stream, continuation) = AsyncStream<Int64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        lock.withLock { observers[UUID()] = continuation }
        return stream
    }

    func recentChanges(after cursor: Int64, limit: Int) async throws -> RecentChanges {
        lock.withLock {
            let records = rows.values.filter { $0.lseq > cursor }.sorted { $0.lseq < $1.lseq }
            guard records.count <= limit else {
                return RecentChanges(
                    sites: [], records: [], vector: vectorBySite(), snapshotLseq: lseq, complete: false)
            }
            return RecentChanges(
                sites: sites, records: records.map { ChangedRecord(lseq: $0.lseq, row: $0.row) },
                vector: vectorBySite(), snapshotLseq: lseq, complete: true)
        }
    }

    func mergeLive(_ delta: LiveDelta, from peer: String) async throws -> MergeSummary {
        try lock.withLock {
            let theirs = theirVector(delta.end.vector)
            let ours = vector
            let map = delta.sites.map(ordinal)
            var summary = MergeSummary()
            var touched = Set<String>()
            for row in delta.rows {
                let fields = try rename(row.fields.map(\.state), map)
                for field in fields where field.siblings.contains(where: { !theirs.covers($0.dot) }) {
                    throw SyncError(.protocolViolation, "a live delta holds a write its vector does not cover")
                }
                summary.rows += 1
                if let order = merge(
                    row.entity, row.id, Array(zip(row.fields.map(\.index), fields)), ours: ours, theirs: theirs)
                {
                    touched.insert(order)
                }
            }
            vector = ours.joined(with: theirs)
            cursors[peer] = delta.end.snapshotLseq
            signal(touched)
            return summary
        }
    }
}
