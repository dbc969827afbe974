import ArgumentParser
import Foundation
import Intake
import OrderDomain
import Replica

/// Orders, lines or customers out for a spreadsheet.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export orders, lines or customers as CSV or JSON lines.",
        discussion: """
            KIND is orders, lines or customers (those with an order in the period). Amounts come in decimal and in \
            minor units with their currency; times are RFC 3339 UTC. --since/--until select by the order's \
            creation time (until is exclusive). With --out the file is written whole or not at all.

            Examples:
              outpost export orders --since 2026-11-01 --until 2026-12-01 --out november.csv
              outpost export lines --format jsonl
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "orders, lines or customers.") var kind: String
    @Option(help: "Orders created at or after (RFC 3339 UTC or YYYY-MM-DD).") var since: String?
    @Option(help: "Orders created before (RFC 3339 UTC or YYYY-MM-DD).") var until: String?
    @Option(help: "csv (default) or jsonl.") var format = "csv"
    @Option(help: "Write to this file instead of standard output.") var out: String?

    func run() async throws {
        try await guarded {
            let kind = try choice(OrderExport.Kind.self, self.kind, "an export")
            let format = try choice(OrderExport.Format.self, self.format, "an export format")
            var filter = OrderFilter()
            filter.since = try since.map(parseTime)
            filter.until = try until.map(parseTime)
            let orders = try await global.replica().queries.completeOrders(matching: filter).reversed()
            let (header, rows) = OrderExport.table(kind, Array(orders))
            guard let out else {
                let buffer = OutputStream(toMemory: ())
                try OrderExport.write(header: header, rows: rows, format: format, to: buffer)
                if let data = buffer.property(forKey: .dataWrittenToMemoryStreamKey) as? Data {
                    FileHandle.standardOutput.write(data)
                }
                return
            }
            let temporary = out + ".writing-\(getpid())"
            guard let stream = OutputStream(toFileAtPath: temporary, append: false) else {
                throw CLIError(73, "cannot create \(temporary)", hint: "check the directory's permissions")
            }
            do {
                try OrderExport.write(header: header, rows: rows, format: format, to: stream)
                guard rename(temporary, out) == 0 else {
                    throw CLIError(
                        74, "cannot write \(out): \(String(cString: strerror(errno)))",
                        hint: "check the directory's permissions and free space")
                }
            } catch {
                unlink(temporary)
                throw error
            }
            FileHandle.standardError.write(Data("wrote \(rows.count) \(kind.rawValue) to \(out)\n".utf8))
        }
    }
}
