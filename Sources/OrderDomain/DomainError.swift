import OutpostCore

/// Why a command or a value was refused: what was wrong, why, and what to do instead.
///
/// A struct with an extensible `Code` (as GRDB's `DatabaseError` does), so new codes never break a caller's
/// `switch`.
public struct DomainError: OutpostError, Hashable {
    /// The family of a refusal. Compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A stable machine-readable name.
        public let name: String
        /// The status a command-line tool exits with for refusals of this family.
        public let exitStatus: ExitStatus
        public init(_ name: String, exitStatus: ExitStatus = .dataError) {
            self.name = name
            self.exitStatus = exitStatus
        }
        public var description: String { name }

        /// The input is malformed (a bad amount, SKU, quantity or code).
        public static let invalidInput = Code("invalid_input")
        /// The command is not legal in the order's current state.
        public static let illegalTransition = Code("illegal_transition")
        /// Selling or reserving would make available stock negative.
        public static let insufficientStock = Code("insufficient_stock")
        /// Amounts in different currencies were combined.
        public static let currencyMismatch = Code("currency_mismatch")
        /// The order, customer, line or record named does not exist.
        public static let notFound = Code("not_found", exitStatus: .noInput)
    }

    /// The family of the refusal.
    public var code: Code
    /// What was wrong and why, in one sentence.
    public var message: String
    /// What to do instead, when there is something to say.
    public var hint: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var codeName: String { code.name }
    public var exitStatus: ExitStatus { code.exitStatus }
}
