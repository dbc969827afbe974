import Foundation
import OutpostCore

/// A peer this device trusts: a name, its static public key and, optionally, where to reach it.
public struct TrustedPeer: Hashable, Sendable {
    public var name: String
    public var publicKey: [UInt8]
    /// `HOST:PORT`.
    public var address: String?

    public init(name: String, publicKey: [UInt8], address: String? = nil) {
        self.name = name
        self.publicKey = publicKey
        self.address = address
    }
}

/// The trust store: named peers, one per line (`NAME opk_… [HOST:PORT]`; `#` starts a comment). The listener
/// answers only keys listed here; the dialler pins the key it dials.
public struct TrustStore: Hashable, Sendable {
    public private(set) var peers: [TrustedPeer] = []

    public init(peers: [TrustedPeer] = []) { self.peers = peers }

    /// Parses the text form, refusing malformed lines with their line number.
    public init(text: String) throws(LineError) {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if words.isEmpty { continue }
            guard words.count == 2 || words.count == 3 else {
                throw LineError(.badKey, "trust store line \(number + 1): expected `NAME PUBLIC_KEY [HOST:PORT]`")
            }
            try add(
                TrustedPeer(
                    name: words[0], publicKey: KeyText.parsePublicKey(words[1]),
                    address: words.count == 3 ? words[2] : nil))
        }
    }

    /// Loads the store at `path`; a missing file is an empty store.
    public static func load(from path: String) throws(LineError) -> TrustStore {
        guard FileManager.default.fileExists(atPath: path) else { return TrustStore() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LineError(.badKey, "cannot read \(path)")
        }
        return try TrustStore(text: String(decoding: data, as: UTF8.self))
    }

    /// Writes the store to `path` atomically (`AtomicFile`: temporary file, fsync, rename). Every name and
    /// address passed `add`'s checks (no white space or control characters), so each peer stays one line.
    public func save(to path: String) throws(FileError) {
        try AtomicFile.write(Array(text.utf8), to: path, mode: 0o644)
    }

    public var text: String {
        "# Outpost trust store: NAME PUBLIC_KEY [HOST:PORT]\n"
            + peers.map { peer in
                ([peer.name, KeyText.publicKey(peer.publicKey)] + (peer.address.map { [$0] } ?? [])).joined(
                    separator: " ") + "\n"
            }.joined()
    }

    /// Adds a peer; refuses a malformed name or address, and a name or key already present.
    public mutating func add(_ peer: TrustedPeer) throws(LineError) {
        try DeviceName.check(peer.name)
        if let address = peer.address { _ = try PeerAddress(parsing: address) }
        guard !peers.contains(where: { $0.name == peer.name }) else {
            throw LineError(.badKey, "a peer named \(peer.name) already exists")
        }
        guard !peers.contains(where: { $0.publicKey == peer.publicKey }) else {
            throw LineError(.badKey, "that key is already trusted")
        }
        peers.append(peer)
    }

    /// Adds a peer that a person named (`peer add`, `join`): as `add(_:)`, and refuses this device's own key
    /// (`ownKey`), which would only let a copy of this device in.
    public mutating func add(_ peer: TrustedPeer, ownKey: [UInt8]) throws(LineError) {
        guard peer.publicKey != ownKey else {
            throw LineError(
                .badKey, "that is this device's own public key",
                hint:
                    "give the other device's key: run `outpost whoami` there (or `outpost invite` there, then `join` here)"
            )
        }
        try add(peer)
    }

    /// Changes where the peer named `name` listens (nil: nowhere known).
    ///
    /// - Throws: `LineError(.notFound)` for an unknown name; `.invalidArgument` for a malformed address.
    public mutating func setAddress(of name: String, to address: String?) throws(LineError) {
        guard let index = peers.firstIndex(where: { $0.name == name }) else {
            throw LineError(.notFound, "no peer named \(name)", hint: "see `outpost peer list`")
        }
        if let address { _ = try PeerAddress(parsing: address) }
        peers[index].address = address
    }

    /// Removes the peer named `name`; returns whether it was there.
    @discardableResult
    public mutating func remove(named name: String) -> Bool {
        let before = peers.count
        peers.removeAll { $0.name == name }
        return peers.count != before
    }

    public func peer(named name: String) -> TrustedPeer? { peers.first { $0.name == name } }
    public func peer(withKey key: [UInt8]) -> TrustedPeer? { peers.first { $0.publicKey == key } }
    public func trusts(_ key: [UInt8]) -> Bool { peer(withKey: key) != nil }
}
