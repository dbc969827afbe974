import ArgumentParser
import Foundation
import OrderDomain
import Replica

/// Returns after they are requested: listing them, and receiving, cancelling and closing each by its reference
/// (`ORDER/R7f3a`, as `order return` prints it).
struct ReturnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "return", abstract: "List returns and move them along: receive, cancel, close.",
        subcommands: [List.self, Show.self, Receive.self, Cancel.self, Close.self])

    static func document(_ item: Return, _ details: OrderDetails) -> [String: Any] {
        [
            "reference": item.reference(orderNumber: details.order.number), "id": item.id,
            "order": details.order.number, "state": item.state.rawValue, "reason": item.reason.rawValue,
            "note": item.note as Any, "restock": item.restock,
            "lines": item.lines.map {
                ["sku": details.order.line($0.lineID)?.sku ?? $0.lineID, "quantity": $0.quantity] as [String: Any]
            },
            "requested_at": rfc3339(item.requestedAt), "received_at": rfc3339(item.receivedAt),
            "cancelled_at": rfc3339(item.cancelledAt), "closed_at": rfc3339(item.closedAt),
        ]
    }

    /// Runs one step of a return's life on the return named by `reference`, then prints where it stands.
    static func step(
        _ global: GlobalOptions, _ reference: String,
        _ body: (Replica, ReturnReference) async throws -> CommandResult
    ) async throws {
        try await guarded {
            let named = try ReturnReference(parsing: reference)
            let replica = try global.replica()
            try await report(global, replica, try await body(replica, named))
        }
    }

    /// Prints where the return a command made or moved (`result.recordID`) now stands.
    static func report(_ global: GlobalOptions, _ replica: Replica, _ result: CommandResult) async throws {
        let details = try await replica.queries.order(result.orderID)
        guard let item = details.order.returns.first(where: { $0.id == result.recordID }) else { return }
        if global.json {
            printJSON(document(item, details))
        } else {
            print("\(item.reference(orderNumber: details.order.number)): \(item.state.rawValue)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List returns, newest first.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Only returns not yet closed.") var open = false

        func run() async throws {
            try await guarded {
                let replica = try global.replica()
                let listings = try await replica.queries.returns(openOnly: open)
                if global.json {
                    var documents: [[String: Any]] = []
                    for listing in listings {
                        documents.append(
                            ReturnCommand.document(listing.item, try await replica.queries.order(listing.orderID)))
                    }
                    return printJSON(documents)
                }
                print(
                    table(
                        ["RETURN", "STATE", "REASON", "UNITS", "REQUESTED"],
                        listings.map {
                            [
                                $0.reference, $0.item.state.rawValue, $0.item.reason.rawValue,
                                String($0.item.lines.reduce(0) { $0 + $1.quantity }),
                                "\(rfc3339($0.item.requestedAt))",
                            ]
                        }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one return.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "ORDER/R7f3a") var reference: String

        func run() async throws {
            try await guarded {
                let named = try ReturnReference(parsing: reference)
                let details = try await global.replica().queries.order(named.order)
                let item = try details.order.returnNamed(named.returnName)
                let document = ReturnCommand.document(item, details)
                if global.json { return printJSON(document) }
                print("\(document["reference"] ?? "")  \(item.state.rawValue)  reason \(item.reason.rawValue)")
                for line in item.lines {
                    print("  \(details.order.line(line.lineID)?.sku ?? line.lineID) × \(line.quantity)")
                }
                if let note = item.note { print("note: \(note)") }
            }
        }
    }

    struct Receive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The goods are back.", discussion: "Example: outpost return receive K3QZ-12/R7f3a --restock")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "ORDER/R7f3a") var reference: String
        @Flag(help: "Put the units back in stock.") var restock = false

        func run() async throws {
            try await ReturnCommand.step(global, reference) {
                try await $0.commands.receiveReturn(order: $1.order, returnID: $1.returnName, restock: restock)
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The customer keeps the goods after all.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "ORDER/R7f3a") var reference: String

        func run() async throws {
            try await ReturnCommand.step(global, reference) {
                try await $0.commands.cancelReturn(order: $1.order, returnID: $1.returnName)
            }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Done with a received or cancelled return.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "ORDER/R7f3a") var reference: String

        func run() async throws {
            try await ReturnCommand.step(global, reference) {
                try await $0.commands.closeReturn(order: $1.order, returnID: $1.returnName)
            }
        }
    }
}
