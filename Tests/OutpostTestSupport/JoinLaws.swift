/// Generic checks of the join laws, written once and applied to every field kind (as swift-collections'
/// shared test support does for its data structures).
public enum JoinLaws {
    /// The first law `join` breaks on `a`, `b`, `c`, or nil when commutativity, associativity and
    /// idempotence all hold.
    public static func violation<T: Equatable>(_ a: T, _ b: T, _ c: T, join: (T, T) -> T) -> String? {
        if join(a, b) != join(b, a) { return "not commutative" }
        if join(join(a, b), c) != join(a, join(b, c)) { return "not associative" }
        if join(a, a) != a { return "not idempotent" }
        if join(join(a, b), b) != join(a, b) { return "re-applying a merged state changes it" }
        return nil
    }
}

/// A small deterministic generator (SplitMix64) so simulations print a seed and replay exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
