import ArgumentParser
import Foundation
import Intake
import OrderDomain
import Replica

/// Orders in from other shop systems.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import orders from Shopify or WooCommerce.",
        discussion: """
            Each order keeps its source id: importing the same file again imports nothing new and says so. Every \
            order is checked first (its payments, shipments, refunds and cancellation replayed through the same \
            rules as commands). An order whose recorded history breaks a rule (more refunded than paid, say) comes in \
            with its lines only, tagged import-review, its notes saying what the source recorded and why, and shows \
            in `outpost attention` until someone edits its tags. A record that cannot be read is listed with its \
            number and why, and the rest goes on (--strict imports nothing unless every record can be imported as \
            it is). Exit 65 when any record was refused.

            Examples:
              outpost import shopify orders_export.csv --dry-run
              outpost import woocommerce orders.jsonl --json
            """,
        subcommands: [Shopify.self, WooCommerce.self])

    struct Options: ParsableArguments {
        @Flag(help: "Check everything and say what would be imported; write nothing.") var dryRun = false
        @Flag(help: "Import nothing unless every record can be imported.") var strict = false
    }

    struct Shopify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import Shopify's order export (CSV, one row per line item).",
            discussion: "Example: outpost import shopify orders_export_1.csv")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: Options
        @Argument(help: "The CSV file Shopify exported.") var file: String

        func run() async throws {
            try await guarded {
                try await ImportCommand.run(global, options, file) { try ShopifyOrders.read(path: $0) }
            }
        }
    }

    struct WooCommerce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "woocommerce",
            abstract: "Import WooCommerce orders (REST API v3 objects, one JSON object per line).",
            discussion: "Example: outpost import woocommerce orders.jsonl")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: Options
        @Argument(help: "The JSON-lines file.") var file: String

        func run() async throws {
            try await guarded {
                try await ImportCommand.run(global, options, file) { try WooCommerceOrders.read(path: $0) }
            }
        }
    }

    static func run(
        _ global: GlobalOptions, _ options: Options, _ file: String, read: (String) throws -> SourceOrders
    ) async throws {
        let replica = try global.replica()
        let source: SourceOrders
        do {
            source = try read(file)
        } catch let error as SourceFileError {
            fail(CLIError(error.unreadable ? 66 : 65, error.message, hint: error.hint))
        }
        let showProgress = !global.json && isatty(STDERR_FILENO) != 0 && source.orders.count >= 1_000
        let report = try await OrderImport.run(
            source, into: replica, dryRun: options.dryRun, strict: options.strict,
            progress: showProgress
                ? { done, total in FileHandle.standardError.write(Data("\rimporting \(done)/\(total) orders".utf8)) }
                : nil)
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        if global.json {
            printJSON([
                "file": file, "dry_run": report.dryRun, "imported": report.imported,
                "already_present": report.alreadyPresent, "customers_created": report.customersCreated,
                "problems": report.problems.map {
                    ["record": $0.record, "order": $0.order, "reason": $0.reason] as [String: Any]
                },
                "needs_review": report.needsReview.map {
                    ["record": $0.record, "order": $0.order, "reason": $0.reason] as [String: Any]
                },
            ])
        } else {
            let verb = report.dryRun ? "would import" : "imported"
            print(
                "\(verb) \(report.imported) order(s) from \(file)"
                    + (report.alreadyPresent > 0 ? "; \(report.alreadyPresent) already present (imported before)" : "")
                    + (report.customersCreated > 0 ? "; \(report.customersCreated) new customer(s)" : ""))
            if report.imported == 0 && report.alreadyPresent > 0 && report.problems.isEmpty {
                print("nothing new: every order of this file is already in the replica")
            }
            for problem in report.needsReview {
                print(
                    "imported without its history, for review (tag import-review, in `outpost attention`): \(problem)")
            }
            for problem in report.problems { print("refused \(problem)") }
        }
        guard report.problems.isEmpty else {
            let what =
                options.strict
                ? "nothing was imported (--strict)" : "the other orders were \(options.dryRun ? "checked" : "imported")"
            fail(
                CLIError(
                    65, "\(report.problems.count) record(s) of \(file) could not be imported (listed above); \(what)",
                    hint:
                        "fix those records in the source and import the file again: orders already imported are skipped"
                ))
        }
    }
}
