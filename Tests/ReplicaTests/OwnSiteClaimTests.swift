import Foundation
import OrderDomain
import OutpostTestSupport
import Testing

@testable import Replica

/// A peer must never hold a claim to more of a device's writes than the device made: the device's next writes
/// would look "already had" and vanish without a word. A device refuses such a claim both ways, and says
/// whether its file was copied (the stream carried writes under its site id that it never made) or the
/// peer's vector was poisoned.
@Suite struct OwnSiteClaimTests {
    static func sale(_ replica: Replica, _ email: String) async throws {
        _ = try await replica.commands.createOrder(
            customerEmail: email, lines: [LineSpec(sku: "TEE-M", quantity: 1, unitPrice: "10.00")])
    }

    static func siteConflict(_ body: () async throws -> Void) async -> ReplicaError? {
        do {
            try await body()
            return nil
        } catch let error as ReplicaError {
            return error
        } catch {
            Issue.record("expected a ReplicaError, got \(error)")
            return nil
        }
    }

    /// A trusted but hostile peer ends a stream with a vector claiming a billion of the laptop's writes. The claim
    /// is joined in, and a relay's copy of the laptop's next sale is skipped as "already had"; but the first time
    /// the hub meets the laptop itself, the laptop's own counter shows the claim false: the hub lowers it and
    /// the laptop sends its writes again. Nothing vanishes.
    @Test func aForgedClaimCannotSilenceADevice() async throws {
        let directory = try TemporaryDirectory()
        let laptop = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        let relay = try Replica.create(at: directory.path("relay.sqlite"), name: "relay")
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        try await Self.sale(laptop, "ana@example.com")
        try await hub.replication.pull(from: laptop)
        let evil = String(repeating: "e", count: 32)
        try await hub.replication.completeStream(
            from: evil, end: StreamEnd(sender: evil, vector: [laptop.identity.siteID: 1_000_000_000], snapshotLseq: 0))
        #expect(try await hub.status().versionVector[laptop.identity.siteID] == 1_000_000_000)

        try await Self.sale(laptop, "bo@example.com")
        try await relay.replication.pull(from: laptop)
        try await hub.replication.pull(from: relay)
        #expect(try await hub.queries.orders().count == 1, "the poisoned claim made the relay skip the sale")

        // The laptop itself: its counter exposes the claim.
        let repair = try await hub.replication.reconcileClaim(
            peer: laptop.identity.siteID,
            peerCounter: try await laptop.status().versionVector[laptop.identity.siteID] ?? 0)
        #expect(repair?.claimed == 1_000_000_000)
        #expect(try await hub.replication.reconcileClaim(peer: laptop.identity.siteID, peerCounter: 2) == nil)
        try await hub.replication.pull(from: laptop)
        try await Self.sale(laptop, "cy@example.com")
        try await hub.replication.pull(from: laptop)
        try await laptop.replication.pull(from: hub)
        #expect(
            try await Set(hub.queries.orders().map(\.customerEmail)) == [
                "ana@example.com", "bo@example.com", "cy@example.com",
            ])
        #expect(
            try await hub.status().versionVector[laptop.identity.siteID]
                == laptop.status().versionVector[laptop.identity.siteID])
        #expect(try await hub.contentDigest() == laptop.contentDigest())
    }

    /// A pull alone repairs too: it asks the other replica for its counter first.
    @Test func aPullFromThePoisonedDeviceRepairsTheClaim() async throws {
        let directory = try TemporaryDirectory()
        let laptop = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        try await Self.sale(laptop, "ana@example.com")
        try await hub.replication.pull(from: laptop)
        let evil = String(repeating: "e", count: 32)
        try await hub.replication.completeStream(
            from: evil, end: StreamEnd(sender: evil, vector: [laptop.identity.siteID: 1_000_000_000], snapshotLseq: 0))
        try await Self.sale(laptop, "bo@example.com")
        try await hub.replication.pull(from: laptop)
        #expect(try await hub.queries.orders().count == 2)
    }

    /// A laptop restored in place from an old backup numbers new writes like the ones it lost. The hub, holding
    /// those, refuses it and says so; `reidentify` on the laptop gets its lost writes back and lets it go on.
    @Test func aRestoredDeviceIsRefusedUntilReidentified() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("laptop.sqlite")
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        var laptopSite = ""
        do {
            let laptop = try Replica.create(at: path, name: "laptop")
            laptopSite = laptop.identity.siteID
            try await Self.sale(laptop, "ana@example.com")
            _ = try laptop.replication.writeSnapshot(to: directory.path("backup.sqlite"))
            try await Self.sale(laptop, "bo@example.com")
            try await Self.sale(laptop, "cy@example.com")
            try await hub.replication.pull(from: laptop)
        }
        // The backup is copied over the laptop's file in place (the same inode: the file identity cannot tell).
        let backup = try Data(contentsOf: URL(fileURLWithPath: directory.path("backup.sqlite")))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: backup)
        try handle.close()
        do {
            let restored = try Replica.open(at: path)
            try await restored.pool.write { db in
                try db.execute(sql: "UPDATE replica_info SET copied_from = NULL, file_identity = NULL")
            }
            #expect(restored.identity.siteID == laptopSite)
            let refused = await Self.siteConflict { try await hub.replication.pull(from: restored) }
            #expect(refused?.code == .siteConflict)
            #expect(refused?.message.contains("restored from a backup") == true, "\(String(describing: refused))")
            #expect(refused?.hint?.contains("reidentify") == true)
        }
        _ = try Replica.reidentify(at: path)
        let renewed = try Replica.open(at: path)
        try await renewed.replication.pull(from: hub)
        #expect(
            try await Set(renewed.queries.orders().map(\.customerEmail)) == [
                "ana@example.com", "bo@example.com", "cy@example.com",
            ])
        try await Self.sale(renewed, "di@example.com")
        try await hub.replication.pull(from: renewed)
        #expect(try await hub.queries.orders().count == 4)
        #expect(try await hub.contentDigest() == renewed.contentDigest())
    }

    /// A copy opened as another file refuses writes and syncs before it can number a write like its original;
    /// once given its own site id, both write, both sync, and nothing is lost.
    @Test func aCopiedFileRefusesWritesUntilReidentified() async throws {
        let directory = try TemporaryDirectory()
        let original = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        try await Self.sale(original, "ana@example.com")
        try await hub.replication.pull(from: original)
        _ = try original.replication.writeSnapshot(to: directory.path("copy.sqlite"))
        do {
            let copy = try Replica.open(at: directory.path("copy.sqlite"))
            #expect(copy.identity.siteID == original.identity.siteID)
            #expect(try await copy.status().copiedFrom != nil)

            let write = await Self.siteConflict { try await Self.sale(copy, "cy@example.com") }
            #expect(write?.code == .siteConflict)
            #expect(
                write?.message.contains("copied, restored from a backup, or moved") == true,
                "\(String(describing: write))")
            #expect(write?.hint?.contains("outpost reidentify") == true)
            let sync = await Self.siteConflict { try await copy.replication.pull(from: hub) }
            #expect(sync?.code == .siteConflict)
            // Reading still works, and the original is untouched by any of this.
            #expect(try await copy.queries.orders().count == 1)
            #expect(try await original.status().copiedFrom == nil)
        }
        let (previous, identity) = try Replica.reidentify(at: directory.path("copy.sqlite"), name: "laptop-2")
        #expect(previous == original.identity.siteID)
        #expect(identity.siteID != previous && identity.numberPrefix != original.identity.numberPrefix)
        let renamed = try Replica.open(at: directory.path("copy.sqlite"))
        #expect(renamed.identity == identity)
        #expect(try await renamed.status().copiedFrom == nil)

        try await Self.sale(original, "bo@example.com")
        try await Self.sale(renamed, "cy@example.com")
        try await Self.sale(renamed, "di@example.com")
        for replica in [renamed, original, renamed] {
            try await hub.replication.pull(from: replica)
            try await replica.replication.pull(from: hub)
        }
        let emails = { (replica: Replica) in
            try await Set(replica.queries.orders().map(\.customerEmail))
        }
        #expect(try await emails(hub) == ["ana@example.com", "bo@example.com", "cy@example.com", "di@example.com"])
        #expect(try await original.contentDigest() == hub.contentDigest())
        #expect(try await renamed.contentDigest() == hub.contentDigest())
        // Order numbers stay unique: the copy numbers with its own prefix.
        #expect(try await Set(hub.queries.orders().map(\.number)).count == 4)
    }

    /// A copy the file identity cannot tell (overwritten in place, a cloned machine) is caught at sync instead,
    /// when its peer claims more of its writes than it made.
    @Test func aCopyNotCaughtAtOpenIsDetectedOnTheOriginalsNextSync() async throws {
        let directory = try TemporaryDirectory()
        let original = try Replica.create(at: directory.path("laptop.sqlite"), name: "laptop")
        let hub = try Replica.create(at: directory.path("hub.sqlite"), name: "hub")
        try await Self.sale(original, "ana@example.com")
        try await hub.replication.pull(from: original)
        _ = try original.replication.writeSnapshot(to: directory.path("copy.sqlite"))
        let copy = try Replica.open(at: directory.path("copy.sqlite"))
        // As the copy would look had it kept its original's file identity.
        try await copy.pool.write { db in try db.execute(sql: "UPDATE replica_info SET copied_from = NULL") }
        #expect(copy.identity.siteID == original.identity.siteID)

        try await Self.sale(original, "bo@example.com")
        try await Self.sale(copy, "cy@example.com")
        try await Self.sale(copy, "di@example.com")
        try await hub.replication.pull(from: copy)  // the copy, ahead in counter, syncs first
        let before = try await original.contentDigest()

        let error = await Self.siteConflict { try await original.replication.pull(from: hub) }
        #expect(error?.code == .siteConflict)
        #expect(error?.message.contains("copied, or restored from a backup") == true, "\(String(describing: error))")
        #expect(try await original.contentDigest() == before)
        let sending = await Self.siteConflict { try await hub.replication.pull(from: original) }
        #expect(sending?.code == .siteConflict)
    }
}
