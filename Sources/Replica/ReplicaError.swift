import OutpostCore

/// The replica's own failures (see ``ReplicaError``).
public enum ReplicaFailures: FailureDomain {}

/// A failure of the replica itself (as opposed to a refused command, which is an `OrderDomain.DomainError`).
public typealias ReplicaError = Failure<ReplicaFailures>

extension Failure<ReplicaFailures>.Code {
    /// The file's content breaks an invariant Outpost relies on.
    public static var corrupt: Self { Self("corrupt") }
    /// The file is not an Outpost replica, or one of an unknown schema version.
    public static var incompatible: Self { Self("incompatible", exitStatus: .dataError) }
    /// No replica file at the path given.
    public static var notFound: Self { Self("not_found", exitStatus: .noInput) }
    /// A peer claims more of this replica's own writes than it has made: a copied or restored replica file,
    /// or a poisoned vector (`ReplicationLog.checkOwnSiteClaim`).
    public static var siteConflict: Self { Self("site_conflict") }
    /// The file cannot be read or written (permissions, a full disk, an I/O error).
    public static var unreadable: Self { Self("unreadable", exitStatus: .ioError) }
    /// A new replica cannot be created: the path exists already, or the file cannot be written.
    public static var cannotCreate: Self { Self("cannot_create", exitStatus: .cannotCreate) }
    /// A change stream does not fit the replica's state (wrong order, unknown stream, uncovered dots).
    public static var protocolViolation: Self { Self("protocol_violation") }
    /// The replica is not in a state that allows the operation (e.g. bootstrapping).
    public static var unavailable: Self { Self("unavailable", exitStatus: .temporaryFailure) }
    /// A bug: the library broke its own rules (e.g. wrote a field its schema does not have).
    public static var internalError: Self { Self("internal_error", exitStatus: .software) }
}

extension Failure<ReplicaFailures> {
    static func corrupt(_ message: String) -> ReplicaError { ReplicaError(.corrupt, message) }
}
