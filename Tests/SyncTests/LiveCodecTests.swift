import Foundation
import OrderDomain
import OutpostCore
import Replica
import Testing

@testable import Sync

/// protocol/vectors/live-deltas.json: two consecutive `LIVE` bodies of one direction (SPEC §15) and the deltas
/// they carry; the second refers to the first's tables. `OUTPOST_WRITE_VECTORS=1` regenerates it. And the
/// decoder refuses what does not fit the tables.
@Suite struct LiveCodecTests {
    struct Vector: Codable, Equatable {
        struct Delta: Codable, Equatable {
            var vector: [String: UInt64]
            var snapshot: Int64
            /// `entity id field=value@site:counter…`, one per field.
            var fields: [String]
            var body: String
        }
        var description: String
        var deltas: [Delta]
    }

    static let a = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    static let b = "00112233445566778899aabbccddeeff"

    /// A new order's notes written at A, then changed at B (the second names the row by its ordinal).
    static func deltas() -> [LiveDelta] {
        let order = "01a22faf-ab1b-7cff-a349-a5fa5753c310"
        let time = HybridTime(milliseconds: 1_795_000_000_000, logical: 0)
        let notes = Entity.orders.fields.firstIndex { $0.name == "notes" } ?? 0
        let status = Entity.orders.fields.firstIndex { $0.name == "number" } ?? 0
        let first = LiveDelta(
            sites: [a, b],
            rows: [
                RowDelta(
                    entity: .orders, id: order,
                    fields: [
                        FieldChange(
                            index: status,
                            state: .written(.text("K3QZ-1"), dot: Dot(site: 0, counter: 7), time: time)),
                        FieldChange(
                            index: notes, state: .written(.text("gift"), dot: Dot(site: 0, counter: 7), time: time)),
                    ])
            ],
            end: StreamEnd(sender: a, vector: [a: 7, b: 3], snapshotLseq: 120))
        let later = HybridTime(milliseconds: 1_795_000_000_040, logical: 2)
        let second = LiveDelta(
            sites: [a, b],
            rows: [
                RowDelta(
                    entity: .orders, id: order,
                    fields: [
                        FieldChange(
                            index: notes,
                            state: .written(.text("gift wrap"), dot: Dot(site: 1, counter: 4), time: later))
                    ])
            ],
            end: StreamEnd(sender: a, vector: [a: 7, b: 4], snapshotLseq: 123))
        return [first, second]
    }

    static func describe(_ delta: LiveDelta) -> [String] {
        delta.rows.flatMap { row in
            row.fields.map { field in
                "\(row.entity.rawValue) \(row.id) \(row.entity.fields[field.index].name)="
                    + field.state.siblings.map { "\($0.value)@\(delta.sites[Int($0.dot.site)]):\($0.dot.counter)" }
                    .joined(separator: ",")
            }
        }
    }

    @Test func liveBodiesMatchTheirVectorAndDecodeBack() throws {
        var encoder = LiveCodec()
        var decoder = LiveCodec()
        var generated = Vector(
            description:
                "Two LIVE bodies of one direction, in order (protocol/SPEC.md §15): a new row with two fields, then one field of the same row by its ordinal",
            deltas: [])
        for delta in Self.deltas() {
            let body = try encoder.encode(delta)
            generated.deltas.append(
                .init(
                    vector: delta.end.vector, snapshot: delta.end.snapshotLseq, fields: Self.describe(delta),
                    body: Hex.encode(body)))
            let decoded = try decoder.decode(body, sender: Self.a)
            #expect(decoded.end == delta.end)
            #expect(Self.describe(decoded) == Self.describe(delta))
        }
        #expect(generated.deltas[1].body.count < generated.deltas[0].body.count)
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("protocol/vectors/live-deltas.json")
        if ProcessInfo.processInfo.environment["OUTPOST_WRITE_VECTORS"] != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try (encoder.encode(generated) + Data([10])).write(to: url)
            Issue.record(
                "live-deltas.json was rewritten: review the diff, then run again without OUTPOST_WRITE_VECTORS")
            return
        }
        let stored = try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
        #expect(stored == generated)
    }

    @Test func bodiesThatDoNotFitTheTablesAreRefused() throws {
        var encoder = LiveCodec()
        let first = try encoder.encode(Self.deltas()[0])
        let second = try encoder.encode(Self.deltas()[1])
        // The second body alone names a row ordinal and sites no table holds yet.
        var fresh = LiveCodec()
        #expect(throws: SyncError.self) { try fresh.decode(second, sender: Self.a) }
        // The same body twice: its vector entries no longer rise.
        var twice = LiveCodec()
        _ = try twice.decode(first, sender: Self.a)
        _ = try twice.decode(second, sender: Self.a)
        #expect(throws: SyncError.self) { try twice.decode(second, sender: Self.a) }
        // Cut short, or with a byte too many.
        for body in [Array(first.dropLast()), first + [0]] {
            var codec = LiveCodec()
            #expect(throws: SyncError.self) { try codec.decode(body, sender: Self.a) }
        }
    }
}
