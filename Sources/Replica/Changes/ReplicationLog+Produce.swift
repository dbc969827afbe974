import GRDB
import GRDBSQLite
import OrderDomain

extension ReplicationLog {
    /// This replica's version vector over local site ordinals.
    static func versionVector(_ db: Database) throws -> VersionVector {
        var counters: [UInt32: UInt64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT site, counter FROM version_vector") {
            counters[UInt32(truncatingIfNeeded: row["site"] as Int64)] = UInt64(row["counter"] as Int64)
        }
        counters[try localOrdinal(db)] = UInt64(try Int64.fetchOne(db, sql: "SELECT counter FROM replica_clock") ?? 0)
        return VersionVector(counters)
    }

    /// This replica's own ordinal in `sites`.
    static func localOrdinal(_ db: Database) throws -> UInt32 {
        UInt32(
            truncatingIfNeeded: try Int64.fetchOne(db.cachedStatement(sql: "SELECT local_ordinal FROM replica_info"))
                ?? Int64(createdLocalSite))
    }

    static func siteIDs(_ db: Database) throws -> [UInt32: String] {
        var sites: [UInt32: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT ordinal, site_id FROM sites") {
            sites[UInt32(truncatingIfNeeded: row["ordinal"] as Int64)] = row["site_id"]
        }
        return sites
    }

    static func versionVectorBySite(_ db: Database) throws -> [String: UInt64] {
        let sites = try siteIDs(db)
        var result: [String: UInt64] = [:]
        for (site, counter) in try versionVector(db).counters {
            if let id = sites[site] { result[id] = counter }
        }
        return result
    }

    /// Streams, from one read snapshot, every record holding a dot that `request.vector` does not cover, in
    /// batches of at most `batchSize` records, calling `emit` for each; returns the stream's end marker.
    ///
    /// When `request.resume` is set, the stream continues a cut one: records after the staged position, plus
    /// every record before it that changed since the original snapshot (Replica.docc,
    /// "Streams are merged whole"), which replace their staged copies at the receiver.
    ///
    /// This runs synchronously inside one read transaction, so memory stays bounded by `batchSize` while
    /// `emit` ships each batch (it may block to apply back-pressure).
    ///
    /// Every dot sent is covered by the vector of the returned end marker (Replica.docc, "Every dot is
    /// covered"): a replica still loading its first stream holds records its vector does not cover yet, so it
    /// serves no stream until that stream completes.
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is bootstrapping; `ReplicaError(.corrupt)` if a
    ///   record holds a dot this replica's vector does not cover (nothing is sent past it).
    public func withChanges(
        for request: StreamRequest, batchSize: Int = 500, estimate: ((Int) throws -> Void)? = nil,
        _ emit: (ChangeBatch) throws -> Void
    ) throws -> StreamEnd {
        try scanChanges(for: request, batchSize: batchSize, estimate: estimate, into: BatchBuilder.self, emit)
    }

    /// `withChanges` with each batch in its wire form, written from the stored columns: a record whose fields each
    /// hold one sibling (nearly all) goes from its columns and `dots` to the wire's bytes without becoming a
    /// `RowState`, and a batch is not built as a `ChangeBatch` first. The bytes are those `EncodedChangeBatch(_:)`
    /// makes of `withChanges`' batch.
    public func withEncodedChanges(
        for request: StreamRequest, batchSize: Int = 500, estimate: ((Int) throws -> Void)? = nil,
        _ emit: (EncodedChangeBatch) throws -> Void
    ) throws -> StreamEnd {
        try scanChanges(for: request, batchSize: batchSize, estimate: estimate, into: WireBatchBuilder.self, emit)
    }

