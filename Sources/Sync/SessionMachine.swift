import OutpostCore
import Replica

/// The rules of one side of a sync session (protocol/SPEC.md, "Session flow"; Sync.docc, "The session state
/// machine"): which message may arrive when, and what each asks this side to do. Pure — no I/O, no clock, no
/// replica — so every transition, and every out-of-order or repeated message, is tested without a socket.
/// `SyncSession` feeds it what arrives and performs the actions it returns.
///
/// Both sides run the same machine. Receiving: the peer's `HELLO`, then its stream (`STREAM`, `CHANGES`…,
/// `END`) or, when this side asked for one, a file snapshot (`SNAPSHOT`, `PAGES`…, `END`); this side merges it
/// and answers `DONE`. Sending, run by a task beside: this side's stream, which the peer acknowledges batch by
/// batch (`ACK`) and as a whole (`DONE`). The session is complete when both directions are.
struct SessionMachine: Sendable {
    /// Where the peer's stream to this side stands.
    enum Receiving: Equatable, Sendable {
        /// The peer's `HELLO` has not arrived.
        case awaitingHello
        /// After `HELLO`: its stream may start (`STREAM` may come first).
        case awaitingStream(announced: Bool)
        /// Batches `1...last` arrived; the last is held, unstaged, until the next batch or `END`.
        case records(last: Int)
        /// A file snapshot of `expected` bytes is arriving.
        case snapshot(expected: Int, received: Int)
        /// `END` arrived: this side is merging the stream.
        case merging
        /// This side merged the stream and sent `DONE`.
        case merged
    }

    /// Where this side's stream to the peer stands.
    enum Sending: Equatable, Sendable {
        /// The peer's `HELLO` has not arrived, so this side has nothing to send yet.
        case idle
        /// This side's stream is going out; `acknowledged` is the highest batch the peer acknowledged.
        case streaming(acknowledged: Int)
        /// The peer merged this side's stream (`DONE`).
        case done(acknowledged: Int)
    }

    /// What the arrival of a message asks this side to do.
    enum Action: Equatable, Sendable {
        /// Start sending the stream the peer's `HELLO` asks for.
        case serve(StreamRequest)
        /// The peer announced about `total` records (for progress).
        case announce(total: Int)
        /// Batch `number` arrived: hold it; first stage the batch held before it, when there is one.
        case batch(number: Int, position: StreamPosition, stagePrevious: Int?)
        /// A snapshot begins (`info` as announced; at `offset` when it continues a kept part).
        case beginSnapshot(SnapshotInfo, offset: Int)
        /// Snapshot bytes arrived; `received` of `expected` so far.
        case appendPages(received: Int, expected: Int)
        /// The stream is complete: merge what is staged plus the held batch `lastBatch`, then say `DONE`.
        case complete(StreamEnd, lastBatch: Int?)
        /// The snapshot is complete: install it, then say `DONE`.
        case installSnapshot(StreamEnd)
        /// Nothing to do (an acknowledgement was noted).
        case none
    }

    /// The schema this side speaks.
    let schema: Int
    /// The peer's site id (the sender of every stream this side receives).
    let peer: String
    /// Whether this side's `HELLO` asked for a file snapshot.
    let asksSnapshot: Bool
    /// The kept part of a cut copy this side's `HELLO` asked to continue.
    let snapshotResume: SnapshotResume?
    /// The optional features the peer's `HELLO` listed (protocol/SPEC.md §7).
    private(set) var peerFeatures: [String] = []
    private(set) var receiving = Receiving.awaitingHello
    private(set) var sending = Sending.idle

    init(schema: Int, peer: String, asksSnapshot: Bool, snapshotResume: SnapshotResume? = nil) {
        self.schema = schema
        self.peer = peer
        self.asksSnapshot = asksSnapshot
        self.snapshotResume = asksSnapshot ? snapshotResume : nil
    }

    /// Whether both directions are complete: this side merged the peer's stream and the peer merged this one's.
    var isComplete: Bool {
        if receiving == .merged, case .done = sending { return true }
        return false
    }

