import GRDB
import OrderDomain

/// Options for a new order beyond customer and lines.
public struct NewOrderOptions: Sendable {
    public var currency: String = "EUR"
    public var channel: Channel = .pos
    public var location: String = "main"
    /// Decimal amounts in the order's currency, e.g. `4.90`.
    public var shipping: String?
    public var tax: String?
    public var discount: String?
    /// Unix milliseconds (UTC).
    public var shipBy: Int64?
    public var notes: String?
    public var address: String?
    public var phone: String?
    public var tags: Set<String> = []
    /// Sell even where this device holds no selling rights for the units: the order is tagged `backorder`, and
    /// its units are promised beyond what the device may sell (listed `oversold` if the stock does not cover them).
    public var backorder = false

    public init() {}
}

/// What a command created or changed, for the caller to show.
public struct CommandResult: Hashable, Sendable {
    public var orderID: String
    public var orderNumber: String
    /// The record the command created (payment, parcel, return, refund, exchange), if any.
    public var recordID: String?
    public var status: OrderStatus
}

/// The order commands of a replica (`replica.commands`): the store side of `OrderDomain`'s rules.
///
/// Each command is one write transaction: it loads the facts it needs, asks `OrderDomain` whether the command
/// is allowed (a refusal is a `DomainError` and changes nothing), writes the accepted facts with one dot, and
/// refreshes the derived view of every order it touched. Inside `Replica.transaction` a command is a savepoint
/// of the basket's transaction instead (it shares the basket's commit and dot; a refusal still changes nothing).
/// Reads are `replica.queries`; what a sync session uses is `replica.replication`.
public struct OrderCommands: Sendable {
    let replica: Replica

    /// Runs `body` as one write transaction of the replica (`bulk`: a long one, see `Replica.write`).
    func write<T: Sendable>(bulk: Bool = false, _ body: @escaping @Sendable (WriteContext) throws -> T) async throws
        -> T
    {
        try await replica.write(bulk: bulk, body)
    }

    /// The replica's identity (order numbers carry its prefix).
    var identity: ReplicaIdentity { replica.identity }
}

extension Replica {
    /// The order commands: customers, stock, orders and everything that happens to them.
    public var commands: OrderCommands { OrderCommands(replica: self) }
}

extension OrderCommands {
    // MARK: Customers

    /// Creates a customer. Refuses an e-mail address that already has a customer.
    public func createCustomer(email: String, name: String? = nil, phone: String? = nil, address: String? = nil)
        async throws -> Customer
    {
        try InputRules.checkEmail(email)
        return try await write { context in
            let customer = Customer(
                email: email, name: name, phone: phone, address: address, createdAt: context.eventTime)
            if try RowStore.exists(context.db, .customers, id: customer.id) {
                throw DomainError(
                    .invalidInput, "a customer with e-mail \(email) already exists", hint: "use `customer edit`")
            }
            try context.insert(Self.customerValues(customer), id: customer.id)
            return customer
        }
    }

    /// Changes a customer's name, phone or address (nil leaves a field as it is).
    public func editCustomer(email: String, name: String? = nil, phone: String? = nil, address: String? = nil)
        async throws
    {
        try await write { context in
            var values: [String: FieldValue] = [:]
            if let name { values["name"] = .text(name) }
            if let phone { values["phone"] = .text(phone) }
            if let address { values["address"] = .text(address) }
            guard !values.isEmpty else {
                throw DomainError(.invalidInput, "nothing to change", hint: "pass --name, --phone or --address")
            }
            let id = Identifiers.customerID(email: email)
            guard try RowStore.exists(context.db, .customers, id: id) else {
                throw DomainError(
                    .notFound, "no customer with e-mail \(email)",
                    hint: "add one with `customer add`, or check the address")
            }
            try context.update(.customers, id: id, values)
        }
    }

    static let customerLayout = FieldLayout(.customers, ["email", "name", "phone", "address", "created_at"])

    static func customerValues(_ customer: Customer) -> NewRecord {
        NewRecord(
            layout: customerLayout,
            values: [
                .text(customer.email), FieldValue(customer.name), FieldValue(customer.phone),
                FieldValue(customer.address), .integer(customer.createdAt),
            ])
    }

    // MARK: Orders

