import Foundation
import GRDB
import OutpostTestSupport
import Testing

/// The pop-up story through real processes: the hub receives one unit, two laptops sync, both try to sell it
/// offline. Exactly one may (the hub topped it up as it synced); the other is refused with a hint, and can sell
/// once it has rights (an allotment, by sync). Nothing ends negative anywhere.
@Suite(.oneAtATime) struct StockRightsTests {
    static func level(_ device: Outpost, _ sku: String) throws -> [String: Any] {
        try device("stock", "show", sku, "--by-device", "--json").array.first ?? [:]
    }

    /// The rows of `sql` as another tool reads them (a read-only connection), each column as text.
    static func readOnlyRows(_ path: String, _ sql: String) throws -> [[String]] {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            try Row.fetchAll(db, sql: sql).map { row in row.databaseValues.map { "\($0.storage.value ?? "NULL")" } }
        }
    }

    @Test func theLastUnitIsSoldOnceAcrossOfflineLaptops() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let one = Outpost(directory: scratch.url, name: "popup-1")
        let two = Outpost(directory: scratch.url, name: "popup-2")
        try hub("init", "--name", "hub")
        #expect(try hub("stock", "receive", "TEE-M", "1").status == 0)
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        for (laptop, name) in [(one, "popup-1"), (two, "popup-2")] {
            try laptop("init", "--name", name)
            try hub.pair(laptop, port: port)
            #expect(try laptop("sync", "hub").status == 0)
        }
        // Offline now: each laptop tries to sell the one unit.
        let sales = try [one, two].map { laptop in
            try laptop("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:20.00", "--json")
        }
        let succeeded = sales.filter { $0.status == 0 }
        let refused = sales.filter { $0.status != 0 }
        #expect(succeeded.count == 1, "exactly one sale succeeds")
        #expect(refused.count == 1)
        #expect(refused.first?.status == 65)
        #expect(refused.first?.stderr.contains("may sell 0 unit(s) of TEE-M") == true, "\(refused.first?.stderr ?? "")")
        #expect(refused.first?.stderr.contains("hint: sync with the hub") == true)
        let seller = sales[0].status == 0 ? one : two
        let other = sales[0].status == 0 ? two : one

        // The seller syncs; the hub receives two more and allots one to the other laptop, which syncs and sells.
        #expect(try seller("sync", "hub").status == 0)
        #expect(try hub("stock", "receive", "TEE-M", "2").status == 0)
        let otherName = other.db.hasSuffix("popup-1.sqlite") ? "popup-1" : "popup-2"
        let allotted = try hub("stock", "allot", "TEE-M", "1", "--to", otherName)
        #expect(allotted.status == 0, "\(allotted.stderr)")
        #expect(try other("sync", "hub").status == 0)
        let late = try other("order", "create", "--customer", "bo@example.com", "--line", "TEE-M:1:20.00")
        #expect(late.status == 0, "\(late.stderr)")
        for laptop in [other, seller, other] { #expect(try laptop("sync", "hub").status == 0) }

        // Everyone agrees, and nothing is negative or oversold.
        let levels = try [hub, one, two].map { try Self.level($0, "TEE-M") }
        for level in levels {
            #expect(level["on_hand"] as? Int == 3)
            #expect(level["reserved"] as? Int == 2)
            #expect(level["available"] as? Int == 1)
            #expect(level["oversold"] as? Int == 0)
            let devices = level["devices"] as? [[String: Any]] ?? []
            #expect(devices.allSatisfy { ($0["rights"] as? Int ?? -1) >= 0 }, "\(devices)")
            #expect(devices.map { $0["rights"] as? Int ?? 0 }.reduce(0, +) == 1, "rights add up to what is available")
        }
        #expect(try hub("attention", "--kind", "oversold", "--json").array.isEmpty)
        // The views agree with the command (what another tool reads).
        let viewed = try Self.readOnlyRows(hub.db, "SELECT sku, on_hand, reserved, available FROM stock_levels")
        #expect(viewed == [["TEE-M", "3", "2", "1"]])
        let rights = try Self.readOnlyRows(hub.db, "SELECT SUM(rights) FROM stock_rights WHERE sku = 'TEE-M'")
        #expect(rights == [["1"]])
    }

    @Test func countsAreTheHubsAndTwoSetsDoNotAdd() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let laptop = Outpost(directory: scratch.url, name: "laptop")
        try hub("init", "--name", "hub")
        #expect(try hub("stock", "set", "TEE-M", "5").status == 0)
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        try laptop("init", "--name", "laptop")
        try hub.pair(laptop, port: port)
        #expect(try laptop("sync", "hub").status == 0)
        // A count on the laptop is refused with what to do instead; an adjustment is recorded.
        let refused = try laptop("stock", "set", "TEE-M", "5")
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("counts are recorded on the stock authority"))
        #expect(refused.stderr.contains("stock adjust"))
        // The hub counts again: 5 is 5, not 10.
        #expect(try hub("stock", "count", "TEE-M", "5").status == 0)
        #expect(try laptop("sync", "hub").status == 0)
        #expect(try Self.level(laptop, "TEE-M")["on_hand"] as? Int == 5)
        // A sale the hub had not heard of when it counted applies on top of the count.
        let sale = try laptop("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:20.00", "--json")
        #expect(sale.status == 0, "\(sale.stderr)")
        let number = try #require(sale.object["number"] as? String)
        #expect(try laptop("order", "pay", number, "--amount", "20.00").status == 0)
        #expect(try laptop("order", "pack", number).status == 0)
        #expect(try laptop("order", "ship", number, "--carrier", "DHL", "--tracking", "T1").status == 0)
        #expect(try hub("stock", "count", "TEE-M", "7").status == 0)  // two found, the shipped one not yet known
        #expect(try laptop("sync", "hub").status == 0)
        #expect(try laptop("sync", "hub").status == 0)
        for device in [hub, laptop] {
            #expect(try Self.level(device, "TEE-M")["on_hand"] as? Int == 6, "7 counted, then the unseen shipment")
        }
        // Adjustments and moves with their reasons.
        #expect(try hub("stock", "adjust", "TEE-M", "-1", "--reason", "damaged").status == 0)
        #expect(try hub("stock", "move", "TEE-M", "2", "--from", "main", "--to", "popup").status == 0)
        let main = try hub("stock", "show", "--location", "main", "--json").array.first
        let popup = try hub("stock", "show", "--location", "popup", "--json").array.first
        #expect(main?["on_hand"] as? Int == 3 && popup?["on_hand"] as? Int == 2)
        #expect(try hub("stock", "policy", "TEE-M").status == 64, "a policy needs --target N or --even")
        #expect(try hub("stock", "policy", "TEE-M", "--target", "2").status == 0)
        #expect(try hub("config", "get", "stock.target.TEE-M").stdout == "2\n")
        let bad = try hub("stock", "adjust", "TEE-M", "-1", "--reason", "stolen-by-aliens")
        #expect(bad.status == 64 && bad.stderr.contains("damaged, lost, found, other"))
    }
}
