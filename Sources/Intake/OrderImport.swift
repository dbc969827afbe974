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
                report.problems.append(ImportProblem(record: entry.record, order: entry.name, reason: error.message))
            }
        }
        report.problems.sort { $0.record < $1.record }
        if strict && !report.problems.isEmpty {
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
