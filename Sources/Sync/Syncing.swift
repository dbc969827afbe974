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
            try await self.session(
                host: host, port: port, peerKey: peerKey, identity: identity, batchSize: batchSize,
                settings: settings, acceptSnapshot: acceptSnapshot, progress: progress, logger: logger, live: nil)
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

extension ReplicationStore {
    /// One session with the listener at `host:port`; with `live`, offered as a live session (protocol/SPEC.md
    /// §15), which stays open until the line ends when the peer accepts.
    func session(
        host: String, port: Int, peerKey: [UInt8], identity: SyncIdentity, batchSize: Int, settings: LineSettings,
        acceptSnapshot: Bool, progress: (@Sendable (SyncProgress) -> Void)?, logger: Logger, live: LiveOptions?
    ) async throws -> SyncSummary {
        try await SecureLine.dial(
            host: host, port: port, identity: identity.keyPair, listenerKey: peerKey,
            networkID: identity.networkID, hello: SyncSession.hello(self), settings: settings
        ) { session in
            var sync = SyncSession(
                replica: self, role: .dialler, batchSize: batchSize, progress: progress, logger: logger)
            sync.acceptSnapshot = acceptSnapshot
            sync.live = live
            return try await sync.run(&session)
        }
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
    /// What this replica changed lately, shared by its live sessions; nil when it offers none.
    private let feed: LiveFeed?
    private let live: LiveSettings?

    /// The bound port (useful after binding port 0).
    public var port: Int { listener.port }
    public var host: String { listener.host }

    private init(
        listener: LineListener, replica: any ReplicationStore, batchSize: Int, logger: Logger, live: LiveSettings?
    ) {
        self.listener = listener
        self.replica = replica
        self.batchSize = batchSize
        self.logger = logger
        self.live = live
        self.feed = live.map { LiveFeed(store: replica, capacity: $0.feedCapacity) }
    }

    /// Binds `host:port`. `trusts` is asked, for each dialler's static key, whether to answer (read the trust
    /// store there so that peers added later are accepted without a restart). With `live` settings (the default), a
    /// dialler that offers a live session keeps it open after its exchange, and every change this replica
    /// commits or merges is pushed to every live peer that lacks it (protocol/SPEC.md §15).
    public static func bind(
        replica: any ReplicationStore, identity: SyncIdentity, host: String = "127.0.0.1", port: Int = 0,
        batchSize: Int = 500, live: LiveSettings? = LiveSettings(),
        settings: LineSettings = LineSettings(), logger: Logger = Logger(label: "outpost.server"),
        trusts: @escaping @Sendable ([UInt8]) -> Bool
    ) async throws -> SyncServer {
        let listener = try await LineListener.bind(
            host: host, port: port, identity: identity.keyPair, networkID: identity.networkID,
            hello: SyncSession.hello(replica),
            settings: settings, acceptsHello: { (try? SyncSession.peer(from: $0)) != nil }, trusts: trusts)
        return SyncServer(listener: listener, replica: replica, batchSize: batchSize, logger: logger, live: live)
    }

    /// Serves sessions until `shutdown()`; `onSession` hears about each finished session (a live session's
    /// exchange, when it goes live), `onLive` about each delta of a live session.
    public func run(
        onSession: (@Sendable (Result<SyncSummary, any Error>) -> Void)? = nil,
        onLive: (@Sendable (LiveExchange) -> Void)? = nil
    ) async throws {
        let (replica, batchSize, logger) = (self.replica, self.batchSize, self.logger)
        let settings = self.live ?? LiveSettings()
        let live = feed.map { feed in
            LiveOptions(feed: feed, settings: settings) { event in
                switch event {
                case .synced(let summary): onSession?(.success(summary))
                case .live(let exchange): onLive?(exchange)
                case .linkDown: break
                }
            }
        }
        try await listener.run { session in
            do {
                var sync = SyncSession(
                    replica: replica, role: .listener, batchSize: batchSize, progress: nil, logger: logger)
                sync.live = live
                let summary = try await sync.run(&session)
                if !summary.wentLive { onSession?(.success(summary)) }
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
        feed?.stop()
    }
}
