/// A failure of the replica itself (as opposed to a refused command, which is an `OrderDomain.DomainError`).
public struct ReplicaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The family of a failure. Compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The file's content breaks an invariant Outpost relies on.
        public static let corrupt = Code("corrupt")
        /// The file is not an Outpost replica, or one of an unknown schema version.
        public static let incompatible = Code("incompatible")
        /// A change stream does not fit the replica's state (wrong order, unknown stream).
        public static let protocolViolation = Code("protocol_violation")
        /// The replica is not in a state that allows the operation (e.g. bootstrapping).
        public static let unavailable = Code("unavailable")
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

    public var description: String { hint.map { "\(message) (hint: \($0))" } ?? message }
}
