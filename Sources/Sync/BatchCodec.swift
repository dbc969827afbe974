import OrderDomain
import OutpostCore
import Replica

/// The binary body of a `CHANGES` record (protocol/SPEC.md, "Change batches"):
///
/// ```
/// u8 version (1)
/// varint siteCount, then siteCount × 16 raw bytes (site ids)
/// varint rowCount, then per row:
///     u8 entity code, varint idLength, id (UTF-8),
///     varint fieldCount, per field: varint siblingCount, per sibling:
///         varint site (index into the site list), varint counter, varint hybridTime, value
/// value = 0x00 (null) | 0x01 zigzag-varint (integer) | 0x02 varint length + UTF-8 (text)
/// ```
public enum BatchCodec {
    public static let version = EncodedChangeBatch.version

    /// The body of `batch` (`EncodedChangeBatch(_:)`: the replica writes the same bytes when it streams).
    public static func encode(_ batch: ChangeBatch) throws -> [UInt8] {
        try EncodedChangeBatch(batch).body
    }

    /// Decodes a batch body; `position` and `snapshotLseq` come from the record's JSON line.
    public static func decode(_ bytes: [UInt8], position: StreamPosition, snapshotLseq: Int64) throws -> ChangeBatch {
        guard bytes.first == version else {
            throw SyncError(.protocolViolation, "unknown batch encoding \(bytes.first.map(String.init) ?? "empty")")
        }
        var offset = 1
        let siteCount = try RowCodec.readVarint(bytes, offset: &offset)
        guard siteCount <= 4096, UInt64(bytes.count - offset) >= siteCount * 16 else {
            throw SyncError(.protocolViolation, "batch site list is malformed")
        }
        var sites: [String] = []
        for _ in 0..<siteCount {
            sites.append(Hex.encode(bytes[offset..<(offset + 16)]))
            offset += 16
        }
        let rowCount = try RowCodec.readVarint(bytes, offset: &offset)
        guard rowCount <= UInt64(bytes.count) else {
            throw SyncError(.protocolViolation, "batch row count is malformed")
        }
        var rows: [RowChange] = []
        rows.reserveCapacity(Int(rowCount))
        for _ in 0..<rowCount {
            guard offset < bytes.count, let entity = Entity(code: bytes[offset]) else {
                throw SyncError(.protocolViolation, "unknown entity in batch")
            }
            offset += 1
            let idLength = try RowCodec.readVarint(bytes, offset: &offset)
            guard idLength <= 256, UInt64(bytes.count - offset) >= idLength else {
                throw SyncError(.protocolViolation, "record id is malformed")
            }
            let id = String(decoding: bytes[offset..<(offset + Int(idLength))], as: UTF8.self)
            offset += Int(idLength)
            let fields = try RowCodec.decode(bytes, offset: &offset)
            guard fields.count == entity.fields.count else {
                throw SyncError(
                    .protocolViolation,
                    "a \(entity.rawValue) record has \(fields.count) fields; schema \(Entity.schemaVersion) has \(entity.fields.count)"
                )
            }
            rows.append(RowChange(entity: entity, id: id, fields: fields))
        }
        guard offset == bytes.count else { throw SyncError(.protocolViolation, "trailing bytes after the batch") }
        return ChangeBatch(sites: sites, rows: rows, position: position, snapshotLseq: snapshotLseq)
    }
}
