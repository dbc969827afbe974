/// What people type and a replica stores, checked once where it enters: free text, e-mail addresses, tags and
/// stock quantities. A refusal is a `DomainError(.invalidInput)` (exit 65) that names the limit.
public enum InputRules {
    /// The longest free text a field stores (names, addresses, notes, carriers, reasons), in characters.
    public static let maximumTextLength = 4_000

    /// The most units of one SKU a stock count or adjustment may name, and the most one location may hold:
    /// far above any real shop, and far enough below `Int64.max` that sums over many devices cannot overflow.
    public static let maximumStock: Int64 = 1_000_000_000_000

    /// Checks free text for storing: at most `maximumTextLength` characters and no control characters
    /// (a stored ESC or BEL would drive the terminal of whoever prints it). Line breaks and tabs are allowed
    /// where a person may type them (addresses, notes).
    ///
    /// - Parameters:
    ///   - text: the text as given.
    ///   - field: the field's name for the message, e.g. `address`.
    public static func checkText(_ text: String, field: @autoclosure () -> String) throws(DomainError) {
        // Every command checks every text it stores: the common case (short, printable ASCII or UTF-8 without
        // C1 controls, whose lead byte would be 0xC2) is decided on the bytes alone.
        if text.utf8.count <= maximumTextLength,
            text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != 0xC2 })
        {
            return
        }
        let field = field()
        guard text.count <= maximumTextLength else {
            throw DomainError(
                .invalidInput,
                "the \(field) is \(text.count) characters long; the most a field holds is \(maximumTextLength)",
                hint: "shorten it")
        }
        if let scalar = text.unicodeScalars.first(where: { isControl($0) && $0 != "\n" && $0 != "\t" }) {
            throw DomainError(
                .invalidInput,
                "the \(field) contains the control character U+\(String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4))",
                hint: "remove control characters (escape codes, bells) from the text")
        }
    }

    /// Whether `scalar` is a control character (C0, DEL or C1): never shown as itself in human output.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Checks an e-mail address: one `@`, a dotted domain, no spaces or control characters, and RFC 5321's
    /// length limits (64 characters before the `@`, 254 in all).
    public static func checkEmail(_ email: String) throws(DomainError) {
        // Printable ASCII has neither white space nor control characters, and each of its bytes is a character:
        // the common case is decided on the bytes, without breaking the text into characters.
        let printableASCII = email.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
        let valid: Bool
        if printableASCII {
            let bytes = Array(email.utf8)
            let at = bytes.firstIndex(of: UInt8(ascii: "@")) ?? bytes.endIndex
            let domain = bytes[min(at + 1, bytes.endIndex)...]
            valid =
                bytes.count <= 254 && at < bytes.endIndex && (1...64).contains(at)
                && !domain.contains(UInt8(ascii: "@")) && domain.contains(UInt8(ascii: "."))
                && domain.first != UInt8(ascii: ".") && domain.last != UInt8(ascii: ".")
        } else {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            valid =
                email.utf8.count <= 254 && parts.count == 2 && (1...64).contains(parts[0].utf8.count)
                && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
                && !email.contains(where: \.isWhitespace) && !email.unicodeScalars.contains(where: isControl)
        }
        guard valid else {
            let shown = email.count > 80 ? "\(email.prefix(40))…" : email
            throw DomainError(
                .invalidInput, "'\(shown.escapingControlCharacters)' is not an e-mail address",
                hint: "write it as name@example.com (at most 64 characters before the @, 254 in all)")
        }
    }

    /// Checks a tag: 1–40 characters, no commas (a tag list is comma-separated when shown), spaces or control
    /// characters.
    public static func checkTag(_ tag: String) throws(DomainError) {
        if tag.contains(",") {
            throw DomainError(
                .invalidInput, "'\(tag.escapingControlCharacters)' is several tags in one",
                hint: "repeat --tag for each tag: --tag red --tag blue")
        }
        guard (1...40).contains(tag.count), !tag.contains(where: \.isWhitespace),
            !tag.unicodeScalars.contains(where: isControl)
        else {
            throw DomainError(
                .invalidInput, "'\(tag.escapingControlCharacters)' is not a tag",
                hint: "use 1–40 characters without spaces or commas")
        }
    }

    /// Checks a stock quantity (`what` names it in the message): from 0 (or `-maximumStock` when `signed`)
    /// to `maximumStock`.
    public static func checkStock(_ quantity: Int64, _ what: String, signed: Bool = false) throws(DomainError) {
        let range = (signed ? -maximumStock : 0)...maximumStock
        guard range.contains(quantity) else {
            throw DomainError(
                .invalidInput,
                quantity < 0 && !signed
                    ? "\(what) must not be negative (\(quantity))"
                    : "\(what) (\(quantity)) is beyond the limit of \(maximumStock) units",
                hint: quantity < 0 && !signed ? "give a count from 0" : "check the number")
        }
    }
}

extension String {
    /// The text with every control character but line feed and tab shown as `\u{…}`, for human output:
    /// stored text (typed here or merged from a peer) cannot drive the terminal it is printed on.
    public var escapingControlCharacters: String {
        func escaped(_ scalar: Unicode.Scalar) -> Bool {
            InputRules.isControl(scalar) && scalar != "\n" && scalar != "\t"
        }
        guard unicodeScalars.contains(where: escaped) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if escaped(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
