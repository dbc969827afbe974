import Foundation
import OutpostCore

/// Printed forms of keys and network ids: a prefix and unpadded base64url of the 32 bytes, e.g.
/// `opk_8eLCBNr9…` for a public key and `onet_Z2lm…` for a network id. Easy to paste, hard to mix up.
public enum KeyText {
    public static let publicKeyPrefix = "opk_"
    public static let networkPrefix = "onet_"

    /// `prefix` + base64url(bytes) without padding.
    public static func encode(_ bytes: [UInt8], prefix: String) -> String {
        prefix + Base64URL.encode(bytes)
    }

    /// Decodes `text` carrying `prefix` into exactly 32 bytes.
    public static func decode(_ text: String, prefix: String, what: String) throws(LineError) -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix(prefix) else {
            throw LineError(.badKey, "'\(text.prefix(60))' is not a \(what) (it should start with \(prefix))")
        }
        guard let bytes = Base64URL.decode(String(trimmed.dropFirst(prefix.count))), bytes.count == 32 else {
            throw LineError(
                .badKey, "'\(text.prefix(60))' is not a valid \(what): expected \(prefix) and 43 base64url characters")
        }
        return bytes
    }

    public static func publicKey(_ bytes: [UInt8]) -> String { encode(bytes, prefix: publicKeyPrefix) }
    public static func networkID(_ bytes: [UInt8]) -> String { encode(bytes, prefix: networkPrefix) }
    /// Parses an `opk_…` public key; refuses a low-order point (all zeros and the few others), which no
    /// device has and with which no handshake can succeed.
    public static func parsePublicKey(_ text: String) throws(LineError) -> [UInt8] {
        let key = try decode(text, prefix: publicKeyPrefix, what: "public key")
        guard Primitives.dh(KeyPair.generate(guarded: false).secret, key) != nil else {
            throw LineError(
                .badKey, "that public key is not one any device can have (a low-order point such as all zeros)",
                hint: "copy the key again from `outpost whoami` on the peer")
        }
        return key
    }
    public static func parseNetworkID(_ text: String) throws(LineError) -> [UInt8] {
        try decode(text, prefix: networkPrefix, what: "network id")
    }

    /// A new random network id.
    public static func newNetworkID() -> [UInt8] { Sodium.random(32) }
}
