import Foundation

/// Where a peer listens: `HOST:PORT` (an IPv6 host in brackets, `[::1]:7400`).
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Parses `HOST:PORT`. Refuses a missing host, a port outside 1–65535 (`listening` allows 0: any free port)
    /// and anything that could break the trust store's one-line format (whitespace, `#`, control characters).
    public init(parsing text: String, listening: Bool = false) throws(LineError) {
        let lowest = listening ? 0 : 1
        guard
            !text.contains(where: {
                $0.isWhitespace || $0 == "#" || $0.asciiValue.map { $0 < 32 || $0 == 127 } ?? false
            }),
            let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (lowest...65535).contains(port)
        else {
            throw LineError(
                .invalidArgument,
                "'\(text.prefix(60))' is not HOST:PORT\(listening ? "" : " with a port from 1 to 65535")",
                hint: "e.g. 192.0.2.10:7400 or [::1]:7400")
        }
        host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension TrustStore {
    /// The trusted peer `reference` names: a peer's name, or the `HOST:PORT` a trusted peer listens at.
    ///
    /// - Throws: `LineError(.notFound)` naming what was looked for and how to add it.
    public func resolve(_ reference: String) throws(LineError) -> TrustedPeer {
        if let named = peer(named: reference) { return named }
        if reference.contains(":") {
            _ = try PeerAddress(parsing: reference)
            if let listening = peers.first(where: { $0.address == reference }) { return listening }
            throw LineError(
                .notFound, "no trusted peer listens at \(reference)",
                hint: "add it with `outpost peer add NAME KEY --address \(reference)`")
        }
        throw LineError(
            .notFound, "no peer named \(reference)", hint: "see `outpost peer list`, or `outpost join` an invite")
    }

    /// Where `peer` listens.
    ///
    /// - Throws: `LineError(.badKey)` when it was added without an address.
    public static func address(of peer: TrustedPeer) throws(LineError) -> PeerAddress {
        guard let address = peer.address else {
            throw LineError(
                .invalidArgument, "peer \(peer.name) has no address",
                hint: "remove and re-add it with --address HOST:PORT")
        }
        return try PeerAddress(parsing: address)
    }
}

/// A device's human name (`popup-1`): 1–64 characters, no whitespace, `#` or control characters, so that it
/// reads well in lists and fits the trust store's one-line format.
public enum DeviceName {
    public static func check(_ name: String) throws(LineError) {
        guard !name.isEmpty, name.count <= 64, !name.contains(where: { $0.isWhitespace || $0 == "#" }),
            !name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        else {
            throw LineError(
                .invalidArgument, "'\(name.prefix(60))' is not a device name",
                hint: "use letters, digits and dashes, e.g. popup-1")
        }
    }
}
