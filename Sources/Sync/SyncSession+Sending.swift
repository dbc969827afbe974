import Foundation
import Logging
import OrderDomain
import Replica
import SecureLine

/// The sending side of a session: this replica's record stream or file snapshot, run beside the receiving loop.
extension SyncSession {
    /// Streams what the peer asked for; on failure tells the peer, so it does not wait for an `END`.
    static func stream(
        _ replica: any ReplicationStore, _ request: StreamRequest, batchSize: Int, sender: LineSender,
        progress: (@Sendable (SyncProgress) -> Void)?, peer: String? = nil, ownVector: [String: UInt64] = [:]
    ) async throws
        -> SyncSummary
    {
        // A copy of the file goes only to a peer that holds nothing (protocol/SPEC.md §10.1): one that asks for a
        // snapshot while its vector, cursor or staging says otherwise gets a record stream.
        let empty = request.vector.values.allSatisfy { $0 == 0 } && request.cursor == 0 && request.resume == nil
        if request.snapshot, empty, let snapshots = replica.snapshots,
            let sent = try await sendSnapshot(
                snapshots, resume: request.snapshotResume, sender: sender, progress: progress)
        {
            return sent
        }
        // A replica still loading its own first stream serves none (protocol/SPEC.md, "Every dot is covered").
        // When it began loading it from this very peer during this session (an empty replica asked for a
        // snapshot, or a record stream's first batches arrived, before this side's stream started), the peer gets
        // the empty stream it would have got had the load begun a moment later; when the load finished in the
        // meantime, the stream goes as usual.
        for attempt in 1...3 {
            do {
                return try await streamRecords(
                    replica, request, batchSize: batchSize, sender: sender, progress: progress)
            } catch let error as ReplicaError where error.code == .unavailable {
                let loadingFrom = try await replica.bootstrappingFrom()
                if let peer, loadingFrom == peer {
                    try await sender.send(SessionMessage.end(.init(vector: ownVector, snapshot: 0)).record())
                    return SyncSummary()
                }
                if loadingFrom == nil && attempt < 3 { continue }
                try? await sender.sendError(code: "unavailable", message: error.message)
                throw error
            }
        }
        throw SyncError(.unavailable, "this replica could not settle its first stream")
    }

    /// This side's record stream (`STREAM`, `CHANGES`…, `END`). Throws `ReplicaError(.unavailable)` before sending
    /// anything when the replica is loading its own first stream; tells the peer of any other failure.
    private static func streamRecords(
        _ replica: any ReplicationStore, _ request: StreamRequest, batchSize: Int, sender: LineSender,
        progress: (@Sendable (SyncProgress) -> Void)?
    ) async throws -> SyncSummary {
        var summary = SyncSummary()
        let producer = BlockingProducer.changes(replica, request: request, batchSize: batchSize)
        defer { producer.stop() }
        var total = 0
        do {
            for try await item in producer.items {
                switch item {
                case .estimate(let estimate):
                    total = estimate
                    try await sender.send(SessionMessage.stream(.init(total: estimate)).record())
                case .batch(let batch):
                    summary.batchesSent += 1
                    let changes = SessionMessage.Changes(
                        batch: summary.batchesSent, position: [Int64(batch.position.entity), batch.position.lseq],
                        snapshot: batch.snapshotLseq)
                    try await sender.send(SessionMessage.changes(changes, body: batch.body).record())
                    producer.sent()
                    summary.rowsSent += batch.rowCount
                    summary.changesSent += batch.fieldCount
                    progress?(SyncProgress(direction: .sending, done: summary.rowsSent, total: total))
                case .end(let end):
                    summary.snapshotLseq = end.snapshotLseq
                    try await sender.send(
                        SessionMessage.end(.init(vector: end.vector, snapshot: end.snapshotLseq)).record())
                }
            }
        } catch let error as ReplicaError where error.code == .unavailable && summary.batchesSent == 0 {
            throw error
        } catch {
            let code = (error as? ReplicaError)?.code == .siteConflict ? "site_conflict" : "stream_failed"
            try? await sender.sendError(code: code, message: "\(error)")
            throw error
        }
        return summary
    }

    /// Sends a copy of this replica's file (`SNAPSHOT`, `PAGES`…, `END`) to an empty peer that asked for one;
    /// nil when this replica cannot serve one (it is bootstrapping itself), so a record stream goes instead.
    static func sendSnapshot(
        _ replica: any SnapshotStore, resume: SnapshotResume?, sender: LineSender,
        progress: (@Sendable (SyncProgress) -> Void)?
    ) async throws -> SyncSummary? {
        let producer = BlockingProducer.snapshot(replica, chunkSize: snapshotChunk, resume: resume)
        defer { producer.stop() }
        var info: SnapshotInfo?
        var offset = 0
        var sent = 0
        do {
            for try await item in producer.items {
                switch item {
                case .header(let header, let start):
                    info = header
                    offset = start
                    let message = SessionMessage.SnapshotStart(
                        bytes: header.bytes, snapshot: header.snapshotLseq, id: header.id,
                        offset: start > 0 ? start : nil, digest: header.digest)
                    try await sender.send(SessionMessage.snapshot(message).record())
                case .chunk(let bytes):
                    try await sender.send(SessionMessage.pages(bytes).record())
                    producer.sent()
                    sent += bytes.count
                    progress?(
                        SyncProgress(direction: .sending, done: offset + sent, total: info?.bytes ?? 0, unit: .bytes))
                }
            }
        } catch let error as ReplicaError where error.code == .unavailable && info == nil {
            return nil
        } catch {
            try? await sender.sendError(code: "stream_failed", message: "\(error)")
            throw error
        }
        guard let info, offset + sent == info.bytes else {
            throw SyncError(.protocolViolation, "the snapshot ended early")
        }
        try await sender.send(SessionMessage.end(.init(vector: info.vector, snapshot: info.snapshotLseq)).record())
        var summary = SyncSummary()
        summary.snapshotBytesSent = sent
        summary.snapshotLseq = info.snapshotLseq
        return summary
    }

    /// Snapshot bytes per `PAGES` record: with the record header, one line frame.
    static let snapshotChunk = 65_000
}
