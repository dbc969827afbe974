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

    @Test func formattingRoundTripsEveryAmount() async {
        await propertyCheck(input: Gen.int64(in: -10_000_000...10_000_000)) { minor in
            let text = Money.decimalString(minor, digits: 2)
            #expect((try? Money(parsing: text, currency: eur))?.minorUnits == minor)
        }
    }
}
