import Foundation
import Replica
import SecureLine

/// The records of a sync session (protocol/SPEC.md, "Session flow") as typed values: each verb's JSON object is
/// a `Codable` struct, so a malformed record fails in one place with the field it lacks.
enum SessionMessage: Equatable, Sendable {
    case hello(Hello)
    case stream(StreamStart)
    case changes(Changes, body: [UInt8])
    case snapshot(SnapshotStart)
    case pages([UInt8])
    case end(End)
    case ack(Ack)
    case done(Done)

    /// `HELLO`: what the sender lacks, and whether it would take a file snapshot.
    struct Hello: Codable, Equatable, Sendable {
        var schema: Int
        var vector: [String: UInt64]
        var cursor: Int64
        var resume: Resume?
        /// Present (true) only when the sender is empty and asks for a snapshot.
        var snapshot: Bool?
        /// Optional protocol features the sender understands (protocol/SPEC.md §7): a peer sends a verb beyond
        /// version 1 only when the other side listed its feature. `live` (§15): stay open after the exchange.
        var features: [String]?
        /// With `snapshot`: the kept part of a cut copy to continue (`{"id", "offset"}`).
        var resumeSnapshot: ResumeSnapshot?

        enum CodingKeys: String, CodingKey {
            case schema, vector, cursor, resume, snapshot, features
            case resumeSnapshot = "resume_snapshot"
        }

        struct ResumeSnapshot: Codable, Equatable, Sendable {
            var id: String
            var offset: Int
        }

        struct Resume: Codable, Equatable, Sendable {
            /// `[entity code, lseq]` after the last staged record.
            var position: [Int64]
            var snapshot: Int64
        }

        init(schema: Int, request: StreamRequest, features: [String] = []) {
            self.schema = schema
            self.features = features.isEmpty ? nil : features
            vector = request.vector
            cursor = request.cursor
            resume = request.resume.map {
                Resume(position: [Int64($0.position.entity), $0.position.lseq], snapshot: $0.snapshotLseq)
            }
            snapshot = request.snapshot ? true : nil
            if request.snapshot, let kept = request.snapshotResume {
                resumeSnapshot = ResumeSnapshot(id: kept.id, offset: kept.offset)
            }
        }

        /// The stream this hello asks for.
        func request() throws -> StreamRequest {
            guard cursor >= 0 else { throw SyncError(.protocolViolation, "HELLO cursor is negative") }
            var resumeAt: StreamRequest.Resume?
            if let resume {
                resumeAt = .init(
                    position: try SessionMessage.position(resume.position, in: "HELLO resume"),
                    snapshotLseq: resume.snapshot)
            }
            var kept: SnapshotResume?
            if let resumeSnapshot {
                guard resumeSnapshot.offset >= 0 else {
                    throw SyncError(.protocolViolation, "HELLO resume_snapshot offset is negative")
                }
                kept = SnapshotResume(id: resumeSnapshot.id, offset: resumeSnapshot.offset)
            }
            return StreamRequest(
                vector: vector, cursor: cursor, resume: resumeAt, snapshot: snapshot ?? false, snapshotResume: kept)
        }
    }

    /// `STREAM`: an upper bound of the records to come, for progress.
    struct StreamStart: Codable, Equatable, Sendable {
        var total: Int
    }

    /// `CHANGES`: one batch (its body is the batch encoding of `BatchCodec`).
    struct Changes: Codable, Equatable, Sendable {
        /// 1, 2, … within the stream.
        var batch: Int
        var position: [Int64]
        var snapshot: Int64
    }

    /// `SNAPSHOT`: a file copy of `bytes` bytes follows in `PAGES` records.
    struct SnapshotStart: Codable, Equatable, Sendable {
        var bytes: Int
        var snapshot: Int64
        /// The copy's id while the sender keeps it for resumption (absent: it cannot be resumed).
        var id: String?
        /// The byte the `PAGES` start at (absent: 0); nonzero only to continue the copy the `HELLO` named.
        var offset: Int?
        /// BLAKE2b-256 of the whole copy, hex.
        var digest: String?
    }

    /// `END`: the sender's vector and the change sequence of its snapshot.
    struct End: Codable, Equatable, Sendable {
        var vector: [String: UInt64]
        var snapshot: Int64
    }

    /// `ACK`: a batch is durably staged.
    struct Ack: Codable, Equatable, Sendable {
        var batch: Int
    }

    /// `DONE`: the whole stream is merged.
    struct Done: Codable, Equatable, Sendable {
        var rows: Int
        var changed: Int
        var conflicts: Int
    }

    /// The message a record carries.
    ///
    /// - Throws: `SyncError(.protocolViolation)` for an unknown verb or a JSON object that does not fit it.
    init(_ record: Record) throws {
        switch record.verb {
        case "HELLO": self = .hello(try Self.decode(record))
        case "STREAM": self = .stream(try Self.decode(record))
        case "CHANGES": self = .changes(try Self.decode(record), body: record.body)
        case "SNAPSHOT": self = .snapshot(try Self.decode(record))
        case "PAGES": self = .pages(record.body)
        case "END": self = .end(try Self.decode(record))
        case "ACK": self = .ack(try Self.decode(record))
        case "DONE": self = .done(try Self.decode(record))
        default: throw SyncError(.protocolViolation, "unexpected \(record.verb.prefix(32)) in a sync session")
        }
    }

    /// The record that carries this message.
    func record() throws -> Record {
        switch self {
        case .hello(let hello): try Self.record("HELLO", hello)
        case .stream(let start): try Self.record("STREAM", start)
        case .changes(let changes, let body): try Self.record("CHANGES", changes, body: body)
        case .snapshot(let start): try Self.record("SNAPSHOT", start)
        case .pages(let bytes): Record(verb: "PAGES", json: "{}", body: bytes)
        case .end(let end): try Self.record("END", end)
        case .ack(let ack): try Self.record("ACK", ack)
        case .done(let done): try Self.record("DONE", done)
        }
    }

    /// The verb, for messages about messages.
    var verb: String {
        switch self {
        case .hello: "HELLO"
        case .stream: "STREAM"
        case .changes: "CHANGES"
        case .snapshot: "SNAPSHOT"
        case .pages: "PAGES"
        case .end: "END"
        case .ack: "ACK"
        case .done: "DONE"
        }
    }

    static func position(_ pair: [Int64], in what: String) throws -> StreamPosition {
        guard pair.count == 2, (0...255).contains(pair[0]), pair[1] >= 0 else {
            throw SyncError(.protocolViolation, "\(what) position must be [entity code, lseq]")
        }
        return StreamPosition(entity: UInt8(pair[0]), lseq: pair[1])
    }

    private static func decode<T: Decodable>(_ record: Record) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(record.json.utf8))
        } catch {
            throw SyncError(.protocolViolation, "\(record.verb) is malformed: \(Self.explain(error))")
        }
    }

    private static func explain(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "it lacks \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        case DecodingError.dataCorrupted(let context): context.debugDescription
        default: "\(error)"
        }
    }

    private static func record<T: Encodable>(_ verb: String, _ value: T, body: [UInt8] = []) throws -> Record {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Record(verb: verb, json: String(decoding: try encoder.encode(value), as: UTF8.self), body: body)
    }
}
