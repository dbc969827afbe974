import ArgumentParser
import Foundation
import OrderDomain
import Replica
import SecureLine
import Sync

/// `outpost demo`: the story a new user runs first, on a throwaway directory.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the pop-up shop story: a hub and two laptops sell offline, conflict, and converge.",
        discussion: """
            Everything happens in a temporary directory (kept with --keep DIR, so you can open the replicas \
            with sqlite3). The hub listens on a loopback port; the laptops sync with it over the encrypted, \
            mutually authenticated line, exactly as `outpost serve` and `outpost sync` do.

            Example:
              outpost demo
              outpost demo --keep /tmp/outpost-demo
            """)

    @Option(help: "Keep the replicas in DIR instead of a temporary directory.")
    var keep: String?

    /// Marks a `--keep` directory as the demo's own, so that a later run may replace what is in it.
    static let marker = ".outpost-demo"

    /// The `--keep` directory: a new or empty one, or one an earlier demo made (it holds the marker). Anything
    /// else is refused untouched: the demo replaces its three replica files and would overwrite the user's.
    static func keptDirectory(_ path: String) throws -> URL {
        let url = URL(fileURLWithPath: path)
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CLIError(73, "\(path) is a file, not a directory", hint: "give --keep a new or empty directory")
            }
            let entries = try fileManager.contentsOfDirectory(atPath: path)
            guard entries.isEmpty || entries.contains(marker) else {
                throw CLIError(
                    73, "\(path) already holds files that `outpost demo` did not make",
                    hint: "give --keep a new or empty directory; nothing was changed")
            }
        }
        try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
        try Data("made by `outpost demo`; a later demo may replace the replicas here\n".utf8)
            .write(to: url.appendingPathComponent(marker))
        return url
    }

    func run() async throws {
        try await guarded { try await story() }
    }

    func story() async throws {
        let directory =
            try keep.map(Self.keptDirectory)
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("outpost-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: directory) } }
        for name in ["hub", "popup-1", "popup-2"] {
            Replica.removeDatabaseFiles(at: directory.appendingPathComponent("\(name).sqlite").path)
        }
        func make(_ name: String) throws -> Replica {
            try Replica.create(at: directory.appendingPathComponent("\(name).sqlite").path, name: name)
        }
        let hub = try make("hub")
        let one = try make("popup-1")
        let two = try make("popup-2")
        let network = KeyText.newNetworkID()
        let hubIdentity = SyncIdentity(keyPair: KeyPair.generate(), networkID: network)
        let laptopIdentities = [one, two].map { _ in SyncIdentity(keyPair: KeyPair.generate(), networkID: network) }
        let trusted = Set(laptopIdentities.map(\.keyPair.publicKey))
        let server = try await SyncServer.bind(replica: hub.replication, identity: hubIdentity) { trusted.contains($0) }
        let serving = Task { try await server.run() }
        defer { serving.cancel() }
        let story = Story(
            hub: hub, laptops: [one, two], port: server.port, hubIdentity: hubIdentity,
            laptopIdentities: laptopIdentities)

        print("Outpost demo — replicas in \(directory.path); the hub listens on 127.0.0.1:\(server.port)\n")
        print("1. Morning: the hub counts stock; both laptops sync with it, and it tops each up with selling rights.")
        _ = try await hub.commands.count(sku: "TEE-M", units: 5)
        _ = try await hub.commands.count(sku: "MUG", units: 3)
        try await story.syncAll()
        for laptop in [one, two] {
            let rights = try await laptop.queries.stockHoldings().filter { $0.site == laptop.identity.siteID }
            print(
                "   \(laptop.identity.name) may sell "
                    + rights.map { "\($0.rights) × \($0.sku)" }.joined(separator: ", ") + " offline")
        }

        print("2. Offline: each laptop sells.")
        var options = NewOrderOptions()
        options.address = "1 Harbour St, Leith"
        // A till's sale and its payment: one basket, one commit.
        let ana = try await one.transaction { [options] in
            let sale = try await one.commands.createOrder(
                customerEmail: "ana@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "19.90")],
                options: options)
            try await one.commands.pay(order: sale.orderNumber, amount: "39.80", method: .cash)
            return sale
        }
        print("   popup-1 sold \(ana.orderNumber) to ana@example.com: 2 × TEE-M, paid 39.80 EUR cash")
        let bo = try await two.commands.createOrder(
            customerEmail: "bo@example.com",
            lines: [
                LineSpec(sku: "MUG", quantity: 1, unitPrice: "12.00"),
                LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "19.90"),
            ])
        try await two.commands.pay(order: bo.orderNumber, amount: "31.90", method: .card, provisional: true)
        print("   popup-2 sold \(bo.orderNumber) to bo@example.com: MUG + TEE-M, card taken offline (provisional)")
        do {
            _ = try await two.commands.createOrder(
                customerEmail: "cy@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "19.90")])
        } catch let error as DomainError {
            print("   popup-2 refuses a sale of 2 more TEE-M: \(error.message); the others hold the rest")
        }
        try await story.syncAll()

        print("3. Offline again, the laptops disagree:")
        try await one.commands.pack(order: ana.orderNumber)
        try await one.commands.ship(order: ana.orderNumber, carrier: "DHL", tracking: "JD014600003")
        print("   popup-1 packs and ships \(ana.orderNumber) (DHL JD014600003)")
        try await two.commands.cancel(order: ana.orderNumber, reason: "customer called to cancel")
        print("   popup-2 cancels \(ana.orderNumber): the customer called")
        try await one.commands.edit(order: bo.orderNumber, phone: "+44 7700 900111")
        try await two.commands.edit(order: bo.orderNumber, phone: "+44 7700 900222")
        print("   both laptops record a different phone number for \(bo.orderNumber)")

        print("4. Everyone syncs through the hub.")
        try await story.syncAll()
        print("")
        try await story.report(ana: ana.orderNumber)
        await server.shutdown()
    }
}

