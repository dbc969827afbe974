import ArgumentParser
import Foundation
import OrderDomain
import Replica

/// Card payments after the first step: capturing and releasing authorizations, and the processor's answer to
/// a payment taken offline.
extension OrderCommand {
    struct Capture: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Capture money an authorization holds (shipping captures it too).",
            discussion: """
                By default the oldest open authorization, for what the order still lacks.
                Example: outpost order capture POP1-7
                """)
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(parsing: .unconditional, help: "Decimal amount (default: what the order still lacks).")
        var amount: String?
        @Option(help: "The authorization's payment id (default: the oldest open one).") var authorization: String?

        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.capture(order: order, amount: amount, authorization: authorization)
            }
        }
    }

    struct VoidAuthorization: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "void", abstract: "Release an authorization without capturing it.",
            discussion: "Example: outpost order void POP1-7")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(help: "The authorization's payment id (default: the oldest open one).") var authorization: String?

        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.voidAuthorization(order: order, authorization: authorization)
            }
        }
    }

    struct ConfirmPayment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm-payment",
            abstract: "A payment taken offline (--provisional) went through.",
            discussion: "Example: outpost order confirm-payment POP1-3")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(help: "The provisional payment's id (default: the oldest still waiting).") var payment: String?

        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.settleProvisional(order: order, accepted: true, payment: payment)
            }
        }
    }

    struct DeclinePayment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decline-payment",
            abstract: "A payment taken offline (--provisional) bounced: its money no longer counts.",
            discussion: "Example: outpost order decline-payment POP1-3 --reason 'card expired'")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(help: "The provisional payment's id (default: the oldest still waiting).") var payment: String?
        @Option var reason: String?

        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.settleProvisional(
                    order: order, accepted: false, payment: payment, reason: reason)
            }
        }
    }
}
