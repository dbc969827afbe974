import Foundation
import OrderDomain
import OutpostCore

/// What the sync layer needs of a replica's storage, and all it may use: the replica's identity, the stream
/// it sends (`withChanges`), staging and merging the streams it receives, and the marks that remember what
/// each peer holds. A replica file's replication role (`replica.replication`, a `ReplicationLog`) implements
/// it; a hub whose replica lives in a server database implements the same requirements over its own tables,
/// with the same rules (Replica.docc, "Merging").
///
/// Every requirement is one transaction of the store: a failure leaves it as it was.
public protocol ReplicationStore: Sendable {
    /// Who this replica is.
    var identity: ReplicaIdentity { get }

    /// The schema version of replicated records; peers must agree on it to sync.
    var schemaVersion: Int { get }

    /// Remembers `name` as the human name of the peer with site id `site` (for status and conflict lists), and
    /// binds the site to `key`, the peer's authenticated public key: only the first key heard for a site may
    /// speak for it afterwards.
    ///
    /// - Throws: `ReplicaError(.siteConflict)` when `site` is bound to another key.
    func notePeer(site: String, name: String, key: [UInt8]) async throws

    /// Called when a session with `peer` begins, before this replica's stream is read: what it writes now reaches
    /// the peer in this very session. A replica that is the stock authority tops the peer's selling rights up
    /// here (`OrderCommands.topUp(peer:)`). Best effort: a failure here does not fail the session.
    func prepareSession(peer: String) async

    /// The site this replica is loading its first record stream from, if it is; it then serves no stream.
    func bootstrappingFrom() async throws -> String?

    /// What this replica asks `peer` (a site id) for: its vector, its cursor for that peer, what it has staged
    /// of a cut stream from it, and whether it would take a file snapshot.
    func streamRequest(from peer: String) async throws -> StreamRequest

    /// Checks this replica's claim to `peer`'s writes against the counter `peer` reports of itself, lowering a
    /// claim above it (a poisoned vector) to what this store can vouch for; returns the repair, if any.
    ///
    /// - Throws: `ReplicaError(.siteConflict)` when this store holds writes of `peer` numbered above
    ///   `peerCounter` (the peer is a copied or restored replica).
    @discardableResult
    func reconcileClaim(peer: String, peerCounter: UInt64) async throws -> ClaimRepair?

    /// Streams, from one consistent read, every record `request` lacks in batches of at most `batchSize`,
    /// calling `emit` for each (it may block for back-pressure), and returns the stream's end. Every dot sent is
    /// covered by the end's vector. Runs synchronously: call it off the cooperative threads.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is bootstrapping.
    func withChanges(
        for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?,
        _ emit: (ChangeBatch) throws -> Void
    ) throws -> StreamEnd

    /// `withChanges` with each batch in its wire form (`EncodedChangeBatch`), which is what a sender ships: a store
    /// that can write its stored records straight into that form does so, without building `ChangeBatch`es (a
    /// replica file does). The default encodes each batch `withChanges` makes.
    func withEncodedChanges(
        for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?,
        _ emit: (EncodedChangeBatch) throws -> Void
    ) throws -> StreamEnd

    /// Stages one batch of a stream from `peer` durably, without touching live state; idempotent.
    func stage(_ batch: ChangeBatch, from peer: String) async throws

    /// Merges the complete staged stream from `peer` (and `lastBatch`) into live state in one transaction.
    ///
    /// - Throws: `ReplicaError(.protocolViolation)` when `end`'s vector does not cover the stream's dots
    ///   (nothing is merged; the staging stays).
    @discardableResult
    func completeStream(from peer: String, end: StreamEnd, lastBatch: ChangeBatch?) async throws -> MergeSummary

    /// Records that `peer` merged this replica's stream up to this replica's `snapshotLseq`.
    func markDelivered(to peer: String, snapshotLseq: Int64) async throws