/// The demo's replicas and how it shows them.
struct Story {
    let hub: Replica
    let laptops: [Replica]
    let port: Int
    let hubIdentity: SyncIdentity
    let laptopIdentities: [SyncIdentity]

    /// Each laptop runs a full session with the hub, twice, so every change reaches everyone.
    func syncAll() async throws {
        for _ in 0..<2 {
            for (laptop, identity) in zip(laptops, laptopIdentities) {
                let summary = try await laptop.replication.sync(
                    host: "127.0.0.1", port: port, peerKey: hubIdentity.keyPair.publicKey, identity: identity)
                if summary.changesSent + summary.changesReceived > 0 {
                    print(
                        "   \(laptop.identity.name) ⇄ hub: sent \(summary.changesSent), received \(summary.changesReceived) field changes, \(summary.bytesSent + summary.bytesReceived) bytes encrypted"
                    )
                }
            }
        }
    }

    func report(ana: String) async throws {
        let shipped = try await hub.queries.order(ana)
        print("What happened to \(ana):")
        print(
            "   status   \(shipped.progress.status.rawValue)   overlays: \(shipped.progress.overlays.map(\.rawValue).joined(separator: ", "))"
        )
        if shipped.progress.status == .shipped && shipped.order.cancelledAt != nil {
            print(
                "   why      physical facts beat intents: what shipped stands, so the cancel had nothing left to cancel;"
            )
            print("            the customer paid and asked to cancel, so a return-and-refund is due (refund_due).")
        }
        print("")
        print("Conflicts kept for people to see:")
        for conflict in try await hub.queries.conflicts() {
            let values = conflict.values.map(\.description).joined(separator: " vs ")
            var number = "-"
            if let orderID = conflict.orderID { number = try await hub.queries.order(orderID).order.number }
            print(
                "   order \(number) \(conflict.entity.rawValue).\(conflict.field): \(values) → shows \(conflict.winner) (rule: \(conflict.rule.rawValue))"
            )
        }
        print("")
        print("Orders (identical on every replica):")
        let listing = try await hub.queries.orders()
        print("   " + pad("NUMBER", 10) + pad("STATUS", 14) + pad("TOTAL", 10) + "CUSTOMER")
        for order in listing {
            print(
                "   " + pad(order.number, 10) + pad(order.status.rawValue, 14)
                    + pad(Money.decimalString(order.totalMinor, digits: 2), 10) + (order.customerEmail ?? ""))
        }
        print("")
        print("Stock:")
        print("   " + pad("SKU", 8) + pad("ON HAND", 9) + pad("RESERVED", 10) + "AVAILABLE")
        for level in try await hub.queries.stockLevels() {
            print(
                "   " + pad(level.sku, 8) + pad(String(level.onHand), 9) + pad(String(level.reserved), 10)
                    + String(level.available))
        }
        var views: [[OrderListing]] = []
        for replica in [hub] + laptops { views.append(try await replica.queries.orders()) }
        guard views.allSatisfy({ $0 == views[0] }) else {
            throw ValidationError("the replicas disagree after syncing — please report this as a bug")
        }
        print("\nAll three replicas agree.")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
