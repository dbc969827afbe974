import ArgumentParser
import Foundation
import OrderDomain
import Replica

struct OrderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order", abstract: "Create, change and inspect orders. ORDER is an order id or its number.",
        subcommands: [
            Create.self, Pay.self, Capture.self, VoidAuthorization.self, ConfirmPayment.self, DeclinePayment.self,
            FailPayment.self, Process.self, Pack.self, Ship.self, Track.self, Deliver.self, Cancel.self,
            Return.self, Refund.self, Exchange.self, Edit.self, Show.self, List.self,
        ])

    /// Runs a lifecycle command and prints its outcome.
    static func report(_ global: GlobalOptions, _ body: (Replica) async throws -> CommandResult) async throws {
        try await guarded {
            let replica = try global.replica()
            let result = try await body(replica)
            if global.json {
                printJSON(Documents.order(try await replica.queries.order(result.orderID)))
            } else {
                print("\(result.orderNumber): \(result.status.rawValue)" + (result.recordID.map { "  (\($0))" } ?? ""))
            }
        }
    }

    static func lines(_ texts: [String], price: Bool) throws -> [LineSpec] {
        try texts.map { try LineSpec(parsing: $0, requirePrice: price) }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an order (reserving stock).",
            discussion:
                "Example: outpost order create --customer ana@example.com --line TEE-M:2:19.90 --line MUG:1:12 --shipping 4.90"
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The customer's e-mail (created when new).") var customer: String
        @Option(help: "SKU:QTY:UNIT_PRICE, repeatable.") var line: [String] = []
        @Option(help: "ISO 4217 currency.") var currency = "EUR"
        @Option(help: "pos, web, marketplace, social or manual.") var channel = "pos"
        @Option(help: "Stock location.") var location = "main"
        @Option(parsing: .unconditional, help: "Shipping charge (decimal).") var shipping: String?
        @Option(parsing: .unconditional, help: "Tax (decimal).") var tax: String?
        @Option(parsing: .unconditional, help: "Discount (decimal).") var discount: String?
        @Option(help: "Promised ship-by time (RFC 3339 UTC or YYYY-MM-DD).") var shipBy: String?
        @Option(help: "Shipping address.") var address: String?
        @Option(help: "Phone.") var phone: String?
        @Option(help: "A tag, repeatable.") var tag: [String] = []
        @Flag(help: "Sell even without selling rights for the units (tagged backorder; filled when stock comes).")
        var backorder = false

        func run() async throws {
            try await OrderCommand.report(global) { replica in
                guard !line.isEmpty else {
                    throw CLIError(
                        64, "an order needs at least one --line",
                        hint: "--line SKU:QTY:UNIT_PRICE, e.g. --line TEE-M:2:19.90")
                }
                guard let channel = Channel(rawValue: channel) else {
                    throw CLIError(
                        64, "'\(channel)' is not a channel",
                        hint: "use one of: \(Channel.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                var options = NewOrderOptions()
                options.currency = currency
                options.channel = channel
                options.location = location
                options.shipping = shipping
                options.tax = tax
                options.discount = discount
                options.shipBy = try shipBy.map(parseTime)
                options.address = address
                options.phone = phone
                options.tags = Set(tag)
                options.backorder = backorder
                return try await replica.commands.createOrder(
                    customerEmail: customer, lines: try OrderCommand.lines(line, price: true), options: options)
            }
        }
    }

    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a payment.", discussion: "Example: outpost order pay POP1-1 --amount 39.80 --method cash")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(parsing: .unconditional, help: "Decimal amount in the order's currency.") var amount: String
        @Option(help: "cash, card or other.") var method = "card"
        @Flag(help: "Taken offline; the card is not yet confirmed.") var provisional = false
        @Flag(help: "Authorize only (capture later).") var authorize = false

        func run() async throws {
            try await OrderCommand.report(global) { replica in
                guard let method = PaymentMethod(rawValue: method) else {
                    throw CLIError(64, "'\(method)' is not a payment method", hint: "use cash, card or other")
                }
                return try await replica.commands.pay(
                    order: order, amount: amount, method: method, provisional: provisional,
                    kind: authorize ? .authorize : .capture)
            }
        }
    }

    struct FailPayment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fail-payment", abstract: "Record a failed payment attempt.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option var reason: String?
        func run() async throws {
            try await OrderCommand.report(global) { try await $0.commands.failPayment(order: order, reason: reason) }
        }
    }

    struct Process: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start processing (picking) a paid order.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        func run() async throws {
            try await OrderCommand.report(global) { try await $0.commands.startProcessing(order: order) }
        }
    }

    struct Pack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pack a parcel: the given lines, or everything left.",
            discussion: "Example: outpost order pack POP1-1 --line TEE-M:1")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(help: "SKU:QTY, repeatable.") var line: [String] = []
        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.pack(order: order, lines: try OrderCommand.lines(line, price: false))
            }
        }
    }

    struct Ship: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ship packed parcels with a carrier and tracking number.",
            discussion:
                "Ships every packed, unshipped parcel, or with --line the packed parcel holding exactly those lines.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option var carrier: String
        @Option var tracking: String
        @Option(help: "SKU:QTY, repeatable: which packed parcel.") var line: [String] = []

        func run() async throws {
            try await OrderCommand.report(global) { replica in
                if line.isEmpty {
                    return try await replica.commands.ship(order: order, carrier: carrier, tracking: tracking)
                }
                return try await replica.commands.ship(
                    order: order, carrier: carrier, tracking: tracking,
                    lines: try OrderCommand.lines(line, price: false))
            }
        }
    }

    struct Track: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a carrier event for the latest shipped parcel.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option(help: "in_transit, delayed, delivered or failed.") var event: String
        @Option(help: "When (RFC 3339 UTC); default now.") var at: String?
        @Option var note: String?

        func run() async throws {
            try await OrderCommand.report(global) { replica in
                guard let kind = TrackingKind(rawValue: event) else {
                    throw CLIError(
                        64, "'\(event)' is not a tracking event", hint: "use in_transit, delayed, delivered or failed")
                }
                return try await replica.commands.track(
                    order: order, event: kind, at: try at.map(parseTime), note: note)
            }
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark shipped parcels delivered.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        func run() async throws {
            try await OrderCommand.report(global) { try await $0.commands.deliver(order: order) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel what has not shipped.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option var reason: String?
        func run() async throws {
            try await OrderCommand.report(global) { try await $0.commands.cancel(order: order, reason: reason) }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Edit contact details, notes, tags or unfulfilled quantities.")
        @OptionGroup var global: GlobalOptions
        @Argument var order: String
        @Option var phone: String?
        @Option var address: String?
        @Option var note: String?
        @Option(help: "Replace the tags, repeatable.") var tag: [String] = []
        @Option(help: "SKU:QTY new quantity, repeatable.") var line: [String] = []

        func run() async throws {
            try await OrderCommand.report(global) {
                try await $0.commands.edit(
                    order: order, phone: phone, address: address, notes: note, tags: tag.isEmpty ? nil : Set(tag),
                    quantities: try OrderCommand.lines(line, price: false))
            }
        }
    }
}
