import ArgumentParser
import Foundation
import OrderDomain
import Replica

struct CustomerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customer", abstract: "Manage customers.",
        subcommands: [Add.self, Edit.self, Show.self, List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List customers with their orders, spend and segments.",
            discussion: """
                Segments: new (one order), repeat (two or more), vip (spent 1,000.00 or more in one currency), \
                lapsed (no order for 90 days), returner (sent back 30 % or more of the units shipped to them).
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only customers in this segment.") var segment: String?
        @Option(help: "Text in the e-mail, name or phone.") var search: String?
        @Option(help: "Read the segments as of this time (RFC 3339 UTC or YYYY-MM-DD); default now.") var asOf: String?

        func run() async throws {
            try await guarded {
                let wanted = try segment.map { try choice(CustomerSegment.self, $0, "a segment") }
                let customers = try await global.replica().queries.customers(
                    segment: wanted, search: search, asOf: try asOf.map(parseTime))
                if global.json {
                    return printJSON(
                        customers.map {
                            [
                                "email": $0.customer.email, "id": $0.customer.id, "name": $0.customer.name as Any,
                                "orders": $0.facts.orders, "spent_minor": $0.facts.spentMinor,
                                "last_order_at": rfc3339($0.facts.lastOrderAt),
                                "segments": $0.segments.map(\.rawValue),
                            ] as [String: Any]
                        })
                }
                print(
                    table(
                        ["CUSTOMER", "NAME", "ORDERS", "SPENT", "SEGMENTS"],
                        customers.map { summary in
                            [
                                summary.customer.email, summary.customer.name ?? "-", String(summary.facts.orders),
                                summary.facts.spentMinor.sorted { $0.key < $1.key }
                                    .map { "\(money($0.value, $0.key)) \($0.key)" }.joined(separator: ", "),
                                summary.segments.map(\.rawValue).joined(separator: ","),
                            ]
                        }))
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a customer.",
            discussion: "Example: outpost customer add --email ana@example.com --name 'Ana Silva'")
        @OptionGroup var global: GlobalOptions
        @Option var email: String
        @Option var name: String?
        @Option var phone: String?
        @Option var address: String?

        func run() async throws {
            try await guarded {
                let customer = try await global.replica().commands.createCustomer(
                    email: email, name: name, phone: phone, address: address)
                if global.json {
                    printJSON(["id": customer.id, "email": customer.email])
                } else {
                    print("added \(customer.email)")
                }
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a customer's name, phone or address.")
        @OptionGroup var global: GlobalOptions
        @Argument var email: String
        @Option var name: String?
        @Option var phone: String?
        @Option var address: String?

        func run() async throws {
            try await guarded {
                let replica = try global.replica()
                try await replica.commands.editCustomer(email: email, name: name, phone: phone, address: address)
                if global.json { printJSON(["email": email, "updated": true]) } else { print("updated \(email)") }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A customer's profile, order history, returns and what they bought.")
        @OptionGroup var global: GlobalOptions
        @Argument var email: String

        func run() async throws {
            try await guarded {
                let details = try await global.replica().queries.customer(email: email)
                let spent = details.facts.spentMinor.sorted { $0.key < $1.key }
                if global.json {
                    return printJSON([
                        "email": details.customer.email, "name": details.customer.name as Any,
                        "phone": details.customer.phone as Any,
                        "address": details.customer.address as Any, "orders": details.orders.map(Documents.listing),
                        "purchased": details.purchased, "returned": details.returned,
                        "spent_minor": Dictionary(uniqueKeysWithValues: spent.map { ($0.key, $0.value) }),
                        "last_order_at": rfc3339(details.facts.lastOrderAt),
                        "segments": details.segments.map(\.rawValue),
                    ])
                }
                print("\(details.customer.email)  \(details.customer.name ?? "")  \(details.customer.phone ?? "")")
                print(
                    "spent:    "
                        + (spent.isEmpty
                            ? "nothing kept yet"
                            : spent.map { "\(money($0.value, $0.key)) \($0.key)" }.joined(separator: ", "))
                        + (details.facts.lastOrderAt.map { "; last order \(rfc3339($0))" } ?? ""))
                print(
                    "segments: "
                        + (details.segments.isEmpty ? "-" : details.segments.map(\.rawValue).joined(separator: ", ")))
                print(
                    table(
                        ["NUMBER", "STATUS", "TOTAL"],
                        details.orders.map {
                            [$0.number, $0.status.rawValue, "\(money($0.totalMinor, $0.currency)) \($0.currency)"]
                        }))
                print(
                    "bought:   "
                        + details.purchased.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(
                            separator: ", "))
                if !details.returned.isEmpty {
                    print(
                        "returned: "
                            + details.returned.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(
                                separator: ", "))
                }
            }
        }
    }
}

struct Conflicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fields holding concurrent values, with the value shown and the rule that chose it.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this order.") var order: String?

    func run() async throws {
        try await guarded {
            let conflicts = try await global.replica().queries.conflicts(order: order)
            if global.json { return printJSON(conflicts.map(Documents.conflict)) }
            if conflicts.isEmpty { return print("no conflicts") }
            print(
                table(
                    ["RECORD", "FIELD", "VALUES", "SHOWN", "RULE"],
                    conflicts.map {
                        [
                            "\($0.entity.rawValue) \($0.recordID.prefix(8))", $0.field,
                            $0.values.map(\.description).joined(separator: " | "), $0.winner.description,
                            $0.rule.rawValue,
                        ]
                    }))
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replica summary: counts, version vector, peers with last sync and pending changes.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded {
            let replica = try global.replica()
            let status = try await replica.status()
            var attention: [String: Int] = [:]
            for entry in try await replica.queries.attention() { attention[entry.item.kind.rawValue, default: 0] += 1 }
            if global.json {
                return printJSON([
                    "attention": attention,
                    "name": status.identity.name, "site_id": status.identity.siteID, "orders": status.orders,
                    "customers": status.customers,
                    "open_conflicts": status.openConflicts, "orders_by_status": status.ordersByStatus,
                    "bootstrapping_from": status.bootstrappingFrom as Any,
                    "copied": status.copiedFrom != nil,
                    "version_vector": status.versionVector.mapValues { Int($0) },
                    "peers": status.peers.map {
                        [
                            "site_id": $0.siteID, "name": $0.name as Any, "last_sync": rfc3339($0.lastSync),
                            "pending_changes": $0.pendingRecords, "staged": $0.staged,
                        ] as [String: Any]
                    },
                ])
            }
            print("\(status.identity.name)  (site \(status.identity.siteID))")
            if let peer = status.bootstrappingFrom {
                print(
                    "BOOTSTRAPPING from \(peer.prefix(8))…: data is partial and local changes are refused; run `outpost sync` with that peer"
                )
            }
            if status.copiedFrom != nil {
                print(
                    "COPIED: this file is not the one this replica was made as (copied, restored or moved); writes and syncs are refused until `outpost reidentify`"
                )
            }
            print("orders \(status.orders)   customers \(status.customers)   open conflicts \(status.openConflicts)")
            if !attention.isEmpty {
                print(
                    "attention: "
                        + attention.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                        + "  (see `outpost attention`)")
            }
            print(
                "by status: "
                    + status.ordersByStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                        separator: ", "))
            print(
                "version vector: "
                    + status.versionVector.sorted { $0.key < $1.key }.map { "\($0.key.prefix(8))…:\($0.value)" }.joined(
                        separator: " "))
            if !status.peers.isEmpty {
                print("")
                print(
                    table(
                        ["PEER", "LAST SYNC", "PENDING", "STAGED"],
                        status.peers.map {
                            [
                                $0.name ?? String($0.siteID.prefix(8)), "\(rfc3339($0.lastSync))",
                                String($0.pendingRecords), $0.staged ? "yes" : "no",
                            ]
                        }))
            }
        }
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the replicated schema as JSON (entities, fields, types, merge rules, wire codes).",
        discussion: "The same document as protocol/schema.json: what another program needs to read or create records.")

    func run() throws {
        FileHandle.standardOutput.write(Data(Entity.schemaDocument().utf8))
    }
}