    /// What `withChanges` and `withEncodedChanges` share: one read transaction, the records the request lacks in
    /// stream order, each added to a batch of `Builder` (which checks its dots) and emitted when full.
    private func scanChanges<Builder: StreamBatchBuilder>(
        for request: StreamRequest, batchSize: Int, estimate: ((Int) throws -> Void)?, into _: Builder.Type,
        _ emit: (Builder.Batch) throws -> Void
    ) throws -> StreamEnd {
        try pool.read { db in
            if let peer = try Self.bootstrapPeer(db) {
                throw ReplicaError(
                    .unavailable,
                    "this replica is still loading its first stream from site \(peer) and serves no stream until it completes",
                    hint: "sync it with that peer first, then sync again")
            }
            let own = try Self.versionVector(db)
            let sites = try Self.siteIDs(db)
            let ownOrdinal = try Self.localOrdinal(db)
            var ordinalOf: [String: UInt32] = [:]
            for (ordinal, id) in sites { ordinalOf[id] = ordinal }
            var theirVector: [UInt32: UInt64] = [:]
            for (id, counter) in request.vector { if let ordinal = ordinalOf[id] { theirVector[ordinal] = counter } }
            // A receiver claiming more of this replica's writes than it made was told a lie by someone (or holds a
            // copy's writes): this replica is the one that knows, so it sends every write of its own after the
            // receiver's cursor, and the receiver, told this replica's counter by its HELLO, lowers its claim
            // before merging (or refuses, when it holds writes numbered above it: `reconcileClaim`).
            if theirVector[ownOrdinal] ?? 0 > own[ownOrdinal] { theirVector[ownOrdinal] = 0 }
            let receiver = VersionVector(theirVector)
            let snapshotLseq = try Int64.fetchOne(db, sql: "SELECT lseq FROM replica_clock") ?? 0

            if let estimate {
                // An upper bound for progress bars: records past the cursor (those the vector covers are skipped).
                var total = 0
                for entity in Entity.allCases {
                    total +=
                        try Int.fetchOne(
                            db, sql: "SELECT COUNT(*) FROM \(entity.rawValue) WHERE lseq > ?",
                            arguments: [request.cursor]) ?? 0
                }
                try estimate(total)
            }
            var batch = Builder(
                StreamScope(
                    own: DenseVector(own), receiver: DenseVector(receiver), siteIDs: sites, snapshotLseq: snapshotLseq))
            for entity in Entity.allCases {
                // Records after the resume point, or changed since the original snapshot (possibly staged
                // already, now stale), are sent whatever the receiver's vector says: they replace staged copies.
                var lower = request.cursor
                if let resume = request.resume {
                    if entity.code < resume.position.entity {
                        lower = resume.snapshotLseq
                    } else if entity.code == resume.position.entity {
                        lower = max(resume.position.lseq, request.cursor)
                    }
                }
                let statement = try db.cachedStatement(
                    sql: RowStore.selectSQL(entity, where: "WHERE lseq > ? ORDER BY lseq"))
                try statement.bind([lower.databaseValue])
                try statement.forEachRow { row in
                    let lseq = sqlite3_column_int64(row, CInt(RowStore.lseqColumn))
                    let changedSinceSnapshot = request.resume.map { lseq > $0.snapshotLseq } ?? false
                    try batch.add(
                        db, entity, row: row, position: StreamPosition(entity: entity.code, lseq: lseq),
                        sendAnyway: changedSinceSnapshot)
                    if batch.count >= batchSize { try emit(batch.take()) }
                }
            }
            if batch.count > 0 { try emit(batch.take()) }
            return StreamEnd(
                sender: identity.siteID, vector: try Self.versionVectorBySite(db), snapshotLseq: snapshotLseq)
        }
    }

    /// The request this replica sends to `peer` (a site id) to receive what it lacks: its vector, its cursor
    /// for that peer, and what it has staged of a cut stream from it.
    public func streamRequest(from peer: String) async throws -> StreamRequest {
        var request = try await pool.read { db in
            try Replica.checkNotCopied(db, path: path)
            return try Self.streamRequest(db, from: peer)
        }
        // The kept part of a copy that a cut session left is of use only while this replica is still empty.
        if !request.snapshot { SnapshotReceiver.discard(at: incomingSnapshotPath) }
        // A snapshot replaces the file: asked for only while no other process or instance has it open.
        if request.snapshot, replica.claim?.isAlone != true { request.snapshot = false }
        // The kept part of a copy from this peer: the sender continues it if it still keeps that copy.
        if request.snapshot, let kept = SnapshotReceiver.kept(at: incomingSnapshotPath), kept.peer == peer,
            let id = kept.info.id
        {
            request.snapshotResume = SnapshotResume(id: id, offset: kept.verified)
        }
        return request
    }

