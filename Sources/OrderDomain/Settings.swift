/// Shop settings every device shares (`outpost config`): attention thresholds and segment thresholds. Stored
/// as text in replicated `settings` records, one per setting, so a change made on one device reaches the
/// others by sync; concurrent changes resolve to the latest and show as a conflict. An unset setting has its
/// default.
public struct Settings: Hashable, Sendable {
    /// The values set, by key (checked when set; a value merged from a peer that does not parse counts as unset).
    public var values: [String: String]

    /// Settings with `values` set and every other one at its default.
    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// One setting: its key, what its value is, its default and what it does.
    public struct Definition: Hashable, Sendable {
        public var key: String
        public var kind: Kind
        public var defaultValue: String
        public var summary: String
        /// Shared by every device (a replicated record), or this device's own (never synced).
        public var scope: Scope = .shared
    }

    /// Where a setting lives.
    public enum Scope: String, Hashable, Sendable {
        /// A replicated record: set on one device, it reaches the others by sync.
        case shared
        /// This device's own, kept in its replica file and never synced: how this machine delivers mail is
        /// not a peer's to decide (a peer able to set the command the sender runs could run anything there).
        case device
    }

    /// What a setting's value is.
    public enum Kind: String, Hashable, Sendable {
        /// A whole number of hours, 1–8760.
        case hours
        /// A whole number of days, 1–3650.
        case days
        /// A decimal amount in the major unit of each order's currency (500 → 500.00 EUR, 500 JPY).
        case amount
        /// A percentage, 1–100.
        case percent
        /// A device's name.
        case device
        /// One line of text.
        case text
        /// An e-mail address, optionally with a display name: `shop@example.com` or `Shop <shop@example.com>`.
        case address
        /// A Mustache template of a message: a `Subject:` line, an empty line, the body.
        case template
        /// A shell command line (run with `/bin/sh -c`).
        case command
        /// An absolute directory path.
        case directory
        /// A device's site id (32 lower-case hex digits).
        case site
        /// A whole number of units, 0–1,000,000,000.
        case units
    }

    /// Every setting.
    public static let definitions: [Definition] =
        [
            .init(
                key: "attention.unpaid_hours", kind: .hours, defaultValue: "48",
                summary: "pending payment for longer than this needs attention"),
            .init(
                key: "attention.provisional_hours", kind: .hours, defaultValue: "24",
                summary: "an offline card payment not confirmed after this needs attention"),
            .init(
                key: "attention.ship_days", kind: .days, defaultValue: "2",
                summary: "paid and not shipped this long after the order (without a ship-by) needs attention"),
            .init(
                key: "attention.tracking_days", kind: .days, defaultValue: "5",
                summary: "shipped, not delivered, with no carrier word for this long needs attention"),
            .init(
                key: "attention.return_days", kind: .days, defaultValue: "7",
                summary: "a return open for longer than this needs attention"),
            .init(
                key: "attention.high_value", kind: .amount, defaultValue: "500",
                summary: "orders worth at least this (in each order's currency) need attention until shipped"),
            .init(
                key: "segments.vip_spend", kind: .amount, defaultValue: "1000",
                summary: "customers who kept at least this much (in one currency) are vip"),
            .init(
                key: "segments.lapsed_days", kind: .days, defaultValue: "90",
                summary: "customers with no order for this long are lapsed"),
            .init(
                key: "segments.returner_percent", kind: .percent, defaultValue: "30",
                summary: "customers who returned at least this share of what shipped to them are returners"),
            .init(
                key: "messages.sender", kind: .device, defaultValue: "",
                summary:
                    "the one device that sends customer messages (unset: the first device to run `outpost serve` with a delivery set claims it)"
            ),
            .init(
                key: "messages.from", kind: .address, defaultValue: "outpost@localhost.localdomain",
                summary: "the From address of customer messages"),
            .init(
                key: "messages.shop_name", kind: .text, defaultValue: "Our shop",
                summary: "the shop's name, as customer messages sign it"),
            .init(
                key: "messages.review_days", kind: .days, defaultValue: "7",
                summary: "days after an order is delivered that the review request goes out"),
            .init(
                key: "messages.expire_hours", kind: .hours, defaultValue: "72",
                summary: "a message not sent this long after it was due is dropped as stale, not sent late"),
            .init(
                key: "messages.command", kind: .command, defaultValue: "",
                summary: "this device's mail command: gets each message on stdin, sendmail-style (e.g. msmtp -t)",
                scope: .device),
            .init(
                key: "messages.spool", kind: .directory, defaultValue: "",
                summary: "this device's spool directory: each message written there as MESSAGE-ID.eml", scope: .device),
        ]
        + [
            .init(
                key: "stock.authority", kind: .site, defaultValue: "",
                summary:
                    "the site id of the device whose selling rights are what the others' leave (unset: the device that serves its peers claims it; before that, the first to receive or count stock)"
            )
        ]
        + MessageKind.allCases.map { kind in
            Definition(
                key: templateKey(kind), kind: .template, defaultValue: kind.defaultTemplate,
                summary: "the template of the \(kind.rawValue) message (`outpost messages template set`)")
        }

