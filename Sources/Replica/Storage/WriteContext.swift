import GRDB
import GRDBSQLite
import OrderDomain

/// A `RandomNumberGenerator` over a replica's random source (system or seeded).
struct RandomSource: RandomNumberGenerator {
    let source: @Sendable () -> UInt64
    mutating func next() -> UInt64 { source() }
}

/// The site ordinal a newly created replica gives itself (the first row of `sites`). A replica that began
/// as a snapshot of a peer's file has another one: `replica_info.local_ordinal` is authoritative.
let createdLocalSite: UInt32 = 1

/// The state of one write transaction: the dot every field written by it records (allocated on first
/// use), the hybrid time, the local change sequence, and which orders it touched.
final class WriteContext {
    let db: Database
    let wallMilliseconds: Int64
    /// This replica's own site ordinal.
    let localSite: UInt32
    private var counter: Int64
    private var hybrid: HybridClock
    private var lseq: Int64
    /// The change sequence when the transaction began.
    let startLseq: Int64
    private var orderSequence: Int64
    private var allocated: (dot: Dot, time: HybridTime)?
    private var dirty = false
    /// Orders whose derived view must be refreshed before commit.
    var touchedOrders: Set<String> = []
    /// Orders whose derived view the command already refreshed itself (still reported to observers).
    var refreshedOrders: Set<String> = []
    /// A shared setting was merged (attention schedules are stored again).
    var settingsChanged = false
    private var schedules: OrderRecords.Schedules?

    /// What the shared settings say about when things fall due (attention thresholds, review delay), read once
    /// per transaction.
    func dueSchedules() throws -> OrderRecords.Schedules {
        if let schedules { return schedules }
        let read = OrderRecords.Schedules(try OrderQueries.settings(db), now: wallMilliseconds)
        schedules = read
        return read
    }

    /// Random bits for record ids.
    var random: RandomSource

    /// - Parameter local: a local command (refused while the replica bootstraps) rather than a merge.
    init(
        _ db: Database, wallMilliseconds: Int64, local: Bool = true,
        random: @escaping @Sendable () -> UInt64 = Replica.systemRandom
    ) throws {
        self.db = db
        self.wallMilliseconds = wallMilliseconds
        self.random = RandomSource(source: random)
        // Stepped directly: GRDB's row objects would cost more than the query.
        let statement = try db.cachedStatement(sql: CommandStatements.clock)
        try statement.bind([])
        var read: (clock: (Int64, Int64, Int64, Int64), peer: String?, ordinal: Int64, copiedFrom: String?)?
        try statement.forEachRow { row in
            read = (
                (
                    sqlite3_column_int64(row, 0), sqlite3_column_int64(row, 1), sqlite3_column_int64(row, 2),
                    sqlite3_column_int64(row, 3)
                ),
                Statement.text(row, 4), sqlite3_column_int64(row, 5), Statement.text(row, 6)
            )
        }
        guard let read else { throw ReplicaError.corrupt("replica_clock or replica_info is empty") }
        if local, let copiedFrom = read.copiedFrom { throw Replica.copiedError(copiedFrom, path: nil) }
        if local, let peer = read.peer {
            throw ReplicaError(
                .unavailable, "this replica is still bootstrapping from site \(peer)",
                hint: "sync with that peer again to finish; local changes are refused until then")
        }
        localSite = UInt32(truncatingIfNeeded: read.ordinal)
        counter = read.clock.0
        hybrid = HybridClock(last: HybridTime(rawValue: UInt64(bitPattern: read.clock.1)))
        lseq = read.clock.2
        startLseq = lseq
        orderSequence = read.clock.3
    }

    /// This transaction's dot and time; every field it writes records them.
    var stamp: (dot: Dot, time: HybridTime) {
        if let allocated { return allocated }
        counter += 1
        let stamp = (Dot(site: localSite, counter: UInt64(counter)), hybrid.tick(nowMilliseconds: wallMilliseconds))
        allocated = stamp
        dirty = true
        return stamp
    }

    /// The time shown to people for this transaction's events (UTC milliseconds from the hybrid clock).
    var eventTime: Int64 { stamp.time.milliseconds }

    /// The change sequence so far: `startLseq` plus every change this transaction made.
    var currentLseq: Int64 { lseq }

    /// The next position in the local change order.
    func nextLseq() -> Int64 {
        lseq += 1
        dirty = true
        return lseq
    }

    /// The next human order sequence of this device.
    func nextOrderSequence() -> Int64 {
        orderSequence += 1
        dirty = true
        return orderSequence
    }

    /// Folds a remote hybrid time into the local clock.
    func observe(_ time: HybridTime) {
        if time > hybrid.last {
            hybrid.observe(time)
            dirty = true
        }
    }

