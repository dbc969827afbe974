import GRDB
import OrderDomain
import OutpostCore

/// Live sessions (Sync.docc, "Live sessions"): what changed after a change sequence, and merging a live delta.
extension ReplicationLog {
    /// The records changed after `lseq`, from one read, with the vector and change sequence of that read; at
    /// most `limit` (past it, `complete` is false and no record is returned).
    ///
    /// - Throws: `ReplicaError(.unavailable)` while this replica is loading its first stream.
    public func recentChanges(after lseq: Int64, limit: Int) async throws -> RecentChanges {
        try await pool.read { db in
            if let peer = try Self.bootstrapPeer(db) {
                throw ReplicaError(
                    .unavailable, "this replica is still loading its first stream from site \(peer)",
                    hint: "sync it with that peer first")
            }
            let snapshotLseq = try Replica.changeSequence(db)
            let vector = try Self.versionVectorBySite(db)
            guard snapshotLseq > lseq else {
                return RecentChanges(sites: [], records: [], vector: vector, snapshotLseq: snapshotLseq, complete: true)
            }
            let siteIDs = try Self.siteIDs(db)
            var index: [UInt32: UInt32] = [:]
            var sites: [String] = []
            var records: [ChangedRecord] = []
            for entity in Entity.allCases {
                let statement = try db.cachedStatement(sql: RowStore.selectSQL(entity, where: "WHERE lseq > ?"))
                let cursor = try Row.fetchCursor(statement, arguments: [lseq])
                while let row = try cursor.next() {
                    guard records.count < limit else {
                        return RecentChanges(
                            sites: [], records: [], vector: vector, snapshotLseq: snapshotLseq, complete: false)
                    }
                    let (state, rowLseq) = try RowStore.decode(db, entity, row: row)
                    let fields = state.fields.map { field in
                        FieldState(
                            siblings: field.siblings.map { sibling in
                                let local: UInt32
                                if let known = index[sibling.dot.site] {
                                    local = known
                                } else {
                                    local = UInt32(sites.count)
                                    index[sibling.dot.site] = local
                                    sites.append(siteIDs[sibling.dot.site] ?? "")
                                }
                                return Sibling(
                                    value: sibling.value, dot: Dot(site: local, counter: sibling.dot.counter),
                                    time: sibling.time)
                            })
                    }
                    records.append(
                        ChangedRecord(lseq: rowLseq, row: RowChange(entity: entity, id: state.id, fields: fields)))
                }
            }
            records.sort { $0.lseq < $1.lseq }
            return RecentChanges(
                sites: sites, records: records, vector: vector, snapshotLseq: snapshotLseq, complete: true)
        }
    }

    /// Merges a live delta from `peer` into live state in one transaction, with the rules of a complete stream:
    /// every dot must be covered by the delta's vector, the peer's claim to this replica's own writes is checked,
    /// the vector is joined and the delta's change sequence becomes the cursor for `peer`.
    ///
    /// - Throws: `ReplicaError(.protocolViolation)` for a dot the vector does not cover, a field index out of
    ///   range, or a delta while a cut stream from `peer` is staged; `ReplicaError(.unavailable)` while
    ///   bootstrapping; `ReplicaError(.siteConflict)` when the peer holds writes of this site it cannot have.
    @discardableResult
    public func mergeLive(_ delta: LiveDelta, from peer: String) async throws -> MergeSummary {
        let wall = now()
        let known = replica.siteOrdinals.withLock { $0 }
        let merge: @Sendable (Database) throws -> (MergeSummary, Set<String>, ClosedRange<Int64>, [String: UInt32]) = {
            db in
            let before = try Replica.changeSequence(db)
            var sites = SiteOrdinals(known: known)
            let (summary, touched) = try Self.mergeLive(db, delta, from: peer, wall: wall, sites: &sites)
            return (summary, touched, before...(try Replica.changeSequence(db)), sites.learnt)
        }
        // A delta is small, as a command is: taken on this thread when the writer is free (two thread wake-ups
        // fewer on every hop of a live change), queued for it otherwise.
        let taken = try replica.writeIfFree(merge)
        let (summary, touched, lseqs, sites) = if let taken { taken } else { try await replica.writeQueued(merge) }
        // Remembered only once committed: a rolled-back registration must not be reused.
        if !sites.isEmpty { replica.siteOrdinals.withLock { $0.merge(sites) { $1 } } }
        notify(touched, wrote: lseqs)
        return summary
    }

