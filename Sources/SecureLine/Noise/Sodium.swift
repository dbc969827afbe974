import CSodium

/// libsodium, initialised once per process (`sodium_init` is idempotent and thread-safe).
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    /// Fills `count` bytes from libsodium's CSPRNG.
    static func random(_ count: Int) -> [UInt8] {
        precondition(ready, "libsodium failed to initialise")
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return bytes
    }
}

/// Secret bytes, always wiped when freed. Long-lived secrets (static private keys, transport keys) live in
/// `sodium_malloc` memory (guard pages, locked against swapping where the OS allows); the handshake's
/// short-lived intermediates (DH outputs, chaining and temporary keys) use ordinary heap memory that is wiped
/// on release, because `sodium_malloc` costs several system calls per allocation and dominated the
/// handshake's CPU time.
final class SecretBytes: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<UInt8>
    private let guarded: Bool

    /// Copies `bytes` into secret memory (`guarded`: `sodium_malloc`). Callers should wipe their own copy.
    init(_ bytes: [UInt8], guarded: Bool = true) {
        precondition(Sodium.ready, "libsodium failed to initialise")
        count = bytes.count
        self.guarded = guarded
        if guarded {
            guard let memory = sodium_malloc(max(1, bytes.count)) else {
                // sodium_malloc fails only when the process is out of memory.
                fatalError("sodium_malloc failed: out of memory")
            }
            pointer = memory.bindMemory(to: UInt8.self, capacity: max(1, bytes.count))
        } else {
            pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
        }
        pointer.update(from: bytes, count: bytes.count)
    }

    /// Random secret bytes.
    convenience init(random count: Int) {
        var bytes = Sodium.random(count)
        self.init(bytes)
        Self.wipe(&bytes)
    }

    deinit {
        if guarded {
            sodium_free(pointer)
        } else {
            sodium_memzero(pointer, max(1, count))
            pointer.deallocate()
        }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }

    /// A copy as an array (for tests and key files); wipe it after use.
    func copy() -> [UInt8] { Array(bytes) }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { sodium_memzero(base, buffer.count) }
        }
    }
}
