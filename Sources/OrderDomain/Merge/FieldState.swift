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

/// A field's siblings, sorted by dot, one per dot: an array that keeps one sibling inline.
///
/// Almost every field has exactly one sibling, and a replica builds millions of field states while it streams;
/// an `Array` would allocate for each. This holds none, one or several (an array only then), always in that
/// canonical form, so two equal lists compare and hash equal whatever way they were made.
public struct Siblings: RandomAccessCollection, MutableCollection, Hashable, Sendable {
    /// The first sibling, when `hasHead`; a fixed placeholder otherwise (so that equal lists compare equal).
    /// Not an optional: testing an optional of this payload goes through the runtime's generic witnesses.
    @usableFromInline var head: Sibling
    @usableFromInline var hasHead: Bool
    /// The siblings after the first (an empty array allocates nothing).
    @usableFromInline var tail: [Sibling]

    @usableFromInline static let placeholder = Sibling(
        value: .null, dot: Dot(site: 0, counter: 0), time: HybridTime(rawValue: 0))

    /// The siblings of `array`, in its order.
    @inlinable init(_ array: [Sibling]) {
        if let first = array.first {
            head = first
            hasHead = true
            tail = array.count > 1 ? Array(array.dropFirst()) : []
        } else {
            head = Self.placeholder
            hasHead = false
            tail = []
        }
    }

    /// One sibling.
    @inlinable init(only sibling: Sibling) {
        head = sibling
        hasHead = true
        tail = []
    }

    // Inlinable, as Array's are: the merge and the codecs in other modules walk siblings in their hottest loops.
    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { hasHead ? 1 + tail.count : 0 }

    @inlinable public subscript(position: Int) -> Sibling {
        get {
            if position == 0 {
                precondition(hasHead, "sibling index out of range")
                return head
            }
            return tail[position - 1]
        }
        set {
            if position == 0 {
                precondition(hasHead, "sibling index out of range")
                head = newValue
            } else {
                tail[position - 1] = newValue
            }
        }
    }

    /// The siblings as an array.
    @inlinable public var array: [Sibling] { hasHead ? [head] + tail : [] }
}

/// The state of one scalar field: a multi-value register holding every concurrent write with its dot.
///
/// Normally one sibling; several when writes were concurrent. The visible value is `resolved(by:)`; the
/// losers are kept because a third replica may still need them to merge correctly (Replica.docc, "Siblings").
public struct FieldState: Hashable, Sendable, CustomStringConvertible {
    /// The siblings, sorted by dot, one per dot.
    public private(set) var siblings: Siblings

    /// Creates a state from siblings in any order; a repeated dot keeps its first occurrence.
    public init(siblings: [Sibling]) {
        // Almost every field has one sibling: no set, no sort.
        if siblings.count < 2 {
            self.siblings = Siblings(siblings)
            return
        }
        var seen = Set<Dot>()
        self.siblings = Siblings(siblings.filter { seen.insert($0.dot).inserted }.sorted { $0.dot < $1.dot })
    }

    /// A state of one sibling (nothing to sort or deduplicate, nothing allocated).
    public init(only sibling: Sibling) {
        siblings = Siblings(only: sibling)
    }

    /// The state after a local write: the new value replaces every sibling the writer sees.
    public static func written(_ value: FieldValue, dot: Dot, time: HybridTime) -> FieldState {
        FieldState(only: Sibling(value: value, dot: dot, time: time))
    }

    /// Renames every sibling's site with `rename` (a replica's ordinals to a batch's site indexes, or back), in
    /// place: a field of one sibling allocates nothing; several are sorted by dot again, and two that renaming
    /// gave the same dot (a batch naming one site twice) keep the first, as `init(siblings:)` does.
    public mutating func renameSites(_ rename: (UInt32) throws -> UInt32) rethrows {
        for index in siblings.indices { siblings[index].dot.site = try rename(siblings[index].dot.site) }
        if siblings.count > 1 { self = FieldState(siblings: siblings.array) }
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
