/// Splits a TCP byte stream into frames: a 4-byte big-endian length `L` (1 ≤ L ≤ 65535), then `L` bytes
/// (one Noise message). The length is checked as soon as its four bytes arrive, before any allocation.
public struct FrameDecoder: Sendable {
    /// The largest frame body: a Noise message is at most 65535 bytes (Noise §3).
    public static let maximumFrame = 65535

    private var buffer: [UInt8] = []
    private var offset = 0

    public init() {}

    /// Bytes received but not yet returned as a frame.
    public var pendingCount: Int { buffer.count - offset }

    /// Adds received bytes.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if offset > 0 && offset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        } else if offset > 65536 && offset * 2 > buffer.count {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame body, nil when more bytes are needed.
    /// - Throws: `LineError.Code.protocolViolation` for a length of 0 or above 65535.
    public mutating func next() throws(LineError) -> ArraySlice<UInt8>? {
        guard buffer.count - offset >= 4 else { return nil }
        let length =
            Int(buffer[offset]) << 24 | Int(buffer[offset + 1]) << 16 | Int(buffer[offset + 2]) << 8
            | Int(buffer[offset + 3])
        guard length >= 1, length <= Self.maximumFrame else {
            throw LineError(.protocolViolation, "frame length \(length) is outside 1…\(Self.maximumFrame)")
        }
        guard buffer.count - offset >= 4 + length else { return nil }
        let frame = buffer[(offset + 4)..<(offset + 4 + length)]
        offset += 4 + length
        return frame
    }

    /// Appends a frame header and `body` to `output`.
    public static func frame(_ body: [UInt8], into output: inout [UInt8]) {
        let length = UInt32(body.count)
        output.append(contentsOf: [
            UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
            UInt8(truncatingIfNeeded: length),
        ])
        output.append(contentsOf: body)
    }
}
