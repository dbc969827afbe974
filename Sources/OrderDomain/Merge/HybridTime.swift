/// A hybrid logical clock reading: 48 bits of Unix milliseconds (UTC) and a 16-bit logical counter.
///
/// Readings order events consistently with causality even when wall clocks drift: a site never issues a
/// reading below one it has seen. Outpost uses them for tie-breaks between concurrent siblings and to show
/// people when something happened; never as the authority on what happened first (that is the dots' job).
public struct HybridTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The packed value: `milliseconds << 16 | logical`.
    public var rawValue: UInt64

    /// Creates a reading from its packed value.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Creates a reading from Unix milliseconds and a logical counter.
    public init(milliseconds: Int64, logical: UInt16 = 0) {
        self.rawValue = UInt64(max(0, milliseconds)) << 16 | UInt64(logical)
    }

    /// Unix milliseconds (UTC).
    public var milliseconds: Int64 { Int64(rawValue >> 16) }
    /// The logical counter that orders readings within one millisecond.
    public var logical: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static func < (lhs: HybridTime, rhs: HybridTime) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(milliseconds).\(logical)" }
}

/// The clock state of one site: issues monotonic `HybridTime` readings from wall-clock samples it is given.
///
/// `OrderDomain` reads no clocks; the caller passes the wall time in, which keeps this testable.
public struct HybridClock: Sendable {
    /// The last reading issued or observed.
    public private(set) var last: HybridTime

    /// Creates a clock that has seen `last`.
    public init(last: HybridTime = HybridTime(rawValue: 0)) { self.last = last }

    /// The next reading for a local event at wall time `nowMilliseconds`.
    public mutating func tick(nowMilliseconds: Int64) -> HybridTime {
        if nowMilliseconds > last.milliseconds {
            last = HybridTime(milliseconds: nowMilliseconds)
        } else {
            last = HybridTime(rawValue: last.rawValue &+ 1)
        }
        return last
    }

    /// Folds in a reading received from another site so that later local readings sort after it.
    public mutating func observe(_ remote: HybridTime) {
        if remote > last { last = remote }
    }
}
