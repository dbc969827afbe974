import Testing

@testable import Replica

/// The unsigned LEB128 reader behind the `dots` column, staged rows and the wire: one byte form per value.
@Suite struct VarintTests {
    static let shortest: [(UInt64, [UInt8])] = [
        (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
        (UInt64(UInt32.max), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        (1 << 63, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
        (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ]

    static let malformed: [([UInt8], String)] = [
        ([], "truncated"),
        ([0x80], "truncated"),
        ([0xFF, 0xFF], "truncated"),
        ([0x80, 0x00], "overlong"),
        ([0xFF, 0x80, 0x00], "overlong"),
        ([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], "overlong"),
        ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], "exceeds 64 bits"),
        ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "exceeds 64 bits"),
        ([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00], "longer than 10 bytes"),
    ]

    @Test(arguments: shortest)
    func valuesRoundTripThroughTheirShortestForm(value: UInt64, bytes: [UInt8]) throws {
        var encoded: [UInt8] = []
        Varint.append(value, to: &encoded)
        #expect(encoded == bytes)
        var reader = Varint.Reader(bytes + [0x2A])
        #expect(try reader.next() == value)
        #expect(reader.offset == bytes.count, "the reader stops after the varint")
    }

    @Test(arguments: malformed)
    func malformedInputIsRefusedByName(bytes: [UInt8], problem: String) {
        var reader = Varint.Reader(bytes)
        let error = #expect(throws: ReplicaError.self) { try reader.next() }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "no error") should say \(problem)")
    }
}
