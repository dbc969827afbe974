import Foundation
import OutpostCore

extension Array where Element == UInt8 {
    /// The bytes of a hex string from a vector file (empty when it is not hex, which fails the comparison).
    init(hex: String) { self = Hex.decode(hex) ?? [] }

    var hex: String { Hex.encode(self) }
}

/// protocol/vectors/, found from this file's location.
func vectorURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("protocol/vectors/\(name)")
}