    static func streamRequest(_ db: Database, from peer: String) throws -> StreamRequest {
        let cursor =
            try Int64.fetchOne(db, sql: "SELECT lseq FROM sync_cursors WHERE peer_site = ?", arguments: [peer]) ?? 0
        var resume: StreamRequest.Resume?
        if let row = try Row.fetchOne(
            db, sql: "SELECT position_entity, position_lseq, snapshot_lseq FROM staged_streams WHERE peer_site = ?",
            arguments: [peer])
        {
            resume = .init(
                position: StreamPosition(
                    entity: UInt8(truncatingIfNeeded: row["position_entity"] as Int64), lseq: row["position_lseq"]),
                snapshotLseq: row["snapshot_lseq"])
        }
        return StreamRequest(
            vector: try Self.versionVectorBySite(db), cursor: cursor, resume: resume,
            snapshot: try acceptsSnapshot(db, from: peer))
    }
}

/// The sites of one batch: each replica site ordinal gets the next index of the batch's site list the first time a
/// dot names it.
private struct BatchSites {
    /// Per replica site ordinal, its index in the list plus one (0: not listed yet). Ordinals are small and dense:
    /// an array, not a dictionary hashing every sibling's site.
    private var index: [UInt32] = []
    /// The same for ordinals past `DenseVector.limit` (none in a replica's own numbering, which counts up from 0).
    private var sparse: [UInt32: UInt32] = [:]
    /// The site ids, in the batch's order.
    private(set) var list: [String] = []
    /// Site id by replica ordinal.
    let ids: [UInt32: String]

    init(ids: [UInt32: String]) { self.ids = ids }

    /// The batch's index of the site with replica ordinal `ordinal`.
    mutating func local(_ ordinal: UInt32) -> UInt32 {
        let slot = Int(ordinal)
        if slot < index.count, index[slot] != 0 { return index[slot] - 1 }
        let next = UInt32(list.count)
        if slot < DenseVector.limit {
            if slot >= index.count { index += repeatElement(0, count: slot + 1 - index.count) }
            index[slot] = next + 1
        } else {
            if let known = sparse[ordinal] { return known }
            sparse[ordinal] = next
        }
        list.append(ids[ordinal] ?? "")
        return next
    }

    /// Starts the next batch's list.
    mutating func reset() {
        index = []
        sparse = [:]
        list = []
    }
}

/// A version vector as an array indexed by site ordinal: what the sender checks every sibling it reads against,
/// without hashing. A replica numbers its sites from 0; a vector naming an ordinal past `limit` is kept as it is.
private struct DenseVector {
    static let limit = 1 << 16
    private var counters: [UInt64] = []
    private var sparse: VersionVector?

    init(_ vector: VersionVector) {
        guard let top = vector.counters.keys.max() else { return }
        guard Int(top) < Self.limit else {
            sparse = vector
            return
        }
        counters = Array(repeating: 0, count: Int(top) + 1)
        for (site, counter) in vector.counters { counters[Int(site)] = counter }
    }

    /// `VersionVector.covers`.
    func covers(_ dot: Dot) -> Bool {
        if let sparse { return sparse.covers(dot) }
        return (Int(dot.site) < counters.count ? counters[Int(dot.site)] : 0) >= dot.counter
    }
}

/// What every record of one stream is checked against, and what its batches are numbered by.
private struct StreamScope {
    /// This replica's vector: every dot sent must be covered by it.
    let own: DenseVector
    /// The receiver's: a record is sent when it holds a dot this does not cover.
    let receiver: DenseVector
    /// Site id by this replica's site ordinal.
    let siteIDs: [UInt32: String]
    let snapshotLseq: Int64

