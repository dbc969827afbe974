import OutpostCore

/// The sync layer's failures (see ``SyncError``).
public enum SyncFailures: FailureDomain {}

/// Why a sync session failed.
public typealias SyncError = Failure<SyncFailures>

extension Failure<SyncFailures>.Code {
    /// The peers' replicated schemas differ.
    public static var schemaMismatch: Self { Self("schema_mismatch", exitStatus: .noPermission) }
    /// The peer broke the session protocol.
    public static var protocolViolation: Self { Self("protocol_violation") }
    /// The peer reported an error.
    public static var peerError: Self { Self("peer_error") }
    /// The peer's site is this replica's own site (a copied replica file).
    public static var sameSite: Self { Self("same_site") }
    /// One side is still loading its first record stream from another peer and serves no stream until that
    /// stream completes (protocol/SPEC.md, "Every dot is covered"). Retry after it has finished.
    public static var unavailable: Self { Self("unavailable", exitStatus: .temporaryFailure) }
}
