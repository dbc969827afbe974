import Foundation
import OrderDomain
import Replica
import SecureLine
import Sync
import Testing

/// A peer speaking another schema gets a clear error record and nothing is applied on either side.
@Suite struct SchemaMismatchTests {
    @Test func aPeerOfAnotherSchemaGetsAnErrorAndNothingIsApplied() async throws {
        let fleet = try Fleet()
        let hub = try await fleet.add("hub")
        _ = try await hub.replica.commands.createOrder(
            customerEmail: "a@example.com", lines: [LineSpec(sku: "X", quantity: 1, unitPrice: "1.00")])
        let before = try await hub.replica.contentDigest()
        let visitor = KeyPair.generate()
        hub.lock.withLock { _ = hub.trusted.insert(visitor.publicKey) }
        let hello = Array(#"{"name":"future","site":"00000000000000000000000000000001"}"#.utf8)
        let error = await #expect(throws: LineError.self) {
            try await SecureLine.dial(
                host: "127.0.0.1", port: hub.server?.port ?? 0, identity: visitor, listenerKey: hub.key,
                networkID: fleet.network, hello: hello
            ) { session in
                try await session.send(Record(verb: "HELLO", json: #"{"schema":99,"vector":{},"cursor":0}"#))
                while let record = try await session.next() {
                    #expect(record.verb != "CHANGES", "data flowed to a peer of another schema")
                }
            }
        }
        #expect(error?.code == .peerError)
        #expect(error?.message.contains("schema_mismatch") == true)
        #expect(try await hub.replica.contentDigest() == before)
        await fleet.shutdown()
    }
}