    /// The change sequence after every commit that changed replicated records — local commands, merges, and
    /// other processes' commits on the same store — for live sessions to wait on. Values may coalesce.
    func commits() -> AsyncStream<Int64>

    /// The records changed after this store's change sequence `lseq`, read in one transaction with the vector and
    /// change sequence of that read; at most `limit` (past it, `complete` is false and no record is returned:
    /// the reader fell behind and streams in batches instead).
    func recentChanges(after lseq: Int64, limit: Int) async throws -> RecentChanges

    /// Merges a live delta from `peer` in one transaction, with the rules of a complete stream
    /// (`completeStream`): every dot covered by the delta's vector, the vector joined, the delta's change
    /// sequence stored as the cursor for `peer`. A record's fields left out are ones this store holds at least
    /// as new.
    @discardableResult
    func mergeLive(_ delta: LiveDelta, from peer: String) async throws -> MergeSummary

    /// File snapshots, when this store can send and take a page-level copy of itself; nil when it cannot
    /// (then an empty peer gets a record stream).
    var snapshots: (any SnapshotStore)? { get }
}

extension ReplicationStore {
    /// Encodes each batch `withChanges` makes (`EncodedChangeBatch(_:)`).
    public func withEncodedChanges(
        for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?,
        _ emit: (EncodedChangeBatch) throws -> Void
    ) throws -> StreamEnd {
        try withChanges(for: request, batchSize: batchSize, estimate: estimate) { batch in
            try emit(EncodedChangeBatch(batch))
        }
    }
}

/// A store that can send a consistent copy of itself and be bootstrapped from a peer's (Replica.docc, "A new
/// replica").
public protocol SnapshotStore: Sendable {
    /// Streams a consistent copy in chunks of `chunkSize` bytes: `header` first (size, vector, change
    /// sequence, id, digest, and the offset the chunks start at), then each chunk (it may block for
    /// back-pressure). With `resume`, a copy still kept under that id continues at its offset.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is itself bootstrapping.
    func withSnapshot(
        chunkSize: Int, resume: SnapshotResume?, header: (SnapshotInfo, _ offset: Int) throws -> Void,
        _ chunk: ([UInt8]) throws -> Void) throws

    /// Marks this empty replica as bootstrapping from `peer`'s snapshot `info` (local writes are refused until it
    /// is installed or abandoned), and returns where the copy's bytes go: a new file when `offset` is 0, the
    /// kept part of a cut copy of the same snapshot otherwise.
    ///
    /// - Throws: `ReplicaError(.protocolViolation)` when `offset` is not where this replica's kept part ends.
    func beginSnapshot(from peer: String, info: SnapshotInfo, offset: Int) async throws -> SnapshotReceiver

    /// Installs a complete received copy under this replica's identity, in one step.
    @discardableResult
    func installSnapshot(_ received: SnapshotReceiver, peer: String) async throws -> MergeSummary

    /// Returns an empty replica whose snapshot was cut to ready. What arrived of a resumable copy is kept, synced
    /// to disk, for the next session to continue; anything else is discarded.
    func abandonSnapshot(_ received: SnapshotReceiver?, from peer: String) async throws

    /// Records that `peer` installed this replica's snapshot taken at `snapshotLseq`.
    func markSnapshotInstalled(by peer: String, snapshotLseq: Int64) async throws
}

/// A snapshot arriving in chunks, written to a file beside the replica's own until it is complete. A resumable
/// copy (one with an id) has a description beside it (`<file>.json`: the peer, the `SnapshotInfo` and how
/// many bytes are synced to disk), rewritten every `checkpointBytes` and when the copy is cut.
public final class SnapshotReceiver: @unchecked Sendable {
    /// Where the bytes are written.
    public let path: String
    /// The peer sending the copy.
    public let peer: String
    /// What the sender announced.
    public let info: SnapshotInfo
    /// The size the sender announced.
    public var expected: Int { info.bytes }
    /// The sender's change sequence when it took the copy.
    public var snapshotLseq: Int64 { info.snapshotLseq }
    /// Bytes held so far (the kept part of a resumed copy included).
    public private(set) var received: Int
    /// Where this session's bytes began (0, or the kept part of a resumed copy).
    public let resumedAt: Int
    private let file: FileHandle
    /// The digest of the bytes so far, while they all came in this session (a resumed copy is hashed whole).
    private var digest: FileDigest?
    private var checkpointed: Int

