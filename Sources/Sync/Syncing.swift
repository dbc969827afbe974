import Logging
import Replica
import SecureLine

/// How this device appears on the line: its key pair and its network.
public struct SyncIdentity: Sendable {
    public var keyPair: KeyPair
    public var networkID: [UInt8]

    public init(keyPair: KeyPair, networkID: [UInt8]) {
        self.keyPair = keyPair
        self.networkID = networkID
    }
}

extension ReplicationStore {
    /// One full sync session with the listener at `host:port` whose static key is `peerKey`: both directions,
    /// each merged whole. Safe to interrupt at any point: the next sync resumes from what was staged.
    ///
    /// ```swift
    /// let summary = try await replica.replication.sync(host: "127.0.0.1", port: 7400, peerKey: hubKey, identity: me)
    /// print(summary.changesReceived, summary.conflicts)
    /// ```
    /// An empty replica asks for a copy of the peer's file (a snapshot: the fastest bootstrap; a cut one
    /// starts over) unless `acceptSnapshot` is false; then it loads a record stream, which resumes where it
    /// was cut (better on links that drop often).
    ///
    /// - Throws: `LineError` (`.unreachable`, `.rejected`, `.truncated`, …) or `SyncError`.
    public func sync(
        host: String, port: Int, peerKey: [UInt8], identity: SyncIdentity, batchSize: Int = 500,
        settings: LineSettings = LineSettings(),
        acceptSnapshot: Bool = true, progress: (@Sendable (SyncProgress) -> Void)? = nil,
        logger: Logger = Logger(label: "outpost.sync")
    ) async throws -> SyncSummary {
        let session = { (acceptSnapshot: Bool) async throws -> SyncSummary in
            try await SecureLine.dial(
                host: host, port: port, identity: identity.keyPair, listenerKey: peerKey,
                networkID: identity.networkID, hello: SyncSession.hello(self), settings: settings
            ) { session in
                var sync = SyncSession(
                    replica: self, role: .dialler, batchSize: batchSize, progress: progress, logger: logger)
                sync.acceptSnapshot = acceptSnapshot
                return try await sync.run(&session)
            }
        }
        let first = try await session(acceptSnapshot)
        guard first.snapshotBytesReceived > 0 else { return first }
        // A file snapshot is a copy the peer made (or reused: one made for another device minutes ago), so what
        // the peer wrote after it — say, the selling rights it tops this device up with — comes by records, in a
        // second session, before this sync reports.
        let rest = try await session(false)
        var total = first
        total.batchesSent += rest.batchesSent
        total.batchesReceived += rest.batchesReceived
        total.rowsSent += rest.rowsSent
        total.rowsReceived += rest.rowsReceived
        total.changesSent += rest.changesSent
        total.changesReceived += rest.changesReceived
        total.changesApplied += rest.changesApplied
        total.conflicts += rest.conflicts
        total.bytesSent += rest.bytesSent
        total.bytesReceived += rest.bytesReceived
        total.duration += rest.duration
        return total
    }
}

/// A replica that listens: a hub, or a peer that others sync with. Serves many sessions at once; each session
/// stages in its own tables and merges in one short transaction, so sessions and local writers do not block
/// each other for long.
public final class SyncServer: Sendable {
    private let listener: LineListener
    private let replica: any ReplicationStore
    private let batchSize: Int
    private let logger: Logger

    /// The bound port (useful after binding port 0).
    public var port: Int { listener.port }
    public var host: String { listener.host }

    private init(listener: LineListener, replica: any ReplicationStore, batchSize: Int, logger: Logger) {
        self.listener = listener
        self.replica = replica
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Binds `host:port`. `trusts` is asked, for each dialler's static key, whether to answer (read the trust
    /// store there so that peers added later are accepted without a restart).
    public static func bind(
        replica: any ReplicationStore, identity: SyncIdentity, host: String = "127.0.0.1", port: Int = 0,
        batchSize: Int = 500,
        settings: LineSettings = LineSettings(), logger: Logger = Logger(label: "outpost.server"),
        trusts: @escaping @Sendable ([UInt8]) -> Bool
    ) async throws -> SyncServer {
        let listener = try await LineListener.bind(
            host: host, port: port, identity: identity.keyPair, networkID: identity.networkID,
            hello: SyncSession.hello(replica),
            settings: settings, acceptsHello: { (try? SyncSession.peer(from: $0)) != nil }, trusts: trusts)
        return SyncServer(listener: listener, replica: replica, batchSize: batchSize, logger: logger)
    }

    /// Serves sessions until `shutdown()`; `onSession` hears about each finished session.
    public func run(onSession: (@Sendable (Result<SyncSummary, any Error>) -> Void)? = nil) async throws {
        let (replica, batchSize, logger) = (self.replica, self.batchSize, self.logger)
        try await listener.run { session in
            do {
                let summary = try await SyncSession(
                    replica: replica, role: .listener, batchSize: batchSize, progress: nil, logger: logger
                ).run(&session)
                onSession?(.success(summary))
            } catch {
                logger.notice("sync session failed", metadata: ["error": "\(error)"])
                onSession?(.failure(error))
                throw error
            }
        }
    }

    /// Stops accepting sessions; sessions in flight finish (or are cut, leaving their batches staged).
    public func shutdown() async {
        await listener.close()
    }
}
