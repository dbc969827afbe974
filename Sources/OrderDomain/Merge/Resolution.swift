/// How a field's visible value is chosen from its siblings. Every rule is deterministic and independent of
/// sibling order, so replicas holding the same siblings show the same value.
public enum Resolution: String, Hashable, Sendable, CaseIterable {
    /// The sibling with the highest hybrid time; exact time ties go to the greater value.
    case latest
    /// The smallest non-null value (e.g. `cancelled_at`: cancel ∥ cancel keeps the earliest time).
    case earliest
    /// The greatest value (e.g. a monotone timestamp such as `received_at`).
    case greatest
    /// Set union of comma-separated members (tags: concurrent additions all survive).
    case union

    /// The visible value of `siblings` under this rule; `.null` when there are none.
    public func resolve(_ siblings: some Collection<Sibling>) -> FieldValue {
        guard let first = siblings.first else { return .null }
        if siblings.count == 1 { return first.value }
        switch self {
        case .latest:
            return siblings.max { ($0.time, $0.value) < ($1.time, $1.value) }?.value ?? .null
        case .earliest:
            let values = siblings.map(\.value).filter { !$0.isNull }
            return values.min() ?? .null
        case .greatest:
            return siblings.map(\.value).max() ?? .null
        case .union:
            var members = Set<String>()
            for sibling in siblings {
                members.formUnion(TagSet.members(of: sibling.value))
            }
            return TagSet.value(of: members)
        }
    }
}

/// Tags are stored as one text field: members sorted and joined by commas.
public enum TagSet {
    /// The members of a stored tag field.
    public static func members(of value: FieldValue) -> Set<String> {
        guard let text = value.text, !text.isEmpty else { return [] }
        return Set(text.split(separator: ",").map(String.init))
    }

    /// The stored form of a set of tags (`.null` when empty).
    public static func value(of members: Set<String>) -> FieldValue {
        members.isEmpty ? .null : .text(members.sorted().joined(separator: ","))
    }
}
