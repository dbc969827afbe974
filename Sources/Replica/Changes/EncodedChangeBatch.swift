import GRDBSQLite
import OrderDomain
import OutpostCore

/// A batch of a change stream in its wire form, the body of a `CHANGES` record (protocol/SPEC.md, "Change
/// batches"): what a sender ships, with the counts its session reports.
public struct EncodedChangeBatch: Hashable, Sendable {
    /// The wire form's version, its first byte.
    public static let version: UInt8 = 1

    /// The `CHANGES` body: version, site list, records.
    public var body: [UInt8]
    /// Records in the batch.
    public var rowCount: Int
    /// Field states carried (each field of each record counts once), as `ChangeBatch.fieldCount`.
    public var fieldCount: Int
    /// The position after the batch's last record.
    public var position: StreamPosition
    /// The sender's local change sequence when its read snapshot was taken.
    public var snapshotLseq: Int64

    /// The wire form of `batch`.
    ///
    /// - Throws: `ReplicaError(.protocolViolation)` when a site of the batch is not a site id (32 lower-case hex
    ///   digits).
    public init(_ batch: ChangeBatch) throws {
        var records: [UInt8] = []
        for row in batch.rows {
            Self.appendRecordStart(row.entity, id: row.id, to: &records)
            RowCodec.encode(row.fields, into: &records)
        }
        body = try Self.body(sites: batch.sites, rowCount: batch.rows.count, records: records)
        rowCount = batch.rows.count
        fieldCount = batch.fieldCount
        position = batch.position
        snapshotLseq = batch.snapshotLseq
    }

    init(body: [UInt8], rowCount: Int, fieldCount: Int, position: StreamPosition, snapshotLseq: Int64) {
        self.body = body
        self.rowCount = rowCount
        self.fieldCount = fieldCount
        self.position = position
        self.snapshotLseq = snapshotLseq
    }

    /// The 16 bytes of a site id.
    ///
    /// - Throws: `ReplicaError(.protocolViolation)` when `site` is not 32 lower-case hex digits.
    public static func siteBytes(_ site: String) throws -> [UInt8] {
        guard Hex.isLowercase(site, bytes: 16), let bytes = Hex.decode(site) else {
            throw ReplicaError(.protocolViolation, "'\(site)' is not a site id")
        }
        return bytes
    }

    /// A body from its site list and its records, already encoded.
    static func body(sites: [String], rowCount: Int, records: [UInt8]) throws -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(records.count + 21 + sites.count * 16)
        body.append(version)
        Varint.append(UInt64(sites.count), to: &body)
        for site in sites { body += try siteBytes(site) }
        Varint.append(UInt64(rowCount), to: &body)
        body += records
        return body
    }

    /// A record's entity code and id; its fields follow.
    static func appendRecordStart(_ entity: Entity, id: String, to out: inout [UInt8]) {
        out.append(entity.code)
        Varint.append(UInt64(id.utf8.count), to: &out)
        out.append(contentsOf: id.utf8)
    }
}

/// Appends the stored column `column` of a statement's current row as a wire value (protocol/SPEC.md, "Change
/// batches"), as `RowCodec.encode` writes the `FieldValue` that `Statement.fieldValue` reads from it.
func appendWireValue(_ handle: OpaquePointer, _ column: CInt, to out: inout [UInt8]) {
    switch sqlite3_column_type(handle, column) {
    case SQLITE_NULL: out.append(0)
    case SQLITE_INTEGER: appendWireInteger(sqlite3_column_int64(handle, column), to: &out)
    case SQLITE_FLOAT:
        appendWireInteger(Int64(exactly: sqlite3_column_double(handle, column).rounded()) ?? 0, to: &out)
    default:
        out.append(2)
        appendWireText(handle, column, to: &out)
    }
}

private func appendWireInteger(_ value: Int64, to out: inout [UInt8]) {
    out.append(1)
    Varint.append(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &out)
}

/// Appends column `column`'s text (a blob's bytes too) as a varint length and its UTF-8 bytes. Bytes that are not
/// UTF-8 are repaired as `String(decoding:as:)` repairs them, so the bytes sent are those of the value a
/// `FieldState` would hold; ASCII, nearly all of it, is copied as it is.
func appendWireText(_ handle: OpaquePointer, _ column: CInt, to out: inout [UInt8]) {
    guard let start = sqlite3_column_text(handle, column) else {
        out.append(0)
        return
    }
    let bytes = UnsafeBufferPointer(start: start, count: Int(sqlite3_column_bytes(handle, column)))
    if bytes.allSatisfy({ $0 < 0x80 }) {
        Varint.append(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    } else {
        let text = String(decoding: bytes, as: UTF8.self)
        Varint.append(UInt64(text.utf8.count), to: &out)
        out.append(contentsOf: text.utf8)
    }
}
