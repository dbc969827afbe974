import Foundation
import OrderDomain
import Replica

/// A record of a source file that could not be imported: where it is, which order it belongs to, and why.
public struct ImportProblem: Hashable, Sendable, CustomStringConvertible {
    /// The record's number in the file: the CSV row (1 is the first row after the header) or the JSON line.
    public var record: Int
    /// The order it belongs to, as the source names it (empty when unreadable).
    public var order: String
    /// What is wrong, and what to do.
    public var reason: String

    /// Creates a problem report.
    public init(record: Int, order: String, reason: String) {
        self.record = record
        self.order = order
        self.reason = reason
    }

    public var description: String {
        "record \(record)" + (order.isEmpty ? "" : " (order \(order))") + ": \(reason)"
    }
}

/// Orders read from a source file, ready for `OrderCommands.importOrders`, and the records that were not.
public struct SourceOrders: Sendable {
    /// The orders, in file order, each with the record number it starts at and its name in the source.
    public var orders: [(record: Int, name: String, order: ImportedOrder)] = []
    /// Records that could not be read into an order.
    public var problems: [ImportProblem] = []

    /// An empty result.
    public init() {}
}
