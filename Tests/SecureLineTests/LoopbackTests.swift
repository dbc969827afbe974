import Foundation
import OutpostTestSupport
import Testing

@testable import SecureLine

#if canImport(Glibc)
    import Glibc
#endif

/// The line over real loopback sockets.
@Suite struct LoopbackTests {
    let listenerKey = KeyPair.generate()
    let diallerKey = KeyPair.generate()
    let network = KeyText.newNetworkID()

    func echoListener(
        trusting key: [UInt8], settings: LineSettings = LineSettings(), seen: LockedCounter = LockedCounter()
    ) async throws -> LineListener {
        try await LineListener.bind(
            host: "127.0.0.1", port: 0, identity: listenerKey, networkID: network, hello: Array("hub".utf8),
            settings: settings
        ) {
            $0 == key
        }
    }

    func serveEcho(_ listener: LineListener, seen: LockedCounter) -> Task<Void, any Error> {
        Task {
            try await listener.run { session in
                seen.increment()
                while let record = try await session.next() {
                    try await session.send(Record(verb: "ECHOED", json: record.json, body: record.body))
                }
            }
        }
    }

    @Test func aTrustedDiallerExchangesRecords() async throws {
        let seen = LockedCounter()
        let listener = try await echoListener(trusting: diallerKey.publicKey)
        let server = serveEcho(listener, seen: seen)
        let result = try await SecureLine.dial(
            host: "127.0.0.1", port: listener.port, identity: diallerKey, listenerKey: listenerKey.publicKey,
            networkID: network,
            hello: Array("laptop".utf8)
        ) { session -> [Int] in
            #expect(session.peerHello == Array("hub".utf8))
            var sizes: [Int] = []
            for size in [0, 10, 70_000, 300_000] {
                try await session.send(
                    Record(verb: "DATA", json: "{\"size\":\(size)}", body: Array(repeating: 9, count: size)))
                let echo = try await session.next()
                #expect(echo?.verb == "ECHOED")
                sizes.append(echo?.body.count ?? -1)
            }
            try await session.goodbye()
            return sizes
        }
        #expect(result == [0, 10, 70_000, 300_000])
        await listener.close()
        try await server.value
        #expect(seen.value == 1)
    }

