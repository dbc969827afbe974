import Foundation
import OrderDomain
import OutpostCore
import Replica
import Sync
import Testing

/// protocol/vectors/change-batch.json: a change batch and the exact bytes of its CHANGES body.
/// `OUTPOST_WRITE_VECTORS=1` regenerates it.
@Suite struct BatchVectorTests {
    struct Vector: Codable, Equatable {
        var description: String
        var json_line: String
        var sites: [String]
        var rows: [String]
        var body: String
    }

    static func batch() -> ChangeBatch {
        let a = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
        let b = "00112233445566778899aabbccddeeff"
        func one(_ value: FieldValue, site: UInt32 = 0, counter: UInt64 = 3) -> FieldState {
            .written(
                value, dot: Dot(site: site, counter: counter),
                time: HybridTime(milliseconds: 1_795_000_000_000, logical: 1))
        }
        let customer = RowChange(
            entity: .customers, id: "c6f1a9c2-0d1e-8f00-9a1b-2c3d4e5f6071",
            fields: [
                one(.text("ana@example.com")), one(.text("Ana")), one(.null), one(.null),
                one(.integer(1_795_000_000_000)),
            ])
        let phone = FieldState(siblings: [
            Sibling(
                value: .text("+44 1"), dot: Dot(site: 0, counter: 4), time: HybridTime(milliseconds: 1_795_000_000_100)),
            Sibling(
                value: .text("+44 2"), dot: Dot(site: 1, counter: 9), time: HybridTime(milliseconds: 1_795_000_000_200)),
        ])
        var stock = Entity.stock.fields.map { _ in one(.integer(-2), site: 1, counter: 9) }
        stock[0] = one(.text("TEE-M"), site: 1, counter: 9)
        stock[1] = one(.text("main"), site: 1, counter: 9)
        stock[2] = one(.text(b), site: 1, counter: 9)
        var customerWithConflict = customer
        customerWithConflict.fields[2] = phone
        return ChangeBatch(
            sites: [a, b],
            rows: [customerWithConflict, RowChange(entity: .stock, id: "TEE-M@main@\(b)", fields: stock)],
            position: StreamPosition(entity: Entity.stock.code, lseq: 42), snapshotLseq: 57)
    }

    @Test func theBatchBodyMatchesItsVectorAndDecodesBack() throws {
        let batch = Self.batch()
        let body = try BatchCodec.encode(batch)
        let generated = Vector(
            description:
                "CHANGES body (protocol/SPEC.md, 'Change batches'): two sites, a customer whose phone holds two siblings, a stock row",
            json_line:
                "CHANGES {\"body\":\(body.count),\"batch\":1,\"position\":[\(batch.position.entity),42],\"snapshot\":57}",
            sites: batch.sites, rows: batch.rows.map { "\($0.entity.rawValue) \($0.id)" }, body: Hex.encode(body))
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("protocol/vectors/change-batch.json")
        if ProcessInfo.processInfo.environment["OUTPOST_WRITE_VECTORS"] != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try (encoder.encode(generated) + Data([10])).write(to: url)
            Issue.record(
                "change-batch.json was rewritten: review the diff, then run again without OUTPOST_WRITE_VECTORS")
            return
        }
        let stored = try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
        #expect(stored == generated)
        let decoded = try BatchCodec.decode(body, position: batch.position, snapshotLseq: 57)
        #expect(decoded == batch)
    }

    @Test(arguments: [[UInt8]]([[], [2], [1, 200], [1, 0, 1, 99]]))
    func malformedBodiesAreRefused(body: [UInt8]) {
        #expect(throws: (any Error).self) {
            try BatchCodec.decode(body, position: StreamPosition(entity: 0, lseq: 0), snapshotLseq: 0)
        }
    }
}
