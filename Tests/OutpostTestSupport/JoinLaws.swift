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
