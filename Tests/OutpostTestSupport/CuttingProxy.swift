import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback TCP relay that cuts each connection after `cutAfter` bytes (both directions together), as a flaky
/// link would: for tests of cut sessions and the benchmark's bootstrap over a dropping link.
public final class CuttingProxy: @unchecked Sendable {
    /// The loopback port to dial instead of the target's.
    public let port: Int
    private let listener: Int32
    private let target: Int
    private let cutAfter: Int
    private let closed = NSLock()
    private var isClosed = false

    /// Listens on a free loopback port; each connection is relayed to `target` until `cutAfter` bytes passed.
    public init(target: Int, cutAfter: Int) throws {
        self.target = target
        self.cutAfter = cutAfter
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, size) == 0 && getsockname(descriptor, $0, &size) == 0
            }
        }
        guard bound, Glibc.listen(descriptor, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        // The loop holds the descriptor, not the proxy: releasing the proxy closes it, which ends the loop.
        Thread.detachNewThread { [listener, target, cutAfter] in
            Self.acceptLoop(listener: listener, target: target, cutAfter: cutAfter)
        }
    }

    /// Stops accepting (connections in progress run until cut or closed).
    public func close() {
        let first: Bool = closed.withLock {
            defer { isClosed = true }
            return !isClosed
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    deinit { close() }

    private static func acceptLoop(listener: Int32, target: Int, cutAfter: Int) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let link = Link(client: client, upstream: upstream, budget: cutAfter)
            guard connected == 0 else {
                link.cut()
                continue
            }
            Thread.detachNewThread { link.pump(from: client, to: upstream) }
            Thread.detachNewThread { link.pump(from: upstream, to: client) }
        }
    }

    /// One relayed connection and the bytes it may still carry.
    private final class Link: @unchecked Sendable {
        let client: Int32
        let upstream: Int32
        private let lock = NSLock()
        private var budget: Int
        private var ended = 0

        init(client: Int32, upstream: Int32, budget: Int) {
            self.client = client
            self.upstream = upstream
            self.budget = budget
        }

        func pump(from source: Int32, to destination: Int32) {
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            while true {
                let count = recv(source, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                let allowed: Int = lock.withLock {
                    let allowed = min(budget, count)
                    budget -= allowed
                    return allowed
                }
                var sent = 0
                while sent < allowed {
                    let written = buffer[sent..<allowed].withUnsafeBytes {
                        send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                    }
                    guard written > 0 else { break }
                    sent += written
                }
                if allowed < count || sent < allowed { break }
            }
            cut()
            let last: Bool = lock.withLock {
                ended += 1
                return ended == 2
            }
            if last {
                Glibc.close(client)
                Glibc.close(upstream)
            }
        }

        /// Closes both directions at once.
        func cut() {
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(upstream, Int32(SHUT_RDWR))
        }
    }
}
