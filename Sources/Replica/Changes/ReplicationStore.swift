import Foundation
import OrderDomain

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

    /// Remembers `name` as the human name of the peer with site id `site` (for status and conflict lists).
    func notePeer(site: String, name: String) async throws

    /// The site this replica is loading its first record stream from, if it is; it then serves no stream.
    func bootstrappingFrom() async throws -> String?

    /// What this replica asks `peer` (a site id) for: its vector, its cursor for that peer, what it has staged
    /// of a cut stream from it, and whether it would take a file snapshot.
    func streamRequest(from peer: String) async throws -> StreamRequest

    /// Streams, from one consistent read, every record `request` lacks in batches of at most `batchSize`,
    /// calling `emit` for each (it may block for back-pressure), and returns the stream's end. Every dot sent is
    /// covered by the end's vector. Runs synchronously: call it off the cooperative threads.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is bootstrapping.
    func withChanges(
        for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?,
        _ emit: (ChangeBatch) throws -> Void
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

    /// File snapshots, when this store can send and take a page-level copy of itself; nil when it cannot
    /// (then an empty peer gets a record stream).
    var snapshots: (any SnapshotStore)? { get }
}

/// A store that can send a consistent copy of itself and be bootstrapped from a peer's (Replica.docc, "A new
/// replica").
public protocol SnapshotStore: Sendable {
    /// Streams a consistent copy in chunks of `chunkSize` bytes: `header` first (size, vector, change
    /// sequence), then each chunk (it may block for back-pressure).
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is itself bootstrapping.
    func withSnapshot(chunkSize: Int, header: (SnapshotInfo) throws -> Void, _ chunk: ([UInt8]) throws -> Void) throws

    /// Marks this empty replica as bootstrapping from `peer`'s snapshot (local writes are refused until it is
    /// installed or abandoned), and returns where the copy's bytes go.
    func beginSnapshot(from peer: String, bytes: Int, snapshotLseq: Int64) async throws -> SnapshotReceiver

    /// Installs a complete received copy under this replica's identity, in one step.
    @discardableResult
    func installSnapshot(_ received: SnapshotReceiver, peer: String) async throws -> MergeSummary

    /// Returns an empty replica whose snapshot was cut to ready, discarding what arrived.
    func abandonSnapshot(_ received: SnapshotReceiver?, from peer: String) async throws

    /// Records that `peer` installed this replica's snapshot taken at `snapshotLseq`.
    func markSnapshotInstalled(by peer: String, snapshotLseq: Int64) async throws
}

/// A snapshot arriving in chunks, written to a file beside the replica's own until it is complete.
public final class SnapshotReceiver: @unchecked Sendable {
    /// Where the bytes are written.
    public let path: String
    /// The size the sender announced.
    public let expected: Int
    /// The sender's change sequence when it took the copy.
    public let snapshotLseq: Int64
    /// Bytes received so far.
    public private(set) var received = 0
    private let file: FileHandle

    init(path: String, bytes: Int, snapshotLseq: Int64) throws {
        self.path = path
        Replica.removeDatabaseFiles(at: path)
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path)
        else {
            throw ReplicaError(
                .unavailable, "cannot write the incoming snapshot at \(path)",
                hint: "check the directory's permissions and free space")
        }
        self.file = file
        expected = bytes
        self.snapshotLseq = snapshotLseq
    }

    /// Appends the next chunk; refuses a copy longer than announced.
    public func append(_ bytes: [UInt8]) throws {
        guard received + bytes.count <= expected else {
            throw ReplicaError(.protocolViolation, "the snapshot is longer than announced")
        }
        try file.write(contentsOf: bytes)
        received += bytes.count
    }

    /// Closes the file; refuses a copy shorter than announced.
    func finish() throws {
        try file.close()
        guard received == expected else {
            throw ReplicaError(.protocolViolation, "the snapshot ended after \(received) of \(expected) bytes")
        }
    }

    /// Removes the file (and any SQLite side files) whatever state it is in.
    func discard() {
        try? file.close()
        Replica.removeDatabaseFiles(at: path)
    }
}
