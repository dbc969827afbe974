import OutpostCore

/// Device-made identifiers: UUIDv7 for entities, deterministic ids for keys several devices must agree on.
public enum Identifiers {
    /// A UUIDv7 string (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids made on one device
    /// sort by creation time and ids made on different devices never collide.
    public static func uuidV7<R: RandomNumberGenerator>(milliseconds: Int64, using random: inout R) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, milliseconds))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - index))) }
        let high = random.next() as UInt64
        let low = random.next() as UInt64
        for index in 6..<16 {
            let source = index < 8 ? high : low
            bytes[index] = UInt8(truncatingIfNeeded: source >> (8 * (index % 8)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x70  // version 7
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        return format(bytes)
    }

    /// The customer id for an e-mail address: a name-based UUID (version 8) of the normalised address, so two
    /// offline devices that create the same customer create the same key and their fields merge.
    public static func customerID(email: String) -> String {
        let normalized = email.trimmingWhitespace().lowercased()
        var bytes = fnv1a128(Array(("customer:" + normalized).utf8))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: custom
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// A name-based UUID (version 8) for a record that comes from another system, e.g.
    /// `"shopify:5123:order"`: importing the same source again derives the same ids, so nothing is doubled.
    public static func sourceID(_ name: String) -> String { sourceID(joining: name) }

    /// `sourceID` of `parts` joined with `:`, without joining them first (ids derived for every message of every
    /// order a stream loads).
    static func sourceID(joining parts: String...) -> String {
        var fingerprint = Fingerprint()
        fingerprint.update("source:".utf8)
        for (index, part) in parts.enumerated() {
            if index > 0 { fingerprint.update(CollectionOfOne(UInt8(ascii: ":"))) }
            fingerprint.update(part.utf8)
        }
        var bytes = fingerprint.bytes
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: custom
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// A 128-bit FNV-1a fingerprint of `bytes` as 32 hex characters (not cryptographic: for comparing
    /// content, never for security).
    public static func fingerprint(_ bytes: [UInt8]) -> String {
        var fingerprint = Fingerprint()
        fingerprint.update(bytes)
        return fingerprint.hex
    }

    /// The key of one site's stock contribution for a SKU at a location.
    public static func stockContributionID(sku: String, location: String, site: String) -> String {
        "\(sku)@\(location)@\(site)"
    }

    /// Lower-case 8-4-4-4-12 hex.
    static func format(_ bytes: [UInt8]) -> String {
        // Written straight into the string's storage: ids are made for every record a command writes.
        String(unsafeUninitializedCapacity: 36) { out in
            var position = 0
            for (index, byte) in bytes.prefix(16).enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                out[position] = Hex.digits[Int(byte >> 4)]
                out[position + 1] = Hex.digits[Int(byte & 0x0F)]
                position += 2
            }
            return position
        }
    }

    /// 128-bit FNV-1a: not cryptographic; only needs to be deterministic and well spread.
    static func fnv1a128(_ input: [UInt8]) -> [UInt8] {
        var fingerprint = Fingerprint()
        fingerprint.update(input)
        return fingerprint.bytes
    }
}

/// A human order number: the device's prefix and its own sequence, e.g. `K3QZ-1042`, so two offline devices
/// never issue the same number.
public struct OrderNumber: Hashable, Sendable, CustomStringConvertible {
    /// The issuing device's prefix.
    public var prefix: String
    /// The device's sequence number.
    public var sequence: Int64

    /// Creates a number.
    public init(prefix: String, sequence: Int64) {
        self.prefix = prefix
        self.sequence = sequence
    }

    /// A prefix for a new device: four Crockford base-32 characters drawn from the site's random bits.
    public static func prefix(fromSiteBits bits: UInt64) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        return String((0..<4).map { alphabet[Int((bits >> UInt64($0 * 5)) & 31)] })
    }

    public var description: String { "\(prefix)-\(sequence)" }
}

/// An incremental 128-bit FNV-1a hash (not cryptographic): for content fingerprints and name-based ids.
public struct Fingerprint: Sendable {
    private var high: UInt64 = 0x6c62_272e_07bb_0142
    private var low: UInt64 = 0x62b8_2175_6295_c58d

    public init() {}

    /// Folds `input` in.
    public mutating func update<S: Sequence>(_ input: S) where S.Element == UInt8 {
        for byte in input {
            low ^= UInt64(byte)
            // multiply (high, low) by the FNV-128 prime 2^88 + 0x13B, modulo 2^128
            let (productHigh, productLow) = low.multipliedFullWidth(by: 0x13B)
            high = high &* 0x13B &+ productHigh &+ (low << 24)
            low = productLow
        }
    }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift)))
        }
        return bytes
    }

    /// 32 lower-case hex characters.
    public var hex: String { Hex.encode(bytes) }
}
