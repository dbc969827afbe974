import Foundation
import OrderDomain
import Replica

/// What an import did (or, for a dry run, would do).
public struct ImportReport: Sendable {
    /// Orders written (a dry run: orders that would be).
    public var imported = 0
    /// Orders already in the replica (imported before), left as they were.
    public var alreadyPresent = 0
    /// Customers created because their e-mail address was new (not counted in a dry run).
    public var customersCreated = 0
    /// Records of the file that were not imported, with why.
    public var problems: [ImportProblem] = []
    /// Orders imported without their history, because it broke a rule (why): tagged `import-review` and listed
    /// by `outpost attention` until someone has looked.
    public var needsReview: [ImportProblem] = []
    /// Whether nothing was written.
    public var dryRun = false

    /// An empty report.
    public init() {}
}

/// Imports orders read from a source file: in chunks of one transaction each; an order the replica refuses
/// (its history cannot be replayed) is reported with its record number and the rest goes on.
public enum OrderImport {
    /// Orders per transaction.
    public static let chunkSize = 250

    /// `item` with its lines and customer only, tagged `import-review`, its notes recording the source's
    /// history and why it was not replayed.
    static func withoutHistory(_ item: ImportedOrder, reason: String) -> ImportedOrder {
        var item = item
        let order = item.order
        var recorded: [String] = []
        let money = { (minor: Int64) in
            "\(Money.decimalString(minor, digits: order.currency.minorDigits)) \(order.currency)"
        }
        for payment in order.payments { recorded.append("\(payment.kind.rawValue) \(money(payment.amountMinor))") }
        if !order.fulfilments.isEmpty { recorded.append("shipped \(order.fulfilments.count) parcel(s)") }
        for refund in order.refunds { recorded.append("refund \(money(refund.amountMinor))") }
        if order.cancelledAt != nil { recorded.append("cancelled") }
        let note =
            "Imported without its history, which broke a rule (\(reason)). The source recorded: "
            + (recorded.isEmpty ? "nothing more" : recorded.joined(separator: "; ")) + "."
        item.order.notes = [order.notes, note].compactMap { $0 }.joined(separator: "\n")
        item.order.tags.insert(Order.importReviewTag)
        item.order.payments = []
        item.order.fulfilments = []
        item.order.trackingEvents = []
        item.order.returns = []
        item.order.refunds = []
        item.order.cancelledAt = nil
        item.order.cancelReason = nil
        return item
    }

    /// Imports `source` into `replica`.
    ///
    /// - Parameters:
    ///   - dryRun: check everything, write nothing.
    ///   - strict: write nothing unless every record can be imported.
    ///   - progress: called after each chunk with the orders done so far and the total.
    public static func run(
        _ source: SourceOrders, into replica: Replica, dryRun: Bool = false, strict: Bool = false,
        progress: ((Int, Int) -> Void)? = nil
    ) async throws -> ImportReport {
        var report = ImportReport()
        report.dryRun = dryRun
        report.problems = source.problems
        // Every order is checked first: the refused ones are reported by record, the rest go on.
        var valid: [(record: Int, name: String, order: ImportedOrder)] = []
        for entry in source.orders {
            do {
                _ = try OrderCommands.checkImport(entry.order)
                valid.append(entry)
            } catch let error as DomainError {
                // A history the rules refuse is not dropped: the order comes in with its lines only, tagged for
                // review, its notes saying what the source recorded and why it could not be replayed.
                let bare = Self.withoutHistory(entry.order, reason: error.message)
                if (try? OrderCommands.checkImport(bare)) != nil {
                    valid.append((entry.record, entry.name, bare))
                    report.needsReview.append(
                        ImportProblem(record: entry.record, order: entry.name, reason: error.message))
                } else {
                    report.problems.append(
                        ImportProblem(record: entry.record, order: entry.name, reason: error.message))
                }
            }
        }
        report.problems.sort { $0.record < $1.record }
        if strict && !(report.problems.isEmpty && report.needsReview.isEmpty) {
            report.problems = (report.problems + report.needsReview).sorted { $0.record < $1.record }
            report.needsReview = []
            report.dryRun = true
            return report
        }
        if dryRun {
            let present = try await replica.queries.existingOrders(ids: valid.map(\.order.order.id))
            report.alreadyPresent = present.count
            report.imported = valid.count - present.count
            return report
        }
        var done = 0
        for start in stride(from: 0, to: valid.count, by: chunkSize) {
            let chunk = Array(valid[start..<min(valid.count, start + chunkSize)])
            do {
                let summary = try await replica.commands.importOrders(chunk.map(\.order))
                report.imported += summary.imported
                report.alreadyPresent += summary.skipped
                report.customersCreated += summary.customersCreated
            } catch let error as DomainError {
                // Checked above, so rare (two orders of the file sharing a record id): one by one, to name it.
                _ = error
                for entry in chunk {
                    do {
                        let summary = try await replica.commands.importOrders([entry.order])
                        report.imported += summary.imported
                        report.alreadyPresent += summary.skipped
                        report.customersCreated += summary.customersCreated
                    } catch let error as DomainError {
                        report.problems.append(
                            ImportProblem(record: entry.record, order: entry.name, reason: error.message))
                    }
                }
            }
            done += chunk.count
            progress?(done, valid.count)
        }
        report.problems.sort { $0.record < $1.record }
        return report
    }
}
