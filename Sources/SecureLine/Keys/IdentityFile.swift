import CSodium
import Foundation

/// A device's identity key on disk: a small JSON document, created with mode 0600, optionally sealed with a
/// passphrase (Argon2id via `crypto_pwhash`, then `crypto_secretbox`). Format: protocol/SPEC.md, "Key files".
public enum IdentityFile {
    static let format = "outpost-identity/1"

    /// Creates a new identity file at `path` (refusing to overwrite) and returns its key pair.
    public static func create(at path: String, passphrase: String? = nil) throws(LineError) -> KeyPair {
        let pair = KeyPair.generate()
        var privateKey = pair.privateKeyCopy()
        defer { SecretBytes.wipe(&privateKey) }
        var document: [String: Any] = ["format": format, "public_key": KeyText.publicKey(pair.publicKey)]
        if let passphrase {
            let salt = Sodium.random(Int(crypto_pwhash_saltbytes()))
            let nonce = Sodium.random(Int(crypto_secretbox_noncebytes()))
            let opslimit = crypto_pwhash_opslimit_interactive()
            let memlimit = crypto_pwhash_memlimit_interactive()
            let key = try derive(passphrase, salt: salt, opslimit: UInt64(opslimit), memlimit: memlimit)
            var sealed = [UInt8](repeating: 0, count: privateKey.count + Int(crypto_secretbox_macbytes()))
            _ = crypto_secretbox_easy(&sealed, privateKey, UInt64(privateKey.count), nonce, key.pointer)
            document["sealed"] =
                [
                    "kdf": "argon2id13", "opslimit": Int(opslimit), "memlimit": memlimit,
                    "salt": Data(salt).base64EncodedString(),
                    "nonce": Data(nonce).base64EncodedString(), "ciphertext": Data(sealed).base64EncodedString(),
                ] as [String: Any]
        } else {
            document["private_key"] = Data(privateKey).base64EncodedString()
        }
        guard var data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])
        else {
            throw LineError(.badKey, "could not encode the identity file")
        }
        data.append(10)
        defer { data.resetBytes(in: 0..<data.count) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw LineError(.badKey, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw LineError(.badKey, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return pair
    }

    /// Loads an identity file; a sealed one needs its passphrase.
    /// - Throws: `LineError(.badKey)` also when other users may read or write the file (as OpenSSH refuses such
    ///   a key).
    public static func load(from path: String, passphrase: String? = nil) throws(LineError) -> KeyPair {
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
            throw LineError(
                .badKey,
                "the identity file \(path) is open to other users (mode \(String(status.st_mode & 0o777, radix: 8)))",
                hint: "run `chmod 600 \(path)`; if others may have read it, make a new identity and re-trust it")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LineError(.badKey, "cannot read the identity file \(path)")
        }
        guard let document = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            document["format"] as? String == format
        else {
            throw LineError(.badKey, "\(path) is not an Outpost identity file (\(format))")
        }
        var privateKey: [UInt8]
        if let sealed = document["sealed"] as? [String: Any] {
            guard let passphrase else {
                throw LineError(.badKey, "\(path) is sealed with a passphrase; give the passphrase")
            }
            guard let salt = (sealed["salt"] as? String).flatMap({ Data(base64Encoded: $0) }),
                let nonce = (sealed["nonce"] as? String).flatMap({ Data(base64Encoded: $0) }),
                let ciphertext = (sealed["ciphertext"] as? String).flatMap({ Data(base64Encoded: $0) }),
                let opslimit = sealed["opslimit"] as? Int, let memlimit = sealed["memlimit"] as? Int,
                salt.count == Int(crypto_pwhash_saltbytes()), nonce.count == Int(crypto_secretbox_noncebytes()),
                ciphertext.count == 32 + Int(crypto_secretbox_macbytes())
            else { throw LineError(.badKey, "\(path): the sealed key is malformed") }
            let key = try derive(passphrase, salt: Array(salt), opslimit: UInt64(opslimit), memlimit: memlimit)
            privateKey = [UInt8](repeating: 0, count: 32)
            let status = crypto_secretbox_open_easy(
                &privateKey, Array(ciphertext), UInt64(ciphertext.count), Array(nonce), key.pointer)
            guard status == 0 else { throw LineError(.badKey, "wrong passphrase for \(path)") }
        } else {
            guard let text = document["private_key"] as? String, let raw = Data(base64Encoded: text), raw.count == 32
            else {
                throw LineError(.badKey, "\(path): the private key is malformed")
            }
            privateKey = Array(raw)
        }
        defer { SecretBytes.wipe(&privateKey) }
        let pair = try KeyPair(privateKey: privateKey)
        if let stated = document["public_key"] as? String, (try? KeyText.parsePublicKey(stated)) != pair.publicKey {
            throw LineError(.badKey, "\(path): the public key does not match the private key")
        }
        return pair
    }

    private static func derive(_ passphrase: String, salt: [UInt8], opslimit: UInt64, memlimit: Int) throws(LineError)
        -> SecretBytes
    {
        var key = [UInt8](repeating: 0, count: Int(crypto_secretbox_keybytes()))
        defer { SecretBytes.wipe(&key) }
        let utf8Count = passphrase.utf8.count
        let status = passphrase.withCString { password in
            crypto_pwhash(
                &key, UInt64(key.count), password, UInt64(utf8Count), salt, opslimit, memlimit,
                crypto_pwhash_alg_argon2id13())
        }
        guard status == 0 else {
            throw LineError(.badKey, "could not derive a key from the passphrase (out of memory?)")
        }
        return SecretBytes(key)
    }
}
