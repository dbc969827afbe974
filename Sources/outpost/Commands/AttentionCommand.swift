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
            Thresholds are shared settings (`outpost config list`); by default: unpaid after 48 h, an offline card \
            unconfirmed after 24 h, paid and unshipped after 2 days (or past its ship-by), no carrier word for 5 \
            days, a return open for 7 days, orders of 500 or more (in their currency) until they ship.
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
                            "next": Self.next($0),
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
                                Self.next($0),
                            ]
                        }))
                print("")
            }
        }
    }

    /// The command that settles an entry, for people reading the list.
    static func next(_ entry: AttentionEntry) -> String {
        let order = entry.orderNumber
        return switch entry.item.kind {
        case .unpaid, .paymentIssue: "outpost order pay \(order) --amount …"
        case .provisionalUnconfirmed: "outpost order confirm-payment \(order) (or decline-payment)"
        case .authorizationExpiring: "outpost order capture \(order)"
        case .shipOverdue: "outpost order pack \(order)"
        case .shipmentDelayed: "outpost order track \(order) --event in_transit (when it moves)"
        case .deliveryFailed: "contact the customer; outpost order track \(order) --event …"
        case .trackingStale: "outpost order deliver \(order) (if it arrived)"
        case .returnOpen: "outpost return list --open; return receive or cancel"
        case .refundDue: "outpost order refund \(order) --amount …"
        case .overRefunded: "settle with the customer"
        case .overFulfilled: "ask for the extra units back: outpost order return \(order) …"
        case .oversold: "outpost stock receive SKU N (if found), or edit or cancel \(order)"
        case .highValue: "outpost order show \(order)"
        case .conflict: "outpost conflicts --order \(order)"
        case .importReview: "outpost order show \(order), record what happened, then order edit \(order) --tag …"
        case .messageFailed: "outpost messages list --failed; mend the delivery, then outpost messages send --retry-now"
        }
    }
}
