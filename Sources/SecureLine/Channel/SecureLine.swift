import NIOCore
import NIOPosix
import Synchronization

/// Bytes counted on one connection's socket, both ways (frames included, TCP/IP headers not), and whether it closed.
public final class LineCounters: Sendable {
    private let sent = Atomic<Int>(0)
    private let received = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    public init() {}
    /// Whether the connection has closed (set on the event loop when it does).
    var isClosed: Bool { closed.load(ordering: .acquiring) }
    func markClosed() { closed.store(true, ordering: .releasing) }
    public var bytesSent: Int { sent.load(ordering: .relaxed) }
    public var bytesReceived: Int { received.load(ordering: .relaxed) }
    func addSent(_ count: Int) { sent.add(count, ordering: .relaxed) }
    func addReceived(_ count: Int) { received.add(count, ordering: .relaxed) }
}

/// The sending half of a session: safe to use from another task than the one reading.
public struct LineSender: Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<Record>
    /// How a send that found the connection closed begins its message (`LineSession.reason(for:)` looks past it).
    static let closedWhileSending = "the connection closed while sending"

    /// Sends a record (waits when the socket is backed up).
    /// - Throws: `LineError(.truncated)` when the connection has closed (the reading side reports why).
    public func send(_ record: Record) async throws {
        do {
            try await outbound.write(record)
        } catch let error as LineError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw LineError(.truncated, "\(Self.closedWhileSending) (\(error))")
        }
    }

    /// Sends an `ERROR` record (the peer's `next()` throws it).
    public func sendError(code: String, message: String) async throws {
        try await send(Record(verb: "ERROR", fields: ["code": code, "message": message]))
    }

    /// Sends the goodbye that marks a clean close.
    public func goodbye() async throws { try await send(Record(verb: "BYE")) }
}

/// An authenticated, encrypted connection, inside `SecureLine.dial` or a `LineListener` handler.
public struct LineSession {
    /// The peer's static public key (the dialler pinned it; the listener found it in its trust store).
    public let peerKey: [UInt8]
    /// What the peer sent in its handshake message (e.g. its site id and name as JSON).
    public let peerHello: [UInt8]
    /// Bytes on the wire so far.
    public let counters: LineCounters
    /// The sending half, for a task that sends while this one reads.
    public let sender: LineSender
    private var inbound: NIOAsyncChannelInboundStream<LineEvent>.AsyncIterator

    init(
        peerKey: [UInt8], peerHello: [UInt8], inbound: NIOAsyncChannelInboundStream<LineEvent>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<Record>, counters: LineCounters
    ) {
        self.peerKey = peerKey
        self.peerHello = peerHello
        self.inbound = inbound
        self.sender = LineSender(outbound: outbound)
        self.counters = counters
    }

    /// The next record from the peer; nil after its goodbye.
    /// - Throws: `LineError`: `.peerError` for an `ERROR` record, `.truncated` when the connection ends without
    ///   a goodbye, `.authenticationFailed`/`.protocolViolation` for bad bytes, `.timedOut` when idle too long.
    public mutating func next() async throws -> Record? {
        while let event = try await nextEvent() {
            switch event {
            case .record(let record): return record
            case .goodbye: return nil
            case .peerError(let code, let message): throw LineError(.peerError, "\(code): \(message)")
            case .established: continue
            }
        }
        throw LineError(.truncated, "the connection ended without a goodbye")
    }

    /// The next event; a failure of the socket itself (a reset connection) is a cut line, `.truncated`.
    private mutating func nextEvent() async throws -> LineEvent? {
        do {
            return try await inbound.next()
        } catch let error as LineError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw LineError(.truncated, "the connection was cut (\(error))")
        }
    }

    /// Sends a record.
    public func send(_ record: Record) async throws { try await sender.send(record) }

    /// Why the line closed, for a session that failed with `error`: when that is a send that found the connection
    /// closed, the reading side knows more — the peer's `ERROR`, a record that failed to authenticate, a deadline —
    /// so once the connection has closed (never before: the read could wait), the records still buffered are read
    /// past to the error that ended them. Any other error already is the reading side's, and is returned as it is.
    /// Call it only once the session is abandoned: it consumes what the peer sent.
    public mutating func reason(for error: any Error) async -> any Error {
        guard let cut = error as? LineError, cut.message.hasPrefix(LineSender.closedWhileSending), counters.isClosed
        else { return error }
        do {
            // A closed connection ends its inbound stream: this reads at most what was buffered before the close.
            while try await next() != nil {}
        } catch let reason as LineError {
            return reason
        } catch {
            return cut
        }
        return cut
    }

    /// Sends an `ERROR` record (the peer's `next()` throws it).
    public func sendError(code: String, message: String) async throws {
        try await sender.sendError(code: code, message: message)
    }

    /// Sends the goodbye that marks a clean close.
    public func goodbye() async throws { try await sender.goodbye() }
}

/// Dialling and listening.
public enum SecureLine {
    static func waitForHandshake(_ inbound: inout NIOAsyncChannelInboundStream<LineEvent>.AsyncIterator) async throws
        -> (key: [UInt8], hello: [UInt8])
    {
        guard let first = try await inbound.next() else {
            throw LineError(.rejected, "the connection closed during the handshake")
        }
        guard case .established(let key, let hello) = first else {
            throw LineError(.protocolViolation, "data before the handshake completed")
        }
        return (key, hello)
    }