    /// Site ordinals looked up through a cache of committed ones; what the transaction looked up or registered is
    /// `learnt`.
    struct SiteOrdinals {
        let known: [String: UInt32]
        var learnt: [String: UInt32] = [:]

        mutating func ordinals(_ db: Database, _ ids: [String]) throws -> [UInt32] {
            try ids.map { id in
                if let ordinal = known[id] ?? learnt[id] { return ordinal }
                let ordinal = try ReplicationLog.registerSites(db, [id])[0]
                learnt[id] = ordinal
                return ordinal
            }
        }
    }

    static func mergeLive(
        _ db: Database, _ delta: LiveDelta, from peer: String, wall: Int64, sites: inout SiteOrdinals
    ) throws -> (MergeSummary, Set<String>) {
        if let bootstrapping = try bootstrapPeer(db) {
            throw ReplicaError(
                .unavailable, "this replica is bootstrapping from site \(bootstrapping)",
                hint: "sync with that peer first")
        }
        guard
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS(SELECT 1 FROM staged_streams WHERE peer_site = ?)", arguments: [peer]) == false
        else {
            throw ReplicaError(.protocolViolation, "a live delta from \(peer) while a cut stream from it is staged")
        }
        let context = try WriteContext(db, wallMilliseconds: wall, local: false)
        let ours = try versionVector(db)
        let endSites = Array(delta.end.vector.keys)
        let endOrdinals = try sites.ordinals(db, endSites)
        var theirs = VersionVector()
        for (index, site) in endSites.enumerated() {
            theirs.add(Dot(site: endOrdinals[index], counter: delta.end.vector[site] ?? 0))
        }
        let ordinals = try sites.ordinals(db, delta.sites)
        let ownOrdinal = try localOrdinal(db)
        var incoming: [(RowDelta, [FieldState])] = []
        var highestOwn: UInt64 = 0
        for row in delta.rows {
            let fields = try rename(row.fields.map(\.state), ordinals)
            for (change, field) in zip(row.fields, fields) {
                guard (0..<row.entity.fields.count).contains(change.index) else {
                    throw ReplicaError(
                        .protocolViolation, "a live \(row.entity.rawValue) record names field \(change.index)")
                }
                for sibling in field.siblings {
                    guard theirs.covers(sibling.dot) else {
                        throw ReplicaError(
                            .protocolViolation,
                            "a live delta holds a write its vector does not cover (\(row.entity.rawValue) \(row.id))")
                    }
                    if sibling.dot.site == ownOrdinal { highestOwn = max(highestOwn, sibling.dot.counter) }
                }
            }
            incoming.append((row, fields))
        }
        if let ownID = try String.fetchOne(db, sql: "SELECT site_id FROM replica_info"),
            let claimed = delta.end.vector[ownID]
        {
            try checkOwnSiteClaim(claimed, own: ours[ownOrdinal], clonedWrites: highestOwn > ours[ownOrdinal])
        }
        var summary = MergeSummary()
        for (row, fields) in incoming {
            let local = try RowStore.load(db, row.entity, id: row.id)
            // Fields the delta leaves out are ones this replica holds at least as new: merging its own state
            // with itself keeps it.
            var state =
                local?.state
                ?? RowState(
                    entity: row.entity, id: row.id, fields: Array(repeating: .empty, count: row.entity.fields.count))
            for (change, field) in zip(row.fields, fields) { state.fields[change.index] = field }
            try merge(
                state, local: local, context: context, ourVector: ours, theirVector: theirs, summary: &summary)
            summary.fieldsReceived += fields.count - row.entity.fields.count
        }
        // Only the entries that rose: a hub's vector names every terminal, a delta moves one or two.
        try storeVector(db, VersionVector(theirs.counters.filter { $0.value > ours[$0.key] }))
        try db.execute(
            sql: "INSERT OR REPLACE INTO sync_cursors (peer_site, lseq, synced_at, peer_counter) VALUES (?, ?, ?, ?)",
            arguments: [peer, delta.end.snapshotLseq, wall, Int64(delta.end.vector[peer] ?? 0)])
        return try finishMerge(db, context: context, summary: summary)
    }

    /// Signals every commit that changed replicated records: this instance's commands and merges at once, other
    /// processes' within a few tens of milliseconds (`Replica.commits()`).
    public func commits() -> AsyncStream<Int64> { replica.commits() }
}
