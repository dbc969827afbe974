import ArgumentParser
import Foundation
import OrderDomain
import Replica

/// After the sale: returns, refunds and exchanges.
extension OrderCommand {
    struct Return: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Request a return of shipped units.",
            discussion:
                "Reasons: \(ReturnReason.allCases.map(\.rawValue).joined(separator: ", ")). Example: outpost order return POP1-1 --line TEE-M:1 --reason wrong_size --receive --restock"
        )
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(help: "SKU:QTY, repeatable.") var line: [String] = []
        @Option var reason: String
        @Option var note: String?
        @Flag(help: "The goods are here now.") var receive = false
        @Flag(help: "Put received units back in stock.") var restock = false

        func run() async throws {
            try await guarded {
                let reason = try OrderCommand.returnReason(reason)
                guard !line.isEmpty else { throw CLIError(64, "a return needs at least one --line SKU:QTY") }
                let replica = try global.replica()
                let result = try await replica.commands.requestReturn(
                    order: order, lines: try OrderCommand.lines(line, price: false), reason: reason, note: note,
                    receive: receive, restock: restock)
                try await ReturnCommand.report(global, replica, result)
            }
        }
    }

    struct Refund: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refund captured money.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(parsing: .unconditional) var amount: String
        @Option var reason: String?
        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.refund(order: order, amount: amount, reason: reason)
            }
        }
    }

    struct Exchange: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exchange shipped units for new ones.",
            discussion: """
                The returned units' value is a credit: the difference is due from the customer, or owed back.
                Example: outpost order exchange POP1-1 --return TEE-M:1 --send TEE-L:1:19.90 --reason wrong_size
                """)
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(name: .customLong("return"), help: "SKU:QTY coming back, repeatable.") var returning: [String] = []
        @Option(help: "SKU:QTY:PRICE going out, repeatable.") var send: [String] = []
        @Option(help: "Why the units come back (see `order return --help`).") var reason: String

        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.exchange(
                    order: order, returning: try OrderCommand.lines(returning, price: false),
                    sending: try OrderCommand.lines(send, price: true), reason: try OrderCommand.returnReason(reason))
            }
        }
    }

    /// A reason from the taxonomy, or a usage error listing it.
    static func returnReason(_ text: String) throws -> ReturnReason {
        try choice(ReturnReason.self, text, "a return reason")
    }
}