    /// Dials `host:port`, completes the handshake with the listener whose static key is `listenerKey`, runs
    /// `body` with the session, and closes the connection when `body` returns or throws.
    ///
    /// ```swift
    /// try await SecureLine.dial(host: "127.0.0.1", port: 7400, identity: me, listenerKey: hubKey,
    ///                           networkID: network, hello: Array(#"{"site":"…"}"#.utf8)) { session in
    ///     try await session.send(Record(verb: "HELLO"))
    ///     let answer = try await session.next()
    ///     try await session.goodbye()
    /// }
    /// ```
    public static func dial<T: Sendable>(
        host: String, port: Int, identity: KeyPair, listenerKey: [UInt8], networkID: [UInt8], hello: [UInt8],
        settings: LineSettings = LineSettings(), banner: String = LineSettings.banner,
        _ body: (inout LineSession) async throws -> T
    ) async throws -> T {
        let machine = LineMachine(
            dialling: identity, listenerKey: listenerKey, networkID: networkID, hello: hello, settings: settings,
            banner: banner)
        let counters = LineCounters()
        let channel: NIOAsyncChannel<LineEvent, Record>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            LineHandler(machine: machine, dialling: true, settings: settings, counters: counters))
                        return try NIOAsyncChannel<LineEvent, Record>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw LineError(.unreachable, "cannot reach \(host):\(port): \(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            let (key, peerHello) = try await waitForHandshake(&iterator)
            var session = LineSession(
                peerKey: key, peerHello: peerHello, inbound: iterator, outbound: outbound, counters: counters)
            return try await body(&session)
        }
    }
}

/// A listening socket that answers only trusted diallers on its network.
public final class LineListener: Sendable {
    private let server: NIOAsyncChannel<NIOAsyncChannel<LineEvent, Record>, Never>
    /// The bound port (useful after binding port 0).
    public let port: Int
    /// The bound host.
    public let host: String
    /// Connections accepted and not yet finished, so that `close` can end them.
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])

    private init(server: NIOAsyncChannel<NIOAsyncChannel<LineEvent, Record>, Never>, host: String, port: Int) {
        self.server = server
        self.host = host
        self.port = port
    }

    /// Binds `host:port` (port 0 picks a free port).
    /// - Parameters:
    ///   - trusts: decides from a dialler's static key whether to answer; called on the event loop.
    ///   - acceptsHello: decides whether the dialler's hello is well formed before answering.
    public static func bind(
        host: String, port: Int, identity: KeyPair, networkID: [UInt8], hello: [UInt8],
        settings: LineSettings = LineSettings(), acceptsHello: @escaping @Sendable ([UInt8]) -> Bool = { _ in true },
        trusts: @escaping @Sendable ([UInt8]) -> Bool
    ) async throws -> LineListener {
        let server: NIOAsyncChannel<NIOAsyncChannel<LineEvent, Record>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let machine = LineMachine(
                            listening: identity, networkID: networkID, hello: hello, settings: settings, trusts: trusts,
                            acceptsHello: acceptsHello)
                        let handler = LineHandler(
                            machine: machine, dialling: false, settings: settings, counters: LineCounters())
                        try channel.pipeline.syncOperations.addHandler(handler, name: "line")
                        return try NIOAsyncChannel<LineEvent, Record>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch let error as IOError {
            let reason =
                switch error.errnoCode {
                case EADDRINUSE: "the port is in use (is another `outpost serve` running?)"
                case EADDRNOTAVAIL: "the address is not one of this host's"
                case EACCES: "permission denied (ports below 1024 need privileges)"
                default: String(cString: strerror(error.errnoCode))
                }
            throw LineError(
                .cannotListen, "cannot listen on \(host):\(port): \(reason)",
                hint: "choose another --listen address or port")
        } catch {
            throw LineError(
                .cannotListen, "cannot listen on \(host):\(port): \(error)", hint: "check the --listen address")
        }
        return LineListener(server: server, host: host, port: server.channel.localAddress?.port ?? port)
    }

    /// Accepts connections until the listener is closed or the task cancelled; each completed handshake runs
    /// `handler` in its own child task. A connection that fails its handshake never reaches `handler`.
    public func run(_ handler: @escaping @Sendable (inout LineSession) async throws -> Void) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    let counters = try? await connection.channel.pipeline.handler(type: LineHandler.self).map(
                        \.counters
                    ).get()
                    let channel = connection.channel
                    let key = ObjectIdentifier(channel)
                    self.connections.withLock { $0[key] = channel }
                    group.addTask {
                        defer { _ = self.connections.withLock { $0.removeValue(forKey: key) } }
                        try? await connection.executeThenClose { inbound, outbound in
                            var iterator = inbound.makeAsyncIterator()
                            let (key, peerHello) = try await SecureLine.waitForHandshake(&iterator)
                            var session = LineSession(
                                peerKey: key, peerHello: peerHello, inbound: iterator, outbound: outbound,
                                counters: counters ?? LineCounters())
                            try await handler(&session)
                        }
                    }
                }
            }
        }
    }

    /// Stops accepting, lets sessions in flight finish for up to `grace`, then closes every connection still
    /// open (a half-open one, a stalled peer); `run` returns when their handlers have ended. A session cut
    /// this way is like any cut link: its peer's staged stream resumes on the next sync.
    public func close(grace: Duration = .milliseconds(500)) async {
        try? await server.channel.close()
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while clock.now < deadline, !connections.withLock({ $0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for channel in connections.withLock({ Array($0.values) }) { try? await channel.close() }
    }
}
