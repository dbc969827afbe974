import Foundation
import OutpostCore
import Replica
import SecureLine

/// A device's files, side by side: the replica (`PATH`), its identity key (`PATH.identity`), its trust
/// store (`PATH.peers`) and its network id (`PATH.network`, one line `onet_…`).
public struct Device: Sendable {
    public let replicaPath: String
    public var identityPath: String { replicaPath + ".identity" }
    public var peersPath: String { replicaPath + ".peers" }
    public var networkPath: String { replicaPath + ".network" }

    public init(replicaPath: String) { self.replicaPath = replicaPath }

    /// The default replica path: `$XDG_DATA_HOME/outpost/replica.sqlite`, else `~/.local/share/outpost/replica.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share"
        return base + "/outpost/replica.sqlite"
    }

    /// Creates the replica, a new identity key (mode 0600) and the network file (a new network unless given).
    public func create(name: String, networkID: [UInt8]?) throws -> (Replica, SyncIdentity) {
        let directory = (replicaPath as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for path in [replicaPath, identityPath] where FileManager.default.fileExists(atPath: path) {
            throw ReplicaError(
                .cannotCreate, "\(path) already exists", hint: "choose another --db, or remove the old replica first")
        }
        let replica = try Replica.create(at: replicaPath, name: name)
        do {
            let keyPair = try IdentityFile.create(at: identityPath)
            let network = networkID ?? KeyText.newNetworkID()
            try writeNetwork(network)
            if !FileManager.default.fileExists(atPath: peersPath) { try TrustStore().save(to: peersPath) }
            return (replica, SyncIdentity(keyPair: keyPair, networkID: network))
        } catch {
            // Nothing half-made: without its identity the replica is removed again.
            Replica.removeDatabaseFiles(at: replicaPath)
            try? FileManager.default.removeItem(atPath: identityPath)
            throw error
        }
    }

    /// Opens the replica.
    public func openReplica() throws -> Replica { try Replica.open(at: replicaPath) }

    /// Loads the identity key and network id.
    public func identity() throws -> SyncIdentity {
        let keyPair = try IdentityFile.load(from: identityPath)
        guard let text = try? String(contentsOfFile: networkPath, encoding: .utf8) else {
            throw LineError(.badKey, "cannot read the network file \(networkPath)")
        }
        return SyncIdentity(
            keyPair: keyPair,
            networkID: try KeyText.parseNetworkID(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// Replaces the network id (joining another fleet).
    public func writeNetwork(_ networkID: [UInt8]) throws {
        try AtomicFile.write(Array((KeyText.networkID(networkID) + "\n").utf8), to: networkPath)
    }

    public func trustStore() throws -> TrustStore { try TrustStore.load(from: peersPath) }
}

/// A pasteable invitation: where to reach a device, its key, its network and its name, as one line
/// `outpost-invite:` + base64url(JSON).
public struct Invitation: Hashable, Sendable {
    public static let prefix = "outpost-invite:"
    public var name: String
    public var publicKey: [UInt8]
    public var networkID: [UInt8]
    public var address: String?

    public init(name: String, publicKey: [UInt8], networkID: [UInt8], address: String?) {
        self.name = name
        self.publicKey = publicKey
        self.networkID = networkID
        self.address = address
    }

    public var code: String {
        var object = ["name": name, "key": KeyText.publicKey(publicKey), "network": KeyText.networkID(networkID)]
        if let address { object["address"] = address }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Self.prefix + Base64URL.encode(data)
    }

    public init(code: String) throws {
        let trimmed = code.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix(Self.prefix) else {
            throw LineError(.badKey, "'\(trimmed.prefix(40))' is not an invite code (it starts with \(Self.prefix))")
        }
        guard let data = Base64URL.decode(String(trimmed.dropFirst(Self.prefix.count))).map({ Data($0) }),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: String],
            let name = object["name"], let key = object["key"], let network = object["network"]
        else { throw LineError(.badKey, "the invite code is damaged; copy the whole line again") }
        // Checked here as the trust store checks them: an invite is pasted from anywhere.
        try DeviceName.check(name)
        if let address = object["address"] { _ = try PeerAddress(parsing: address) }
        self.init(
            name: name, publicKey: try KeyText.parsePublicKey(key), networkID: try KeyText.parseNetworkID(network),
            address: object["address"])
    }
}
