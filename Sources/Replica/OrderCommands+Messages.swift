import GRDB
import OrderDomain

/// Where a customer message stands.
public enum MessageState: String, Hashable, Sendable, CaseIterable {
    /// Its time has not come (a review request before `messages.review_days`).
    case scheduled
    /// Due and not sent: the sender sends it at its next pass.
    case pending
    /// Due, but the order or its customer holds concurrent values (two devices wrote different e-mails,
    /// addresses, …): not sent until the conflict is settled.
    case held
    /// Tried and failed; the sender tries again after `retryAt`.
    case failed
    /// Handed over for delivery.
    case sent
    /// Not sent within `messages.expire_hours` of being due: dropped rather than sent late.
    case expired
    /// The customer has no e-mail address.
    case noAddress = "no_address"
}

/// One message of the outbox: what an order's facts call for, and what the sender recorded.
public struct OutboxMessage: Hashable, Sendable {
    /// The message's id (`Identifiers.messageID`), also its `Message-ID` with `@outpost`.
    public var id: String
    public var orderID: String
    public var orderNumber: String
    public var kind: MessageKind
    /// The fact that calls for it.
    public var trigger: String
    /// When that fact happened, and when the message is due (Unix milliseconds, UTC).
    public var at: Int64
    public var dueAt: Int64
    public var customerEmail: String?
    public var customerName: String?
    public var state: MessageState
    public var sentAt: Int64?
    public var attempts: Int64
    public var lastError: String?
    public var retryAt: Int64?

    public init(
        id: String, orderID: String, orderNumber: String, kind: MessageKind, trigger: String, at: Int64, dueAt: Int64,
        customerEmail: String?, customerName: String?, state: MessageState, sentAt: Int64?, attempts: Int64,
        lastError: String?, retryAt: Int64?
    ) {
        self.id = id
        self.orderID = orderID
        self.orderNumber = orderNumber
        self.kind = kind
        self.trigger = trigger
        self.at = at
        self.dueAt = dueAt
        self.customerEmail = customerEmail
        self.customerName = customerName
        self.state = state
        self.sentAt = sentAt
        self.attempts = attempts
        self.lastError = lastError
        self.retryAt = retryAt
    }
}

/// Which messages `OrderQueries.messages` lists.
public enum MessageSelection: Sendable {
    /// Every message (newest due first).
    case all
    /// Those in one state.
    case state(MessageState)
    /// What a sending pass takes now: pending, and failed ones whose retry time has come, oldest due first.
    /// `retryNow`: every failed one, even past `messages.expire_hours` (a person asked for it).
    case sendable(retryNow: Bool)
}

