/// A failure any Outpost module reports: a stable code, one sentence saying what was wrong and why, a hint
/// saying what to do, and the sysexits(3) status a command-line tool exits with.
///
/// Each module has its own error type (`DomainError`, `ReplicaError`, `LineError`, `SyncError`), each with an
/// extensible `Code` whose static members carry their exit status; a caller that only reports failures catches
/// `any OutpostError` once:
///
/// ```swift
/// do { try await replica.commands.pay(order: "K3QZ-1", amount: "10.00") }
/// catch let error as any OutpostError { print("error: \(error.message)"); exit(error.exitStatus.rawValue) }
/// ```
public protocol OutpostError: Error, Sendable, CustomStringConvertible {
    /// A stable machine-readable name of the failure's family, such as `not_found` or `unreachable`.
    var codeName: String { get }
    /// What was wrong and why, in one sentence.
    var message: String { get }
    /// What to do instead, when there is something to say.
    var hint: String? { get }
    /// The status a command-line tool exits with.
    var exitStatus: ExitStatus { get }
}

extension OutpostError {
    public var description: String { hint.map { "\(message) (hint: \($0))" } ?? message }
}

/// The sysexits(3) statuses Outpost's tools use.
public struct ExitStatus: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public var description: String { "\(rawValue)" }

    /// EX_USAGE: the command was used wrongly (an unknown option, a missing argument).
    public static let usage = ExitStatus(64)
    /// EX_DATAERR: the input was invalid, or the command was refused by the rules.
    public static let dataError = ExitStatus(65)
    /// EX_NOINPUT: the file, order or record named does not exist.
    public static let noInput = ExitStatus(66)
    /// EX_UNAVAILABLE: the peer could not be reached.
    public static let unavailable = ExitStatus(69)
    /// EX_SOFTWARE: an internal error (a bug).
    public static let software = ExitStatus(70)
    /// EX_CANTCREAT: an output file cannot be created (it exists already, or the directory refuses).
    public static let cannotCreate = ExitStatus(73)
    /// EX_IOERR: reading or writing a file failed (disk full, read-only file or directory, I/O error).
    public static let ioError = ExitStatus(74)
    /// EX_TEMPFAIL: interrupted or not possible right now; retrying may succeed.
    public static let temporaryFailure = ExitStatus(75)
    /// EX_NOPERM: refused by the peer (not trusted, another network, another schema).
    public static let noPermission = ExitStatus(77)
    /// EX_CONFIG: something is not set up (a setting missing or naming another device).
    public static let configuration = ExitStatus(78)
}

/// The module a failure belongs to: a caseless enum per module (`DomainFailures`, `ReplicaFailures`, …) that
/// gives each module's ``Failure`` a type of its own, so `catch let error as ReplicaError` catches only the
/// replica's failures.
public protocol FailureDomain: Sendable {}

/// The one error type of Outpost: a code (with its exit status), a message, a hint. Each module names its
/// instance (`DomainError`, `ReplicaError`, `LineError`, `SyncError`) and adds its codes as static members of
/// `Code`, so new codes never break a caller's `switch` and `catch ReplicaError` reads well (as GRDB's
/// `DatabaseError` and its `ResultCode` do).
public struct Failure<Domain: FailureDomain>: OutpostError, Hashable {
    /// The family of a failure. Compare with the static members each module defines.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A stable machine-readable name.
        public let name: String
        /// The status a command-line tool exits with for failures of this family.
        public let exitStatus: ExitStatus

        public init(_ name: String, exitStatus: ExitStatus = .dataError) {
            self.name = name
            self.exitStatus = exitStatus
        }

        public var description: String { name }
    }

    /// The family of the failure.
    public var code: Code
    /// What was wrong and why, in one sentence.
    public var message: String
    /// What to do instead, when there is something to say.
    public var hint: String?

    /// Creates a failure.
    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var codeName: String { code.name }
    public var exitStatus: ExitStatus { code.exitStatus }
    public var description: String { hint.map { "\(code): \(message) (hint: \($0))" } ?? "\(code): \(message)" }
}
