import ArgumentParser
import Foundation
import OrderDomain
import Replica
import SecureLine

/// Stock: movements, counts, and each device's selling rights.
struct StockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stock", abstract: "Receive, count, move and adjust stock; allot and release selling rights.",
        discussion: """
            Each device may sell only the units it holds the rights to, so two offline devices never sell the same \
            unit. Goods received on a device are its to sell; the stock authority (the hub) holds every unit no \
            other device holds and tops each device up when it syncs (an even share, or --target per SKU). A \
            device without rights refuses the sale (exit 65) unless it is a backorder (order create --backorder).

            Examples:
              outpost stock receive TEE-M 12
              outpost stock count TEE-M 11                      # on the hub: a recount
              outpost stock move TEE-M 4 --from main --to popup
              outpost stock adjust TEE-M -1 --reason damaged
              outpost stock allot TEE-M 3 --to popup-1          # from a device that holds them
              outpost stock release TEE-M                       # hand this device's rights back to the hub
              outpost stock policy TEE-M --target 5             # the hub tops devices up to 5
              outpost stock show --by-device
            """,
        subcommands: [
            Receive.self, Count.self, Move.self, Adjust.self, Allot.self, Release.self, Policy.self, Show.self,
            Add.self,
        ])

    struct Receive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Goods in: more units on hand; this device may sell them.",
            discussion: "Example: outpost stock receive TEE-M 12 --location popup")
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Argument(parsing: .allUnrecognized) var quantity: [String] = []
        @Option var location = "main"
        @Option(help: "A note (supplier, delivery number).") var note: String?

        func run() async throws {
            try await StockCommand.record(global, quantity, "give the number of units received", example: "12") {
                try await $0.commands.receive(sku: sku, units: $1, location: location, note: note)
            }
        }
    }

    struct Count: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A recount: on hand is this many as of now (on the stock authority; also `stock set`).",
            discussion: """
                Sales, receipts and shipments this device had not yet heard of when it counted apply on top of \
                the count. Counts are made on the stock authority only, so two counts never race; on another \
                device record what you found with `stock adjust`. A count below what the other devices may sell \
                leaves their sales uncovered: the orders are listed `oversold`.

                Example: outpost stock count TEE-M 11
                """,
            aliases: ["set"])
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Argument(parsing: .allUnrecognized) var quantity: [String] = []
        @Option var location = "main"
        @Option var note: String?

        func run() async throws {
            try await StockCommand.record(global, quantity, "give the counted number of units", example: "12") {
                try await $0.commands.count(sku: sku, units: $1, location: location, note: note)
            }
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move units between locations.",
            discussion: "Example: outpost stock move TEE-M 4 --from main --to popup")
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Argument(parsing: .allUnrecognized) var quantity: [String] = []
        @Option var from: String
        @Option var to: String

        func run() async throws {
            try await StockCommand.record(global, quantity, "give the number of units moved", example: "4") {
                try await $0.commands.move(sku: sku, units: $1, from: from, to: to)
            }
        }
    }

    struct Adjust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct on-hand stock with a reason (damaged, lost, found, other).",
            discussion: "Example: outpost stock adjust TEE-M -1 --reason damaged")
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Argument(parsing: .allUnrecognized) var quantity: [String] = []
        @Option var reason: String
        @Option var location = "main"
        @Option var note: String?

        func run() async throws {
            try await StockCommand.record(global, quantity, "give +N or -N units", example: "-1") {
                let why = try choice(StockAdjustReason.self, reason, "a reason")
                return try await $0.commands.adjust(sku: sku, by: $1, reason: why, location: location, note: note)
            }
        }
    }

    struct Allot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give another device rights to sell units this device holds the rights to.",
            discussion:
                "The device is a peer's name (`outpost peer list`) or a site id. Example: outpost stock allot TEE-M 3 --to popup-1"
        )
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Argument(parsing: .allUnrecognized) var quantity: [String] = []
        @Option(help: "The device that gets them.") var to: String
        @Option var location = "main"

        func run() async throws {
            try await guarded {
                let units = try StockCommand.units(quantity, "give the number of units to allot", example: "3")
                let replica = try global.replica()
                let site = try await StockCommand.site(of: to, replica: replica, global: global)
                try await replica.commands.allot(sku: sku, units: units, to: site, location: location)
                if !global.json {
                    print("allotted \(units) unit(s) of \(sku) at \(location) to \(to); it gets them at its next sync")
                }
                try await StockCommand.show(replica, sku: sku, location: location, byDevice: true, global: global)
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand this device's selling rights back to the stock authority.",
            discussion: "Example: outpost stock release TEE-M (all of them) or outpost stock release TEE-M 2")
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Argument(parsing: .allUnrecognized) var quantity: [String] = []
        @Option var location = "main"

        func run() async throws {
            try await guarded {
                let units =
                    quantity.isEmpty ? nil : try StockCommand.units(quantity, "give the number of units", example: "2")
                let replica = try global.replica()
                let released = try await replica.commands.release(sku: sku, units: units, location: location)
                if !global.json {
                    print("released \(released) unit(s) of \(sku) at \(location) to the stock authority")
                }
                try await StockCommand.show(replica, sku: sku, location: location, byDevice: true, global: global)
            }
        }
    }

    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How many rights the hub tops each device up to for a SKU (default: an even share).",
            discussion: "Example: outpost stock policy TEE-M --target 5   (--even: back to an even share)")
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Option(help: "Rights each device is topped up to when it syncs with the hub.") var target: Int64?
        @Flag(help: "Back to an even share of what the hub holds.") var even = false

        func run() async throws {
            try await guarded {
                try LineSpec.checkSKU(sku)
                guard (target != nil) != even else {
                    throw CLIError(
                        64, "give either --target N or --even", hint: "e.g. outpost stock policy \(sku) --target 5")
                }
                try await global.replica().commands.setSetting(Settings.targetPrefix + sku, to: target.map(String.init))
                print(
                    target.map { "devices are topped up to \($0) unit(s) of \(sku) when they sync with the hub" }
                        ?? "devices get an even share of \(sku) when they sync with the hub")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stock levels: on hand, reserved, available, and the rights held here (or by every device).")
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String?
        @Option var location: String?
        @Flag(help: "Every device's rights, as last heard.") var byDevice = false
        func run() async throws {
            try await guarded {
                try await StockCommand.show(
                    try global.replica(), sku: sku, location: location, byDevice: byDevice, global: global)
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Same as `stock receive` (a negative number: `stock adjust --reason other`).")
        @OptionGroup var global: GlobalOptions
        @Argument var sku: String
        @Argument(parsing: .allUnrecognized) var quantity: [String] = []
        @Option var location = "main"

        func run() async throws {
            try await StockCommand.record(
                global, quantity, "give one whole number of units to add (negative to remove)", example: "5"
            ) { try await $0.commands.addStock(sku: sku, location: location, quantity: $1) }
        }
    }

    /// A stock movement command: reads the units, runs `body` on the replica, shows the level it left.
    static func record(
        _ global: GlobalOptions, _ quantity: [String], _ what: String, example: String,
        _ body: (Replica, Int64) async throws -> StockChange
    ) async throws {
        try await guarded {
            let units = try units(quantity, what, example: example)
            let replica = try global.replica()
            try await report(replica, try await body(replica, units), global: global)
        }
    }

    /// One whole number of units from the unparsed arguments (a negative number is not an option here).
    static func units(_ words: [String], _ what: String, example: String) throws -> Int64 {
        guard words.count == 1, let units = Int64(words[0]) else {
            let given = words.isEmpty ? "nothing" : "'\(words.joined(separator: " "))'"
            throw CLIError(64, "\(what), not \(given)", hint: "e.g. outpost stock receive TEE-M \(example)")
        }
        return units
    }

    /// The site id of a device named by a peer's name, this device's name, or a site id.
    static func site(of device: String, replica: Replica, global: GlobalOptions) async throws -> String {
        if device.count == 32, device.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) { return device }
        if device == replica.identity.name { return replica.identity.siteID }
        let peers = (try? global.device.trustStore())?.peers ?? []
        guard let peer = peers.first(where: { $0.name == device }) else {
            throw CLIError(66, "no device named '\(device)'", hint: "see `outpost peer list`, or give a site id")
        }
        guard let site = try await replica.queries.site(forKey: peer.publicKey) else {
            throw CLIError(
                66, "\(device) has not synced with this device yet, so its site id is not known",
                hint: "sync with \(device) once, then allot")
        }
        return site
    }

    /// Names for site ids: this device's, and each peer's from the trust store.
    static func names(_ replica: Replica, global: GlobalOptions) async throws -> [String: String] {
        var names = [replica.identity.siteID: replica.identity.name]
        let peers = (try? global.device.trustStore())?.peers ?? []
        for (site, key) in try await replica.queries.siteKeys() {
            if let peer = peers.first(where: { $0.publicKey == key }) { names[site] = peer.name }
        }
        return names
    }

    static func report(_ replica: Replica, _ change: StockChange, global: GlobalOptions) async throws {
        if change.shortfall > 0, !global.json {
            print(
                "\(change.shortfall) unit(s) of \(change.sku) at \(change.location) are gone that other devices may still sell: see `outpost stock show --by-device` and `outpost attention --kind oversold`"
            )
        }
        try await show(replica, sku: change.sku, location: change.location, byDevice: false, global: global)
    }

    static func show(
        _ replica: Replica, sku: String?, location: String?, byDevice: Bool, global: GlobalOptions
    ) async throws {
        let levels = try await replica.queries.stockLevels(sku: sku).filter {
            location == nil || $0.location == location
        }
        let holdings = try await replica.queries.stockHoldings(sku: sku, location: location)
        let here = replica.identity.siteID
        let names = try await names(replica, global: global)
        let heldHere = { (level: StockLevel) in
            holdings.first { $0.sku == level.sku && $0.location == level.location && $0.site == here }?.rights ?? 0
        }
        let devices = { (level: StockLevel) in
            holdings.filter { $0.sku == level.sku && $0.location == level.location }
        }
        if global.json {
            return printJSON(
                levels.map { level -> [String: Any] in
                    var document: [String: Any] = [
                        "sku": level.sku, "location": level.location, "on_hand": level.onHand,
                        "reserved": level.reserved, "available": level.available, "oversold": level.oversold,
                        "rights_here": heldHere(level),
                    ]
                    if byDevice {
                        document["devices"] = devices(level).map {
                            [
                                "site_id": $0.site, "name": names[$0.site] as Any, "rights": $0.rights,
                                "authority": $0.isAuthority,
                            ] as [String: Any]
                        }
                    }
                    return document
                })
        }
        guard !levels.isEmpty else { return print("no stock tracked") }
        print(
            table(
                ["SKU", "LOCATION", "ON HAND", "RESERVED", "AVAILABLE", "RIGHTS HERE"],
                levels.map {
                    [
                        $0.sku, $0.location, String($0.onHand), String($0.reserved), String($0.available),
                        String(heldHere($0)),
                    ]
                }))
        if byDevice {
            print("")
            print(
                table(
                    ["SKU", "LOCATION", "DEVICE", "RIGHTS", ""],
                    levels.flatMap { level in
                        devices(level).map {
                            [
                                level.sku, level.location, names[$0.site] ?? String($0.site.prefix(8)),
                                String($0.rights),
                                $0.isAuthority ? "stock authority" : "",
                            ]
                        }
                    }))
        }
        for level in levels where level.oversold > 0 {
            print(
                "\(level.sku) at \(level.location) is oversold by \(level.oversold): see `outpost attention --kind oversold`"
            )
        }
    }
}