    /// Takes one message from the peer.
    ///
    /// - Throws: `SyncError(.protocolViolation)` for a message out of order, repeated or inconsistent;
    ///   `SyncError(.schemaMismatch)` for a `HELLO` of another schema. The session ends either way.
    mutating func receive(_ message: SessionMessage) throws -> Action {
        switch (message, receiving) {
        case (.hello(let hello), .awaitingHello):
            guard hello.schema == schema else {
                throw SyncError(
                    .schemaMismatch, "the peer speaks schema \(hello.schema); this replica speaks \(schema)")
            }
            let request = try hello.request()
            peerFeatures = hello.features ?? []
            receiving = .awaitingStream(announced: false)
            sending = .streaming(acknowledged: 0)
            return .serve(request)
        case (.hello, _):
            throw violation("a second HELLO")

        case (.stream(let start), .awaitingStream(announced: false)):
            guard start.total >= 0 else { throw violation("STREAM total is negative") }
            receiving = .awaitingStream(announced: true)
            return .announce(total: start.total)

        case (.changes(let changes, _), .awaitingStream), (.changes(let changes, _), .records):
            let last: Int? = if case .records(let last) = receiving { last } else { nil }
            guard changes.batch == (last ?? 0) + 1 else {
                throw violation(
                    "CHANGES batch \(changes.batch) where batch \((last ?? 0) + 1) was due (a repeated, lost or reordered batch)"
                )
            }
            let position = try SessionMessage.position(changes.position, in: "CHANGES")
            receiving = .records(last: changes.batch)
            return .batch(number: changes.batch, position: position, stagePrevious: last)

        case (.snapshot(let start), .awaitingStream(announced: false)):
            guard asksSnapshot else { throw violation("a SNAPSHOT this side did not ask for") }
            guard start.bytes > 0, start.snapshot >= 0 else { throw violation("SNAPSHOT needs a positive size") }
            if let id = start.id, !Hex.isLowercase(id, bytes: 16) {
                throw violation("SNAPSHOT id is not 32 hex digits")
            }
            if let digest = start.digest, !Hex.isLowercase(digest, bytes: 32) {
                throw violation("SNAPSHOT digest is not 64 hex digits")
            }
            let offset = start.offset ?? 0
            if offset != 0 {
                guard let asked = snapshotResume, asked.id == start.id, asked.offset == offset, offset <= start.bytes
                else { throw violation("SNAPSHOT continues at byte \(offset), which this side did not ask for") }
            }
            receiving = .snapshot(expected: start.bytes, received: offset)
            let info = SnapshotInfo(
                vector: [:], snapshotLseq: start.snapshot, bytes: start.bytes, id: start.id, digest: start.digest)
            return .beginSnapshot(info, offset: offset)

        case (.pages(let bytes), .snapshot(let expected, let received)):
            guard received + bytes.count <= expected else {
                throw violation("the snapshot is longer than the \(expected) bytes announced")
            }
            receiving = .snapshot(expected: expected, received: received + bytes.count)
            return .appendPages(received: received + bytes.count, expected: expected)

        case (.end(let end), .awaitingStream), (.end(let end), .records):
            let last: Int? = if case .records(let last) = receiving { last } else { nil }
            receiving = .merging
            return .complete(try streamEnd(end), lastBatch: last)

        case (.end(let end), .snapshot(let expected, let received)):
            guard received == expected else {
                throw violation("the snapshot ended after \(received) of \(expected) bytes")
            }
            receiving = .merging
            return .installSnapshot(try streamEnd(end))

        case (.ack(let ack), _):
            guard case .streaming(let acknowledged) = sending else {
                throw violation(sending == .idle ? "an ACK before this side's stream began" : "an ACK after DONE")
            }
            guard ack.batch > acknowledged else {
                throw violation(
                    "ACK of batch \(ack.batch) after batch \(acknowledged) was acknowledged (repeated or reordered)")
            }
            sending = .streaming(acknowledged: ack.batch)
            return .none

        case (.done, _):
            guard case .streaming(let acknowledged) = sending else {
                throw violation(sending == .idle ? "a DONE before this side's stream began" : "a second DONE")
            }
            sending = .done(acknowledged: acknowledged)
            return .none

        default:
            throw violation("\(message.verb) is out of order (\(Self.describe(receiving)))")
        }
    }

    /// This side merged the peer's stream and is about to send `DONE`.
    mutating func merged() throws {
        guard receiving == .merging else { throw violation("DONE before the stream's END") }
        receiving = .merged
    }

    /// This side's stream went out whole in `batches` batches: the peer cannot have acknowledged more.
    func checkSent(batches: Int) throws {
        let acknowledged: Int =
            switch sending {
            case .idle: 0
            case .streaming(let count), .done(let count): count
            }
        guard acknowledged <= batches else {
            throw violation("the peer acknowledged batch \(acknowledged) of \(batches) sent")
        }
    }

    private func streamEnd(_ end: SessionMessage.End) throws -> StreamEnd {
        guard end.snapshot >= 0 else { throw violation("END snapshot is negative") }
        return StreamEnd(sender: peer, vector: end.vector, snapshotLseq: end.snapshot)
    }

    private func violation(_ message: String) -> SyncError { SyncError(.protocolViolation, message) }

    private static func describe(_ state: Receiving) -> String {
        switch state {
        case .awaitingHello: "before the peer's HELLO"
        case .awaitingStream: "before the peer's stream"
        case .records(let last): "after batch \(last)"
        case .snapshot: "during a snapshot"
        case .merging, .merged: "after END"
        }
    }
}
