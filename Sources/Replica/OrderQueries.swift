import GRDB
import OrderDomain

/// One entry of an order's audit timeline.
public struct TimelineEntry: Hashable, Sendable {
    /// Unix milliseconds (UTC).
    public var at: Int64
    /// What happened, e.g. `created`, `payment_capture`, `shipped`.
    public var event: String
    public var detail: String?
}

/// A field holding concurrent values that no later write has settled.
public struct Conflict: Hashable, Sendable {
    public var orderID: String?
    public var entity: Entity
    public var recordID: String
    public var field: String
    /// Every sibling value, sorted.
    public var values: [FieldValue]
    /// The value shown.
    public var winner: FieldValue
    /// The resolution rule that chose it.
    public var rule: Resolution
    /// Site ids of the concurrent writers.
    public var sites: [String]
    /// The earliest hybrid time among the siblings (Unix milliseconds).
    public var detectedAt: Int64
}

/// An order with everything known about it.
public struct OrderDetails: Hashable, Sendable {
    public var order: Order
    public var progress: OrderProgress
    /// What needs attention at the time of reading (`Order.flags(now:)`).
    public var flags: [AttentionFlag] = []
    public var customerEmail: String?
    public var timeline: [TimelineEntry]
    public var conflicts: [Conflict]
}

/// A row of an order listing.
public struct OrderListing: Hashable, Sendable {
    public var id: String
    public var number: String
    public var status: OrderStatus
    public var overlays: [Overlay]
    public var totalMinor: Int64
    public var currency: String
    public var customerEmail: String?
    public var channel: Channel
    public var createdAt: Int64
    /// Where the money stands (filled by `orders(matching:)`).
    public var financialStatus: FinancialStatus = .unpaid
    /// What needs attention at the listing's time (filled by `orders(matching:)`).
    public var flags: [AttentionFlag] = []
}

/// Filters for `orders(matching:)`; nil matches everything.
public struct OrderFilter: Sendable {
    public var status: OrderStatus?
    public var customerEmail: String?
    public var channel: Channel?
    /// Created at or after (Unix milliseconds).
    public var since: Int64?
    /// Created before (Unix milliseconds).
    public var until: Int64?
    public var limit: Int?
    /// Text found (case-insensitively) in the order number, the customer's e-mail, name or phone, the order's
    /// phone, or a parcel's tracking number.
    public var search: String?
    /// Orders carrying this tag.
    public var tag: String?
    /// Orders with a line of this SKU.
    public var sku: String?
    /// Orders showing this overlay.
    public var overlay: Overlay?
    /// Orders with this flag at `asOf`.
    public var flag: AttentionFlag?
    /// Orders of customers in this segment at `asOf` (the shared settings' thresholds).
    public var segment: CustomerSegment?
    /// Orders whose money stands so.
    public var financialStatus: FinancialStatus?
    /// The time flags are read at (Unix milliseconds, UTC); the replica's clock when nil.
    public var asOf: Int64?

    public init(
        status: OrderStatus? = nil, customerEmail: String? = nil, channel: Channel? = nil, since: Int64? = nil,
        until: Int64? = nil, limit: Int? = nil
    ) {
        self.status = status
        self.customerEmail = customerEmail
        self.channel = channel
        self.since = since
        self.until = until
        self.limit = limit
    }
}

/// A customer with their order history.
public struct CustomerDetails: Hashable, Sendable {
    public var customer: Customer
    public var orders: [OrderListing]
    /// Units bought per SKU (what still stands: shipped or reserved).
    public var purchased: [String: Int64]
    /// Units returned per SKU.
    public var returned: [String: Int64]
    /// Money kept per currency, last order and the like, at the replica's clock.
    public var facts: CustomerFacts
    /// The segments those facts put the customer in (the shared settings' thresholds).
    public var segments: [CustomerSegment]
}

