import OrderDomain

/// Binary form of a record's field states, used for staged rows and (by the sync layer) on the wire:
/// `fieldCount { siblingCount { site counter hlc value } }` with unsigned LEB128 varints and values as
/// `0` (null) | `1 zigzag-varint` (integer) | `2 varint-length UTF-8` (text).
public enum RowCodec {
    /// Appends an unsigned LEB128 varint.
    public static func appendVarint(_ value: UInt64, to out: inout [UInt8]) { Varint.append(value, to: &out) }

    /// Reads an unsigned LEB128 varint at `offset`, advancing it.
    public static func readVarint(_ bytes: [UInt8], offset: inout Int) throws -> UInt64 {
        var reader = Varint.Reader(bytes)
        reader.offset = offset
        let value = try reader.next()
        offset = reader.offset
        return value
    }

    /// Appends `fields` to `out`.
    public static func encode(_ fields: [FieldState], into out: inout [UInt8]) {
        Varint.append(UInt64(fields.count), to: &out)
        for field in fields {
            Varint.append(UInt64(field.siblings.count), to: &out)
            for sibling in field.siblings {
                Varint.append(UInt64(sibling.dot.site), to: &out)
                Varint.append(sibling.dot.counter, to: &out)
                Varint.append(sibling.time.rawValue, to: &out)
                switch sibling.value {
                case .null: out.append(0)
                case .integer(let value):
                    out.append(1)
                    Varint.append(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &out)
                case .text(let text):
                    out.append(2)
                    Varint.append(UInt64(text.utf8.count), to: &out)
                    out.append(contentsOf: text.utf8)
                }
            }
        }
    }

    /// Decodes fields encoded by `encode`, refusing anything malformed (counts are bounded before use).
    public static func decode(_ bytes: [UInt8]) throws -> [FieldState] {
        var offset = 0
        return try decode(bytes, offset: &offset)
    }

    /// Decodes fields starting at `offset`, advancing it past them.
    public static func decode(_ bytes: [UInt8], offset: inout Int) throws -> [FieldState] {
        var reader = Varint.Reader(bytes)
        reader.offset = offset
        defer { offset = reader.offset }
        let count = try reader.next()
        guard count <= 64 else { throw ReplicaError(.protocolViolation, "a record claims \(count) fields") }
        var fields: [FieldState] = []
        fields.reserveCapacity(Int(count))
        for _ in 0..<count {
            let siblingCount = try reader.next()
            guard siblingCount <= 1024 else {
                throw ReplicaError(.protocolViolation, "a field claims \(siblingCount) siblings")
            }
            // One sibling (almost every field) is read into its state directly, without an array.
            var siblings: [Sibling] = []
            var only: Sibling?
            for _ in 0..<siblingCount {
                let site = try reader.next()
                let counter = try reader.next()
                let time = try reader.next()
                guard site <= UInt64(UInt32.max), reader.offset < bytes.count else {
                    throw ReplicaError(.protocolViolation, "malformed sibling")
                }
                let tag = bytes[reader.offset]
                reader.offset += 1
                let value: FieldValue
                switch tag {
                case 0: value = .null
                case 1:
                    let raw = try reader.next()
                    value = .integer(Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
                case 2:
                    let length = try reader.next()
                    guard length <= UInt64(bytes.count - reader.offset) else {
                        throw ReplicaError(.protocolViolation, "text runs past the end of the record")
                    }
                    let end = reader.offset + Int(length)
                    value = .text(String(decoding: bytes[reader.offset..<end], as: UTF8.self))
                    reader.offset = end
                default: throw ReplicaError(.protocolViolation, "unknown value tag \(tag)")
                }
                let sibling = Sibling(
                    value: value, dot: Dot(site: UInt32(site), counter: counter), time: HybridTime(rawValue: time))
                if siblingCount == 1 { only = sibling } else { siblings.append(sibling) }
            }
            fields.append(only.map(FieldState.init(only:)) ?? FieldState(siblings: siblings))
        }
        return fields
    }
}