    /// Whether a change to `key` moves when orders need attention or messages are due.
    public static func reschedules(_ key: String) -> Bool {
        key.hasPrefix("attention.") || key == "messages.review_days"
    }

    /// The setting holding the template of `kind`'s messages.
    public static func templateKey(_ kind: MessageKind) -> String { "messages.template.\(kind.rawValue)" }

    /// The definition of `key`.
    public static func definition(_ key: String) -> Definition? {
        if key.hasPrefix(targetPrefix), key.count > targetPrefix.count {
            return Definition(
                key: key, kind: .units, defaultValue: "",
                summary:
                    "the rights the stock authority tops each device up to for \(key.dropFirst(targetPrefix.count))")
        }
        return definitions.first { $0.key == key }
    }

    /// Per SKU, the rights the stock authority tops each device up to at a sync (`stock.target.SKU`; unset: an
    /// even share).
    public static let targetPrefix = "stock.target."

    /// The definition of `key`.
    ///
    /// - Throws: `DomainError(.invalidInput)` naming the settings there are, when `key` is none of them.
    public static func known(_ key: String) throws(DomainError) -> Definition {
        guard let definition = definition(key) else {
            throw DomainError(
                .invalidInput, "'\(key.escapingControlCharacters)' is not a setting",
                hint: "one of: \(definitions.map(\.key).joined(separator: ", "))")
        }
        return definition
    }

