import Foundation

extension Entity {
    /// How a record's id is made, for a third party creating records (protocol/SPEC.md §14).
    public var idRule: String {
        switch self {
        case .customers:
            "name-based: customer_id(email), the UUID (version 8) of FNV-1a-128 over \"customer:\" + the trimmed, lower-cased e-mail (SPEC §14)"
        case .stock: "sku + \"@\" + location + \"@\" + the writing site's id: one contribution per device"
        case .settings:
            "the setting's name (e.g. attention.unpaid_hours): one record per setting, shared by every device"
        case .stockRights:
            "sku + \"@\" + location + \"@\" + site + \"@\" + target: one record per device and recipient, written by the device"
        case .messages:
            "name-based: the UUID (version 8) of FNV-1a-128 over \"source:message:\" + order_id + \":\" + kind + \":\" + trigger, so every device names a message alike (SPEC §14)"
        default: "a UUIDv7 string made by the writing device (lower-case 8-4-4-4-12 hex)"
        }
    }

    /// What a text field's values look like, where it is more than free text.
    static let formats: [String: String] = [
        "customer_id": "the id of a customers record",
        "order_id": "the id of an orders record",
        "fulfilment_id": "the id of a fulfilments record",
        "return_id": "the id of a returns record",
        "exchange_id": "the id of an exchanges record (a line sent out by an exchange), or null",
        "number": "the issuing device's order-number prefix, \"-\", its own sequence from 1 (e.g. K3QZ-1042)",
        "currency": "an ISO 4217 code in use, upper case",
        "tags": "comma-separated tags, sorted, without duplicates; null when none",
        "lines": "comma-separated LINE_ID:QUANTITY pairs naming order_lines records of the same order",
        "site": "the writing site's id (32 lower-case hex)",
        "target": "a site's id (32 lower-case hex): the writing site itself, or the site it gave rights to",
        "trigger":
            "the id of the record whose fact calls for the message (a payment, fulfilment, tracking event, refund or return of the same order), or the order's id (order_confirmation, review_request)",
    ]

    /// The closed value sets of enumerated text fields, by entity and field.
    static func values(_ entity: Entity, _ field: String) -> [String]? {
        switch (entity, field) {
        case (.orders, "channel"): Channel.allCases.map(\.rawValue)
        case (.payments, "kind"): PaymentKind.allCases.map(\.rawValue)
        case (.payments, "method"): PaymentMethod.allCases.map(\.rawValue)
        case (.trackingEvents, "kind"): TrackingKind.allCases.map(\.rawValue)
        case (.returns, "reason"): ReturnReason.allCases.map(\.rawValue)
        case (.settings, "key"): Settings.definitions.map(\.key)
        case (.messages, "kind"): MessageKind.allCases.map(\.rawValue)
        case (.stockMovements, "kind"): StockMovementKind.allCases.map(\.rawValue)
        default: nil
        }
    }

    /// The replicated schema as a JSON document (`protocol/schema.json`, printed by `outpost schema`):
    /// entities with their wire codes and id rules; fields in index order with type, merge rule, mutability,
    /// and the format or value set of structured text. Keys sorted, two-space indents, so the committed file
    /// is byte-for-byte what this build generates (a test checks it).
    public static func schemaDocument() -> String {
        let entities = allCases.sorted { $0.code < $1.code }.map { entity -> [String: Any] in
            let fields = entity.fields.enumerated().map { index, field -> [String: Any] in
                var document: [String: Any] = [
                    "index": index, "name": field.name, "type": field.type.rawValue,
                    "resolution": field.resolution.rawValue, "mutable": field.mutable,
                ]
                if let format = formats[field.name] { document["format"] = format }
                if let values = values(entity, field.name) { document["values"] = values }
                if field.type == .integer {
                    document["unit"] =
                        field.name.hasSuffix("_minor")
                        ? "minor units of the order's currency"
                        : field.name.hasSuffix("_at") || field.name == "ship_by"
                            ? "Unix milliseconds, UTC"
                            : ["provisional", "restock"].contains(field.name)
                                ? "boolean: 0 or 1"
                                : field.name == "position"
                                    ? "the line's place in its order, from 0"
                                    : field.name == "attempts" ? "failed attempts" : "units"
                }
                return document
            }
            return ["name": entity.rawValue, "code": Int(entity.code), "id": entity.idRule, "fields": fields]
        }
        let resolutions = Dictionary(
            uniqueKeysWithValues: Resolution.allCases.map { ($0.rawValue, $0.rule) })
        let document: [String: Any] = [
            "schema": schemaVersion,
            "entities": entities,
            "resolutions": resolutions,
            "values": [
                "null": "any field may be null (absent)",
                "hybrid_time": "(Unix milliseconds << 16) | logical counter",
                "dot": "(site, counter): the transaction that wrote a sibling",
            ],
        ]
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension Resolution {
    /// The rule in words, for the schema document.
    public var rule: String {
        switch self {
        case .latest: "the sibling with the highest hybrid time; an exact tie goes to the greater value"
        case .earliest: "the smallest non-null value"
        case .greatest: "the greatest value"
        case .union: "the union of the siblings' comma-separated members, sorted"
        }
    }
}
