/// The type of a replicated field's non-null values (a value may always be null).
public enum FieldType: String, Hashable, Sendable {
    /// A 64-bit signed integer: amounts in minor units, quantities, Unix milliseconds, booleans as 0/1.
    case integer
    /// UTF-8 text.
    case text
}

/// One replicated field: its column name, the type of its values, how its siblings resolve, and whether it
/// may change after the record is created (facts' identifying fields never do).
public struct FieldSpec: Hashable, Sendable {
    public var name: String
    public var type: FieldType
    public var resolution: Resolution
    public var mutable: Bool

    public init(_ name: String, _ type: FieldType = .text, _ resolution: Resolution = .latest, mutable: Bool = true) {
        self.name = name
        self.type = type
        self.resolution = resolution
        self.mutable = mutable
    }

    static func fact(_ name: String, _ type: FieldType = .text) -> FieldSpec {
        FieldSpec(name, type, .latest, mutable: false)
    }
}

/// The replicated record kinds and their fields. The order of `fields` is the field index used by the
/// compact dot encoding, so fields are only ever appended (a schema version bump), never reordered.
public enum Entity: String, Hashable, Sendable, CaseIterable {
    case customers
    case orders
    case orderLines = "order_lines"
    case payments
    case fulfilments
    case trackingEvents = "tracking_events"
    case returns
    case refunds
    case exchanges
    case stock
    /// Shop settings that every device shares (`outpost config`; schema 2).
    case settings
    /// What the sending device recorded about each customer message (schema 3): keyed by the message's id.
    case messages
    /// Goods in, counts, moves and adjustments of one SKU at one location (schema 3): insert-only facts.
    case stockMovements = "stock_movements"
    /// Selling rights (schema 3): per SKU, location and device, what the device minted and used, and per pair of
    /// devices what one gave the other. Each record is written only by the device it belongs to.
    case stockRights = "stock_ledger"

    /// A small stable number used on the wire, in staged rows, siblings and the conflict log
    /// (protocol/SPEC.md §13, "Entities"). Fixed per entity: never derived from the order of the cases.
    public var code: UInt8 {
        switch self {
        case .customers: 0
        case .orders: 1
        case .orderLines: 2
        case .payments: 3
        case .fulfilments: 4
        case .trackingEvents: 5
        case .returns: 6
        case .refunds: 7
        case .exchanges: 8
        case .stock: 9
        case .settings: 10
        case .messages: 11
        case .stockMovements: 12
        case .stockRights: 13
        }
    }

    /// The entity with wire code `code`.
    public init?(code: UInt8) {
        guard Int(code) < Self.byCode.count else { return nil }
        self = Self.byCode[Int(code)]
    }

    /// Hashed by wire code (a raw-value enum would hash its name's text; entities key the hottest tables).
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The entities by wire code (the codes run from 0 without gaps; a test checks it).
    private static let byCode: [Entity] = allCases.sorted { $0.code < $1.code }

    /// Whether records of this kind belong to an order (and carry `order_id`).
    public var belongsToOrder: Bool {
        ![.customers, .stock, .orders, .settings, .stockMovements, .stockRights].contains(self)
    }

    /// The replicated fields, in field-index order.
    public var fields: [FieldSpec] { Self.fieldTable[Int(code)] }

    /// Every entity's fields and their names, built once (each write looks them up per field).
    private static let fieldTable: [[FieldSpec]] = {
        var table = Array(repeating: [FieldSpec](), count: allCases.count)
        for entity in allCases { table[Int(entity.code)] = entity.declaredFields }
        return table
    }()
    private static let nameTable: [[String]] = fieldTable.map { $0.map(\.name) }