    /// Checks `value` for `key`, and returns it in its stored form.
    ///
    /// - Throws: `DomainError(.invalidInput)` for an unknown key or a value of the wrong kind, saying what fits.
    public static func check(_ key: String, _ value: String) throws(DomainError) -> String {
        let definition = try known(key)
        let text = String(value.trimmingWhitespace())
        switch definition.kind {
        case .hours, .days, .percent:
            let range: ClosedRange<Int64> =
                switch definition.kind {
                case .hours: 1...8_760
                case .days: 1...3_650
                default: 1...100
                }
            guard let number = Int64(text), range.contains(number) else {
                throw DomainError(
                    .invalidInput,
                    "\(key) takes a whole number of \(definition.kind.rawValue) from \(range.lowerBound) to \(range.upperBound), not '\(value.escapingControlCharacters)'",
                    hint: "e.g. outpost config set \(key) \(definition.defaultValue)")
            }
            return "\(number)"
        case .site:
            guard text.count == 32, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw DomainError(
                    .invalidInput, "\(key) takes a site id (32 lower-case hex digits, see `outpost whoami`)",
                    hint: "e.g. outpost config set \(key) $(outpost whoami --json | jq -r .site_id)")
            }
            return text
        case .units:
            guard let number = Int64(text), (0...1_000_000_000).contains(number) else {
                throw DomainError(
                    .invalidInput, "\(key) takes a whole number of units from 0 to 1000000000",
                    hint: "e.g. outpost stock policy SKU --target 5")
            }
            return "\(number)"
        case .device, .text, .command:
            guard !text.isEmpty, text.count <= 200, !text.contains("\n") else {
                throw DomainError(
                    .invalidInput, "\(key) takes one line of text (up to 200 characters)",
                    hint: "e.g. outpost config set \(key) \(example(definition))")
            }
            return text
        case .address:
            guard Self.mailbox(text) != nil else {
                throw DomainError(
                    .invalidInput,
                    "\(key) takes an e-mail address such as shop@example.com or 'Shop <shop@example.com>', not '\(value.escapingControlCharacters)'",
                    hint: "e.g. outpost config set \(key) 'Corner Shop <orders@example.com>'")
            }
            return text
        case .directory:
            guard text.hasPrefix("/"), !text.contains("\n") else {
                throw DomainError(
                    .invalidInput, "\(key) takes an absolute directory path, not '\(value.escapingControlCharacters)'",
                    hint: "e.g. outpost config set \(key) /var/spool/outpost")
            }
            return text
        case .template:
            let firstLine = text.prefix { $0 != "\n" }
            guard firstLine.lowercased().hasPrefix("subject:"), text.contains("\n\n") else {
                throw DomainError(
                    .invalidInput,
                    "a message template starts with a 'Subject: …' line, then an empty line, then the body",
                    hint: "see the default with `outpost config get \(key)`")
            }
            try InputRules.checkText(text, field: "template")
            return text
        case .amount:
            guard majorAmount(text, digits: 2) != nil else {
                throw DomainError(
                    .invalidInput,
                    "\(key) takes an amount in major units such as 500 or 499.99, not '\(value.escapingControlCharacters)'",
                    hint: "e.g. outpost config set \(key) \(definition.defaultValue)")
            }
            return text
        }
    }

    private static func example(_ definition: Definition) -> String {
        switch definition.kind {
        case .device: "hub"
        case .command: "'msmtp -t'"
        default: "'Corner Shop'"
        }
    }

    /// The address part of `Name <address>` or of a bare address, when it is an e-mail address.
    public static func mailbox(_ text: String) -> String? {
        var address = text
        if let open = text.lastIndex(of: "<"), text.hasSuffix(">") {
            address = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        }
        guard (try? InputRules.checkEmail(address)) != nil else { return nil }
        return address
    }

    /// The value of `key`: the one set when it parses, else the default.
    public func value(_ key: String) -> String {
        guard let definition = Self.definition(key) else { return "" }
        if let set = values[key], let checked = try? Self.check(key, set) { return checked }
        return definition.defaultValue
    }

    private func number(_ key: String) -> Int64 { Int64(value(key)) ?? 0 }

    /// An amount setting in minor units of a currency with `digits` minor digits.
    public func amount(_ key: String, digits: Int) -> Int64 {
        Self.majorAmount(value(key), digits: digits) ?? Int64.max
    }

    /// The attention thresholds these settings give.
    public var attention: AttentionThresholds {
        var thresholds = AttentionThresholds()
        thresholds.unpaidMilliseconds = number("attention.unpaid_hours") * 3_600_000
        thresholds.provisionalMilliseconds = number("attention.provisional_hours") * 3_600_000
        thresholds.shipMilliseconds = number("attention.ship_days") * 86_400_000
        thresholds.trackingMilliseconds = number("attention.tracking_days") * 86_400_000
        thresholds.returnMilliseconds = number("attention.return_days") * 86_400_000
        let highValue = value("attention.high_value")
        thresholds.highValue = { digits in Self.majorAmount(highValue, digits: digits) ?? Int64.max }
        return thresholds
    }

    /// How long after an order is delivered its review request is due (`messages.review_days`).
    public var reviewDelay: Int64 { number("messages.review_days") * 86_400_000 }

    /// How long after it was due an unsent message is dropped as stale (`messages.expire_hours`).
    public var messageExpiry: Int64 { number("messages.expire_hours") * 3_600_000 }

    /// The segment thresholds these settings give.
    public var segments: SegmentThresholds {
        var thresholds = SegmentThresholds()
        let vip = value("segments.vip_spend")
        thresholds.vip = { digits in Self.majorAmount(vip, digits: digits) ?? Int64.max }
        thresholds.lapsedMilliseconds = number("segments.lapsed_days") * 86_400_000
        thresholds.returnerShare = Double(number("segments.returner_percent")) / 100
        return thresholds
    }

    /// Minor units of a non-negative amount in major units ("500", "499.99") for a currency with `digits`
    /// minor digits; nil when it is not such an amount or has more decimals than the currency.
    static func majorAmount(_ text: String, digits: Int) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0, whole < 1_000_000_000_000
        else { return nil }
        var fraction: Int64 = 0
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        if parts.count == 2 {
            let decimals = parts[1]
            guard !decimals.isEmpty, decimals.allSatisfy(\.isNumber) else { return nil }
            // More decimals than the currency has are allowed only when they are zeros (500.00 for JPY).
            let kept = decimals.prefix(digits)
            guard decimals.dropFirst(digits).allSatisfy({ $0 == "0" }) else { return nil }
            fraction = Int64(kept.padding(toLength: digits, withPad: "0", startingAt: 0)) ?? 0
        }
        return whole * scale + fraction
    }
}
