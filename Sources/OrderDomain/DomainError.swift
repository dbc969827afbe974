import OutpostCore

/// The order rules' failures (see ``DomainError``).
public enum DomainFailures: FailureDomain {}

/// Why a command or a value was refused: what was wrong, why, and what to do instead.
public typealias DomainError = Failure<DomainFailures>

extension Failure<DomainFailures>.Code {
    /// The input is malformed (a bad amount, SKU, quantity or code).
    public static var invalidInput: Self { Self("invalid_input") }
    /// The command is not legal in the order's current state.
    public static var illegalTransition: Self { Self("illegal_transition") }
    /// Selling or reserving would make available stock negative.
    public static var insufficientStock: Self { Self("insufficient_stock") }
    /// Amounts in different currencies were combined.
    public static var currencyMismatch: Self { Self("currency_mismatch") }
    /// The order, customer, line or record named does not exist.
    public static var notFound: Self { Self("not_found", exitStatus: .noInput) }
    /// The command belongs to another device (a count on a device that is not the stock authority).
    public static var wrongDevice: Self { Self("wrong_device") }
}
