import OrderDomain

/// The compact per-row field metadata stored in each replicated row's `dots` BLOB (Replica.docc, "Storing
/// dots"): fields written by the same transaction share one group, so a row written once costs one group.
///
/// Layout (all integers unsigned LEB128 varints):
/// `siblingMask groupCount { site counter hlc fieldMask }*`
/// - `fieldMask` bit *i* = field index *i* (`Entity.fields`) was last written by this group's dot;
/// - `siblingMask` bit *i* = field *i* holds several siblings, all of them in the `siblings` table
///   (then the group entry for *i*, if any, is ignored).
struct RowDots: Equatable, Sendable {
    struct Group: Equatable, Sendable {
        var dot: Dot
        var time: HybridTime
        var fields: UInt64
    }

    var siblingMask: UInt64 = 0
    var groups: [Group] = []

    /// The dot and time that wrote field `index` (when it holds a single sibling).
    func writer(of index: Int) -> Group? {
        let bit = UInt64(1) << UInt64(index)
        return groups.first { $0.fields & bit != 0 }
    }

    /// Records that `dot` wrote the fields in `mask`, removing them from other groups and the sibling mask.
    mutating func assign(_ mask: UInt64, to dot: Dot, time: HybridTime) {
        for index in groups.indices { groups[index].fields &= ~mask }
        groups.removeAll { $0.fields == 0 }
        siblingMask &= ~mask
        if let index = groups.firstIndex(where: { $0.dot == dot }) {
            groups[index].fields |= mask
        } else {
            groups.append(Group(dot: dot, time: time, fields: mask))
        }
    }

    /// Marks the fields in `mask` as multi-sibling (kept in the side table).
    mutating func markSiblings(_ mask: UInt64) {
        for index in groups.indices { groups[index].fields &= ~mask }
        groups.removeAll { $0.fields == 0 }
        siblingMask |= mask
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2 + groups.count * 14)
        Varint.append(siblingMask, to: &out)
        Varint.append(UInt64(groups.count), to: &out)
        for group in groups {
            Varint.append(UInt64(group.dot.site), to: &out)
            Varint.append(group.dot.counter, to: &out)
            Varint.append(group.time.rawValue, to: &out)
            Varint.append(group.fields, to: &out)
        }
        return out
    }

    init() {}

    init(decoding bytes: [UInt8]) throws(ReplicaError) {
        var reader = Varint.Reader(bytes)
        siblingMask = try reader.next()
        let count = try reader.next()
        guard count <= 64 else { throw ReplicaError.corrupt("dots blob has \(count) groups") }
        for _ in 0..<count {
            let site = try reader.next()
            let counter = try reader.next()
            let time = try reader.next()
            let fields = try reader.next()
            guard site <= UInt64(UInt32.max) else { throw ReplicaError.corrupt("dots blob site out of range") }
            groups.append(
                Group(dot: Dot(site: UInt32(site), counter: counter), time: HybridTime(rawValue: time), fields: fields))
        }
    }
}

/// Unsigned LEB128 varints.
enum Varint {
    static func append(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { offset >= bytes.count }

        /// Reads one unsigned LEB128 varint. Only the shortest encoding of a value is accepted (protocol/SPEC.md,
        /// "Change batches"), so every value has exactly one byte form; a tenth byte may only hold bit 63.
        mutating func next() throws(ReplicaError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            let start = offset
            while offset < bytes.count {
                let byte = bytes[offset]
                offset += 1
                let payload = UInt64(byte & 0x7F)
                guard shift < 63 || payload <= 1 else {
                    throw ReplicaError.corrupt("a varint at byte \(start) exceeds 64 bits")
                }
                result |= payload << shift
                if byte & 0x80 == 0 {
                    guard byte != 0 || shift == 0 else {
                        throw ReplicaError.corrupt("a varint at byte \(start) is overlong (it ends in a zero byte)")
                    }
                    return result
                }
                shift += 7
                guard shift <= 63 else {
                    throw ReplicaError.corrupt("a varint at byte \(start) is longer than 10 bytes")
                }
            }
            throw ReplicaError.corrupt("a varint at byte \(start) is truncated")
        }
    }
}
