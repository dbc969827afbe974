import Foundation
import Logging
import OrderDomain
import OutpostCore
import Replica
import SecureLine

/// One sync session on an established line (protocol/SPEC.md, "Sync sessions"). Both sides run the same
/// logic: each sends `HELLO` with what it lacks, streams what the other lacks (`STREAM`, `CHANGES`…, `END`),
/// stages the other's batches (`ACK` each), merges the other's complete stream (`DONE`), and the dialler
/// closes with `BYE`. A session cut anywhere leaves the received batches staged and live state untouched.
struct SyncSession {
    enum Role { case dialler, listener }

    /// The store this session reads and merges through: nothing else of the replica is reachable from here.
    let replica: any ReplicationStore
    let role: Role
    let batchSize: Int
    let progress: (@Sendable (SyncProgress) -> Void)?
    let logger: Logger
    /// Whether this side, when empty, asks for a file snapshot instead of a record stream.
    var acceptSnapshot = true
    /// Set when this side offers to stay open as a live session after the exchange (protocol/SPEC.md §15).
    var live: LiveOptions?

    /// The feature a `HELLO` lists to offer a live session.
    static let liveFeature = "live"

    /// The hello each side puts in its handshake message.
    static func hello(_ replica: any ReplicationStore) -> [UInt8] {
        let hello = HandshakeHello(site: replica.identity.siteID, name: replica.identity.name)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(hello)).map(Array.init) ?? []
    }

    /// The peer's site id and name from its handshake hello.
    static func peer(from hello: [UInt8]) throws -> (site: String, name: String) {
        guard let decoded = try? JSONDecoder().decode(HandshakeHello.self, from: Data(hello)),
            Hex.isLowercase(decoded.site, bytes: 16)
        else { throw SyncError(.protocolViolation, "the peer's handshake hello has no site id") }
        return (decoded.site, decoded.name ?? "")
    }

    /// What each side puts in its handshake message (protocol/SPEC.md, "Session flow").
    struct HandshakeHello: Codable {
        var site: String
        var name: String?
    }

    /// Runs the session over `session`. A session that fails on a cut line reports why the line was cut, when
    /// the reading side knows (the peer's `ERROR`, a deadline), rather than that a send found it closed.
    func run(_ session: inout LineSession) async throws -> SyncSummary {
        do {
            return try await exchange(&session)
        } catch {
            throw await session.reason(for: error)
        }
    }

    private func exchange(_ session: inout LineSession) async throws -> SyncSummary {
        let clock = ContinuousClock()
        let start = clock.now
        let (peerSite, peerName) = try Self.peer(from: session.peerHello)
        guard peerSite != replica.identity.siteID else {
            try? await session.sendError(code: "same_site", message: "both replicas have site \(peerSite)")
            throw SyncError(.sameSite, "the peer has this replica's own site id (a copied replica file?)")
        }
        // A replica still loading its first stream holds records its vector does not cover yet: it serves no
        // stream (protocol/SPEC.md, "Every dot is covered"), except an empty one to the peer it loads from, so
        // that peer's session can complete the bootstrap.
        let bootstrapping = try await replica.bootstrappingFrom()
        do {
            try await replica.notePeer(site: peerSite, name: peerName, key: session.peerKey)
        } catch let error as ReplicaError where error.code == .siteConflict {
            try? await session.sendError(
                code: "site_conflict", message: "this peer's site \(peerSite) is bound to another key")
            throw error
        }
        if bootstrapping == nil { await replica.prepareSession(peer: peerSite) }
        var summary = SyncSummary()
        summary.peerSite = peerSite
        summary.peerName = peerName
        var request = try await replica.streamRequest(from: peerSite)
        if !acceptSnapshot || replica.snapshots == nil { request.snapshot = false }
        var machine = SessionMachine(
            schema: replica.schemaVersion, peer: peerSite, asksSnapshot: request.snapshot,
            snapshotResume: request.snapshotResume)
        try await session.send(
            SessionMessage.hello(
                .init(
                    schema: replica.schemaVersion, request: request,
                    features: live == nil ? [] : [Self.liveFeature])
            ).record())
        // What the peer holds, for a live phase: what its HELLO said, joined with what it sent.
        var peerVector: [String: UInt64] = [:]
        logger.debug("sync session started", metadata: ["peer": "\(peerName)", "resume": "\(request.resume != nil)"])

        var sending: Task<SyncSummary, any Error>?
        defer { sending?.cancel() }
        var receivingTotal = 0
        // The newest batch is held until the next one or the END arrives: a one-batch delta is then staged and
        // merged in a single transaction. A cut session loses only that unacknowledged batch, which resume re-sends.
        var held: ChangeBatch?
        // Staging runs beside the receiving and decoding of the next batches, in order: up to two batches queued
        // for the writer, so that when it finishes one the next is there, while this loop decodes the one after.
        var staging = StagingQueue()
        // A file snapshot being received (only into an empty replica).
        var incoming: SnapshotReceiver?
        do {
            while !machine.isComplete {
                guard let record = try await session.next() else {
                    throw SyncError(.protocolViolation, "the peer said goodbye before the session completed")
                }
                let message = try SessionMessage(record)
                let action: SessionMachine.Action
                do {
                    action = try machine.receive(message)
                } catch let error as SyncError where error.code == .schemaMismatch {
                    try? await session.sendError(
                        code: "schema_mismatch", message: "this replica speaks schema \(replica.schemaVersion)")
                    throw error
                }
                switch action {
                case .serve(let theirRequest):
                    peerVector = theirRequest.vector
                    // The peer's own counter checks what this replica claims of its writes, before this side's
                    // stream (whose end carries the claim) is read.
                    if let counter = theirRequest.vector[peerSite] {
                        do {
                            summary.claimRepair = try await replica.reconcileClaim(peer: peerSite, peerCounter: counter)
                        } catch let error as ReplicaError where error.code == .siteConflict {
                            try? await session.sendError(code: "site_conflict", message: error.message)
                            throw error
                        }
                        if let repair = summary.claimRepair {
                            logger.warning(
                                "a poisoned vector claimed writes the peer never made; lowered and asked again",
                                metadata: [
                                    "peer": "\(peerName)", "claimed": "\(repair.claimed)",
                                    "peer_counter": "\(repair.peerCounter)", "now": "\(repair.repaired)",
                                ])
                        }
                    }
                    if let bootstrapping, bootstrapping != peerSite {
                        // Told after the peer's HELLO, so that the peer is reading when the line closes.
                        let message =
                            "this replica is still loading its first stream from site \(bootstrapping) and serves no stream until it completes"
                        try? await session.sendError(code: "unavailable", message: message)
                        throw SyncError(.unavailable, message)
                    }
                    let (replica, batchSize, progress, sender) = (
                        self.replica, self.batchSize, self.progress, session.sender
                    )
                    if bootstrapping != nil {
                        // No records, and this replica's own vector (still without the stream's entries).
                        let end = SessionMessage.End(vector: request.vector, snapshot: 0)
                        sending = Task {
                            try await sender.send(SessionMessage.end(end).record())
                            return SyncSummary()
                        }
                    } else {
                        let ownVector = request.vector
                        sending = Task {
                            try await Self.stream(
                                replica, theirRequest, batchSize: batchSize, sender: sender, progress: progress,
                                peer: peerSite, ownVector: ownVector)
                        }
                    }
                case .announce(let total):
                    receivingTotal = total
                case .beginSnapshot(let info, let offset):
                    guard let snapshots = replica.snapshots else {
                        throw SyncError(.protocolViolation, "a SNAPSHOT this store cannot take")
                    }
                    incoming = try await snapshots.beginSnapshot(from: peerSite, info: info, offset: offset)
                    summary.snapshotResumedAt = offset
                    if offset > 0 {
                        logger.info(
                            "continuing a cut snapshot", metadata: ["peer": "\(peerName)", "offset": "\(offset)"])
                    } else if let asked = request.snapshotResume {
                        logger.info(
                            "the peer no longer keeps the cut snapshot; starting a new one",
                            metadata: ["peer": "\(peerName)", "kept": "\(asked.offset)"])
                    }
                case .appendPages(let received, let expected):
                    guard case .pages(let bytes) = message, let receiving = incoming else { break }
                    try receiving.append(bytes)
                    progress?(SyncProgress(direction: .receiving, done: received, total: expected, unit: .bytes))
                case .batch(let number, let position, let stagePrevious):
                    guard case .changes(let changes, let body) = message else { break }
                    let batch = try BatchCodec.decode(body, position: position, snapshotLseq: changes.snapshot)
                    if let previous = held, let previousNumber = stagePrevious {
                        let (replica, sender) = (self.replica, session.sender)
                        try await staging.add(
                            stage: { [previous] in try await replica.stage(previous, from: peerSite) },
                            acknowledge: {
                                try await sender.send(SessionMessage.ack(.init(batch: previousNumber)).record())
                            })
                    }
                    held = batch
                    summary.batchesReceived = number
                    summary.rowsReceived += batch.rows.count
                    summary.changesReceived += batch.fieldCount
                    progress?(SyncProgress(direction: .receiving, done: summary.rowsReceived, total: receivingTotal))
                case .complete(let end, let lastBatch):
                    peerVector.merge(end.vector, uniquingKeysWith: max)
                    try await staging.finish()
                    let merged = try await replica.completeStream(from: peerSite, end: end, lastBatch: held)
                    if let lastBatch { try await session.send(SessionMessage.ack(.init(batch: lastBatch)).record()) }
                    held = nil
                    summary.changesApplied = merged.fieldsChanged
                    summary.conflicts = merged.conflictsDetected
                    try machine.merged()
                    try await session.send(
                        SessionMessage.done(
                            .init(rows: merged.rows, changed: merged.fieldsChanged, conflicts: merged.conflictsDetected)
                        ).record())
                case .installSnapshot:
                    guard let receiving = incoming, let snapshots = replica.snapshots else { break }
                    incoming = nil
                    let merged: MergeSummary
                    do {
                        merged = try await snapshots.installSnapshot(receiving, peer: peerSite)
                    } catch {
                        try? await snapshots.abandonSnapshot(nil, from: peerSite)
                        throw error
                    }
                    summary.snapshotBytesReceived = receiving.received - receiving.resumedAt
                    // The installed file knows nothing of this replica's peers yet: the sender first.
                    try await replica.notePeer(site: peerSite, name: peerName, key: session.peerKey)
                    try machine.merged()
                    try await session.send(
                        SessionMessage.done(.init(rows: merged.rows, changed: 0, conflicts: 0)).record())
                case .none:
                    break
                }
            }
        } catch let error as LineError where error.code == .peerError && error.message.hasPrefix("unavailable:") {
            await staging.settle()
            throw SyncError(
                .unavailable,
                "the peer \(peerName) is still loading its first stream from another peer (\(error.message))",
                hint:
                    "a device serves others only once its own first sync has completed; retry after it has synced with its source"
            )
        } catch {
            // A stage in flight finishes (or fails) before the session reports: nothing lands after it returns.
            await staging.settle()
            if let receiving = incoming {
                // A cut snapshot: the replica is still empty; it returns to ready, keeping what arrived of a
                // resumable copy (synced to disk) for the next session to continue.
                incoming = nil
                try? await replica.snapshots?.abandonSnapshot(receiving, from: peerSite)
            }
            throw error
        }
        if let sending {
            let sent = try await sending.value
            try machine.checkSent(batches: sent.batchesSent)
            summary.batchesSent = sent.batchesSent
            summary.rowsSent = sent.rowsSent
            summary.changesSent = sent.changesSent
            summary.snapshotBytesSent = sent.snapshotBytesSent
            summary.snapshotLseq = sent.snapshotLseq
            if sent.snapshotBytesSent > 0, let snapshots = replica.snapshots {
                try await snapshots.markSnapshotInstalled(by: peerSite, snapshotLseq: sent.snapshotLseq)
            } else if sent.snapshotLseq > 0 {
                // The peer merged this side's whole stream (its DONE came), so it holds the effects of every record
                // up to the stream's snapshot — those it was sent and those its vector already covered.
                try await replica.markDelivered(to: peerSite, snapshotLseq: sent.snapshotLseq)
            }
        }
        // Live when both sides offered it and both exchanged record streams (a replica that took or sent a file
        // snapshot, or is loading its first stream, ends the session as usual).
        if let live, machine.peerFeatures.contains(Self.liveFeature), bootstrapping == nil,
            summary.snapshotBytesReceived == 0, summary.snapshotBytesSent == 0, sending != nil
        {
            summary.bytesSent = session.counters.bytesSent
            summary.bytesReceived = session.counters.bytesReceived
            summary.duration = clock.now - start
            live.report(.synced(summary))
            try await live.feed.start()
            let link = LiveLink(
                store: replica, options: live, role: role, peerSite: peerSite, peerName: peerName, logger: logger,
                peerVector: peerVector, cursor: summary.snapshotLseq)
            summary.liveEnding = try await link.run(&session)
            summary.bytesSent = session.counters.bytesSent
            summary.bytesReceived = session.counters.bytesReceived
            summary.duration = clock.now - start
            return summary
        }
        switch role {
        case .dialler: try await session.goodbye()
        case .listener:
            if try await session.next() != nil {
                throw SyncError(.protocolViolation, "records after the session completed")
            }
        }
        summary.bytesSent = session.counters.bytesSent
        summary.bytesReceived = session.counters.bytesReceived
        summary.duration = clock.now - start
        logger.debug(
            "synced",
            metadata: [
                "peer": "\(peerName)", "sent": "\(summary.changesSent)", "received": "\(summary.changesReceived)",
                "conflicts": "\(summary.conflicts)",
            ])
        return summary
    }
}

