import Foundation
import Testing

@testable import SecureLine

/// protocol/vectors/line-session.json: given fixed keys (those of the community vector) and records, the exact
/// bytes on the wire in both directions. protocol/vectors/records.json: records and their plaintext bytes.
/// `OUTPOST_WRITE_VECTORS=1` regenerates both files (then review the diff: they are the spec's examples).
@Suite struct WireVectorTests {
    static let dialler = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1"
    static let diallerEphemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"
    static let listener = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893"
    static let listenerEphemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"
    static let network = [UInt8](repeating: 0x42, count: 32)

    struct Step: Codable, Equatable {
        var from: String
        var what: String
        var record: RecordVector?
        var wire: String
    }

    struct RecordVector: Codable, Equatable {
        var verb: String
        var json: String
        var body: String
        var plaintext: String?
    }

    struct Session: Codable, Equatable {
        var description: String
        var banner: String
        var network_id: String
        var network_id_text: String
        var prologue: String
        var dialler_static_private: String
        var dialler_static_public: String
        var dialler_static_public_text: String
        var dialler_ephemeral_private: String
        var listener_static_private: String
        var listener_static_public: String
        var listener_ephemeral_private: String
        var dialler_hello: String
        var listener_hello: String
        var steps: [Step]
    }

    static func generate() throws -> Session {
        let diallerKey = try KeyPair(privateKey: [UInt8](hex: dialler))
        let listenerKey = try KeyPair(privateKey: [UInt8](hex: listener))
        let diallerHello = Array(#"{"name":"popup-1","site":"0f1e2d3c4b5a69788796a5b4c3d2e1f0"}"#.utf8)
        let listenerHello = Array(#"{"name":"hub","site":"00112233445566778899aabbccddeeff"}"#.utf8)
        var d = LineMachine(
            dialling: diallerKey, listenerKey: listenerKey.publicKey, networkID: network, hello: diallerHello,
            ephemeral: try KeyPair(privateKey: [UInt8](hex: diallerEphemeral)))
        var l = LineMachine(
            listening: listenerKey, networkID: network, hello: listenerHello,
            ephemeral: try KeyPair(privateKey: [UInt8](hex: listenerEphemeral)),
            trusts: { $0 == diallerKey.publicKey })
        var steps: [Step] = []
        let one = try d.start()
        steps.append(
            Step(
                from: "dialler", what: "handshake message one (-> e, es, s, ss) carrying the dialler's hello",
                wire: one.hex))
        let (two, _) = try l.receive(one)
        steps.append(
            Step(
                from: "listener", what: "handshake message two (<- e, ee, se) carrying the listener's hello",
                wire: two.hex))
        let (confirmation, _) = try d.receive(two)
        steps.append(
            Step(
                from: "dialler", what: "the dialler's confirmation: transport message 0",
                record: RecordVector(verb: "PING", json: #"{"n":0}"#, body: ""), wire: confirmation.hex))
        let (pong, _) = try l.receive(confirmation)
        _ = try d.receive(pong)
        steps.append(
            Step(
                from: "listener", what: "the automatic answer",
                record: RecordVector(verb: "PONG", json: #"{"n":0}"#, body: ""), wire: pong.hex))
        let records: [(String, Record)] = [
            ("dialler", Record(verb: "HELLO", json: #"{"schema":1}"#)),
            ("listener", Record(verb: "CHANGES", json: #"{"batch":1}"#, body: Array("binary body".utf8))),
            ("dialler", Record(verb: "ERROR", json: #"{"code":"example","message":"an error record"}"#)),
            ("dialler", Record(verb: "BYE")),
        ]
        for (from, record) in records {
            let bytes = from == "dialler" ? try d.seal(record) : try l.seal(record)
            _ = from == "dialler" ? try l.receive(bytes) : try d.receive(bytes)
            steps.append(
                Step(
                    from: from, what: "record",
                    record: RecordVector(verb: record.verb, json: record.json, body: record.body.hex), wire: bytes.hex))
        }
        return Session(
            description:
                "Outpost line: handshake and records with fixed keys; wire = frames (4-byte big-endian length + Noise message)",
            banner: LineSettings.banner, network_id: network.hex, network_id_text: KeyText.networkID(network),
            prologue: LineSettings.prologue(networkID: network).hex, dialler_static_private: dialler,
            dialler_static_public: diallerKey.publicKey.hex,
            dialler_static_public_text: KeyText.publicKey(diallerKey.publicKey),
            dialler_ephemeral_private: diallerEphemeral, listener_static_private: listener,
            listener_static_public: listenerKey.publicKey.hex,
            listener_ephemeral_private: listenerEphemeral, dialler_hello: diallerHello.hex,
            listener_hello: listenerHello.hex, steps: steps)
    }

    static func recordVectors() throws -> [RecordVector] {
        let records = [
            Record(verb: "PING", json: #"{"n":0}"#), Record(verb: "BYE"),
            Record(verb: "CHANGES", json: #"{"batch":7}"#, body: [0, 1, 2, 255]),
            Record(verb: "ACK", json: "{}", body: [10]),
        ]
        return try records.map {
            RecordVector(verb: $0.verb, json: $0.json, body: $0.body.hex, plaintext: try $0.encoded().hex)
        }
    }

    static func write<T: Encodable>(_ value: T, _ name: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try (encoder.encode(value) + Data([10])).write(to: vectorURL(name))
    }

    @Test func theSessionVectorIsReproducedByteForByte() throws {
        let generated = try Self.generate()
        if ProcessInfo.processInfo.environment["OUTPOST_WRITE_VECTORS"] != nil {
            try Self.write(generated, "line-session.json")
            Issue.record(
                "line-session.json was rewritten: review the diff, then run again without OUTPOST_WRITE_VECTORS")
            return
        }
        let stored = try JSONDecoder().decode(Session.self, from: Data(contentsOf: vectorURL("line-session.json")))
        #expect(stored == generated)
    }

    @Test func recordVectorsEncodeAndParseBack() throws {
        let generated = try Self.recordVectors()
        if ProcessInfo.processInfo.environment["OUTPOST_WRITE_VECTORS"] != nil {
            try Self.write(generated, "records.json")
            Issue.record("records.json was rewritten: review the diff, then run again without OUTPOST_WRITE_VECTORS")
            return
        }
        let stored = try JSONDecoder().decode([RecordVector].self, from: Data(contentsOf: vectorURL("records.json")))
        #expect(stored == generated)
        for vector in stored {
            var parser = RecordParser()
            parser.append([UInt8](hex: vector.plaintext ?? ""))
            let record = try #require(try parser.next())
            #expect(record.verb == vector.verb)
            #expect(record.body.hex == vector.body)
        }
    }
}
