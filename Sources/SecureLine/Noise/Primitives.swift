import CSodium

/// The primitives of `Noise_IK_25519_ChaChaPoly_SHA256` over libsodium 1.0.18 (Noise spec rev. 34, §4–5).
enum Primitives {
    static let dhLength = 32
    static let hashLength = 32
    static let tagLength = 16

    /// X25519 public key of a private key.
    static func publicKey(of secret: SecretBytes) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        _ = crypto_scalarmult_base(&output, secret.pointer)
        return output
    }

    /// X25519; nil for a low-order or all-zero public key (libsodium reports an all-zero shared secret),
    /// which the handshake treats as a failure (Noise §12.1 permits it; we always reject).
    static func dh(_ secret: SecretBytes, _ publicKey: [UInt8]) -> SecretBytes? {
        guard publicKey.count == 32 else { return nil }
        var shared = [UInt8](repeating: 0, count: 32)
        let status = crypto_scalarmult(&shared, secret.pointer, publicKey)
        defer { SecretBytes.wipe(&shared) }
        return status == 0 ? SecretBytes(shared, guarded: false) : nil
    }

    static func sha256(_ parts: [UInt8]...) -> [UInt8] {
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        for part in parts { crypto_hash_sha256_update(&state, part, UInt64(part.count)) }
        var output = [UInt8](repeating: 0, count: 32)
        crypto_hash_sha256_final(&state, &output)
        return output
    }

    /// HMAC-SHA256 (libsodium's multi-part API accepts keys of any length).
    static func hmac(key: UnsafePointer<UInt8>, keyLength: Int, _ parts: [UInt8]...) -> [UInt8] {
        var state = crypto_auth_hmacsha256_state()
        crypto_auth_hmacsha256_init(&state, key, keyLength)
        for part in parts { crypto_auth_hmacsha256_update(&state, part, UInt64(part.count)) }
        var output = [UInt8](repeating: 0, count: 32)
        crypto_auth_hmacsha256_final(&state, &output)
        return output
    }

    /// HKDF as Noise defines it (§4.3): `outputs` (2 or 3) keys from a chaining key and input key material.
    /// - Parameter guarded: put the outputs in `sodium_malloc` memory (for keys that outlive the handshake).
    static func hkdf(chainingKey: SecretBytes, inputKeyMaterial: [UInt8], outputs: Int, guarded: Bool = false)
        -> [SecretBytes]
    {
        var temp = hmac(key: chainingKey.pointer, keyLength: chainingKey.count, inputKeyMaterial)
        let tempKey = SecretBytes(temp, guarded: false)
        SecretBytes.wipe(&temp)
        var results: [SecretBytes] = []
        var previous: [UInt8] = []
        for index in 1...outputs {
            var next = hmac(key: tempKey.pointer, keyLength: tempKey.count, previous, [UInt8(index)])
            results.append(SecretBytes(next, guarded: guarded))
            SecretBytes.wipe(&previous)
            previous = next
            SecretBytes.wipe(&next)
        }
        SecretBytes.wipe(&previous)
        return results
    }

    /// The 96-bit ChaChaPoly nonce: 32 zero bits, then the 64-bit counter little-endian (Noise §5.1).
    static func nonce(_ counter: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[4 + index] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(index))) }
        return bytes
    }

    /// Appends the ciphertext and tag of `plaintext` to `output`.
    static func encrypt(
        key: SecretBytes, nonce counter: UInt64, ad: [UInt8], plaintext: [UInt8], into output: inout [UInt8]
    ) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: plaintext.count + tagLength))
        var length: UInt64 = 0
        let nonce = nonce(counter)
        output.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            _ = crypto_aead_chacha20poly1305_ietf_encrypt(
                base + start, &length, plaintext, UInt64(plaintext.count), ad, UInt64(ad.count), nil, nonce, key.pointer
            )
        }
    }

    /// Encrypts `plaintext` (no associated data) into `destination` (room for it plus the tag).
    static func encrypt(
        key: SecretBytes, nonce counter: UInt64, plaintext: UnsafeBufferPointer<UInt8>,
        into destination: UnsafeMutablePointer<UInt8>
    ) {
        var length: UInt64 = 0
        let nonce = nonce(counter)
        _ = crypto_aead_chacha20poly1305_ietf_encrypt(
            destination, &length, plaintext.baseAddress, UInt64(plaintext.count), nil, 0, nil, nonce, key.pointer)
    }

    /// Decrypts and authenticates `ciphertext` (no associated data) into `destination` (room for the
    /// plaintext); false when the tag does not verify.
    static func decrypt(
        key: SecretBytes, nonce counter: UInt64, ciphertext: ArraySlice<UInt8>,
        into destination: UnsafeMutablePointer<UInt8>
    ) -> Bool {
        guard ciphertext.count >= tagLength else { return false }
        var length: UInt64 = 0
        let nonce = nonce(counter)
        return ciphertext.withUnsafeBufferPointer { input in
            guard let source = input.baseAddress else { return false }
            return crypto_aead_chacha20poly1305_ietf_decrypt(
                destination, &length, nil, source, UInt64(input.count), nil, 0, nonce, key.pointer) == 0
        }
    }

    /// Decrypts and authenticates; nil when the tag does not verify.
    static func decrypt(key: SecretBytes, nonce counter: UInt64, ad: [UInt8], ciphertext: ArraySlice<UInt8>) -> [UInt8]?
    {
        guard ciphertext.count >= tagLength else { return nil }
        var output = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var length: UInt64 = 0
        let nonce = nonce(counter)
        let status = ciphertext.withUnsafeBufferPointer { input -> Int32 in
            guard let source = input.baseAddress else { return -1 }
            return output.withUnsafeMutableBufferPointer { buffer in
                crypto_aead_chacha20poly1305_ietf_decrypt(
                    buffer.baseAddress, &length, nil, source, UInt64(input.count), ad, UInt64(ad.count), nonce,
                    key.pointer)
            }
        }
        return status == 0 ? output : nil
    }
}