    /// Whether a stream sends `state` (the receiver lacks a dot of it); throws when this replica's own vector does
    /// not cover one of its dots.
    func wanted(_ state: RowState, sendAnyway: Bool) throws -> Bool {
        // Plain loops over the fields' siblings: no sequence holds the fields and no generic iteration runs for
        // each of a stream's millions of fields.
        var wanted = sendAnyway
        for field in state.fields {
            for sibling in field.siblings {
                try checkCovered(sibling.dot, state.entity, id: state.id)
                if !wanted, !receiver.covers(sibling.dot) { wanted = true }
            }
        }
        return wanted
    }

    func checkCovered(_ dot: Dot, _ entity: Entity, id: @autoclosure () -> String) throws {
        guard own.covers(dot) else {
            throw ReplicaError.corrupt(
                "\(entity.rawValue) \(id()) holds a write (\(siteIDs[dot.site] ?? "?"), \(dot.counter)) that this replica's vector does not cover"
            )
        }
    }
}

/// Collects the records of one batch of a stream, in one form or another (`scanChanges`).
private protocol StreamBatchBuilder {
    associatedtype Batch
    init(_ scope: StreamScope)
    /// Records added since the last `take`.
    var count: Int { get }
    /// Adds the record on `row` (a statement selecting `RowStore.selectSQL(entity, …)`) when the receiver lacks a
    /// dot of it or `sendAnyway`.
    ///
    /// - Throws: `ReplicaError(.corrupt)` when the record holds a dot this replica's vector does not cover.
    mutating func add(_ db: Database, _ entity: Entity, row: OpaquePointer, position: StreamPosition, sendAnyway: Bool)
        throws
    /// The batch so far; the next one starts empty.
    mutating func take() throws -> Batch
}

/// Accumulates one batch as a `ChangeBatch`, renaming the sender's ordinals to batch-local site indexes.
private struct BatchBuilder: StreamBatchBuilder {
    let scope: StreamScope
    var sites: BatchSites
    var rows: [RowChange] = []
    var position = StreamPosition(entity: 0, lseq: 0)

    init(_ scope: StreamScope) {
        self.scope = scope
        sites = BatchSites(ids: scope.siteIDs)
    }

    var count: Int { rows.count }

    mutating func add(_ db: Database, _ entity: Entity, row: OpaquePointer, position: StreamPosition, sendAnyway: Bool)
        throws
    {
        let (state, _) = try RowStore.decode(db, entity, columns: row)
        guard try scope.wanted(state, sendAnyway: sendAnyway) else { return }
        append(state, position: position)
    }

    /// Adds `state` with its dots renamed to the batch's site indexes (in place: the arrays are the caller's
    /// own, so a field of one sibling is renamed without a new array).
    private mutating func append(_ state: consuming RowState, position: StreamPosition) {
        var fields = state.fields
        state.fields = []
        for field in fields.indices { fields[field].renameSites { sites.local($0) } }
        rows.append(RowChange(entity: state.entity, id: state.id, fields: fields))
        self.position = position
    }

    mutating func take() -> ChangeBatch {
        defer {
            rows = []
            sites.reset()
        }
        return ChangeBatch(sites: sites.list, rows: rows, position: position, snapshotLseq: scope.snapshotLseq)
    }
}

/// Accumulates one batch in its wire form (`EncodedChangeBatch`) straight from the stored columns.
///
/// A record none of whose fields holds several siblings (its `dots` has no sibling mask) is read from its columns:
/// each field's dot and time from the `dots` group that wrote it, its value from its column. Any other record is
/// decoded as `withChanges` decodes it (its siblings are in the side table) and encoded as its `RowChange` would be.
private struct WireBatchBuilder: StreamBatchBuilder {
    let scope: StreamScope
    var sites: BatchSites
    var records: [UInt8] = []
    var count = 0
    var fieldCount = 0
    var position = StreamPosition(entity: 0, lseq: 0)

    init(_ scope: StreamScope) {
        self.scope = scope
        sites = BatchSites(ids: scope.siteIDs)
    }

