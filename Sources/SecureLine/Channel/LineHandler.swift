import NIOCore

/// Drives a `LineMachine` from a channel: bytes in → `LineEvent`s up; `Record`s down → bytes out.
/// Enforces the handshake deadline and the idle timeout. Every failure closes the channel and surfaces as a
/// `LineError` in the inbound stream; nothing is delivered upward after it.
final class LineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = LineEvent
    typealias OutboundIn = Record
    typealias OutboundOut = ByteBuffer

    private var machine: LineMachine
    private let dialling: Bool
    private let settings: LineSettings
    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var finished = false
    /// Whether anything came from the peer after the handshake (a dialler cannot otherwise tell a session the
    /// listener cut from one it never confirmed).
    private var heardFromPeer = false
    let counters: LineCounters

    init(machine: LineMachine, dialling: Bool, settings: LineSettings, counters: LineCounters) {
        self.machine = machine
        self.dialling = dialling
        self.settings = settings
        self.counters = counters
    }

    private func send(
        _ bytes: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil, flush: Bool = true
    ) {
        counters.addSent(bytes.count)
        let buffer = wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes))
        if flush { context.writeAndFlush(buffer, promise: promise) } else { context.write(buffer, promise: promise) }
    }

    private static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: Self.amount(settings.handshakeTimeout)) {
            bound.value.0.fail(context: bound.value.1, LineError(.timedOut, "the handshake did not complete in time"))
        }
        resetIdle(context: context)
        if dialling {
            do {
                send(try machine.start(), context: context)
            } catch {
                fail(context: context, error)
            }
        }
        context.fireChannelActive()
    }

    private func resetIdle(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = settings.idleTimeout
        idleTimer = context.eventLoop.scheduleTask(in: Self.amount(timeout)) {
            bound.value.0.fail(context: bound.value.1, LineError(.timedOut, "no data for \(timeout)"))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        resetIdle(context: context)
        let buffer = unwrapInboundIn(data)
        counters.addReceived(buffer.readableBytes)
        do {
            let (output, events) = try buffer.withUnsafeReadableBytes { try machine.receive($0) }
            if !output.isEmpty { send(output, context: context) }
            for event in events {
                if case .established = event {
                    handshakeTimer?.cancel()
                    handshakeTimer = nil
                } else {
                    heardFromPeer = true
                }
                context.fireChannelRead(wrapInboundOut(event))
                if case .goodbye = event {
                    finished = true
                    cancelTimers()
                    context.close(promise: nil)
                    return
                }
            }
        } catch {
            fail(context: context, error)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let record = unwrapOutboundIn(data)
        do {
            let bytes = record.verb == "BYE" ? try machine.goodbye() : try machine.seal(record)
            send(bytes, context: context, promise: promise, flush: false)
            if record.verb == "BYE" {
                finished = true
                cancelTimers()
                context.flush()
            }
        } catch {
            promise?.fail(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        counters.markClosed()
        cancelTimers()
        if !finished {
            finished = true
            let error: LineError =
                machine.isEstablished
                ? (dialling && !heardFromPeer
                    ? LineError(
                        .truncated,
                        "the listener closed the line before sending anything: it may not have confirmed the handshake before its deadline (a listener too busy to read it in time), or it stopped; nothing was exchanged",
                        hint: "sync again; if it keeps happening, the listener's machine is overloaded")
                    : LineError(.truncated, "the connection ended without a goodbye"))
                : dialling
                    ? LineError(
                        .rejected,
                        "the peer closed during the handshake: it does not trust this key, is on another network, or is not the listener whose key was pinned"
                    )
                    : LineError(.truncated, "the dialler left during the handshake")
            context.fireErrorCaught(error)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        guard !finished else { return }
        finished = true
        cancelTimers()
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func cancelTimers() {
        handshakeTimer?.cancel()
        idleTimer?.cancel()
        handshakeTimer = nil
        idleTimer = nil
    }
}
