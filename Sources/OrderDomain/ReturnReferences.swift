/// Where a return stands in its life.
public enum ReturnState: String, Hashable, Sendable, CaseIterable {
    /// Asked for; the goods are not back yet.
    case requested
    /// The goods are back.
    case received
    /// The customer kept the goods.
    case cancelled
    /// Done with: received or cancelled, then closed.
    case closed
}

extension Return {
    /// Where this return stands.
    public var state: ReturnState {
        if closedAt != nil { return .closed }
        if receivedAt != nil { return .received }
        if cancelledAt != nil { return .cancelled }
        return .requested
    }

    /// A short name for people: `R` and the last four hex digits of the id (its random part, so devices
    /// that create returns offline never make the same one).
    public var shortName: String { "R" + String(id.filter(\.isHexDigit).suffix(4)) }

    /// The reference people use, e.g. `K3QZ-12/R7f3a`.
    public func reference(orderNumber: String) -> String { "\(orderNumber)/\(shortName)" }
}

/// A return named by a person: `ORDER/R7f3a`, or an order and the return's full id.
public struct ReturnReference: Hashable, Sendable {
    /// The order's id or number.
    public var order: String
    /// The return's short name (`R7f3a`) or full id.
    public var returnName: String

    /// Parses `ORDER/NAME`.
    public init(parsing text: String) throws(DomainError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw DomainError(
                .invalidInput, "'\(text.escapingControlCharacters)' is not a return reference",
                hint: "write ORDER/R1a2b as `order return` printed it (see `outpost return list`)")
        }
        order = String(parts[0])
        returnName = String(parts[1])
    }
}

extension Order {
    /// The return named `name`: its full id, or its short name (`R7f3a`, case-insensitive).
    public func returnNamed(_ name: String) throws(DomainError) -> Return {
        if let exact = returns.first(where: { $0.id == name }) { return exact }
        let matches = returns.filter { $0.shortName.lowercased() == name.lowercased() }
        guard let found = matches.first else {
            throw DomainError(
                .notFound, "order \(number) has no return \(name.escapingControlCharacters)",
                hint: "see `outpost return list` or `outpost order show \(number)`")
        }
        guard matches.count == 1 else {
            throw DomainError(
                .invalidInput, "order \(number) has \(matches.count) returns named \(name)",
                hint: "use the return's full id from `outpost order show \(number) --json`")
        }
        return found
    }
}
