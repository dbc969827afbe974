import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback TCP proxy for one connection that cuts both directions after `cutAfter` bytes in total,
/// as a flaky link would.
public final class CuttingProxy: @unchecked Sendable {
    /// The loopback port to dial instead of the target's.
    public let port: Int
    private let listener: Int32
    private let target: Int
    private let cutAfter: Int
    private let lock = NSLock()
    private var forwarded = 0
    private var sockets: [Int32] = []

    /// Listens on a free loopback port for one connection, relayed to `target` until `cutAfter` bytes passed.
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
        guard bound, Glibc.listen(descriptor, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptOne() }
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptOne() {
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: target)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        lock.withLock { sockets = [client, upstream] }
        guard connected == 0 else { return cut() }
        Thread.detachNewThread { [self] in pump(from: client, to: upstream) }
        Thread.detachNewThread { [self] in pump(from: upstream, to: client) }
    }

    private func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(source, &buffer, buffer.count, 0)
            guard count > 0 else { return cut() }
            let allowed: Int = lock.withLock {
                let room = max(0, cutAfter - forwarded)
                let allowed = min(room, count)
                forwarded += allowed
                return allowed
            }
            if allowed > 0 { _ = send(destination, buffer, allowed, Int32(MSG_NOSIGNAL)) }
            if allowed < count { return cut() }
        }
    }

    /// Closes both sides at once.
    public func cut() {
        lock.withLock {
            for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
        }
    }

    deinit {
        cut()
        close(listener)
        for socket in sockets { close(socket) }
    }
}
