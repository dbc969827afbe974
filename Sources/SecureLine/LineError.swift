import OutpostCore

/// The secure line's failures (see ``LineError``).
public enum LineFailures: FailureDomain {}

/// Why a secure line failed or was refused.
public typealias LineError = Failure<LineFailures>

extension Failure<LineFailures>.Code {
    /// A message did not authenticate: wrong keys, wrong network, tampering, replay or reordering.
    public static var authenticationFailed: Self { Self("authentication_failed") }
    /// The peer's static key is not in the trust store.
    public static var untrustedPeer: Self { Self("untrusted_peer", exitStatus: .noPermission) }
    /// Bytes that break the framing or record grammar (bad length, bad verb, oversize).
    public static var protocolViolation: Self { Self("protocol_violation") }
    /// The connection ended without a goodbye record.
    public static var truncated: Self { Self("truncated", exitStatus: .temporaryFailure) }
    /// A deadline passed (handshake or idle).
    public static var timedOut: Self { Self("timed_out", exitStatus: .temporaryFailure) }
    /// The peer closed during the handshake: it does not trust us, is on another network, or is not the
    /// listener whose key we pinned.
    public static var rejected: Self { Self("rejected", exitStatus: .noPermission) }
    /// A key, key file or trust store is malformed or unreadable.
    public static var badKey: Self { Self("bad_key") }
    /// The peer sent an error record.
    public static var peerError: Self { Self("peer_error") }
    /// The address to listen on cannot be bound (the port is in use, the address is not this host's).
    public static var cannotListen: Self { Self("cannot_listen", exitStatus: .unavailable) }
    /// The address could not be reached.
    public static var unreachable: Self { Self("unreachable", exitStatus: .unavailable) }
    /// A name or address given by a person or a script is malformed.
    public static var invalidArgument: Self { Self("invalid_argument", exitStatus: .usage) }
    /// The peer named is not in the trust store.
    public static var notFound: Self { Self("not_found", exitStatus: .noInput) }
}
