import Foundation
import OrderDomain
import OutpostTestSupport
import SecureLine
import Sync
import Testing

@testable import Replica

/// A site is bound to the key first heard speaking for it: a trusted peer that presents another device's site id
/// (its own key, the other's replica) is refused before anything is merged or sent, while the real device and
/// a device that changed its site id (`reidentify`, same key) sync as usual.
@Suite struct SiteBindingTests {
    @Test func anotherKeyCannotSpeakForABoundSite() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        let laptop = try await fleet.add("laptop", listening: false)
        _ = try await laptop.replica.commands.createOrder(
            customerEmail: "ana@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "10.00")])
        _ = try await fleet.sync(laptop, with: hub)

        // An impostor: a copy of the laptop's replica (its copy flag cleared, as a tampered file would be) and a
        // key of its own that the hub trusts.
        let path = fleet.directory.appendingPathComponent("impostor.sqlite").path
        _ = try laptop.replica.replication.writeSnapshot(to: path)
        let copy = try Replica.open(at: path)
        try await copy.pool.write { db in try db.execute(sql: "UPDATE replica_info SET copied_from = NULL") }
        let impostor = Fleet.Device(
            replica: copy, identity: SyncIdentity(keyPair: KeyPair.generate(), networkID: fleet.network))
        hub.trust(impostor)
        impostor.trust(hub)
        _ = try await copy.commands.createOrder(
            customerEmail: "forged@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "10.00")])
        let before = try await hub.replica.contentDigest()
        await #expect(throws: (any Error).self) { try await fleet.sync(impostor, with: hub) }
        #expect(try await hub.replica.contentDigest() == before, "nothing of the impostor was merged")
        #expect(try await hub.replica.queries.orders().count == 1)

        // The real laptop goes on as before.
        _ = try await laptop.replica.commands.createOrder(
            customerEmail: "bo@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "10.00")])
        _ = try await fleet.sync(laptop, with: hub)
        #expect(try await hub.replica.queries.orders().count == 2)
        await fleet.shutdown()
    }
}