/// The reads of a replica (`replica.queries`): orders, customers, stock and open conflicts, each from one
/// consistent read snapshot of the file. Reads never wait for a writer (WAL).
public struct OrderQueries: Sendable {
    let replica: Replica

    /// Runs `body` in one read transaction.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await replica.pool.read(body)
    }
}

extension Replica {
    /// The reads: orders, customers, stock levels and open conflicts.
    public var queries: OrderQueries { OrderQueries(replica: self) }
}

extension OrderQueries {
    /// Which of `ids` are orders this replica holds (for imports that skip what is already there).
    public func existingOrders(ids: [String]) async throws -> Set<String> {
        try await read { db in
            var found: Set<String> = []
            let statement = try db.cachedStatement(sql: "SELECT 1 FROM orders WHERE id = ?")
            for id in ids where try Int.fetchOne(statement, arguments: [id]) != nil { found.insert(id) }
            return found
        }
    }

    /// The order named by id or number, with lines, facts, derived status, flags, timeline and open conflicts.
    /// - Parameters:
    ///   - reference: the order's id or number.
    ///   - now: the time the flags are read at (Unix milliseconds, UTC); the replica's clock when nil.
    public func order(_ reference: String, asOf now: Int64? = nil) async throws -> OrderDetails {
        let now = now ?? replica.now()
        return try await read { db in
            let order = try OrderRecords.require(db, reference)
            let email = try String.fetchOne(
                db, sql: "SELECT email FROM customers WHERE id = ?", arguments: [order.customerID])
            let timeline = try Row.fetchAll(
                db, sql: "SELECT at, event, detail FROM order_timeline WHERE order_id = ? ORDER BY at, event",
                arguments: [order.id]
            ).map { TimelineEntry(at: $0["at"], event: $0["event"], detail: $0["detail"]) }
            let progress = order.progress
            return OrderDetails(
                order: order, progress: progress, flags: order.flags(now: now, progress: progress),
                customerEmail: email,
                timeline: timeline, conflicts: try Self.conflicts(db, orderID: order.id))
        }
    }

    /// Orders matching `filter`, newest first, each with its financial status and flags.
    /// - Throws: `DomainError(.invalidInput)` for a limit below 1.
    public func orders(matching filter: OrderFilter = OrderFilter()) async throws -> [OrderListing] {
        if let limit = filter.limit, limit < 1 {
            throw DomainError(
                .invalidInput, "a listing limit is at least 1, not \(limit)", hint: "leave it out to list every order")
        }
        let now = filter.asOf ?? replica.now()
        return try await read { db in try Self.listings(db, filter, now: now) }
    }

    /// Orders matching `filter` with their lines and facts, newest first, and their customers, from one read
    /// (for exports).
    public func completeOrders(matching filter: OrderFilter = OrderFilter()) async throws -> [(
        order: Order, customer: Customer?
    )] {
        let now = filter.asOf ?? replica.now()
        return try await read { db in
            try Self.listings(db, filter, now: now).compactMap { listing in
                guard let order = try OrderRecords.load(db, id: listing.id) else { return nil }
                let customer = try Row.fetchOne(
                    db, sql: "SELECT email, name, phone, address, created_at FROM customers WHERE id = ?",
                    arguments: [order.customerID]
                ).map {
                    Customer(
                        email: $0["email"] ?? "", name: $0["name"], phone: $0["phone"], address: $0["address"],
                        createdAt: $0["created_at"] ?? 0)
                }
                return (order, customer)
            }
        }
    }