/// The batches of a stream waiting for the writer: at most `depth` queued, each staged after the one before it
/// and acknowledged after it is staged and the one before it acknowledged (a failed one fails those after it, so
/// nothing lands out of order and no batch is acknowledged early). A batch's staging waits only for the staging
/// before it, not for that batch's acknowledgement to be sent: the writer goes on to the next batch at once.
struct StagingQueue {
    static let depth = 2
    /// Per queued batch: its staging, and its acknowledgement after it.
    private var tasks: [(staged: Task<Void, any Error>, acknowledged: Task<Void, any Error>)] = []

    /// Queues `stage` after the ones queued and `acknowledge` after it; first waits for the oldest to be
    /// acknowledged when `depth` are queued.
    mutating func add(
        stage: @escaping @Sendable () async throws -> Void, acknowledge: @escaping @Sendable () async throws -> Void
    ) async throws {
        if tasks.count >= Self.depth { try await tasks.removeFirst().acknowledged.value }
        let before = tasks.last
        let staged = Task {
            try await before?.staged.value
            try await stage()
        }
        let acknowledged = Task {
            try await staged.value
            try await before?.acknowledged.value
            try await acknowledge()
        }
        tasks.append((staged, acknowledged))
    }

    /// Waits for every queued batch; throws the first failure.
    mutating func finish() async throws {
        // On a failure the rest stay queued, for `settle` to wait for.
        for task in tasks { try await task.acknowledged.value }
        tasks = []
    }

    /// Waits for every queued batch to end, staged or failed (a session that failed reports after them).
    mutating func settle() async {
        for task in tasks {
            _ = await task.staged.result
            _ = await task.acknowledged.result
        }
        tasks = []
    }
}