    /// Creates an order for the customer with `customerEmail` (created on the fly when new), reserving stock.
    ///
    /// - Parameters:
    ///   - customerEmail: the customer's e-mail address (their identity across replicas).
    ///   - lines: SKU, quantity and unit price (decimal, in `options.currency`) of each line.
    ///   - options: currency, channel, stock location, shipping, tax, discount, dates, notes and tags.
    /// - Throws: `DomainError` for bad input or `.insufficientStock` when a tracked SKU lacks available stock.
    public func createOrder(customerEmail: String, lines: [LineSpec], options: NewOrderOptions = NewOrderOptions())
        async throws
        -> CommandResult
    {
        try InputRules.checkEmail(customerEmail)
        for tag in options.tags { try InputRules.checkTag(tag) }
        let currency = try CurrencyCode(options.currency)
        guard !lines.isEmpty else {
            throw DomainError(.invalidInput, "an order needs at least one line", hint: "pass --line SKU:QTY:PRICE")
        }
        let priced = try lines.map { line throws(DomainError) in try line.priced(in: currency) }
        let charges = try [options.shipping, options.tax, options.discount].map { text throws(DomainError) -> Int64 in
            guard let text else { return 0 }
            return try Money(parsing: text, currency: currency).minorUnits
        }
        return try await write { context in
            let db = context.db
            let customerID = Identifiers.customerID(email: customerEmail)
            if try !RowStore.exists(db, .customers, id: customerID) {
                let customer = Customer(email: customerEmail, createdAt: context.eventTime)
                try context.insert(Self.customerValues(customer), id: customerID)
            }
            let id = Identifiers.uuidV7(milliseconds: context.eventTime, using: &context.random)
            let number = OrderNumber(prefix: self.identity.numberPrefix, sequence: context.nextOrderSequence())
                .description
            var order = Order(
                id: id, number: number, customerID: customerID, channel: options.channel, location: options.location,
                currency: currency, shippingMinor: charges[0], taxMinor: charges[1], discountMinor: charges[2],
                shipBy: options.shipBy, createdAt: context.eventTime, notes: options.notes, phone: options.phone,
                address: options.address, tags: options.backorder ? options.tags.union(["backorder"]) : options.tags)
            for (position, line) in priced.enumerated() {
                order.lines.append(
                    OrderLine(
                        id: Identifiers.uuidV7(milliseconds: context.eventTime, using: &context.random), sku: line.sku,
                        name: line.sku, quantity: line.quantity, unitPriceMinor: line.unitPriceMinor,
                        position: Int64(position)))
            }
            try order.checkTotals()
            // The derived view is computed in memory and written with the rows: one write per row.
            let progress = order.progress
            try context.insert(Self.orderValues(order), id: id, derived: OrderRecords.orderDerived(progress))
            for (line, lineProgress) in zip(order.lines, progress.lines) {
                try context.insert(
                    Self.lineValues(line, orderID: id), id: line.id, derived: OrderRecords.lineDerived(lineProgress))
            }
            try OrderRecords.storeSchedules(
                context.db, order, try context.dueSchedules(), fresh: true, progress: progress)
            // The units sold take this device's selling rights (a backorder takes none).
            if !options.backorder {
                var sold: [String: Int64] = [:]
                for line in order.lines { sold[line.sku, default: 0] += line.quantity }
                let tracked = try StockLedger.tracked(db, skus: Array(sold.keys), location: order.location)
                for (sku, units) in sold.sorted(by: { $0.key < $1.key }) where tracked.contains(sku) {
                    try StockLedger.change(
                        context, StockKey(sku: sku, location: order.location), site: self.identity.siteID, by: -units)
                }
            }
            context.touchedOrders.remove(id)
            context.refreshedOrders.insert(id)
            return CommandResult(orderID: id, orderNumber: number, recordID: nil, status: progress.status)
        }
    }

    static let orderLayout = FieldLayout(
        .orders,
        [
            "number", "customer_id", "channel", "location", "currency", "shipping_minor", "tax_minor", "discount_minor",
            "ship_by", "created_at", "notes", "phone", "address", "tags", "cancelled_at", "cancel_reason",
            "processing_at",
        ])

    static func orderValues(_ order: Order) -> NewRecord {
        NewRecord(
            layout: orderLayout,
            values: [
                .text(order.number), .text(order.customerID), .text(order.channel.rawValue), .text(order.location),
                .text(order.currency.code), .integer(order.shippingMinor), .integer(order.taxMinor),
                .integer(order.discountMinor), FieldValue(order.shipBy), .integer(order.createdAt),
                FieldValue(order.notes), FieldValue(order.phone), FieldValue(order.address),
                TagSet.value(of: order.tags), FieldValue(order.cancelledAt), FieldValue(order.cancelReason),
                FieldValue(order.processingAt),
            ])
    }

    static let lineLayout = FieldLayout(
        .orderLines, ["order_id", "sku", "name", "quantity", "unit_price_minor", "exchange_id", "position"])

    static func lineValues(_ line: OrderLine, orderID: String) -> NewRecord {
        NewRecord(
            layout: lineLayout,
            values: [
                .text(orderID), .text(line.sku), .text(line.name), .integer(line.quantity),
                .integer(line.unitPriceMinor), FieldValue(line.exchangeID), .integer(line.position),
            ])
    }

    static func newID(_ context: WriteContext) -> String {
        Identifiers.uuidV7(milliseconds: context.eventTime, using: &context.random)
    }

    /// Runs an order command: loads the order, lets `body` validate and write, and reports the new status.
    func orderCommand(
        _ reference: String, _ body: @escaping @Sendable (WriteContext, Order) throws -> String?
    ) async throws -> CommandResult {
        try await write { context in
            let order = try OrderRecords.require(context.db, reference)
            let record = try body(context, order)
            context.touchedOrders.insert(order.id)
            let progress = try OrderRecords.refresh(
                context.db, id: order.id, schedules: try context.dueSchedules())
            if let progress { try self.settleRights(context, before: order, after: progress) }
            context.touchedOrders.remove(order.id)
            context.refreshedOrders.insert(order.id)
            return CommandResult(
                orderID: order.id, orderNumber: order.number, recordID: record,
                status: progress?.status ?? .pendingPayment)
        }
    }
}