    @Test func anUntrustedDeviceIsRejectedAndNeverServed() async throws {
        let seen = LockedCounter()
        let listener = try await echoListener(trusting: KeyPair.generate().publicKey)
        let server = serveEcho(listener, seen: seen)
        let error = await #expect(throws: LineError.self) {
            try await SecureLine.dial(
                host: "127.0.0.1", port: listener.port, identity: diallerKey, listenerKey: listenerKey.publicKey,
                networkID: network, hello: []
            ) { session in try await session.send(Record(verb: "SECRET")) }
        }
        #expect(error?.code == .rejected)
        await listener.close()
        try await server.value
        #expect(seen.value == 0)
    }

    @Test func aDeviceOnAnotherNetworkIsRejected() async throws {
        let seen = LockedCounter()
        let listener = try await echoListener(trusting: diallerKey.publicKey)
        let server = serveEcho(listener, seen: seen)
        let error = await #expect(throws: LineError.self) {
            try await SecureLine.dial(
                host: "127.0.0.1", port: listener.port, identity: diallerKey, listenerKey: listenerKey.publicKey,
                networkID: KeyText.newNetworkID(), hello: []
            ) { _ in }
        }
        #expect(error?.code == .rejected)
        await listener.close()
        try await server.value
        #expect(seen.value == 0)
    }

    /// A listener that drops a dialler just after the handshake (it did not read the dialler's confirmation before
    /// its deadline, or it stopped) is told apart from a session cut midway: nothing was exchanged.
    @Test func aListenerThatSaysNothingBeforeClosingIsToldApart() async throws {
        let listener = try await echoListener(trusting: diallerKey.publicKey)
        let server = Task { try await listener.run { _ in } }  // confirms, then closes without a word
        let silent = await #expect(throws: LineError.self) {
            try await SecureLine.dial(
                host: "127.0.0.1", port: listener.port, identity: diallerKey, listenerKey: listenerKey.publicKey,
                networkID: network, hello: []
            ) { session in _ = try await session.next() }
        }
        #expect(silent?.code == .truncated)
        #expect(silent?.message.contains("before sending anything") == true, "\(String(describing: silent))")
        await listener.close()
        try await server.value

        // One that answered first is a session cut midway.
        let talking = try await echoListener(trusting: diallerKey.publicKey)
        let talkingServer = Task { try await talking.run { session in try await session.send(Record(verb: "HI")) } }
        let cut = await #expect(throws: LineError.self) {
            try await SecureLine.dial(
                host: "127.0.0.1", port: talking.port, identity: diallerKey, listenerKey: listenerKey.publicKey,
                networkID: network, hello: []
            ) { session in while try await session.next() != nil {} }
        }
        #expect(cut?.message == "the connection ended without a goodbye", "\(String(describing: cut))")
        await talking.close()
        try await talkingServer.value
    }

    /// A send that finds the line closed says only that; `reason(for:)` finds why: here the listener's `ERROR`.
    @Test func aFailedSendFindsThePeersReason() async throws {
        let listener = try await echoListener(trusting: diallerKey.publicKey)
        let server = Task {
            try await listener.run { session in try await session.sendError(code: "busy", message: "come back later") }
        }
        let reason = try await SecureLine.dial(
            host: "127.0.0.1", port: listener.port, identity: diallerKey, listenerKey: listenerKey.publicKey,
            networkID: network, hello: []
        ) { session -> String in
            var failure: (any Error)?
            // Sends succeed into the socket's buffer until the close comes back.
            for _ in 0..<10_000 where failure == nil {
                do {
                    try await session.send(Record(verb: "DATA", body: Array(repeating: 1, count: 1000)))
                    try await Task.sleep(for: .milliseconds(1))
                } catch {
                    failure = error
                }
            }
            guard let failure else { return "no send failed" }
            #expect((failure as? LineError)?.code == .truncated, "\(failure)")
            let reason = await session.reason(for: failure)
            return "\(reason)"
        }
        #expect(reason.contains("busy: come back later"), "\(reason)")
        await listener.close()
        try await server.value
    }

    @Test func anUnreachableAddressSaysSo() async throws {
        let error = await #expect(throws: LineError.self) {
            try await SecureLine.dial(
                host: "127.0.0.1", port: 1, identity: diallerKey, listenerKey: listenerKey.publicKey,
                networkID: network, hello: []
            ) { _ in }
        }
        #expect(error?.code == .unreachable)
    }

    /// A peer that completes the handshake and then sends nothing (a hung process, a half-open link) ends the
    /// session with `timedOut` at the idle deadline; nothing waits for ever.
    @Test func aPeerThatGoesSilentAfterTheHandshakeTimesOut() async throws {
        var settings = LineSettings()
        settings.idleTimeout = .milliseconds(700)
        let listener = try await echoListener(trusting: diallerKey.publicKey)
        let server = Task {
            try await listener.run { _ in try await Task.sleep(for: .seconds(300)) }  // answers nothing
        }
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: LineError.self) {
            try await SecureLine.dial(
                host: "127.0.0.1", port: listener.port, identity: diallerKey, listenerKey: listenerKey.publicKey,
                networkID: network, hello: Array("laptop".utf8), settings: settings
            ) { session in
                _ = try await session.next()  // waits for a word that never comes
            }
        }
        let waited = clock.now - started
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(error?.exitStatus.rawValue == 75)
        // Bounded, not prompt: a loaded machine may take seconds to schedule the handshake itself, and the suite's
        // other tests may hold Swift's threads for seconds more. The listener's own idle deadline (120 s) and its
        // handler (300 s) would end the session far later.
        #expect(waited >= .milliseconds(600) && waited < .seconds(100), "waited \(waited)")
        server.cancel()
        await listener.close()
    }

    @Test func aSlowSenderIsClosedAtTheHandshakeDeadline() async throws {
        var settings = LineSettings()
        settings.handshakeTimeout = .milliseconds(800)
        let seen = LockedCounter()
        let listener = try await echoListener(trusting: diallerKey.publicKey, settings: settings)
        let server = serveEcho(listener, seen: seen)
        let port = listener.port
        let closedAfter = try await offThePool {
            try Self.trickle(port: port, bytesPerSecond: 4, limit: .seconds(6))
        }
        #expect(closedAfter < .seconds(3), "closed after \(closedAfter)")
        #expect(closedAfter > .milliseconds(500))
        await listener.close()
        try await server.value
        #expect(seen.value == 0)
    }

    /// Connects with a plain socket and sends a valid-looking frame header then one byte at a time; returns
    /// how long until the listener closed the connection.
    static func trickle(port: Int, bytesPerSecond: Int, limit: Duration) throws -> Duration {
        let fd = connectLoopback(port: port)
        guard fd >= 0 else { throw LineError(.unreachable, "cannot connect to 127.0.0.1:\(port)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: Int(1_000_000 / bytesPerSecond))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let clock = ContinuousClock()
        let start = clock.now
        let bytes: [UInt8] = [0, 0, 0, 96] + [UInt8](repeating: 1, count: 96)
        var index = 0
        var buffer = [UInt8](repeating: 0, count: 64)
        while clock.now - start < limit {
            if index < bytes.count {
                _ = send(fd, [bytes[index]], 1, Int32(MSG_NOSIGNAL))
                index += 1
            }
            let received = recv(fd, &buffer, buffer.count, 0)
            if received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return clock.now - start }
        }
        return clock.now - start
    }
}

final class LockedCounter: @unchecked Sendable {
    private var count = 0
    private let lock = NSLock()
    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
