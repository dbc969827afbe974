/// An ISO 4217 currency code with the number of minor-unit digits it uses.
public struct CurrencyCode: Hashable, Sendable, CustomStringConvertible {
    /// The three upper-case letters, e.g. `EUR`.
    public let code: String

    /// Validates a code against ISO 4217's list of currencies in use (case-insensitive on input, stored
    /// upper-case). Funds, precious metals and the testing and "no currency" codes are not money an order
    /// is paid in, and are refused.
    public init(_ code: String) throws(DomainError) {
        let upper = code.uppercased()
        guard upper.utf8.count == 3, Self.active.contains(upper) else {
            throw DomainError(
                .invalidInput, "'\(code.escapingControlCharacters)' is not an ISO 4217 currency code in use",
                hint: "use a code such as EUR, USD or GBP")
        }
        self.code = upper
    }

    /// A code read back from a stored record: any three upper-case letters (a record written by an earlier
    /// build, or merged from a peer, keeps its code even if this build would refuse it as input), else `XXX`.
    public init(stored code: String) {
        let valid = code.utf8.count == 3 && code.utf8.allSatisfy { (65...90).contains($0) }
        self.code = valid ? code : "XXX"
    }

    private init(unchecked code: String) { self.code = code }

    /// ISO 4217 currency codes in use (list one, 2024), without funds, metals, `XTS` and `XXX`.
    static let active: Set<String> = Set(
        """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
        CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD
        HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
        LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
        PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
        TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
        """.split(whereSeparator: \.isWhitespace).map(String.init))

    /// ISO 4217's `XXX` ("no currency"): what a record missing its currency reads as.
    public static let none = CurrencyCode(unchecked: "XXX")

    /// Minor-unit digits: 0 for currencies such as JPY and KRW, 3 for BHD/KWD/OMR/JOD/TND, else 2.
    public var minorDigits: Int {
        switch code {
        case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
            "XOF", "XPF":
            0
        case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND": 3
        default: 2
        }
    }

    public var description: String { code }
}

/// An amount of money: integer minor units (cents) in one currency. Never floating point.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    /// The amount in minor units (e.g. cents). May be negative for differences owed the other way.
    public var minorUnits: Int64
    /// The currency.
    public var currency: CurrencyCode

    /// Creates an amount.
    public init(minorUnits: Int64, currency: CurrencyCode) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Zero in `currency`.
    public static func zero(_ currency: CurrencyCode) -> Money { Money(minorUnits: 0, currency: currency) }

    /// Parses a decimal amount such as `12.50` or `7` in `currency` exactly, refusing more fraction digits
    /// than the currency has, signs other than a leading `-`, exponents and overflow.
    public init(parsing text: String, currency: CurrencyCode) throws(DomainError) {
        let digits = currency.minorDigits
        // One pass over the bytes (every command parses its prices): `[-]digits[.digits]`, accumulated as it goes.
        var body = text.trimmingWhitespace().utf8[...]
        let negative = body.first == UInt8(ascii: "-")
        if negative { body = body.dropFirst() }
        var value: Int64 = 0
        var overflow = false
        var (wholeDigits, fractionDigits, dots) = (0, 0, 0)
        for byte in body {
            if byte == UInt8(ascii: ".") {
                dots += 1
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), dots == 0 || dots == 1 else {
                dots = 2  // not an amount
                break
            }
            if dots == 0 { wholeDigits += 1 } else { fractionDigits += 1 }
            let (tens, over) = value.multipliedReportingOverflow(by: 10)
            let (sum, over2) = tens.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            overflow = overflow || over || over2
            value = sum
        }
        guard wholeDigits > 0, dots <= 1, dots == 0 || fractionDigits > 0 else {
            throw DomainError(
                .invalidInput, "'\(text)' is not an amount", hint: "write amounts as decimals, e.g. 12.50")
        }
        guard fractionDigits <= digits else {
            throw DomainError(
                .invalidInput, "'\(text)' has more decimals than \(currency) allows (\(digits))",
                hint: "round the amount to \(digits) decimal places")
        }
        for _ in fractionDigits..<digits {
            let (tens, over) = value.multipliedReportingOverflow(by: 10)
            overflow = overflow || over
            value = tens
        }
        guard !overflow, value <= Int64.max / 2 else {
            throw DomainError(.invalidInput, "'\(text)' is too large an amount")
        }
        self.init(minorUnits: negative ? -value : value, currency: currency)
    }

    /// The sum; refuses mixed currencies and overflow.
    public func adding(_ other: Money) throws(DomainError) -> Money {
        try requireSameCurrency(other)
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        guard !overflow else { throw DomainError(.invalidInput, "amount overflows") }
        return Money(minorUnits: sum, currency: currency)
    }

    /// The difference; refuses mixed currencies and overflow.
    public func subtracting(_ other: Money) throws(DomainError) -> Money {
        try requireSameCurrency(other)
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        guard !overflow else { throw DomainError(.invalidInput, "amount overflows") }
        return Money(minorUnits: difference, currency: currency)
    }

    /// The amount times a whole quantity; refuses overflow.
    public func multiplied(by quantity: Int64) throws(DomainError) -> Money {
        let (product, overflow) = minorUnits.multipliedReportingOverflow(by: quantity)
        guard !overflow else { throw DomainError(.invalidInput, "amount overflows") }
        return Money(minorUnits: product, currency: currency)
    }

    private func requireSameCurrency(_ other: Money) throws(DomainError) {
        guard other.currency == currency else {
            throw DomainError(
                .currencyMismatch, "cannot combine \(currency) and \(other.currency) amounts",
                hint: "amounts on one order are all in the order's currency")
        }
    }

    /// The amount as a decimal string, e.g. `12.50 EUR`.
    public var description: String { "\(Money.decimalString(minorUnits, digits: currency.minorDigits)) \(currency)" }

    /// Formats minor units as a decimal string with `digits` fraction digits.
    public static func decimalString(_ minor: Int64, digits: Int) -> String {
        let sign = minor < 0 ? "-" : ""
        let magnitude = minor.magnitude
        guard digits > 0 else { return sign + String(magnitude) }
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let fraction = String(magnitude % scale)
        return sign + String(magnitude / scale) + "." + String(repeating: "0", count: digits - fraction.count)
            + fraction
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        // Most text starts and ends with a printable ASCII character: nothing to trim, no Unicode tables to ask.
        let scalars = Substring(self)
        if let first = scalars.utf8.first, let last = scalars.utf8.last, (0x21..<0x7F).contains(first),
            (0x21..<0x7F).contains(last)
        {
            return scalars
        }
        let start = scalars.firstIndex { !$0.isWhitespace } ?? scalars.endIndex
        let end = scalars.lastIndex { !$0.isWhitespace }.map { scalars.index(after: $0) } ?? start
        return scalars[start..<Swift.max(start, end)]
    }
}