    /// Bytes between two syncs of a resumable copy to disk (what a kill loses at most).
    static let checkpointBytes = 16 << 20

    /// What a cut resumable copy's description holds.
    struct Kept: Codable {
        var peer: String
        var info: SnapshotInfo
        var verified: Int
    }

    init(path: String, peer: String, info: SnapshotInfo, offset: Int) throws {
        self.path = path
        self.peer = peer
        self.info = info
        if offset > 0 {
            guard let kept = Self.kept(at: path), kept.peer == peer, kept.info == info, kept.verified == offset,
                let file = FileHandle(forUpdatingAtPath: path)
            else {
                Self.discard(at: path)
                throw ReplicaError(
                    .protocolViolation, "the peer resumed a snapshot at byte \(offset) that this replica does not hold")
            }
            try file.truncate(atOffset: UInt64(offset))
            try file.seekToEnd()
            self.file = file
        } else {
            Self.discard(at: path)
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let file = FileHandle(forWritingAtPath: path)
            else {
                throw ReplicaError(
                    .unavailable, "cannot write the incoming snapshot at \(path)",
                    hint: "check the directory's permissions and free space")
            }
            self.file = file
            digest = FileDigest()
        }
        received = offset
        resumedAt = offset
        checkpointed = offset
    }

    /// The kept part of a cut copy at `path`, when its description is readable and its file long enough.
    static func kept(at path: String) -> Kept? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path + ".json")),
            let kept = try? JSONDecoder().decode(Kept.self, from: data), kept.info.id != nil,
            let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int,
            size >= kept.verified
        else { return nil }
        return kept
    }

    /// Appends the next chunk; refuses a copy longer than announced.
    public func append(_ bytes: [UInt8]) throws {
        guard received + bytes.count <= expected else {
            throw ReplicaError(.protocolViolation, "the snapshot is longer than announced")
        }
        try file.write(contentsOf: bytes)
        digest?.update(bytes)
        received += bytes.count
        if info.id != nil, received - checkpointed >= Self.checkpointBytes { try checkpoint() }
    }

    /// Syncs what arrived to disk and records it in the description.
    private func checkpoint() throws {
        try file.synchronize()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(
            Array(try encoder.encode(Kept(peer: peer, info: info, verified: received))), to: path + ".json",
            mode: 0o600)
        checkpointed = received
    }

    /// Closes the file; refuses a copy shorter than announced or whose digest differs from the announced one.
    func finish() throws {
        try file.close()
        guard received == expected else {
            throw ReplicaError(.protocolViolation, "the snapshot ended after \(received) of \(expected) bytes")
        }
        if let announced = info.digest {
            let actual: String
            if let digest { actual = digest.finish() } else { actual = try FileDigest.of(file: path) }
            guard actual == announced else {
                throw ReplicaError(
                    .protocolViolation,
                    "the assembled snapshot's digest \(actual) differs from the announced \(announced)",
                    hint: "sync again: the copy is discarded and the next session starts a new one")
            }
        }
    }

    /// Keeps what arrived of a resumable copy for the next session (synced to disk); discards anything else.
    func suspend() {
        guard info.id != nil, received > 0, (try? checkpoint()) != nil else { return discard() }
        try? file.close()
    }

    /// Removes the file (and any SQLite side files) whatever state it is in.
    func discard() {
        try? file.close()
        Self.discard(at: path)
    }

    static func discard(at path: String) {
        Replica.removeDatabaseFiles(at: path)
        try? FileManager.default.removeItem(atPath: path + ".json")
    }
}