    private var declaredFields: [FieldSpec] {
        switch self {
        case .customers:
            [.init("email"), .init("name"), .init("phone"), .init("address"), .init("created_at", .integer, .earliest)]
        case .orders:
            [
                .fact("number"), .fact("customer_id"), .fact("channel"), .fact("location"), .fact("currency"),
                .init("shipping_minor", .integer), .init("tax_minor", .integer), .init("discount_minor", .integer),
                .init("ship_by", .integer), .fact("created_at", .integer), .init("notes"), .init("phone"),
                .init("address"), .init("tags", .text, .union), .init("cancelled_at", .integer, .earliest),
                .init("cancel_reason"), .init("processing_at", .integer, .earliest),
            ]
        case .orderLines:
            [
                .fact("order_id"), .fact("sku"), .fact("name"), .init("quantity", .integer),
                .fact("unit_price_minor", .integer), .fact("exchange_id"), .fact("position", .integer),
            ]
        case .payments:
            [
                .fact("order_id"), .fact("kind"), .fact("amount_minor", .integer), .fact("method"),
                .fact("provisional", .integer), .fact("reference"), .fact("at", .integer), .fact("note"),
            ]
        case .fulfilments:
            [
                .fact("order_id"), .fact("lines"), .init("packed_at", .integer, .earliest),
                .init("shipped_at", .integer, .earliest), .init("delivered_at", .integer, .earliest),
                .init("cancelled_at", .integer, .earliest), .init("carrier"), .init("tracking_number"),
                .init("ship_to"),
            ]
        case .trackingEvents:
            [.fact("order_id"), .fact("fulfilment_id"), .fact("kind"), .fact("at", .integer), .fact("note")]
        case .returns:
            [
                .fact("order_id"), .fact("lines"), .fact("reason"), .fact("note"), .fact("requested_at", .integer),
                .init("received_at", .integer, .earliest), .init("closed_at", .integer, .earliest),
                .init("cancelled_at", .integer, .earliest), .init("restock", .integer, .greatest),
            ]
        case .refunds:
            [
                .fact("order_id"), .fact("amount_minor", .integer), .fact("lines"), .fact("reason"),
                .fact("at", .integer),
            ]
        case .exchanges:
            [
                .fact("order_id"), .fact("return_id"), .fact("lines"), .fact("difference_minor", .integer),
                .fact("at", .integer),
            ]
        case .stock:
            // One row per (sku, location, site); only that site writes it, so it never conflicts and
            // on-hand is the sum of contributions (OrderDomain.docc, "The order model").
            [.fact("sku"), .fact("location"), .fact("site"), .init("on_hand", .integer)]
        case .settings:
            // One row per setting, keyed by its name (`Settings`); the value is a register: the latest write wins
            // and concurrent writes show as a conflict like any other field.
            [.fact("key"), .init("value")]
        case .messages:
            // Written only by the device that sends messages (`messages.sender`); the record is created at the
            // first attempt. Once sent is sent (earliest `sent_at`); failures count up.
            [
                .fact("order_id"), .fact("kind"), .fact("trigger"), .init("sent_at", .integer, .earliest),
                .init("attempts", .integer, .greatest), .init("last_error"), .init("failed_at", .integer),
                .init("retry_at", .integer),
            ]
        case .stockMovements:
            // `quantity`: the change in units (receive, adjust, move_in, move_out), or the units counted (count).
            // A count also records what its device had seen of every other change (`seen_*`): the changes it
            // had not seen apply on top of it.
            [
                .fact("sku"), .fact("location"), .fact("kind"), .fact("quantity", .integer), .fact("reason"),
                .fact("note"), .fact("site"), .fact("at", .integer), .fact("seen_moves", .integer),
                .fact("seen_shipped", .integer), .fact("seen_restocked", .integer),
            ]
        case .stockRights:
            // One record per (sku, location, site, target), written only by `site`: target == site holds what the
            // site minted and used; another target holds what the site gave it. Counters only grow.
            [
                .fact("sku"), .fact("location"), .fact("site"), .fact("target"),
                .init("minted", .integer, .greatest), .init("used", .integer, .greatest),
                .init("given", .integer, .greatest),
            ]
        }
    }

    /// The index of the field named `name`.
    public func fieldIndex(_ name: String) -> Int? {
        // A scan: names are short (compared as a word or two, without hashing) and an entity has few fields.
        Self.nameTable[Int(code)].firstIndex(of: name)
    }
}

extension Entity {
    /// The version of the replicated schema: the entities, their fields in order, their merge rules and wire
    /// codes. Bumped with every change to them; peers must agree on it to sync (protocol/SPEC.md, "Model").
    /// Schema 2 added `settings`; schema 3 added `messages`, `stock_movements` and `stock_ledger`.
    public static let schemaVersion = 3
}
