import OutpostCore

/// A failure of the replica itself (as opposed to a refused command, which is an `OrderDomain.DomainError`).
public struct ReplicaError: OutpostError, Hashable {
    /// The family of a failure. Compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// The status a command-line tool exits with for failures of this family.
        public let exitStatus: ExitStatus
        public init(_ name: String, exitStatus: ExitStatus = .dataError) {
            self.name = name
            self.exitStatus = exitStatus
        }
        public var description: String { name }

        /// The file's content breaks an invariant Outpost relies on.
        public static let corrupt = Code("corrupt")
        /// The file is not an Outpost replica, or one of an unknown schema version.
        public static let incompatible = Code("incompatible", exitStatus: .noInput)
        /// A change stream does not fit the replica's state (wrong order, unknown stream).
        public static let protocolViolation = Code("protocol_violation")
        /// The replica is not in a state that allows the operation (e.g. bootstrapping).
        public static let unavailable = Code("unavailable", exitStatus: .temporaryFailure)
    }

    public var code: Code
    public var message: String
    public var hint: String?

    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    static func corrupt(_ message: String) -> ReplicaError { ReplicaError(.corrupt, message) }

    public var codeName: String { code.name }
    public var exitStatus: ExitStatus { code.exitStatus }
}
