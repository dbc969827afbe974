/// A Noise `CipherState` (§5.1): a key and a 64-bit nonce counter.
struct CipherState {
    private(set) var key: SecretBytes?
    private(set) var nonce: UInt64 = 0

    init(key: SecretBytes? = nil) { self.key = key }

    var hasKey: Bool { key != nil }

    /// Encrypts with associated data; without a key, returns the plaintext (handshake before any DH).
    mutating func encrypt(ad: [UInt8], plaintext: [UInt8]) throws(LineError) -> [UInt8] {
        guard let key else { return plaintext }
        guard nonce < UInt64.max else { throw LineError(.protocolViolation, "nonce space exhausted") }
        var output: [UInt8] = []
        output.reserveCapacity(plaintext.count + Primitives.tagLength)
        Primitives.encrypt(key: key, nonce: nonce, ad: ad, plaintext: plaintext, into: &output)
        nonce += 1
        return output
    }

    /// Encrypts `plaintext` (no associated data) into `destination`, which has room for it plus the tag:
    /// the transport path, with no intermediate arrays. Requires a key.
    mutating func encrypt(_ plaintext: UnsafeBufferPointer<UInt8>, into destination: UnsafeMutablePointer<UInt8>)
        throws(LineError)
    {
        guard let key else {
            throw LineError(.protocolViolation, "transport encryption before the handshake completed")
        }
        guard nonce < UInt64.max else { throw LineError(.protocolViolation, "nonce space exhausted") }
        Primitives.encrypt(key: key, nonce: nonce, plaintext: plaintext, into: destination)
        nonce += 1
    }

    /// Decrypts a transport message (no associated data) straight into `records`' buffer; the nonce advances
    /// only on success.
    mutating func decrypt(_ ciphertext: ArraySlice<UInt8>, into records: inout RecordParser) throws(LineError) {
        guard let key else {
            throw LineError(.protocolViolation, "transport decryption before the handshake completed")
        }
        guard nonce < UInt64.max else { throw LineError(.protocolViolation, "nonce space exhausted") }
        let nonce = self.nonce
        let verified =
            ciphertext.count >= Primitives.tagLength
            && records.append(count: ciphertext.count - Primitives.tagLength) { destination in
                Primitives.decrypt(key: key, nonce: nonce, ciphertext: ciphertext, into: destination)
            }
        guard verified else {
            throw LineError(
                .authenticationFailed,
                "a message failed authentication (tampered, replayed, reordered or from another session)")
        }
        self.nonce += 1
    }

    /// Decrypts and authenticates; the nonce advances only on success (Noise §5.1).
    mutating func decrypt(ad: [UInt8], ciphertext: ArraySlice<UInt8>) throws(LineError) -> [UInt8] {
        guard let key else { return Array(ciphertext) }
        guard nonce < UInt64.max else { throw LineError(.protocolViolation, "nonce space exhausted") }
        guard let plaintext = Primitives.decrypt(key: key, nonce: nonce, ad: ad, ciphertext: ciphertext) else {
            throw LineError(
                .authenticationFailed,
                "a message failed authentication (tampered, replayed, reordered or from another session)")
        }
        nonce += 1
        return plaintext
    }

    /// `REKEY()` (§4.2, §11.3): the new key is the first 32 bytes of encrypting 32 zero bytes with nonce 2^64−1.
    mutating func rekey() {
        guard let key else { return }
        var output: [UInt8] = []
        Primitives.encrypt(
            key: key, nonce: UInt64.max, ad: [], plaintext: [UInt8](repeating: 0, count: 32), into: &output)
        var next = Array(output.prefix(32))
        self.key = SecretBytes(next)
        SecretBytes.wipe(&next)
        SecretBytes.wipe(&output)
    }
}

/// A Noise `SymmetricState` (§5.2): chaining key, handshake hash, and a cipher state.
struct SymmetricState {
    private(set) var chainingKey: SecretBytes
    private(set) var hash: [UInt8]
    private(set) var cipher = CipherState()

    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        hash =
            name.count <= Primitives.hashLength
            ? name + [UInt8](repeating: 0, count: Primitives.hashLength - name.count) : Primitives.sha256(name)
        chainingKey = SecretBytes(hash, guarded: false)
    }

    mutating func mixKey(_ inputKeyMaterial: SecretBytes) {
        var material = inputKeyMaterial.copy()
        defer { SecretBytes.wipe(&material) }
        let outputs = Primitives.hkdf(chainingKey: chainingKey, inputKeyMaterial: material, outputs: 2)
        chainingKey = outputs[0]
        cipher = CipherState(key: outputs[1])
    }

    mutating func mixHash(_ data: [UInt8]) {
        hash = Primitives.sha256(hash, data)
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws(LineError) -> [UInt8] {
        let ciphertext = try cipher.encrypt(ad: hash, plaintext: plaintext)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: ArraySlice<UInt8>) throws(LineError) -> [UInt8] {
        let plaintext = try cipher.decrypt(ad: hash, ciphertext: ciphertext)
        mixHash(Array(ciphertext))
        return plaintext
    }

    /// `Split()`: the two transport cipher states (initiator→responder, responder→initiator).
    func split() -> (CipherState, CipherState) {
        // Transport keys live for the whole session: guarded memory.
        let outputs = Primitives.hkdf(chainingKey: chainingKey, inputKeyMaterial: [], outputs: 2, guarded: true)
        return (CipherState(key: outputs[0]), CipherState(key: outputs[1]))
    }
}
