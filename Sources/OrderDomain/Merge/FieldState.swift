/// One value of a field together with the write that produced it.
public struct Sibling: Hashable, Sendable, CustomStringConvertible {
    /// The value written.
    public var value: FieldValue
    /// The writing transaction.
    public var dot: Dot
    /// The writer's hybrid clock reading, for tie-breaks and for people.
    public var time: HybridTime

    /// Creates a sibling.
    public init(value: FieldValue, dot: Dot, time: HybridTime) {
        self.value = value
        self.dot = dot
        self.time = time
    }

    public var description: String { "\(value)@\(dot)" }
}

/// The state of one scalar field: a multi-value register holding every concurrent write with its dot.
///
/// Normally one sibling; several when writes were concurrent. The visible value is `resolved(by:)`; the
/// losers are kept because a third replica may still need them to merge correctly (Replica.docc, "Siblings").
public struct FieldState: Hashable, Sendable, CustomStringConvertible {
    /// The siblings, sorted by dot, one per dot.
    public private(set) var siblings: [Sibling]

    /// Creates a state from siblings in any order; a repeated dot keeps its first occurrence.
    public init(siblings: [Sibling]) {
        // Almost every field has one sibling: no set, no sort.
        if siblings.count < 2 {
            self.siblings = siblings
            return
        }
        var seen = Set<Dot>()
        self.siblings = siblings.filter { seen.insert($0.dot).inserted }.sorted { $0.dot < $1.dot }
    }

    /// The state after a local write: the new value replaces every sibling the writer sees.
    public static func written(_ value: FieldValue, dot: Dot, time: HybridTime) -> FieldState {
        FieldState(siblings: [Sibling(value: value, dot: dot, time: time)])
    }

    /// Renames every sibling's site with `rename` (a replica's ordinals to a batch's site indexes, or back), in
    /// place: a field of one sibling allocates nothing; several are sorted by dot again, and two that renaming
    /// gave the same dot (a batch naming one site twice) keep the first, as `init(siblings:)` does.
    public mutating func renameSites(_ rename: (UInt32) throws -> UInt32) rethrows {
        for index in siblings.indices { siblings[index].dot.site = try rename(siblings[index].dot.site) }
        if siblings.count > 1 { self = FieldState(siblings: siblings) }
    }

    /// The empty state (a field nobody has written).
    public static let empty = FieldState(siblings: [])

    /// Whether concurrent writes are unresolved here (more than one sibling).
    public var isConflict: Bool { siblings.count > 1 }

    /// Merges `theirs` (from a replica whose version vector is `theirVector`) into this state (held by a
    /// replica whose version vector is `ourVector`).
    ///
    /// Keeps the siblings present on both sides; keeps ours unless they had seen it (then they dropped it on
    /// purpose); keeps theirs unless we had seen it. This is a join: commutative, associative, idempotent.
    public func merged(with theirs: FieldState, ourVector: VersionVector, theirVector: VersionVector) -> FieldState {
        if self == theirs { return self }
        var result: [Sibling] = []
        result.reserveCapacity(siblings.count + theirs.siblings.count)
        // Sibling lists are short (one, rarely a few): linear scans beat building sets.
        for sibling in siblings
        where theirs.siblings.contains(where: { $0.dot == sibling.dot }) || !theirVector.covers(sibling.dot) {
            result.append(sibling)
        }
        for sibling in theirs.siblings
        where !siblings.contains(where: { $0.dot == sibling.dot }) && !ourVector.covers(sibling.dot) {
            result.append(sibling)
        }
        return FieldState(siblings: result)
    }

    /// The visible value under `rule`; `.null` for an empty state.
    public func resolved(by rule: Resolution) -> FieldValue {
        rule.resolve(siblings)
    }

    /// The sibling whose value `resolved(by:)` shows, when one sibling carries it exactly.
    public func winner(by rule: Resolution) -> Sibling? {
        let value = resolved(by: rule)
        return siblings.filter { $0.value == value }.max { ($0.time, $0.dot) < ($1.time, $1.dot) }
    }

    public var description: String { "{" + siblings.map(\.description).joined(separator: ", ") + "}" }
}
