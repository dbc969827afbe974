/// A value one field can hold, as stored in SQLite: null, a 64-bit integer, or text.
///
/// Values are totally ordered (null < integers < text) so that sibling resolution can break exact HLC ties
/// deterministically on every replica without knowing the writers' site ids.
public enum FieldValue: Hashable, Comparable, Sendable, CustomStringConvertible {
    case null
    case integer(Int64)
    case text(String)

    /// The integer, or nil for other kinds.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The text, or nil for other kinds.
    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// Whether this is `.null`.
    public var isNull: Bool { self == .null }

    private var rank: Int {
        switch self {
        case .null: 0
        case .integer: 1
        case .text: 2
        }
    }

    public static func < (lhs: FieldValue, rhs: FieldValue) -> Bool {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): a < b
        case (.text(let a), .text(let b)): a.utf8.lexicographicallyPrecedes(b.utf8)
        default: lhs.rank < rhs.rank
        }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .integer(let value): String(value)
        case .text(let value): value
        }
    }
}

extension FieldValue {
    /// Wraps an optional integer (nil → `.null`).
    public init(_ value: Int64?) { self = value.map(FieldValue.integer) ?? .null }
    /// Wraps an optional string (nil → `.null`).
    public init(_ value: String?) { self = value.map(FieldValue.text) ?? .null }
    /// Wraps a boolean as 0 or 1.
    public init(_ value: Bool) { self = .integer(value ? 1 : 0) }
}
