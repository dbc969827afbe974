import ArgumentParser
import Foundation
import OrderDomain
import Replica

/// What needs a person today, grouped by kind, oldest first, each with the command that settles it.
struct AttentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention", abstract: "What needs attention today, oldest first, with the next command.",
        discussion: """
            Kinds: \(AttentionKind.allCases.map(\.rawValue).joined(separator: ", ")).
            Thresholds: unpaid after 48 h, an offline card unconfirmed after 24 h, paid and unshipped after 2 days \
            (or past its ship-by), no carrier word for 5 days, a return open for 7 days, orders of 500.00 or more \
            until they ship.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Read as of this time (RFC 3339 UTC or YYYY-MM-DD); default now.") var asOf: String?
    @Option(help: "Only this kind.") var kind: String?

    func run() async throws {
        try await guarded {
            let wanted = try kind.map { try choice(AttentionKind.self, $0, "a kind of attention") }
            let entries = try await global.replica().queries.attention(asOf: try asOf.map(parseTime))
                .filter { wanted == nil || $0.item.kind == wanted }
            if global.json {
                return printJSON(
                    entries.map {
                        [
                            "kind": $0.item.kind.rawValue, "order": $0.orderNumber, "order_id": $0.orderID,
                            "customer": $0.customerEmail as Any, "since": rfc3339($0.item.since), "why": $0.item.why,
                            "next": $0.item.next,
                        ] as [String: Any]
                    })
            }
            guard !entries.isEmpty else { return print("nothing needs attention") }
            for kind in AttentionKind.allCases {
                let group = entries.filter { $0.item.kind == kind }
                guard !group.isEmpty else { continue }
                print("\(kind.rawValue) (\(group.count))")
                print(
                    table(
                        ["ORDER", "CUSTOMER", "SINCE", "WHY", "NEXT"],
                        group.map {
                            [
                                $0.orderNumber, $0.customerEmail ?? "-", "\(rfc3339($0.item.since))", $0.item.why,
                                $0.item.next,
                            ]
                        }))
                print("")
            }
        }
    }
}
