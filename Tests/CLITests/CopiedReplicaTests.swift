import Foundation
import Testing

/// A laptop's whole device directory copied to a second laptop (`cp`): the copy refuses to write or sync and
/// says why; after `outpost reidentify` both laptops sell, both sync with the hub, and every sale arrives
/// everywhere, numbered apart.
@Suite(.oneAtATime) struct CopiedReplicaTests {
    @Test func aCopiedLaptopIsStoppedUntilReidentifiedAndNothingIsLost() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let laptop = Outpost(directory: scratch.url, name: "laptop")
        let second = Outpost(directory: scratch.url, name: "second")
        try hub("init", "--name", "hub")
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        try laptop("init", "--name", "laptop")
        try hub.pair(laptop, port: port)
        #expect(try laptop("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:10.00").status == 0)
        #expect(try laptop("sync", "hub").status == 0)

        // `cp laptop.sqlite* second.sqlite*`: replica, identity key, trust store, network.
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)
        for name in names where name.hasPrefix("laptop.sqlite") {
            try FileManager.default.copyItem(
                atPath: scratch.url.appendingPathComponent(name).path,
                toPath: scratch.url.appendingPathComponent("second" + name.dropFirst("laptop".count)).path)
        }
        let refused = try second("order", "create", "--customer", "cy@example.com", "--line", "TEE-M:1:10.00")
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("copied, restored from a backup, or moved"), "\(refused.stderr)")
        #expect(refused.stderr.contains("outpost reidentify"))
        let refusedSync = try second("sync", "hub")
        #expect(refusedSync.status == 65, "\(refusedSync.stderr)")
        #expect(try second("status", "--json").object["copied"] as? Bool == true)
        #expect(try laptop("status", "--json").object["copied"] as? Bool == false)
        #expect(try second("order", "list", "--json").array.count == 1, "reading a copy still works")

        let renamed = try second("reidentify", "--name", "laptop-2", "--json")
        #expect(renamed.status == 0, "\(renamed.stderr)")
        let laptopSite = try laptop("whoami", "--json").object["site_id"] as? String
        #expect(renamed.object["previous_site_id"] as? String == laptopSite)
        #expect(renamed.object["site_id"] as? String != laptopSite)

        #expect(try laptop("order", "create", "--customer", "bo@example.com", "--line", "TEE-M:1:10.00").status == 0)
        #expect(try second("order", "create", "--customer", "cy@example.com", "--line", "MUG:1:5.00").status == 0)
        #expect(try second("order", "create", "--customer", "di@example.com", "--line", "MUG:2:5.00").status == 0)
        for device in [second, laptop, second] {
            let synced = try device("sync", "hub")
            #expect(synced.status == 0, "\(synced.stderr)")
        }
        let orders = try hub("order", "list", "--json").array
        #expect(
            Set(orders.compactMap { $0["customer_email"] as? String })
                == ["ana@example.com", "bo@example.com", "cy@example.com", "di@example.com"])
        #expect(Set(orders.compactMap { $0["number"] as? String }).count == 4, "order numbers stay unique")
        #expect(try laptop("order", "list", "--json").stdout == hub("order", "list", "--json").stdout)
        #expect(try second("order", "list", "--json").stdout == hub("order", "list", "--json").stdout)
    }
}
