import Foundation
import Replica
import Sync

/// A `ReplicationStore` that hands every requirement to a replica's replication role; tests subclass it to
/// change one behaviour (a store without snapshots, a slow disk) and keep the rest.
class ForwardingStore: ReplicationStore, @unchecked Sendable {
    let replica: Replica
    var base: ReplicationLog { replica.replication }

    init(_ replica: Replica) { self.replica = replica }

    var identity: ReplicaIdentity { base.identity }
    var schemaVersion: Int { base.schemaVersion }
    var snapshots: (any SnapshotStore)? { base }
    func notePeer(site: String, name: String, key: [UInt8]) async throws {
        try await base.notePeer(site: site, name: name, key: key)
    }
    func prepareSession(peer: String) async { await base.prepareSession(peer: peer) }
    func bootstrappingFrom() async throws -> String? { try await base.bootstrappingFrom() }
    func streamRequest(from peer: String) async throws -> StreamRequest { try await base.streamRequest(from: peer) }
    func withChanges(
        for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?,
        _ emit: (ChangeBatch) throws -> Void
    ) throws -> StreamEnd {
        try base.withChanges(for: request, batchSize: batchSize, estimate: estimate, emit)
    }
    func stage(_ batch: ChangeBatch, from peer: String) async throws { try await base.stage(batch, from: peer) }
    func reconcileClaim(peer: String, peerCounter: UInt64) async throws -> ClaimRepair? {
        try await base.reconcileClaim(peer: peer, peerCounter: peerCounter)
    }
    func completeStream(from peer: String, end: StreamEnd, lastBatch: ChangeBatch?) async throws -> MergeSummary {
        try await base.completeStream(from: peer, end: end, lastBatch: lastBatch)
    }
    func markDelivered(to peer: String, snapshotLseq: Int64) async throws {
        try await base.markDelivered(to: peer, snapshotLseq: snapshotLseq)
    }
    func commits() -> AsyncStream<Int64> { base.commits() }
    func recentChanges(after lseq: Int64, limit: Int) async throws -> RecentChanges {
        try await base.recentChanges(after: lseq, limit: limit)
    }
    func mergeLive(_ delta: LiveDelta, from peer: String) async throws -> MergeSummary {
        try await base.mergeLive(delta, from: peer)
    }
}