extension OrderQueries {
    /// The outbox at `now` (the replica's clock when nil): the messages the orders' facts call for, each with
    /// its state, at most `limit` of them.
    public func messages(_ selection: MessageSelection = .all, asOf now: Int64? = nil, limit: Int = 1_000)
        async throws -> [OutboxMessage]
    {
        let now = now ?? replica.now()
        return try await read { db in
            let settings = try Self.settings(db)
            let expiry = settings.messageExpiry
            // Orders, and customers, holding concurrent values: their messages wait. Read once, when needed.
            var held: (orders: Set<String>, customers: Set<String>)?
            func isHeld(_ order: String, _ customer: String) throws -> Bool {
                if held == nil {
                    let conflicts = try Self.conflicts(db, orderID: nil)
                    held = (
                        Set(conflicts.compactMap(\.orderID)),
                        Set(conflicts.filter { $0.entity == .customers }.map(\.recordID))
                    )
                }
                return held.map { $0.orders.contains(order) || $0.customers.contains(customer) } ?? false
            }
            var filter = ""
            var order = "m.due_at DESC, m.id"
            switch selection {
            case .all: break
            case .state(.sent): filter = "WHERE m.sent_at IS NOT NULL"
            case .state(.scheduled): filter = "WHERE m.sent_at IS NULL AND m.due_at > \(now)"
            case .state: filter = "WHERE m.sent_at IS NULL AND m.due_at <= \(now)"
            case .sendable(let retryNow):
                // Past the expiry only a failed message asked for again is taken (`retryNow`).
                filter =
                    "WHERE m.sent_at IS NULL AND m.due_at <= \(now)"
                    + (retryNow ? "" : " AND m.due_at >= \(now &- expiry)")
                order = "m.due_at, m.id"
            }
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT m.id, m.order_id, m.kind, m.trigger, m.at, m.due_at, m.sent_at, o.number, o.customer_id,
                           c.email, c.name, d.attempts, d.last_error, d.retry_at
                    FROM message_outbox m JOIN orders o ON o.id = m.order_id
                    LEFT JOIN customers c ON c.id = o.customer_id LEFT JOIN messages d ON d.id = m.id
                    \(filter) ORDER BY \(order)
                    """)
            var result: [OutboxMessage] = []
            while let row = try rows.next(), result.count < limit {
                guard let kind = MessageKind(rawValue: row["kind"]) else { continue }
                var message = OutboxMessage(
                    id: row["id"], orderID: row["order_id"], orderNumber: row["number"], kind: kind,
                    trigger: row["trigger"], at: row["at"], dueAt: row["due_at"], customerEmail: row["email"],
                    customerName: row["name"], state: .pending, sentAt: row["sent_at"],
                    attempts: row["attempts"] ?? 0, lastError: row["last_error"], retryAt: row["retry_at"])
                let customer: String = row["customer_id"] ?? ""
                message.state =
                    if message.sentAt != nil {
                        .sent
                    } else if message.dueAt > now {
                        .scheduled
                    } else if now &- message.dueAt > expiry {
                        .expired
                    } else if (message.customerEmail ?? "").isEmpty {
                        .noAddress
                    } else if try isHeld(message.orderID, customer) {
                        .held
                    } else if message.lastError != nil {
                        .failed
                    } else {
                        .pending
                    }
                switch selection {
                case .all: result.append(message)
                case .state(let state): if message.state == state { result.append(message) }
                case .sendable(let retryNow):
                    let failedBefore = message.lastError != nil && !(message.customerEmail ?? "").isEmpty
                    if message.state == .pending
                        || (message.state == .failed && (retryNow || (message.retryAt ?? 0) <= now))
                        || (message.state == .expired && failedBefore && retryNow)
                    {
                        result.append(message)
                    }
                }
            }
            return result
        }
    }
}

extension OrderCommands {
    /// Records that message `message` was handed over for delivery at the transaction's time. Only the sending
    /// device calls this (`messages.sender`); the record syncs, so every device then lists the message as sent.
    public func recordMessageSent(_ message: OutboxMessage) async throws {
        try await recordMessage(message) { context, exists in
            var values: [String: FieldValue] = [
                "sent_at": .integer(context.eventTime), "last_error": .null, "retry_at": .null,
            ]
            if !exists { values["attempts"] = .integer(message.attempts) }
            return values
        }
    }

    /// Records a failed attempt at message `message`: one more attempt, why it failed, and when to try again
    /// (`MessageDelivery.retryDelay`).
    public func recordMessageFailure(_ message: OutboxMessage, error: String) async throws {
        let reason = String(
            error.unicodeScalars.map { InputRules.isControl($0) ? " " : Character($0) }.prefix(500))
        try await recordMessage(message) { context, _ in
            let attempts = message.attempts + 1
            return [
                "attempts": .integer(attempts), "last_error": .text(reason.isEmpty ? "failed" : reason),
                "failed_at": .integer(context.eventTime),
                "retry_at": .integer(context.eventTime &+ MessageDelivery.retryDelay(afterAttempts: attempts)),
            ]
        }
    }

    private func recordMessage(
        _ message: OutboxMessage,
        _ values: @escaping @Sendable (WriteContext, Bool) throws -> [String: FieldValue]
    ) async throws {
        try await write { context in
            let exists = try RowStore.load(context.db, .messages, id: message.id) != nil
            let fields = try values(context, exists)
            if exists {
                try context.update(.messages, id: message.id, fields)
            } else {
                var all = fields
                all["order_id"] = .text(message.orderID)
                all["kind"] = .text(message.kind.rawValue)
                all["trigger"] = .text(message.trigger)
                try context.insert(.messages, id: message.id, all)
            }
        }
    }
}
