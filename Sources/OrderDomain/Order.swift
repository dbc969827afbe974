/// Where an order came from.
public enum Channel: String, Hashable, Sendable, CaseIterable {
    case pos, web, marketplace, social, manual
    /// Imported from a Shopify order export (`outpost import shopify`).
    case shopify
    /// Imported from WooCommerce's REST API (`outpost import woocommerce`).
    case woocommerce
}

/// A customer. The id is derived from the e-mail address (`Identifiers.customerID(email:)`).
public struct Customer: Hashable, Sendable {
    public var id: String
    public var email: String
    public var name: String?
    public var phone: String?
    /// The default shipping address, one line of free text.
    public var address: String?
    /// Unix milliseconds (UTC).
    public var createdAt: Int64

    /// Creates a customer.
    public init(email: String, name: String? = nil, phone: String? = nil, address: String? = nil, createdAt: Int64) {
        self.id = Identifiers.customerID(email: email)
        self.email = email
        self.name = name
        self.phone = phone
        self.address = address
        self.createdAt = createdAt
    }
}

/// A quantity of one order line, as carried by fulfilments, returns and refunds.
public struct LineQuantity: Hashable, Sendable {
    public var lineID: String
    public var quantity: Int64

    public init(lineID: String, quantity: Int64) {
        self.lineID = lineID
        self.quantity = quantity
    }

    /// The stored form: `line:qty` pairs joined by commas, readable in `sqlite3`.
    public static func encode(_ quantities: [LineQuantity]) -> String {
        quantities.map { "\($0.lineID):\($0.quantity)" }.joined(separator: ",")
    }

    /// Parses the stored form; malformed pairs are skipped (they cannot be produced by `encode`).
    public static func decode(_ text: String?) -> [LineQuantity] {
        guard let text, !text.isEmpty else { return [] }
        // On the bytes: ids and digits are ASCII (every derivation reads this, for every shipment and return).
        return text.utf8.split(separator: UInt8(ascii: ",")).compactMap { pair in
            guard let colon = pair.lastIndex(of: UInt8(ascii: ":")),
                let quantity = Int64(Substring(pair[pair.index(after: colon)...]))
            else { return nil }
            return LineQuantity(lineID: String(Substring(pair[..<colon])), quantity: quantity)
        }
    }
}

/// One line of an order.
public struct OrderLine: Hashable, Sendable {
    public var id: String
    public var sku: String
    public var name: String
    /// Ordered quantity. Edits change it; shipped units stand whatever it says (see `OrderProgress`).
    public var quantity: Int64
    public var unitPriceMinor: Int64
    /// Set on outbound lines added by an exchange.
    public var exchangeID: String?
    public var position: Int64

    public init(
        id: String, sku: String, name: String, quantity: Int64, unitPriceMinor: Int64, exchangeID: String? = nil,
        position: Int64
    ) {
        self.id = id
        self.sku = sku
        self.name = name
        self.quantity = quantity
        self.unitPriceMinor = unitPriceMinor
        self.exchangeID = exchangeID
        self.position = position
    }
}

/// An order with its lines and every fact recorded against it: the input of status derivation.
public struct Order: Hashable, Sendable {
    public var id: String
    public var number: String
    public var customerID: String
    public var channel: Channel
    public var location: String
    public var currency: CurrencyCode
    public var shippingMinor: Int64
    public var taxMinor: Int64
    public var discountMinor: Int64
    /// Promised ship-by time, Unix milliseconds (UTC).
    public var shipBy: Int64?
    public var createdAt: Int64
    public var notes: String?
    public var phone: String?
    /// Shipping address, one line of free text.
    public var address: String?
    public var tags: Set<String>
    /// When the order was cancelled (cancel ∥ cancel keeps the earliest).
    public var cancelledAt: Int64?
    public var cancelReason: String?
    /// When processing (picking) started.
    public var processingAt: Int64?

    public var lines: [OrderLine] = []
    public var payments: [Payment] = []
    public var fulfilments: [Fulfilment] = []
    public var trackingEvents: [TrackingEvent] = []
    public var returns: [Return] = []
    public var refunds: [Refund] = []
    public var exchanges: [Exchange] = []
    /// What the sending device recorded about this order's customer messages.
    public var messages: [MessageDelivery] = []

    public init(
        id: String, number: String, customerID: String, channel: Channel, location: String, currency: CurrencyCode,
        shippingMinor: Int64 = 0, taxMinor: Int64 = 0, discountMinor: Int64 = 0, shipBy: Int64? = nil,
        createdAt: Int64, notes: String? = nil, phone: String? = nil, address: String? = nil,
        tags: Set<String> = [], cancelledAt: Int64? = nil, cancelReason: String? = nil, processingAt: Int64? = nil
    ) {
        self.id = id
        self.number = number
        self.customerID = customerID
        self.channel = channel
        self.location = location
        self.currency = currency
        self.shippingMinor = shippingMinor
        self.taxMinor = taxMinor
        self.discountMinor = discountMinor
        self.shipBy = shipBy
        self.createdAt = createdAt
        self.notes = notes
        self.phone = phone
        self.address = address
        self.tags = tags
        self.cancelledAt = cancelledAt
        self.cancelReason = cancelReason
        self.processingAt = processingAt
    }

    /// The line with `id`.
    public func line(_ id: String) -> OrderLine? { lines.first { $0.id == id } }
}
