import Foundation
import OrderDomain
import Testing

/// `protocol/schema.json` is what a third party builds records from: it must be exactly what this build's
/// schema says. Regenerate it with `swift run outpost schema > protocol/schema.json` after a schema change
/// (which is a schema version bump).
@Suite struct SchemaDocumentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func theCommittedSchemaFileIsTheSchema() throws {
        let committed = try String(
            contentsOf: Self.root.appendingPathComponent("protocol/schema.json"), encoding: .utf8)
        #expect(
            committed == Entity.schemaDocument(),
            "protocol/schema.json is stale: run `swift run outpost schema > protocol/schema.json`")
    }

    @Test func theDocumentDescribesEveryFieldOfEveryEntity() throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(Entity.schemaDocument().utf8)) as? [String: Any])
        #expect(document["schema"] as? Int == Entity.schemaVersion)
        let entities = try #require(document["entities"] as? [[String: Any]])
        #expect(entities.map { $0["code"] as? Int } == Entity.allCases.map { Int($0.code) }.sorted())
        for described in entities {
            let entity = try #require(Entity(rawValue: described["name"] as? String ?? ""))
            let fields = try #require(described["fields"] as? [[String: Any]])
            #expect(fields.map { $0["name"] as? String } == entity.fields.map(\.name))
            #expect(fields.map { $0["type"] as? String } == entity.fields.map(\.type.rawValue))
            #expect(fields.map { $0["resolution"] as? String } == entity.fields.map(\.resolution.rawValue))
            #expect(fields.map { $0["mutable"] as? Bool } == entity.fields.map(\.mutable))
        }
    }

    /// Wire codes run from 0 without gaps (`Entity(code:)` indexes a table by them), and each field's index is
    /// its position.
    @Test func codesAreDenseAndFieldIndexesArePositions() {
        #expect(Entity.allCases.map { Int($0.code) }.sorted() == Array(0..<Entity.allCases.count))
        for entity in Entity.allCases {
            #expect(Entity(code: entity.code) == entity)
            for (index, field) in entity.fields.enumerated() { #expect(entity.fieldIndex(field.name) == index) }
            #expect(entity.fieldIndex("no_such_field") == nil)
        }
        #expect(Entity(code: UInt8(Entity.allCases.count)) == nil)
    }
}
