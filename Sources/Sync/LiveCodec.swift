import OrderDomain
import OutpostCore
import Replica

/// The binary body of a `LIVE` record (protocol/SPEC.md §15, "Live deltas"): a small complete stream, written
/// against what both sides already agreed in this live phase, one table per direction:
///
/// ```
/// varint newSites, newSites × 16 raw bytes        appended to the direction's site table
/// varint entries, per entry: varint site, varint counter
///                                                 vector entries that rose since the previous delta
/// varint snapshotDelta                            change sequence minus the previous delta's
/// varint rows, per row:
///     varint ref                                  0: a new row follows (u8 entity, varint idLength, id), which
///                                                 takes the next row ordinal while the table holds < 65,536;
///                                                 n > 0: the row with ordinal n − 1
///     varint fields, per field: varint index, varint siblings, per sibling:
///         varint site, varint (vector[site] − counter), zigzag-varint (time − previous time in this direction),
///         value                                   vector: as updated by this delta (it covers every dot)
/// value = 0x00 (null) | 0x01 zigzag-varint (integer) | 0x02 varint length + UTF-8 (text)
/// ```
///
/// Every table starts empty (previous vector empty, previous change sequence and time 0) when the live phase
/// begins. The encoder and decoder of one direction hold the same tables; a delta that does not decode
/// against them is a protocol violation.
struct LiveCodec {
    /// Row ordinals a direction assigns at most.
    static let rowTableLimit = 65_536

    private var siteIndex: [String: Int] = [:]
    private var sites: [String] = []
    private var rowIndex: [RowKey: Int] = [:]
    private var rows: [RowKey] = []
    private var vector: [String: UInt64] = [:]
    private var snapshotLseq: Int64 = 0
    private var time: UInt64 = 0

    struct RowKey: Hashable {
        var entity: Entity
        var id: String
    }

    // MARK: Encoding

    /// The change sequence of the last delta this direction encoded or decoded.
    var lastSnapshot: Int64 { snapshotLseq }

    /// The body for `delta`; advances this direction's tables. `rose`, when given, names every vector entry that
    /// may have risen since the previous delta (the others are not compared).
    mutating func encode(_ delta: LiveDelta, rose: Set<String>? = nil) throws -> [UInt8] {
        // Sites named by the vector or a dot, not yet in the table.
        var newSites: [String] = []
        func announce(_ site: String) {
            guard siteIndex[site] == nil else { return }
            siteIndex[site] = sites.count
            sites.append(site)
            newSites.append(site)
        }
        // Only new sites are sorted (a hub's vector names every terminal; a delta adds one at most).
        let candidates = rose.map { Array($0) } ?? Array(delta.end.vector.keys)
        for site in candidates.filter({ siteIndex[$0] == nil && delta.end.vector[$0] != nil }).sorted() {
            announce(site)
        }
        for row in delta.rows {
            for field in row.fields {
                for sibling in field.state.siblings where Int(sibling.dot.site) < delta.sites.count {
                    announce(delta.sites[Int(sibling.dot.site)])
                }
            }
        }
        var out: [UInt8] = []
        RowCodec.appendVarint(UInt64(newSites.count), to: &out)
        for site in newSites { out += try EncodedChangeBatch.siteBytes(site) }

        let risen = candidates.compactMap { site -> (String, UInt64)? in
            guard let counter = delta.end.vector[site], counter > vector[site] ?? 0 else { return nil }
            return (site, counter)
        }.sorted { $0.0 < $1.0 }
        RowCodec.appendVarint(UInt64(risen.count), to: &out)
        for (site, counter) in risen {
            RowCodec.appendVarint(UInt64(siteIndex[site] ?? 0), to: &out)
            RowCodec.appendVarint(counter, to: &out)
            vector[site] = counter
        }
        guard delta.end.snapshotLseq >= snapshotLseq else {
            throw SyncError(.protocolViolation, "a live delta's change sequence went backwards")
        }
        RowCodec.appendVarint(UInt64(delta.end.snapshotLseq - snapshotLseq), to: &out)
        snapshotLseq = delta.end.snapshotLseq

        RowCodec.appendVarint(UInt64(delta.rows.count), to: &out)
        for row in delta.rows {
            let key = RowKey(entity: row.entity, id: row.id)
            if let ordinal = rowIndex[key] {
                RowCodec.appendVarint(UInt64(ordinal + 1), to: &out)
            } else {
                out.append(0)
                out.append(row.entity.code)
                let id = Array(row.id.utf8)
                RowCodec.appendVarint(UInt64(id.count), to: &out)
                out += id
                if rows.count < Self.rowTableLimit {
                    rowIndex[key] = rows.count
                    rows.append(key)
                }
            }
            RowCodec.appendVarint(UInt64(row.fields.count), to: &out)
            for field in row.fields {
                RowCodec.appendVarint(UInt64(field.index), to: &out)
                RowCodec.appendVarint(UInt64(field.state.siblings.count), to: &out)
                for sibling in field.state.siblings {
                    guard Int(sibling.dot.site) < delta.sites.count,
                        let site = siteIndex[delta.sites[Int(sibling.dot.site)]]
                    else { throw SyncError(.protocolViolation, "a live delta names a site it does not list") }
                    let name = delta.sites[Int(sibling.dot.site)]
                    guard let covered = vector[name], covered >= sibling.dot.counter else {
                        throw SyncError(.protocolViolation, "a live delta holds a write its vector does not cover")
                    }
                    RowCodec.appendVarint(UInt64(site), to: &out)
                    RowCodec.appendVarint(covered - sibling.dot.counter, to: &out)
                    let step = Int64(bitPattern: sibling.time.rawValue &- time)
                    RowCodec.appendVarint(UInt64(bitPattern: (step << 1) ^ (step >> 63)), to: &out)
                    time = sibling.time.rawValue
                    Self.append(sibling.value, to: &out)
                }
            }
        }
        return out
    }