    mutating func add(_ db: Database, _ entity: Entity, row: OpaquePointer, position: StreamPosition, sendAnyway: Bool)
        throws
    {
        let fieldCount = entity.fields.count
        let dots = try RowDots(decoding: RowStore.dotsBytes(entity, columns: row))
        guard dots.siblingMask == 0 else {
            let (state, _) = try RowStore.decode(db, entity, columns: row)
            guard try scope.wanted(state, sendAnyway: sendAnyway) else { return }
            EncodedChangeBatch.appendRecordStart(entity, id: state.id, to: &records)
            var fields = state.fields
            for field in fields.indices { fields[field].renameSites { sites.local($0) } }
            RowCodec.encode(fields, into: &records)
            added(fieldCount, position)
            return
        }
        // Field by field, as `withChanges` checks the fields of the `RowState` it decodes.
        var wanted = sendAnyway
        for index in 0..<fieldCount {
            guard let group = dots.writer(of: index) else { continue }
            try scope.checkCovered(group.dot, entity, id: Statement.text(row, CInt(RowStore.idColumn)) ?? "")
            if !wanted, !scope.receiver.covers(group.dot) { wanted = true }
        }
        guard wanted else { return }
        records.append(entity.code)
        appendWireText(row, CInt(RowStore.idColumn), to: &records)
        Varint.append(UInt64(fieldCount), to: &records)
        for index in 0..<fieldCount {
            guard let group = dots.writer(of: index) else {
                records.append(0)
                continue
            }
            records.append(1)
            Varint.append(UInt64(sites.local(group.dot.site)), to: &records)
            Varint.append(group.dot.counter, to: &records)
            Varint.append(group.time.rawValue, to: &records)
            appendWireValue(row, CInt(RowStore.firstFieldColumn + index), to: &records)
        }
        added(fieldCount, position)
    }

    private mutating func added(_ fields: Int, _ position: StreamPosition) {
        count += 1
        fieldCount += fields
        self.position = position
    }

    mutating func take() throws -> EncodedChangeBatch {
        defer {
            records.removeAll(keepingCapacity: true)
            sites.reset()
            count = 0
            fieldCount = 0
        }
        return EncodedChangeBatch(
            body: try EncodedChangeBatch.body(sites: sites.list, rowCount: count, records: records), rowCount: count,
            fieldCount: fieldCount, position: position, snapshotLseq: scope.snapshotLseq)
    }
}

extension ReplicationLog {
    /// The records changed after local change sequence `lseq` that hold a dot this replica's vector does not
    /// cover, as `entity/id: site:counter` (at most `limit`), and the change sequence they were read at. Empty
    /// for every replica that is not bootstrapping (Replica.docc, "Every dot is covered"). Vectors only grow,
    /// so a record checked once stays covered until it changes: the convergence simulation checks the
    /// records each step changed.
    func uncoveredDots(since lseq: Int64 = 0, limit: Int = 10) async throws -> (uncovered: [String], lseq: Int64) {
        try await pool.read { db in
            let own = try Self.versionVector(db)
            let sites = try Self.siteIDs(db)
            var found: [String] = []
            for entity in Entity.allCases {
                let rows = try Row.fetchCursor(
                    db, sql: RowStore.selectSQL(entity, where: "WHERE lseq > ?"), arguments: [lseq])
                while let row = try rows.next(), found.count < limit {
                    let (state, _) = try RowStore.decode(db, entity, row: row)
                    let uncovered = Set(state.dots.filter { !own.covers($0) }).sorted {
                        ($0.site, $0.counter) < ($1.site, $1.counter)
                    }
                    if !uncovered.isEmpty {
                        let dots = uncovered.map {
                            "\(sites[$0.site] ?? "?"):\($0.counter) (vector has \(own[$0.site]))"
                        }
                        found.append("\(entity.rawValue)/\(state.id): \(dots.joined(separator: ", "))")
                    }
                }
            }
            return (found, try Int64.fetchOne(db, sql: "SELECT lseq FROM replica_clock") ?? 0)
        }
    }
}