    static func listings(_ db: Database, _ filter: OrderFilter, now: Int64) throws -> [OrderListing] {
        do {
            var clauses: [String] = []
            var arguments: StatementArguments = []
            if let status = filter.status {
                clauses.append("o.status = ?")
                arguments += [status.rawValue]
            }
            if let email = filter.customerEmail {
                clauses.append("o.customer_id = ?")
                arguments += [Identifiers.customerID(email: email)]
            }
            if let channel = filter.channel {
                clauses.append("o.channel = ?")
                arguments += [channel.rawValue]
            }
            if let since = filter.since {
                clauses.append("o.created_at >= ?")
                arguments += [since]
            }
            if let until = filter.until {
                clauses.append("o.created_at < ?")
                arguments += [until]
            }
            if let search = filter.search, !search.isEmpty {
                let pattern = "%" + Self.likeLiteral(search.lowercased()) + "%"
                // One scan per table, joined by index, instead of every condition for every order.
                clauses.append(
                    """
                    o.id IN (
                        SELECT id FROM orders
                        WHERE lower(number) LIKE ? ESCAPE '\\' OR lower(phone) LIKE ? ESCAPE '\\'
                        UNION
                        SELECT x.id FROM orders x WHERE x.customer_id IN (
                            SELECT id FROM customers
                            WHERE lower(email) LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\'
                               OR lower(phone) LIKE ? ESCAPE '\\')
                        UNION
                        SELECT order_id FROM fulfilments WHERE lower(tracking_number) LIKE ? ESCAPE '\\')
                    """)
                arguments += [pattern, pattern, pattern, pattern, pattern, pattern]
            }
            if let tag = filter.tag {
                clauses.append("(',' || COALESCE(o.tags, '') || ',') LIKE ? ESCAPE '\\'")
                arguments += ["%," + Self.likeLiteral(tag) + ",%"]
            }
            if let sku = filter.sku {
                clauses.append("EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.sku = ?)")
                arguments += [sku]
            }
            if let overlay = filter.overlay {
                clauses.append("(',' || COALESCE(o.overlays, '') || ',') LIKE ?")
                arguments += ["%," + overlay.rawValue + ",%"]
            }
            let members = try filter.segment.map { segment in
                Set(try Self.customers(db, segment: segment, search: nil, now: now, thresholds: nil).map(\.customer.id))
            }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            // Flags and the financial status are derived from the facts: the limit applies after them.
            let derivedFilter = filter.flag != nil || filter.financialStatus != nil || members != nil
            let limitSQL = derivedFilter ? "" : filter.limit.map { " LIMIT \($0)" } ?? ""
            var listings: [OrderListing] = []
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT o.id, o.number, o.status, o.overlays, o.total_minor, o.currency, c.email, o.channel,
                           o.created_at, o.customer_id
                    FROM orders o LEFT JOIN customers c ON c.id = o.customer_id \(whereSQL)
                    ORDER BY o.created_at DESC, o.number\(limitSQL)
                    """, arguments: arguments)
            {
                if let members, !members.contains(row["customer_id"] as String? ?? "") { continue }
                var listing = Self.listing(row)
                if let order = try OrderRecords.load(db, id: listing.id) {
                    listing.financialStatus = order.progress.financialStatus
                    listing.flags = order.flags(now: now)
                }
                if let flag = filter.flag, !listing.flags.contains(flag) { continue }
                if let financial = filter.financialStatus, listing.financialStatus != financial { continue }
                listings.append(listing)
                if derivedFilter, let limit = filter.limit, listings.count >= limit { break }
            }
            return listings
        }
    }

    /// `text` for a LIKE pattern with `ESCAPE '\\'`: the user's `%`, `_` and `\\` match themselves.
    static func likeLiteral(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }

    static func listing(_ row: Row) -> OrderListing {
        OrderListing(
            id: row["id"], number: row["number"], status: OrderStatus(rawValue: row["status"] ?? "") ?? .pendingPayment,
            overlays: (row["overlays"] as String? ?? "").split(separator: ",").compactMap {
                Overlay(rawValue: String($0))
            },
            totalMinor: row["total_minor"] ?? 0, currency: row["currency"] ?? "", customerEmail: row["email"],
            channel: Channel(rawValue: row["channel"] ?? "") ?? .manual, createdAt: row["created_at"] ?? 0)
    }

    /// The customer with `email`, their orders, what they bought and what they returned.
    public func customer(email: String) async throws -> CustomerDetails {
        try await read { db in
            let id = Identifiers.customerID(email: email)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM customers WHERE id = ?", arguments: [id]) else {
                throw DomainError(
                    .notFound, "no customer with e-mail \(email)", hint: "add one with `outpost customer add`")
            }
            var customer = Customer(
                email: row["email"], name: row["name"], phone: row["phone"], address: row["address"],
                createdAt: row["created_at"] ?? 0)
            customer.id = id
            let orders = try Row.fetchAll(
                db,
                sql: """
                    SELECT o.id, o.number, o.status, o.overlays, o.total_minor, o.currency, ? AS email, o.channel, o.created_at
                    FROM orders o WHERE o.customer_id = ? ORDER BY o.created_at DESC
                    """, arguments: [email, id]
            ).map(Self.listing)
            var purchased: [String: Int64] = [:]
            var returned: [String: Int64] = [:]
            for line in try Row.fetchAll(
                db,
                sql:
                    "SELECT l.sku, l.demand, l.returned FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.customer_id = ?",
                arguments: [id])
            {
                let sku: String = line["sku"]
                purchased[sku, default: 0] += line["demand"] ?? 0
                if let units: Int64 = line["returned"], units > 0 { returned[sku, default: 0] += units }
            }
            let summary = try Self.customers(
                db, segment: nil, search: customer.email, now: replica.now(), thresholds: nil
            ).first { $0.customer.id == id }
            return CustomerDetails(
                customer: customer, orders: orders, purchased: purchased.filter { $0.value > 0 }, returned: returned,
                facts: summary?.facts
                    ?? CustomerFacts(orders: 0, spentMinor: [:], lastOrderAt: nil, shippedUnits: 0, returnedUnits: 0),
                segments: summary?.segments ?? [])
        }
    }

    /// Fields currently holding concurrent values, for one order or all.
    public func conflicts(order reference: String? = nil) async throws -> [Conflict] {
        try await read { db in
            let orderID = try reference.map { try OrderRecords.require(db, $0).id }
            return try Self.conflicts(db, orderID: orderID)
        }
    }

    static func conflicts(_ db: Database, orderID: String?) throws -> [Conflict] {
        let keys = try Row.fetchAll(db, sql: "SELECT DISTINCT entity, row_id FROM siblings ORDER BY entity, row_id")
        var sites: [Int64: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT ordinal, site_id FROM sites") {
            sites[row["ordinal"]] = row["site_id"]
        }
        var result: [Conflict] = []
        for key in keys {
            guard let entity = Entity(code: UInt8(truncatingIfNeeded: key["entity"] as Int64)),
                let (state, _) = try RowStore.load(db, entity, id: key["row_id"])
            else { continue }
            let owner = entity == .orders ? state.id : state.value("order_id").text
            if let orderID, owner != orderID { continue }
            for (index, field) in state.fields.enumerated() where field.isConflict {
                let spec = entity.fields[index]
                result.append(
                    Conflict(
                        orderID: owner, entity: entity, recordID: state.id, field: spec.name,
                        values: field.siblings.map(\.value).sorted(), winner: field.resolved(by: spec.resolution),
                        rule: spec.resolution, sites: field.siblings.map { sites[Int64($0.dot.site)] ?? "?" }.sorted(),
                        detectedAt: field.siblings.map(\.time.milliseconds).min() ?? 0))
            }
        }
        return result
    }
}

/// A return with the order it belongs to, for lists.
public struct ReturnListing: Hashable, Sendable {
    public var item: Return
    public var orderID: String
    public var orderNumber: String
    /// What people type: `ORDER/R7f3a`.
    public var reference: String
}

extension OrderQueries {
    /// Every return, newest first; `openOnly` leaves out closed ones.
    public func returns(openOnly: Bool = false) async throws -> [ReturnListing] {
        try await read { db in
            let ids = try String.fetchAll(
                db,
                sql: "SELECT DISTINCT order_id FROM returns" + (openOnly ? " WHERE closed_at IS NULL" : "")
                    + " ORDER BY order_id")
            var listings: [ReturnListing] = []
            for id in ids {
                guard let order = try OrderRecords.load(db, id: id) else { continue }
                for item in order.returns where !openOnly || item.closedAt == nil {
                    listings.append(
                        ReturnListing(
                            item: item, orderID: order.id, orderNumber: order.number,
                            reference: item.reference(orderNumber: order.number)))
                }
            }
            return listings.sorted { ($0.item.requestedAt, $0.item.id) > ($1.item.requestedAt, $1.item.id) }
        }
    }
}

/// One order's reasons for attention, for the attention list.
public struct AttentionEntry: Hashable, Sendable {
    public var orderID: String
    public var orderNumber: String
    public var customerEmail: String?
    public var item: AttentionItem
}

extension OrderQueries {
    /// What needs a person at `now` (the replica's clock when nil): every reason of every order, oldest first.
    /// Orders at rest — delivered, cancelled, refunded or returned, with no overlay, no conflict and no failing
    /// message — are not looked at.
    ///
    /// - Parameters:
    ///   - now: the time to read at (Unix milliseconds, UTC); the replica's clock when nil.
    ///   - thresholds: the thresholds to apply; the shared settings' (`outpost config`) when nil.
    public func attention(asOf now: Int64? = nil, thresholds: AttentionThresholds? = nil)
        async throws -> [AttentionEntry]
    {
        let now = now ?? replica.now()
        return try await read { db in
            let thresholds = try thresholds ?? Self.settings(db).attention
            let conflicted = Set(try Self.conflicts(db, orderID: nil).compactMap(\.orderID))
            let oversold = try StockLevels.oversold(db)
            let ids = try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM orders
                    WHERE status NOT IN ('delivered', 'cancelled', 'refunded', 'returned') OR COALESCE(overlays, '') != ''
                    UNION SELECT order_id FROM attention_items WHERE kind = 'message_failed'
                    """)
            var entries: [AttentionEntry] = []
            for id in Set(ids).union(conflicted).union(oversold.keys).sorted() {
                guard let order = try OrderRecords.load(db, id: id) else { continue }
                let email = try String.fetchOne(
                    db, sql: "SELECT email FROM customers WHERE id = ?", arguments: [order.customerID])
                var items = order.attention(now: now, thresholds: thresholds, conflicted: conflicted.contains(id))
                for short in oversold[id] ?? [] {
                    items.append(
                        AttentionItem(
                            kind: .oversold, since: order.createdAt,
                            why: "\(short.units) unit(s) of \(short.sku) at \(short.location) promised beyond stock"))
                }
                for item in items {
                    entries.append(
                        AttentionEntry(orderID: order.id, orderNumber: order.number, customerEmail: email, item: item))
                }
            }
            let rank = Dictionary(uniqueKeysWithValues: AttentionKind.allCases.enumerated().map { ($1, $0) })
            return entries.sorted {
                (rank[$0.item.kind] ?? 0, $0.item.since, $0.orderNumber)
                    < (rank[$1.item.kind] ?? 0, $1.item.since, $1.orderNumber)
            }
        }
    }
}

