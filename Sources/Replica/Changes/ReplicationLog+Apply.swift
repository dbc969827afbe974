import Dispatch
import Foundation
import GRDB
import OrderDomain
import OutpostCore

extension ReplicationLog {
    /// Stages one batch of a stream from `peer` (a site id) durably, without touching live state.
    ///
    /// Records replace earlier staged copies of the same key. Batches may be re-sent; staging is idempotent.
    /// Live state changes only in `completeStream(from:end:)`, because merging an unfinished stream makes
    /// stale values resurface (Replica.docc, "Streams are merged whole").
    public func stage(_ batch: ChangeBatch, from peer: String) async throws {
        let wall = now()
        try await replica.writeQueued { db in try Self.stage(db, batch, from: peer, wall: wall) }
    }

    /// `loadTogether`: how many consecutive records of one entity a direct load inserts in one statement
    /// (`RowStore.insertLoaded`; tests choose small ones).
    static func stage(
        _ db: Database, _ batch: ChangeBatch, from peer: String, wall: Int64, loadTogether: Int = 100
    ) throws {
        let existing = try Row.fetchOne(
            db, sql: "SELECT position_entity, position_lseq, snapshot_lseq FROM staged_streams WHERE peer_site = ?",
            arguments: [peer])
        let bootstrapping = try bootstrapPeer(db)
        if let bootstrapping, bootstrapping != peer {
            throw ReplicaError(
                .unavailable, "this replica is bootstrapping from site \(bootstrapping)",
                hint: "sync with that peer first to finish the bootstrap")
        }
        // A replica that has nothing yet loads a stream straight into its tables (Replica.docc, "A new replica"):
        // it stays `bootstrapping` (no local writes, not serving) until the stream completes.
        let direct = try bootstrapping == peer || (existing == nil && isEmpty(db))
        if direct && bootstrapping == nil {
            try db.execute(
                sql: "UPDATE replica_info SET state = 'bootstrapping', bootstrap_peer = ?", arguments: [peer])
            try Schema.dropSecondaryIndexes(db)
        }
        let ordinals = try Self.registerSites(db, batch.sites)
        let upsert = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO staged_rows (peer_site, entity, row_id, payload) VALUES (?, ?, ?, ?)")
        let context = direct ? try WriteContext(db, wallMilliseconds: wall, local: false) : nil
        let sameSnapshot = existing.map { ($0["snapshot_lseq"] as Int64) == batch.snapshotLseq } ?? true
        // The highest counter per site among the dots this batch brings: `complete` refuses an end vector that
        // does not cover them, whether the records were staged or loaded directly.
        var highest: [UInt32: UInt64] = [:]
        // Records of one entity loaded directly wait here to be inserted together; any other record first sends
        // them on, so records land in the order they came.
        var loading: (entity: Entity, rows: [RowChange], values: [[DatabaseValue]])?
        func flushLoading() throws {
            guard let (entity, rows, values) = loading else { return }
            loading = nil
            // A full group goes in one statement, fewer one at a time: one prepared statement per entity for
            // groups, not one per group size. Records delivered twice: the general path replaces the earlier copy.
            let skipped = try RowStore.insertLoaded(db, entity, rows: values, together: values.count >= loadTogether)
            for position in skipped { try stageOne(rows[position]) }
        }
        func stageOne(_ row: RowChange) throws {
            let fields = try Self.rename(row.fields, ordinals)
            for field in fields {
                for sibling in field.siblings where sibling.dot.counter > highest[sibling.dot.site] ?? 0 {
                    highest[sibling.dot.site] = sibling.dot.counter
                }
            }
            if let context {
                let state = RowState(entity: row.entity, id: row.id, fields: fields)
                let inserted = sameSnapshot ? try Self.insertIfNew(db, state, lseq: context.nextLseq()) : false
                if !inserted {
                    // The sender's copy replaces the one an earlier batch loaded.
                    let local = try RowStore.load(db, row.entity, id: row.id)
                    try RowStore.save(
                        db, state, lseq: context.nextLseq(), previousLseq: local?.lseq,
                        previousSiblingMask: local.map { RowStore.siblingMask(of: $0.state) } ?? 0)
                }
                for field in fields { for sibling in field.siblings { context.observe(sibling.time) } }
            } else {
                var payload: [UInt8] = []
                RowCodec.encode(fields, into: &payload)
                try upsert.execute(arguments: [peer, Int(row.entity.code), row.id, Data(payload)])
            }
        }
        for row in batch.rows {
            guard row.fields.count == row.entity.fields.count else {
                throw ReplicaError(
                    .protocolViolation,
                    "a \(row.entity.rawValue) record has \(row.fields.count) fields, expected \(row.entity.fields.count)"
                )
            }
            // The common case of a first stream: one pass from the received fields to the row's values, and the
            // rows inserted together. Within one snapshot a record normally arrives once, so a direct load inserts
            // without looking first; a batch delivered twice meets its earlier copy (the insert skips it and the
            // record is loaded and replaced). A resumed stream (new snapshot) re-sends records that changed
            // meanwhile: those are always looked up.
            if let context, sameSnapshot,
                let values = try RowStore.loadedValues(
                    row.entity, id: row.id, fields: row.fields, ordinals: ordinals, lseq: context.nextLseq(),
                    note: { dot, time in
                        if dot.counter > highest[dot.site] ?? 0 { highest[dot.site] = dot.counter }
                        context.observe(time)
                    })
            {
                if let current = loading?.entity, current != row.entity { try flushLoading() }
                if loading == nil { loading = (row.entity, [], []) }
                loading?.rows.append(row)
                loading?.values.append(values)
                if (loading?.rows.count ?? 0) >= loadTogether { try flushLoading() }
                continue
            }
            try flushLoading()
            try stageOne(row)
        }
        try flushLoading()
        try context?.finish()
        let noteHighest = try db.cachedStatement(
            sql: """
                INSERT INTO staged_dots (peer_site, site, counter) VALUES (?, ?, ?)
                ON CONFLICT (peer_site, site) DO UPDATE SET counter = max(counter, excluded.counter)
                """)
        for (site, counter) in highest { try noteHighest.execute(arguments: [peer, Int64(site), Int64(counter)]) }
        var position = batch.position
        if let existing {
            let staged = StreamPosition(
                entity: UInt8(truncatingIfNeeded: existing["position_entity"] as Int64), lseq: existing["position_lseq"]
            )
            position = max(position, staged)
            try db.execute(
                sql:
                    "UPDATE staged_streams SET position_entity = ?, position_lseq = ?, rows = rows + ? WHERE peer_site = ?",
                arguments: [Int(position.entity), position.lseq, batch.rows.count, peer])
        } else {
            try db.execute(
                sql: "INSERT INTO staged_streams VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [peer, batch.snapshotLseq, Int(position.entity), position.lseq, batch.rows.count, wall])
        }
    }

    /// Inserts `state` unless a record with its id exists (then SQLite undoes only this statement).
    private static func insertIfNew(_ db: Database, _ state: RowState, lseq: Int64) throws -> Bool {
        do {
            try RowStore.save(db, state, lseq: lseq, previousLseq: nil)
            return true
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            return false
        }
    }

    /// Merges the complete staged stream from `peer` (plus `lastBatch`, when given) into live state in one
    /// transaction, joins the sender's version vector into this replica's, records the sender's snapshot as
    /// this replica's cursor for it, and clears the staging. A stream with no records still advances the vector.
    @discardableResult
    public func completeStream(from peer: String, end: StreamEnd, lastBatch: ChangeBatch? = nil) async throws
        -> MergeSummary
    {
        let wall = now()
        if lastBatch == nil, try await pool.read({ db in try Self.isNoOp(db, from: peer, end: end, wall: wall) }) {
            return MergeSummary()
        }
        // The stream's last batch may come with its end: staged and merged in one transaction (one commit
        // instead of two for the common one-batch delta).
        let (summary, touched, lseqs) = try await replica.writeQueued { db in
            let before = try Replica.changeSequence(db)
            if let lastBatch { try Self.stage(db, lastBatch, from: peer, wall: wall) }
            let (summary, touched) = try Self.complete(db, from: peer, end: end, wall: wall)
            return (summary, touched, before...(try Replica.changeSequence(db)))
        }
        notify(touched, wrote: lseqs)
        return summary
    }

    static func complete(_ db: Database, from peer: String, end: StreamEnd, wall: Int64) throws -> (
        MergeSummary, Set<String>
    ) {
        let bootstrapping = try bootstrapPeer(db)
        if let bootstrapping, bootstrapping != peer {
            throw ReplicaError(
                .unavailable, "this replica is bootstrapping from site \(bootstrapping)",
                hint: "sync with that peer first")
        }
        let context = try WriteContext(db, wallMilliseconds: wall, local: false)
        let ours = try Self.versionVector(db)
        let senderOrdinals = try Self.registerSites(db, end.vector.keys.sorted())
        var theirs = VersionVector()
        for (index, site) in end.vector.keys.sorted().enumerated() {
            theirs.add(Dot(site: senderOrdinals[index], counter: end.vector[site] ?? 0))
        }
        try Self.checkCovered(db, stagedFrom: peer, by: theirs)
        let ownOrdinal = try Self.localOrdinal(db)
        if let ownID = try String.fetchOne(db, sql: "SELECT site_id FROM replica_info"), let claimed = end.vector[ownID]
        {
            let stagedOwn =
                try Int64.fetchOne(
                    db, sql: "SELECT MAX(counter) FROM staged_dots WHERE peer_site = ? AND site = ?",
                    arguments: [peer, Int64(ownOrdinal)]) ?? 0
            try Self.checkOwnSiteClaim(
                claimed, own: ours[ownOrdinal], clonedWrites: UInt64(max(0, stagedOwn)) > ours[ownOrdinal])
        }
        var summary = MergeSummary()
        let staged = try Row.fetchCursor(
            db, sql: "SELECT entity, row_id, payload FROM staged_rows WHERE peer_site = ? ORDER BY entity, row_id",
            arguments: [peer])
        while let row = try staged.next() {
            guard let entity = Entity(code: UInt8(truncatingIfNeeded: row["entity"] as Int64)) else {
                throw ReplicaError(.protocolViolation, "staged record of unknown entity \(row["entity"] as Int64)")
            }
            let fields = try RowCodec.decode((row["payload"] as DatabaseValue).storage.blobBytes)
            try Self.merge(
                RowState(entity: entity, id: row["row_id"], fields: fields), context: context, ourVector: ours,
                theirVector: theirs, summary: &summary)
        }
        try Self.storeVector(db, ours.joined(with: theirs))
        try db.execute(
            sql: "INSERT OR REPLACE INTO sync_cursors (peer_site, lseq, synced_at, peer_counter) VALUES (?, ?, ?, ?)",
            arguments: [peer, end.snapshotLseq, wall, Int64(end.vector[peer] ?? 0)])
        try Self.clearStaging(db, from: peer)
        if bootstrapping != nil {
            // Every record arrived directly, without secondary indexes and derived columns: build the indexes,
            // derive every order's view, then open for business.
            // First the order_id indexes the derivation scans by; the rest after it, so that writing the derived
            // columns (status is indexed) maintains no index.
            try Schema.createSecondaryIndexes(db) { $0.hasSuffix("_order") }
            // A replica loads its first stream empty: it holds no schedules yet.
            summary.ordersTouched += try OrderRecords.refreshUnderived(db, now: context.wallMilliseconds, fresh: true)
            try Schema.createSecondaryIndexes(db)
            try db.execute(sql: "UPDATE replica_info SET state = 'ready', bootstrap_peer = NULL")
        }
        return try finishMerge(db, context: context, summary: summary)
    }

    /// The end of every merge transaction: derived views of the orders it touched (and every order's schedules
    /// when a setting changed), then the clock.
    static func finishMerge(_ db: Database, context: WriteContext, summary: MergeSummary) throws -> (
        MergeSummary, Set<String>
    ) {
        var summary = summary
        if context.settingsChanged {
            try OrderRecords.refreshSchedules(db, now: context.wallMilliseconds)
        }
        let schedules = try context.dueSchedules()
        for id in context.touchedOrders.sorted() { try OrderRecords.refresh(db, id: id, schedules: schedules) }
        summary.ordersTouched += context.touchedOrders.count
        try context.finish()
        return (summary, context.touchedOrders)
    }

    /// Pulls everything this replica lacks from `other` (another replica file on this machine, e.g. on a
    /// USB stick) with the same staged, resumable stream a network session uses.
    ///
    /// - Returns: what the merge did.
    @discardableResult
    public func pull(from other: Replica, batchSize: Int = 500) async throws -> MergeSummary {
        try await pull(from: other.replication, batchSize: batchSize)
    }

    /// Pulls everything this replica lacks from another replication store, with the same staged, resumable
    /// stream a network session uses.
    @discardableResult
    public func pull(from other: some ReplicationStore, batchSize: Int = 500) async throws -> MergeSummary {
        // What the other replica says of its own counter checks this replica's claim to its writes first.
        if let counter = try await other.streamRequest(from: identity.siteID).vector[other.identity.siteID] {
            try await reconcileClaim(peer: other.identity.siteID, peerCounter: counter)
        }
        let wall = now()
        // The stream runs inside a read transaction of `other`: keep it off Swift's cooperative threads.
        let (summary, touched, lseqs) = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result { try self.pullBlocking(from: other, batchSize: batchSize, wall: wall) })
            }
        }
        notify(touched, wrote: lseqs)
        return summary
    }

    private func pullBlocking(from other: some ReplicationStore, batchSize: Int, wall: Int64) throws -> (
        MergeSummary, Set<String>, ClosedRange<Int64>
    ) {
        let peer = other.identity.siteID
        let request = try pool.read { db in
            try Replica.checkNotCopied(db, path: path)
            return try Self.streamRequest(db, from: peer)
        }
        let end = try other.withChanges(for: request, batchSize: batchSize, estimate: nil) { batch in
            try replica.writeBlocking { db in try Self.stage(db, batch, from: peer, wall: wall) }
        }
        return try replica.writeBlocking { db in
            let before = try Replica.changeSequence(db)
            let (summary, touched) = try Self.complete(db, from: peer, end: end, wall: wall)
            return (summary, touched, before...(try Replica.changeSequence(db)))
        }
    }

    /// Whether completing `end` would change nothing worth a write transaction: nothing staged, the sender's
    /// vector already covered, and the cursor at most 10,000 changes behind (a stale cursor only makes the
    /// next stream scan a little more; every record it skips is covered by the vector either way).
    static func isNoOp(_ db: Database, from peer: String, end: StreamEnd, wall: Int64) throws -> Bool {
        guard try bootstrapPeer(db) == nil,
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS(SELECT 1 FROM staged_streams WHERE peer_site = ?)", arguments: [peer]) == false
        else { return false }
        let ours = try versionVectorBySite(db)
        guard end.vector.allSatisfy({ (ours[$0.key] ?? 0) >= $0.value }) else { return false }
        guard
            let cursor = try Row.fetchOne(
                db, sql: "SELECT lseq, synced_at FROM sync_cursors WHERE peer_site = ?", arguments: [peer])
        else { return false }
        // The last-sync time `status` shows is refreshed at least once a minute, even by sessions that bring
        // nothing (a write transaction each time would cost more than the session itself).
        let syncedAt: Int64 = cursor["synced_at"] ?? 0
        return end.snapshotLseq - (cursor["lseq"] as Int64? ?? 0) < 10_000 && wall - syncedAt < 60_000
    }

    /// The site this replica is bootstrapping from, if it is.
    static func bootstrapPeer(_ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT bootstrap_peer FROM replica_info"))
    }

    /// Whether the replica holds nothing at all: no local transaction, no remote vector, no record.
    static func isEmpty(_ db: Database) throws -> Bool {
        guard try Int64.fetchOne(db, sql: "SELECT counter FROM replica_clock") == 0,
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM version_vector") == 0
        else { return false }
        for entity in Entity.allCases
        where try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM \(entity.rawValue))") == true {
            return false
        }
        return true
    }

    /// Discards a staged, unfinished stream from `peer` (for example when the peer was reset).
    public func discardStagedStream(from peer: String) async throws {
        try await replica.writeQueued { db in try Self.clearStaging(db, from: peer) }
    }

    static func clearStaging(_ db: Database, from peer: String) throws {
        for table in ["staged_rows", "staged_streams", "staged_dots"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE peer_site = ?", arguments: [peer])
        }
    }

    /// Refuses a peer's claim to have seen more of this replica's own writes than it has made (`own`). Only
    /// two things cause it, and both would make this replica's next writes vanish without a word (the peer
    /// would "already have" them): its file was copied or restored from a backup, so another device writes
    /// with the same site id (`clonedWrites`: the stream carried such writes), or the peer's version vector
    /// was poisoned (a forged claim). The session ends with the reason; nothing is merged or sent.
    static func checkOwnSiteClaim(_ claimed: UInt64, own: UInt64, clonedWrites: Bool) throws {
        guard claimed > own else { return }
        if clonedWrites {
            throw ReplicaError(
                .siteConflict,
                "another device writes with this replica's site id: the peer sent writes numbered up to \(claimed) as this device's, which has made \(own). This replica's file was copied, or restored from a backup",
                hint:
                    "keep one of the two copies in use: stop writing on the copy, and re-enter on the original what was sold on it; nothing was merged"
            )
        }
        throw ReplicaError(
            .siteConflict,
            "the peer's version vector claims \(claimed) changes by this device, which has made \(own): the peer's vector is poisoned, or this replica's file was copied or restored from a backup",
            hint:
                "nothing was merged or sent. If this file was copied or restored, stop writing on one of the copies; otherwise the peer's replica was tampered with: stop syncing with it and re-create it from a healthy peer"
        )
    }

    /// Refuses a stream holding a dot that its end vector does not cover (Replica.docc, "Every dot is
    /// covered"). Merging it would leave this replica holding a write its vector says it never saw: the next
    /// merge with a replica that holds that write would then take it for one this replica had overwritten, or
    /// keep an overwritten value alive as concurrent.
    static func checkCovered(_ db: Database, stagedFrom peer: String, by theirs: VersionVector) throws {
        let highest = try Row.fetchAll(
            db, sql: "SELECT site, counter FROM staged_dots WHERE peer_site = ?", arguments: [peer])
        for row in highest {
            let dot = Dot(
                site: UInt32(truncatingIfNeeded: row["site"] as Int64), counter: UInt64(row["counter"] as Int64))
            guard theirs.covers(dot) else {
                let site =
                    try String.fetchOne(
                        db, sql: "SELECT site_id FROM sites WHERE ordinal = ?", arguments: [Int64(dot.site)]) ?? "?"
                throw ReplicaError(
                    .protocolViolation,
                    "the stream from site \(peer) holds a write (\(site), \(dot.counter)) that its end vector does not cover (\(theirs[dot.site]))",
                    hint:
                        "the peer's replica is inconsistent; nothing was merged. Update the peer, or discard its staged stream"
                )
            }
        }
    }
}