    private static func append(_ value: FieldValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(0)
        case .integer(let integer):
            out.append(1)
            RowCodec.appendVarint(UInt64(bitPattern: (integer << 1) ^ (integer >> 63)), to: &out)
        case .text(let text):
            out.append(2)
            let bytes = Array(text.utf8)
            RowCodec.appendVarint(UInt64(bytes.count), to: &out)
            out += bytes
        }
    }

    // MARK: Decoding

    /// The delta a body carries from `sender`; advances this direction's tables.
    ///
    /// - Throws: `SyncError(.protocolViolation)` for anything that does not decode against the tables.
    mutating func decode(_ bytes: [UInt8], sender: String) throws -> LiveDelta {
        var reader = Reader(bytes: bytes)
        let newSites = try reader.count(limit: 4096, "site count")
        for _ in 0..<newSites {
            let site = Hex.encode(try reader.take(16))
            guard siteIndex[site] == nil else { throw reader.violation("site \(site) announced twice") }
            siteIndex[site] = sites.count
            sites.append(site)
        }
        let entries = try reader.count(limit: sites.count, "vector entry count")
        for _ in 0..<entries {
            let site = try reader.index(below: sites.count, "vector site")
            let counter = try reader.varint()
            guard counter > vector[sites[site]] ?? 0 else { throw reader.violation("a vector entry that did not rise") }
            vector[sites[site]] = counter
        }
        let step = try reader.varint()
        guard step <= UInt64(Int64.max - snapshotLseq) else { throw reader.violation("change sequence overflows") }
        snapshotLseq += Int64(step)

        let rowCount = try reader.count(limit: bytes.count, "row count")
        var decoded: [RowDelta] = []
        decoded.reserveCapacity(rowCount)
        for _ in 0..<rowCount {
            let ref = try reader.varint()
            let key: RowKey
            if ref == 0 {
                guard let entity = Entity(code: try reader.byte()) else { throw reader.violation("unknown entity") }
                let length = try reader.count(limit: 256, "id length")
                key = RowKey(entity: entity, id: String(decoding: try reader.take(length), as: UTF8.self))
                if rows.count < Self.rowTableLimit, rowIndex[key] == nil {
                    rowIndex[key] = rows.count
                    rows.append(key)
                }
            } else {
                guard ref <= UInt64(rows.count) else { throw reader.violation("row ordinal \(ref - 1) is unknown") }
                key = rows[Int(ref - 1)]
            }
            let fieldCount = try reader.count(limit: key.entity.fields.count, "field count")
            var fields: [FieldChange] = []
            for _ in 0..<fieldCount {
                let index = try reader.index(below: key.entity.fields.count, "field index")
                let siblingCount = try reader.count(limit: 1024, "sibling count")
                var siblings: [Sibling] = []
                for _ in 0..<siblingCount {
                    let site = try reader.index(below: sites.count, "dot site")
                    let behind = try reader.varint()
                    guard let covered = vector[sites[site]], behind < covered else {
                        throw reader.violation("a dot its vector does not cover")
                    }
                    let counter = covered - behind
                    let raw = try reader.varint()
                    time = time &+ UInt64(bitPattern: Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
                    siblings.append(
                        Sibling(
                            value: try reader.value(), dot: Dot(site: UInt32(site), counter: counter),
                            time: HybridTime(rawValue: time)))
                }
                fields.append(FieldChange(index: index, state: FieldState(siblings: siblings)))
            }
            decoded.append(RowDelta(entity: key.entity, id: key.id, fields: fields))
        }
        guard reader.offset == bytes.count else { throw reader.violation("trailing bytes") }
        return LiveDelta(
            sites: sites, rows: decoded, end: StreamEnd(sender: sender, vector: vector, snapshotLseq: snapshotLseq))
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        func violation(_ what: String) -> SyncError {
            SyncError(.protocolViolation, "a LIVE delta is malformed: \(what)")
        }

        mutating func varint() throws -> UInt64 {
            do {
                return try RowCodec.readVarint(bytes, offset: &offset)
            } catch {
                throw violation("a number is cut or too long")
            }
        }

        mutating func count(limit: Int, _ what: String) throws -> Int {
            let value = try varint()
            guard value <= UInt64(limit) else { throw violation("\(what) \(value) is above \(limit)") }
            return Int(value)
        }

        mutating func index(below bound: Int, _ what: String) throws -> Int {
            let value = try varint()
            guard value < UInt64(bound) else { throw violation("\(what) \(value) is out of range") }
            return Int(value)
        }

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw violation("cut short") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count <= bytes.count - offset else { throw violation("cut short") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func value() throws -> FieldValue {
            switch try byte() {
            case 0: return .null
            case 1:
                let raw = try varint()
                return .integer(Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
            case 2:
                let length = try count(limit: bytes.count, "text length")
                return .text(String(decoding: try take(length), as: UTF8.self))
            default: throw violation("unknown value tag")
            }
        }
    }
}
