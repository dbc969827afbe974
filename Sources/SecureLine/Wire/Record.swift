import Foundation

/// One record of the line protocol, inside the encryption: a text line `VERB <json>\n`, then, when the JSON
/// object has a `"body"` member (a byte count), that many bytes of binary body.
///
/// Verbs are 1–32 characters of `A–Z`, `0–9` and `_`, starting with a letter. This layer reserves `ERROR`,
/// `PING`, `PONG` and `BYE`; upper layers add their own (see protocol/SPEC.md, "Records").
public struct Record: Hashable, Sendable, CustomStringConvertible {
    /// The longest line, JSON included (64 KiB).
    public static let maximumLine = 65536
    /// The largest body a line may declare (16 MiB).
    public static let maximumBody = 16 << 20

    public var verb: String
    /// The JSON object, on one line (no raw newline), without the `"body"` member (which `encoded()` writes from
    /// `body`).
    public var json: String
    public var body: [UInt8]

    /// Creates a record; `json` must be a one-line JSON object. A non-empty body adds `"body": count`.
    public init(verb: String, json: String = "{}", body: [UInt8] = []) {
        self.verb = verb
        self.json = json
        self.body = body
    }

    /// A record whose JSON object is built from `fields` (strings, numbers, booleans, arrays, objects).
    public init(verb: String, fields: [String: any Sendable], body: [UInt8] = []) throws(LineError) {
        guard JSONSerialization.isValidJSONObject(fields),
            let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        else {
            throw LineError(.protocolViolation, "record fields are not JSON")
        }
        self.init(verb: verb, json: String(decoding: data, as: UTF8.self), body: body)
    }

    /// The JSON object's members.
    public var fields: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    }

    /// The bytes of this record: the line, then the body.
    public func encoded() throws(LineError) -> [UInt8] {
        try Self.checkVerb(verb)
        var line = json
        if !body.isEmpty {
            guard body.count <= Self.maximumBody else {
                throw LineError(.protocolViolation, "a body is at most \(Self.maximumBody) bytes")
            }
            let inner = json.drop { $0 != "{" }.dropFirst().drop { $0 == " " }
            line = "{\"body\":\(body.count)" + (inner.hasPrefix("}") ? "}" : "," + inner)
        }
        guard !line.contains("\n") else { throw LineError(.protocolViolation, "a record's JSON must be on one line") }
        var bytes = Array("\(verb) \(line)\n".utf8)
        guard bytes.count <= Self.maximumLine else {
            throw LineError(.protocolViolation, "a record line is at most \(Self.maximumLine) bytes")
        }
        bytes.append(contentsOf: body)
        return bytes
    }

    static func checkVerb(_ verb: String) throws(LineError) {
        let bytes = Array(verb.utf8)
        guard (1...32).contains(bytes.count), (65...90).contains(bytes[0]),
            bytes.allSatisfy({ (65...90).contains($0) || (48...57).contains($0) || $0 == 95 })
        else { throw LineError(.protocolViolation, "'\(verb.prefix(40))' is not a verb") }
    }

    public var description: String { body.isEmpty ? "\(verb) \(json)" : "\(verb) \(json) +\(body.count) bytes" }
}

/// Parses records from the decrypted byte stream, which frames may cut anywhere.
public struct RecordParser: Sendable {
    private var buffer: [UInt8] = []
    /// Bytes before `offset` are consumed; compacted lazily so parsing stays linear in the stream's size.
    private var offset = 0
    private var pendingLine: (verb: String, json: String, bodyLength: Int)?

    public init() {}

    /// Bytes held for an incomplete record.
    public var pendingCount: Int { buffer.count - offset }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if offset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        } else if offset > 1 << 16 && offset * 2 > buffer.count {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Appends `count` bytes written by `fill` (e.g. a decryption); when `fill` returns false nothing is kept.
    mutating func append(count: Int, _ fill: (UnsafeMutablePointer<UInt8>) -> Bool) -> Bool {
        append(EmptyCollection<UInt8>())
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: count))
        let filled = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.baseAddress.map { fill($0 + start) } ?? false
        }
        if !filled { buffer.removeLast(count) }
        return filled
    }

    /// The next complete record, nil when more bytes are needed.
    public mutating func next() throws(LineError) -> Record? {
        if pendingLine == nil {
            let window = buffer[offset..<min(buffer.count, offset + Record.maximumLine)]
            guard let newline = window.firstIndex(of: 10) else {
                if window.count >= Record.maximumLine {
                    throw LineError(.protocolViolation, "a record line exceeds \(Record.maximumLine) bytes")
                }
                return nil
            }
            pendingLine = try Self.parseLine(buffer[offset..<newline])
            offset = newline + 1
        }
        guard let line = pendingLine, buffer.count - offset >= line.bodyLength else { return nil }
        let body = Array(buffer[offset..<(offset + line.bodyLength)])
        offset += line.bodyLength
        pendingLine = nil
        return Record(verb: line.verb, json: Self.withoutBody(line.json), body: body)
    }

    /// `json` without its `"body"` member: a record's `json` never carries it (`encoded()` adds it from the
    /// body), so a received record sent on again cannot name it twice. Senders put `"body"` first, which is cut
    /// as text; anywhere else, the object is written again without it.
    static func withoutBody(_ json: String) -> String {
        guard json.contains("\"body\"") else { return json }
        let utf8 = Array(json.utf8)
        let prefix = Array(#"{"body":"#.utf8)
        if utf8.starts(with: prefix) {
            var end = prefix.count
            while end < utf8.count, (48...57).contains(utf8[end]) { end += 1 }
            if end < utf8.count, utf8[end] == UInt8(ascii: ",") {
                return "{" + String(decoding: utf8[(end + 1)...], as: UTF8.self)
            }
            if end < utf8.count, utf8[end] == UInt8(ascii: "}") { return "{}" }
        }
        guard var object = (try? JSONSerialization.jsonObject(with: Data(utf8))) as? [String: Any],
            object.removeValue(forKey: "body") != nil,
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        else { return json }
        return String(decoding: data, as: UTF8.self)
    }

    static func parseLine(_ line: ArraySlice<UInt8>) throws(LineError) -> (verb: String, json: String, bodyLength: Int)
    {
        guard let space = line.firstIndex(of: 32) else {
            throw LineError(.protocolViolation, "a record line needs `VERB <json>`")
        }
        guard let verb = String(validating: line[..<space], as: UTF8.self),
            let json = String(validating: line[(space + 1)...], as: UTF8.self)
        else { throw LineError(.protocolViolation, "a record line is not UTF-8") }
        try Record.checkVerb(verb)
        guard json.first == "{",
            let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        else {
            throw LineError(.protocolViolation, "a record's payload must be a JSON object")
        }
        if let name = JSONMembers.duplicate(in: json) {
            throw LineError(.protocolViolation, "a record's JSON names \"\(name.prefix(40))\" twice")
        }
        var bodyLength = 0
        if let declared = object["body"] {
            guard let number = declared as? NSNumber, let whole = Int64(exactly: number.doubleValue),
                number.stringValue.allSatisfy(\.isASCII), number.stringValue.allSatisfy(\.isNumber), whole >= 0,
                whole <= Int64(Record.maximumBody)
            else {
                throw LineError(
                    .protocolViolation, "a record's body length must be a whole number from 0 to \(Record.maximumBody)")
            }
            bodyLength = Int(whole)
        }
        return (verb, json, bodyLength)
    }
}
