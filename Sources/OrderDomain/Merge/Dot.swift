/// A site's transaction identity: the `counter`-th transaction of the site with local ordinal `site`.
///
/// Every field written by one transaction records the transaction's dot. Site ordinals are small integers a
/// replica assigns to 128-bit site ids; they are only meaningful inside one replica (or one change batch,
/// which carries its own site table), so a dot never leaves its context without its site table.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The site's ordinal in the enclosing context (replica or change batch).
    public var site: UInt32
    /// The site's transaction counter, starting at 1.
    public var counter: UInt64

    /// Creates a dot.
    public init(site: UInt32, counter: UInt64) {
        self.site = site
        self.counter = counter
    }

    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        (lhs.site, lhs.counter) < (rhs.site, rhs.counter)
    }

    public var description: String { "(\(site):\(counter))" }
}

/// A version vector: for each site, the highest counter whose effects the holder has seen.
///
/// Together with a field's dots it forms a dotted version vector: `covers(_:)` answers "had the holder seen
/// that write?" exactly, which is what the merge rule needs (Replica.docc, "Merging a key").
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    /// Highest counter per site ordinal. Absent sites are at 0.
    public private(set) var counters: [UInt32: UInt64]

    /// Creates a vector from explicit counters; zero entries are dropped.
    public init(_ counters: [UInt32: UInt64] = [:]) {
        self.counters = counters.filter { $0.value > 0 }
    }

    /// The counter recorded for `site` (0 when unknown).
    public subscript(site: UInt32) -> UInt64 {
        counters[site] ?? 0
    }

    /// Whether the holder had seen the write identified by `dot`.
    public func covers(_ dot: Dot) -> Bool {
        self[dot.site] >= dot.counter
    }

    /// Whether every entry of `other` is covered by this vector.
    public func dominates(_ other: VersionVector) -> Bool {
        other.counters.allSatisfy { self[$0.key] >= $0.value }
    }

    /// Records that `dot` has been seen. Counters only grow.
    public mutating func add(_ dot: Dot) {
        if dot.counter > self[dot.site] { counters[dot.site] = dot.counter }
    }

    /// The entry-wise maximum (the lattice join).
    public func joined(with other: VersionVector) -> VersionVector {
        var result = self
        result.formJoin(with: other)
        return result
    }

    /// Replaces this vector with its join with `other`.
    public mutating func formJoin(with other: VersionVector) {
        for (site, counter) in other.counters where counter > self[site] {
            counters[site] = counter
        }
    }

    /// The vector with every site renamed through `map` (for example batch-local index → replica ordinal).
    public func mapSites(_ map: (UInt32) throws -> UInt32) rethrows -> VersionVector {
        var result: [UInt32: UInt64] = [:]
        for (site, counter) in counters {
            let target = try map(site)
            result[target] = max(result[target] ?? 0, counter)
        }
        return VersionVector(result)
    }

    public var description: String {
        "[" + counters.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ") + "]"
    }
}
