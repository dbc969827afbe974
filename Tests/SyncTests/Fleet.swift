import Foundation
import OrderDomain
import Replica
import SecureLine
import Sync

/// Devices on one network, each with a replica, a key pair and (when it listens) a running server.
final class Fleet: @unchecked Sendable {
    final class Device: @unchecked Sendable {
        let replica: Replica
        let identity: SyncIdentity
        var server: SyncServer?
        var serving: Task<Void, any Error>?
        var trusted: Set<[UInt8]> = []
        let lock = NSLock()
        /// Sessions this device's server finished (either way), and a signal for each.
        private var finished = 0
        private let (finishedEvents, finishedSignal) = AsyncStream.makeStream(of: Void.self)

        init(replica: Replica, identity: SyncIdentity) {
            self.replica = replica
            self.identity = identity
        }

        var name: String { replica.identity.name }
        var key: [UInt8] { identity.keyPair.publicKey }
        func trusts(_ key: [UInt8]) -> Bool { lock.withLock { trusted.contains(key) } }
        func trust(_ other: Device) { lock.withLock { _ = trusted.insert(other.key) } }

        func sessionFinished() {
            lock.withLock { finished += 1 }
            finishedSignal.yield()
        }

        /// Returns once this device's server has finished `count` sessions (one waiter at a time).
        func waitForSessions(_ count: Int) async {
            if lock.withLock({ finished }) >= count { return }
            for await _ in finishedEvents where lock.withLock({ finished }) >= count { return }
        }
    }

    let directory: URL
    let network = KeyText.newNetworkID()
    var devices: [Device] = []

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A new device; every device trusts every other one (pairing is explicit and mutual in real use).
    @discardableResult
    func add(_ name: String, network: [UInt8]? = nil, listening: Bool = true, trustedByOthers: Bool = true) async throws
        -> Device
    {
        let replica = try Replica.create(at: directory.appendingPathComponent("\(name).sqlite").path, name: name)
        let device = Device(
            replica: replica, identity: SyncIdentity(keyPair: KeyPair.generate(), networkID: network ?? self.network))
        if trustedByOthers {
            for other in devices {
                other.trust(device)
                device.trust(other)
            }
        }
        devices.append(device)
        if listening {
            let server = try await SyncServer.bind(replica: replica.replication, identity: device.identity) {
                [weak device] in
                device?.trusts($0) ?? false
            }
            device.server = server
            let owner = device
            device.serving = Task { try await server.run { _ in owner.sessionFinished() } }
        }
        return device
    }

    /// `from` dials `to` and runs one full session.
    @discardableResult
    func sync(_ from: Device, with to: Device, via port: Int? = nil) async throws -> SyncSummary {
        guard let server = to.server else { throw SyncError(.protocolViolation, "\(to.name) is not listening") }
        return try await from.replica.replication.sync(
            host: "127.0.0.1", port: port ?? server.port, peerKey: to.key, identity: from.identity, batchSize: 7)
    }

    func shutdown() async {
        for device in devices {
            await device.server?.shutdown()
            _ = await device.serving?.result
        }
    }

    func identical(_ group: [Device]? = nil) async throws -> Bool {
        var digests: Set<String> = []
        for device in group ?? devices { digests.insert(try await device.replica.contentDigest()) }
        return digests.count == 1
    }
}
