import GRDB
import OrderDomain
import OutpostCore

/// Merging one record of a complete stream into live state (Replica.docc, "Merging a key"), and the site
/// bookkeeping every received batch needs.
extension ReplicationLog {
    /// Merges one record into live state with the rule of Replica.docc, "Merging a key".
    static func merge(
        _ incoming: RowState, context: WriteContext, ourVector: VersionVector, theirVector: VersionVector,
        summary: inout MergeSummary
    ) throws {
        try merge(
            incoming, local: try RowStore.load(context.db, incoming.entity, id: incoming.id), context: context,
            ourVector: ourVector, theirVector: theirVector, summary: &summary)
    }

    /// Merges one record whose stored state (`local`, nil when absent) the caller already loaded.
    static func merge(
        _ incoming: RowState, local: (state: RowState, lseq: Int64)?, context: WriteContext, ourVector: VersionVector,
        theirVector: VersionVector, summary: inout MergeSummary
    ) throws {
        let entity = incoming.entity
        let current =
            local?.state
            ?? RowState(entity: entity, id: incoming.id, fields: Array(repeating: .empty, count: entity.fields.count))
        var merged = current
        var changed = 0
        for index in incoming.fields.indices {
            let field = current.fields[index].merged(
                with: incoming.fields[index], ourVector: ourVector, theirVector: theirVector)
            if field != current.fields[index] {
                changed += 1
                merged.fields[index] = field
                if field.isConflict && !current.fields[index].isConflict {
                    summary.conflictsDetected += 1
                    try recordConflict(context, merged, field: index)
                }
            }
            for sibling in incoming.fields[index].siblings { context.observe(sibling.time) }
        }
        summary.rows += 1
        summary.fieldsReceived += incoming.fields.count
        summary.fieldsChanged += changed
        guard changed > 0 else { return }
        try RowStore.save(
            context.db, merged, lseq: context.nextLseq(), previousLseq: local?.lseq,
            previousSiblingMask: local.map { RowStore.siblingMask(of: $0.state) } ?? 0)
        if entity == .settings {
            context.settingsChanged = true
        } else if entity == .orders {
            context.touchedOrders.insert(incoming.id)
        } else if let order = merged.value("order_id").text {
            context.touchedOrders.insert(order)
        }
    }

    private static func recordConflict(_ context: WriteContext, _ state: RowState, field index: Int) throws {
        let spec = state.entity.fields[index]
        let field = state.fields[index]
        let sites = try siteIDs(context.db)
        let orderID = state.entity == .orders ? state.id : state.value("order_id").text
        try context.db.execute(
            sql: """
                INSERT INTO conflict_history (entity, row_id, order_id, field, "values", winner, rule, sites, detected_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                state.entity.rawValue, state.id, orderID, spec.name,
                field.siblings.map(\.value.description).sorted().joined(separator: " | "),
                field.resolved(by: spec.resolution).description, spec.resolution.rawValue,
                field.siblings.map { sites[$0.dot.site] ?? "?" }.sorted().joined(separator: ","),
                context.wallMilliseconds,
            ])
    }

    /// Local ordinals for `siteIDs`, registering unknown sites.
    static func registerSites(_ db: Database, _ siteIDs: [String]) throws -> [UInt32] {
        try siteIDs.map { id in
            guard Hex.isLowercase(id, bytes: 16) else {
                throw ReplicaError(.protocolViolation, "'\(id)' is not a site id")
            }
            if let ordinal = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT ordinal FROM sites WHERE site_id = ?"), arguments: [id])
            {
                return UInt32(truncatingIfNeeded: ordinal)
            }
            try db.cachedStatement(sql: "INSERT INTO sites (site_id) VALUES (?)").execute(arguments: [id])
            return UInt32(truncatingIfNeeded: db.lastInsertedRowID)
        }
    }

    /// Renames batch-local site indexes to local ordinals.
    static func rename(_ fields: [FieldState], _ ordinals: [UInt32]) throws -> [FieldState] {
        var renamed = fields
        for index in renamed.indices {
            try renamed[index].renameSites { site in
                guard Int(site) < ordinals.count else {
                    throw ReplicaError(
                        .protocolViolation, "a dot names site \(site) of a batch with \(ordinals.count) sites")
                }
                return ordinals[Int(site)]
            }
        }
        return renamed
    }

    /// Stores the remote entries of `vector` (the local entry lives in `replica_clock`).
    static func storeVector(_ db: Database, _ vector: VersionVector) throws {
        let statement = try db.cachedStatement(
            sql:
                "INSERT INTO version_vector (site, counter) VALUES (?, ?) ON CONFLICT(site) DO UPDATE SET counter = max(counter, excluded.counter)"
        )
        let local = try localOrdinal(db)
        for (site, counter) in vector.counters where site != local {
            try statement.execute(arguments: [Int64(site), Int64(counter)])
        }
    }
}