/// A customer in a list: who, what their orders add up to, and their segments.
public struct CustomerSummary: Hashable, Sendable {
    public var customer: Customer
    public var facts: CustomerFacts
    public var segments: [CustomerSegment]
}

extension OrderQueries {
    /// Customers by e-mail, with their totals and segments at `now` (the replica's clock when nil); only those
    /// in `segment` and whose e-mail, name or phone contains `search` (case-insensitive) when given.
    ///
    /// Segment thresholds are the shared settings' (`outpost config`) unless `thresholds` is given.
    public func customers(
        segment: CustomerSegment? = nil, search: String? = nil, asOf now: Int64? = nil,
        thresholds: SegmentThresholds? = nil
    ) async throws -> [CustomerSummary] {
        let now = now ?? replica.now()
        return try await read { db in
            try Self.customers(db, segment: segment, search: search, now: now, thresholds: thresholds)
        }
    }

    static func customers(
        _ db: Database, segment: CustomerSegment?, search: String?, now: Int64, thresholds: SegmentThresholds?
    ) throws -> [CustomerSummary] {
        do {
            let thresholds = try thresholds ?? Self.settings(db).segments
            var spent: [String: [String: Int64]] = [:]
            var orders: [String: Int] = [:]
            var last: [String: Int64] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT customer_id, currency, COUNT(*) FILTER (WHERE status != 'cancelled') AS orders,
                           SUM(COALESCE(paid_minor, 0) - COALESCE(refunded_minor, 0)) AS spent, MAX(created_at) AS last
                    FROM orders GROUP BY customer_id, currency
                    """)
            {
                let id: String = row["customer_id"]
                spent[id, default: [:]][row["currency"] ?? "XXX"] = row["spent"] ?? 0
                orders[id, default: 0] += row["orders"] ?? 0
                last[id] = max(last[id] ?? .min, row["last"] ?? .min)
            }
            var units: [String: (shipped: Int64, returned: Int64)] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT o.customer_id, SUM(COALESCE(l.shipped, 0)) AS shipped, SUM(COALESCE(l.returned, 0)) AS returned
                    FROM order_lines l JOIN orders o ON o.id = l.order_id GROUP BY o.customer_id
                    """)
            {
                units[row["customer_id"]] = (row["shipped"] ?? 0, row["returned"] ?? 0)
            }
            var pattern: String?
            if let search, !search.isEmpty { pattern = "%" + Self.likeLiteral(search.lowercased()) + "%" }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, email, name, phone, address, created_at FROM customers
                    WHERE ?1 IS NULL OR lower(email) LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\'
                       OR lower(phone) LIKE ?1 ESCAPE '\\'
                    ORDER BY email
                    """, arguments: [pattern])
            return rows.compactMap { row -> CustomerSummary? in
                var customer = Customer(
                    email: row["email"] ?? "", name: row["name"], phone: row["phone"], address: row["address"],
                    createdAt: row["created_at"] ?? 0)
                let id: String = row["id"]
                customer.id = id
                let facts = CustomerFacts(
                    orders: orders[id] ?? 0, spentMinor: spent[id] ?? [:], lastOrderAt: last[id],
                    shippedUnits: units[id]?.shipped ?? 0, returnedUnits: units[id]?.returned ?? 0)
                let segments = facts.segments(now: now, thresholds: thresholds)
                if let segment, !segments.contains(segment) { return nil }
                return CustomerSummary(customer: customer, facts: facts, segments: segments)
            }
        }
    }
}

extension OrderQueries {
    /// The figures of the orders created in `since..<until` (README, "The report"). Attention is read at the
    /// period's end (or now, if that is earlier) over the facts held now.
    public func report(since: Int64, until: Int64) async throws -> Report {
        let end = min(until, replica.now())
        let attention = try await attention(asOf: end)
        var attentionByKind: [String: Int] = [:]
        for entry in attention { attentionByKind[entry.item.kind.rawValue, default: 0] += 1 }
        let oversold = Set(attention.filter { $0.item.kind == .oversold }.map(\.orderID))
        var filter = OrderFilter()
        filter.since = since
        filter.until = until
        let orders = try await completeOrders(matching: filter).map(\.order)
        let histories = try await read { db in
            var histories: [String: Report.CustomerHistory] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT customer_id, MIN(created_at) AS first, COUNT(*) AS orders FROM orders GROUP BY customer_id"
            ) {
                histories[row["customer_id"]] = Report.CustomerHistory(
                    firstOrderAt: row["first"], orders: row["orders"])
            }
            return histories
        }
        return Report(
            since: since, until: until, orders: orders, customers: histories, oversoldOrders: oversold,
            attentionAtEnd: attentionByKind)
    }
}
