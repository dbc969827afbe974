/// An X25519 key pair; the private half lives in `sodium_malloc` memory.
public struct KeyPair: Sendable {
    let secret: SecretBytes
    /// The 32-byte public key.
    public let publicKey: [UInt8]

    /// Wraps a 32-byte private key. The caller should wipe its copy.
    public init(privateKey: [UInt8]) throws(LineError) {
        guard privateKey.count == 32 else {
            throw LineError(.badKey, "a private key is 32 bytes, not \(privateKey.count)")
        }
        secret = SecretBytes(privateKey)
        publicKey = Primitives.publicKey(of: secret)
    }

    /// A fresh random key pair.
    public static func generate() -> KeyPair { generate(guarded: true) }

    /// A fresh key pair; `guarded: false` for a handshake's ephemeral key, which lives a few microseconds.
    static func generate(guarded: Bool) -> KeyPair {
        var bytes = Sodium.random(32)
        defer { SecretBytes.wipe(&bytes) }
        return KeyPair(secret: SecretBytes(bytes, guarded: guarded))
    }

    private init(secret: SecretBytes) {
        self.secret = secret
        publicKey = Primitives.publicKey(of: secret)
    }

    /// A copy of the private key (for writing key files); wipe it after use.
    func privateKeyCopy() -> [UInt8] { secret.copy() }
}