    /// Persists the clock row (one small UPDATE per transaction).
    func finish() throws {
        guard dirty else { return }
        try db.cachedStatement(sql: CommandStatements.clockUpdate)
            .run(binding: [
                counter.databaseValue, Int64(bitPattern: hybrid.last.rawValue).databaseValue, lseq.databaseValue,
                orderSequence.databaseValue,
            ])
    }

    // MARK: Local writes

    /// Inserts a new record; every field is written with this transaction's dot (absent ones as null).
    func insert(
        _ entity: Entity, id: String, _ values: [String: FieldValue], derived: [(String, DatabaseValue)] = []
    ) throws {
        try insert(
            NewRecord(layout: FieldLayout(entity, Array(values.keys)), values: Array(values.values)), id: id,
            derived: derived)
    }

    /// Inserts a new record from `record`'s values, listed in its layout's order; every field is written with this
    /// transaction's dot (absent ones as null). A command that creates records often lists them in a layout made
    /// once (orders, lines, customers): a dictionary by name costs hashing each name twice.
    func insert(_ record: NewRecord, id: String, derived: [(String, DatabaseValue)] = []) throws {
        let layout = record.layout
        guard record.values.count == layout.names.count else {
            try Self.programmingError("\(record.values.count) values for the \(layout.names.count) fields of a layout")
            return
        }
        var fields = [FieldValue](repeating: .null, count: layout.entity.fields.count)
        for (index, value) in record.values.enumerated() {
            guard let position = layout.positions[index] else {
                try Self.programmingError("\(layout.entity.rawValue) has no field \(layout.names[index])")
                continue
            }
            try Self.checkText(value, field: layout.names[index])
            fields[position] = value
        }
        let (dot, time) = stamp
        try RowStore.insertWritten(
            db, layout.entity, id: id, values: fields, dot: dot, time: time, lseq: nextLseq(), derived: derived)
        if let position = layout.orderID, let order = record.values[position].text { touchedOrders.insert(order) }
        if layout.entity == .orders { touchedOrders.insert(id) }
    }

    /// Writes `values` into an existing record; each written field's siblings are all replaced (a local write
    /// settles a conflict, which the conflict history records as resolved).
    func update(_ entity: Entity, id: String, _ values: [String: FieldValue]) throws {
        guard let (state, previous) = try RowStore.load(db, entity, id: id) else {
            throw DomainError(.notFound, "no \(entity.rawValue) record \(id)")
        }
        try Self.checkText(values)
        let (dot, time) = stamp
        var next = state
        for (name, value) in values {
            guard let index = entity.fieldIndex(name) else {
                try Self.programmingError("\(entity.rawValue) has no field \(name)")
                continue
            }
            guard entity.fields[index].mutable else {
                try Self.programmingError("\(entity.rawValue).\(name) is fixed when the record is created")
                continue
            }
            if next.fields[index].isConflict {
                try db.cachedStatement(
                    sql:
                        "UPDATE conflict_history SET resolved_at = ? WHERE entity = ? AND row_id = ? AND field = ? AND resolved_at IS NULL"
                )
                .execute(arguments: [eventTime, entity.rawValue, id, name])
            }
            next.fields[index] = .written(value, dot: dot, time: time)
        }
        try RowStore.save(
            db, next, lseq: nextLseq(), previousLseq: previous, previousSiblingMask: RowStore.siblingMask(of: state))
        if let order = state.value("order_id").text { touchedOrders.insert(order) }
        if entity == .orders { touchedOrders.insert(id) }
    }

    /// Every text a local command stores passes `InputRules.checkText` here, in one place: no control
    /// characters, no unbounded lengths, whichever command or import wrote it.
    private static func checkText(_ value: FieldValue, field name: String) throws {
        if let text = value.text {
            try InputRules.checkText(text, field: name.replacingOccurrences(of: "_", with: " "))  // label built on failure only
        }
    }

    private static func checkText(_ values: [String: FieldValue]) throws {
        for (name, value) in values { try checkText(value, field: name) }
    }

    /// A write naming a field the entity lacks, or changing one fixed at creation, is a bug in the command:
    /// it traps in debug builds (every test runs one) and fails the transaction otherwise, never silently.
    private static func programmingError(_ message: String) throws {
        assertionFailure(message)
        throw ReplicaError(.internalError, message, hint: "this is a bug in Outpost; nothing was written")
    }
}

/// An entity's fields in the order a command lists them, placed once onto the entity's own order.
struct FieldLayout: Sendable {
    let entity: Entity
    let names: [String]
    /// The entity's field index of each name (nil: the entity has no such field, a bug in the command).
    let positions: [Int?]
    /// Where `order_id` is among `names`.
    let orderID: Int?

    init(_ entity: Entity, _ names: [String]) {
        self.entity = entity
        self.names = names
        positions = names.map { entity.fieldIndex($0) }
        orderID = names.firstIndex(of: "order_id")
    }
}

/// A new record's values as a command builds them: in its layout's order, not keyed by name.
struct NewRecord {
    let layout: FieldLayout
    var values: [FieldValue]
}
