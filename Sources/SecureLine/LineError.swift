import OutpostCore

/// Why a secure line failed or was refused. A struct with an extensible `Code`.
public struct LineError: OutpostError, Hashable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// The status a command-line tool exits with for failures of this family.
        public let exitStatus: ExitStatus
        public init(_ name: String, exitStatus: ExitStatus = .dataError) {
            self.name = name
            self.exitStatus = exitStatus
        }
        public var description: String { name }

        /// A message did not authenticate: wrong keys, wrong network, tampering, replay or reordering.
        public static let authenticationFailed = Code("authentication_failed")
        /// The peer's static key is not in the trust store.
        public static let untrustedPeer = Code("untrusted_peer", exitStatus: .noPermission)
        /// Bytes that break the framing or record grammar (bad length, bad verb, oversize).
        public static let protocolViolation = Code("protocol_violation")
        /// The connection ended without a goodbye record.
        public static let truncated = Code("truncated", exitStatus: .temporaryFailure)
        /// A deadline passed (handshake or idle).
        public static let timedOut = Code("timed_out", exitStatus: .temporaryFailure)
        /// The peer closed during the handshake: it does not trust us, is on another network, or is not the
        /// listener whose key we pinned.
        public static let rejected = Code("rejected", exitStatus: .noPermission)
        /// A key, key file or trust store is malformed or unreadable.
        public static let badKey = Code("bad_key")
        /// The peer sent an error record.
        public static let peerError = Code("peer_error")
        /// The address could not be reached.
        public static let unreachable = Code("unreachable", exitStatus: .unavailable)
    }

    public var code: Code
    public var message: String
    public var hint: String?

    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var codeName: String { code.name }
    public var exitStatus: ExitStatus { code.exitStatus }
    public var description: String { "\(code): \(message)" }
}
