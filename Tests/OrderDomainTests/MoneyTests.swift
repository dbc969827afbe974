import Foundation
import OrderDomain
import PropertyBased
import Testing

@Suite struct MoneyTests {
    let eur = try! CurrencyCode("EUR")
    let jpy = try! CurrencyCode("jpy")

    @Test(arguments: [("12.50", 1250), ("12.5", 1250), ("7", 700), ("0.01", 1), (" 3.20 ", 320), ("-4.00", -400)])
    func decimalAmountsParseExactly(text: String, minor: Int64) throws {
        #expect(try Money(parsing: text, currency: eur).minorUnits == minor)
    }

    @Test(arguments: ["", "abc", "1,50", "1e5", "12.505", ".5", "5.", "--1", "1.2.3", "99999999999999999999", "+3"])
    func malformedAmountsAreRefusedWithAReason(text: String) {
        #expect(throws: DomainError.self) { try Money(parsing: text, currency: eur) }
    }

    @Test func currenciesWithoutMinorUnitsRefuseDecimals() throws {
        #expect(try Money(parsing: "1500", currency: jpy).minorUnits == 1500)
        #expect(throws: DomainError.self) { try Money(parsing: "15.5", currency: jpy) }
        #expect(jpy.code == "JPY")
    }

    @Test func invalidCurrencyCodesAreRefused() {
        for code in ["EU", "EURO", "E1R", ""] {
            #expect(throws: DomainError.self) { try CurrencyCode(code) }
        }
    }

    @Test func arithmeticRefusesMixedCurrencies() throws {
        let usd = try CurrencyCode("USD")
        let error = #expect(throws: DomainError.self) {
            try Money(minorUnits: 100, currency: eur).adding(Money(minorUnits: 100, currency: usd))
        }
        #expect(error?.code == .currencyMismatch)
        #expect(
            try Money(minorUnits: 150, currency: eur).adding(Money(minorUnits: 250, currency: eur)).minorUnits == 400)
        #expect(
            try Money(minorUnits: 150, currency: eur).subtracting(Money(minorUnits: 250, currency: eur)).minorUnits
                == -100)
    }

    @Test func arithmeticRefusesOverflow() {
        #expect(throws: DomainError.self) {
            try Money(minorUnits: .max, currency: eur).adding(Money(minorUnits: 1, currency: eur))
        }
        #expect(throws: DomainError.self) { try Money(minorUnits: .max / 2, currency: eur).multiplied(by: 3) }
    }

    /// The parser reads bytes in one pass; it must decide as the rule stated on the text's parts does (this was
    /// the parser before): trimmed, an optional leading `-`, digits, then optionally `.` and at least one digit, no
    /// more decimals than the currency has, at most half of `Int64.max` — and refuse for the same reason.
    @Test func parsingDecidesAsTheRuleOnParts() async {
        enum Outcome: Equatable {
            case amount(Int64)
            case refused(String)
        }
        func byTheRule(_ text: String, _ currency: CurrencyCode) -> Outcome {
            let digits = currency.minorDigits
            var body = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
            let negative = body.hasPrefix("-")
            if negative { body = body.dropFirst() }
            let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let whole = parts.first ?? ""
            let fraction = parts.count > 1 ? parts[1] : ""
            let isDigits = { (s: Substring) in s.utf8.allSatisfy { (48...57).contains($0) } }
            guard !whole.isEmpty, isDigits(whole), isDigits(fraction), parts.count == 1 || !fraction.isEmpty else {
                return .refused("not an amount")
            }
            guard fraction.count <= digits else { return .refused("more decimals") }
            let padded = String(fraction) + String(repeating: "0", count: digits - fraction.count)
            guard let value = Int64(String(whole) + padded), value <= Int64.max / 2 else {
                return .refused("too large")
            }
            return .amount(negative ? -value : value)
        }
        let alphabet: [Character] = ["0", "1", "5", "9", ".", "-", " ", "x", "+"]
        let text = Gen.int(in: 0..<alphabet.count).array(of: 0...22).map { String($0.map { alphabet[$0] }) }
        await propertyCheck(count: 3000, input: text) { text in
            for currency in [eur, jpy] {
                let parsed: Outcome
                do {
                    parsed = .amount(try Money(parsing: text, currency: currency).minorUnits)
                } catch let error as DomainError {
                    parsed = .refused(
                        error.message.contains("not an amount")
                            ? "not an amount" : error.message.contains("more decimals") ? "more decimals" : "too large")
                } catch {
                    parsed = .refused("\(error)")
                }
                #expect(parsed == byTheRule(text, currency), "\(String(reflecting: text)) in \(currency)")
            }
        }
    }

    @Test func formattingRoundTripsEveryAmount() async {
        await propertyCheck(input: Gen.int64(in: -10_000_000...10_000_000)) { minor in
            let text = Money.decimalString(minor, digits: 2)
            #expect((try? Money(parsing: text, currency: eur))?.minorUnits == minor)
        }
    }
}
