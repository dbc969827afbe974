import OutpostCore

/// Why a sync session failed. A struct with an extensible `Code`.
public struct SyncError: OutpostError, Hashable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// The status a command-line tool exits with for failures of this family.
        public let exitStatus: ExitStatus
        public init(_ name: String, exitStatus: ExitStatus = .dataError) {
            self.name = name
            self.exitStatus = exitStatus
        }
        public var description: String { name }

        /// The peers' replicated schemas differ.
        public static let schemaMismatch = Code("schema_mismatch", exitStatus: .noPermission)
        /// The peer broke the session protocol.
        public static let protocolViolation = Code("protocol_violation")
        /// The peer reported an error.
        public static let peerError = Code("peer_error")
        /// The peer's site is this replica's own site (a copied replica file).
        public static let sameSite = Code("same_site")
        /// One side is still loading its first record stream from another peer and serves no stream until that
        /// stream completes (protocol/SPEC.md, "Every dot is covered"). Retry after it has finished.
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

    public var codeName: String { code.name }
    public var exitStatus: ExitStatus { code.exitStatus }

    public var description: String { "\(code): \(message)" }
}
