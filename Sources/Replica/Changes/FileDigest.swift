import CSodium
import Foundation
import OutpostCore

/// BLAKE2b-256 (libsodium's `crypto_generichash`) of a byte stream, fed in pieces: the digest a file snapshot is
/// announced with and checked against once assembled (protocol/SPEC.md §10.1).
final class FileDigest {
    /// libsodium's hashing state (a 64-byte-aligned struct that Swift sees as opaque).
    private let state: UnsafeMutableRawPointer
    private static let ready: Bool = sodium_init() >= 0

    init() {
        _ = Self.ready
        state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        crypto_generichash_init(OpaquePointer(state), nil, 0, 32)
    }

    deinit { state.deallocate() }

    /// Feeds the next bytes.
    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        crypto_generichash_update(OpaquePointer(state), base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    /// Feeds the next bytes.
    func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest, as lowercase hex (call once).
    func finish() -> String {
        var output = [UInt8](repeating: 0, count: 32)
        crypto_generichash_final(OpaquePointer(state), &output, 32)
        return Hex.encode(output)
    }

    /// The digest of the first `bytes` bytes of the file at `path` (all of it when nil).
    static func of(file path: String, bytes: Int? = nil) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ReplicaError(.unavailable, "cannot read \(path) to check its digest")
        }
        defer { try? handle.close() }
        let digest = FileDigest()
        var remaining = bytes ?? Int.max
        while remaining > 0 {
            guard let data = try handle.read(upToCount: min(remaining, 1 << 20)), !data.isEmpty else { break }
            data.withUnsafeBytes { digest.update($0) }
            remaining -= data.count
        }
        return digest.finish()
    }
}
