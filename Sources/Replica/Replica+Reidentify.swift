import Foundation
import GRDB
import OrderDomain

/// One site id, one file (Replica.docc, "One site id, one file"): a replica opened as another file than the one
/// it was made as — copied, restored from a backup, moved to another disk or machine — refuses writes and
/// syncs until `reidentify` gives it a site id of its own. Two files writing with one site id would number
/// different writes alike, and every peer would keep whichever arrived first.
extension Replica {
    /// Records the file's identity on first open, or notes that this is not the file the replica was made as.
    static func noteFileIdentity(_ pool: DatabasePool, path: String) throws {
        guard let current = FileIdentity.of(path) else { return }
        let read = { (db: Database) throws -> (String?, String?) in
            let row = try Row.fetchOne(db, sql: "SELECT file_identity, copied_from FROM replica_info")
            return (row?["file_identity"], row?["copied_from"])
        }
        let (recorded, copiedFrom) = try pool.read(read)
        guard recorded != current, copiedFrom == nil else { return }
        try pool.write { db in
            let (recorded, copiedFrom) = try read(db)
            if recorded == nil {
                try db.execute(sql: "UPDATE replica_info SET file_identity = ?", arguments: [current])
            } else if recorded != current, copiedFrom == nil {
                try db.execute(sql: "UPDATE replica_info SET copied_from = file_identity")
            }
        }
    }

    /// The error every write and sync of a copied replica gets.
    static func copiedError(_ copiedFrom: String, path: String?) -> ReplicaError {
        let file =
            path.map {
                "\($0) is not the file this replica was made as (\(copiedFrom); now \(FileIdentity.of($0) ?? "unreadable"))"
            }
            ?? "this replica's file is not the one it was made as (\(copiedFrom))"
        return ReplicaError(
            .siteConflict,
            "\(file): it was copied, restored from a backup, or moved to another disk or machine. Two files writing with one site id would lose each other's changes, so writes and syncs are refused here",
            hint:
                "run `outpost reidentify` on this replica to give it a site id of its own (safe whether it is the copy or the original moved), then write and sync as usual; the other file is not affected"
        )
    }

    /// Refuses, inside a transaction, when this replica is a copy that has not been given its own site id.
    static func checkNotCopied(_ db: Database, path: String?) throws {
        if let copiedFrom = try String.fetchOne(db, sql: "SELECT copied_from FROM replica_info") {
            throw copiedError(copiedFrom, path: path)
        }
    }

    /// Gives the replica at `path` a new site id, order-number prefix and (optionally) name, so that a copy and
    /// its original both go on writing without numbering their writes alike. The old site becomes an
    /// ordinary remote site of this replica (its writes so far stay as they are, and the counter this file had
    /// reached goes into the version vector); the new site starts at counter 0. Safe on any replica, copied or
    /// not: a site id only names where writes are made.
    ///
    /// Needs the file to itself (no `outpost serve` or other instance has it open).
    ///
    /// - Returns: the old site id and the new identity.
    /// - Throws: `ReplicaError(.unavailable)` when another process has the file open; `.notFound` and
    ///   `.incompatible` as `open` does.
    public static func reidentify(
        at path: String, name: String? = nil, random: @escaping @Sendable () -> UInt64 = Replica.systemRandom
    ) throws -> (previous: String, identity: ReplicaIdentity) {
        try checkReplicaFile(at: path)
        guard let claim = FileClaim(path: path) else {
            throw ReplicaError(.unreadable, "cannot lock \(path)", hint: "check the directory's permissions")
        }
        let pool = try makePool(path, cacheMegabytes: 0)
        defer { try? pool.close() }
        try Migrations.migrator.migrate(pool)
        let high = random()
        let low = random()
        let siteID = String(format: "%016llx%016llx", high, low)
        let prefix = OrderNumber.prefix(fromSiteBits: high)
        let done: (String, ReplicaIdentity)? = try claim.exclusively {
            try pool.write { db -> (String, ReplicaIdentity) in
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT site_id, site_name, local_ordinal, bootstrap_peer FROM replica_info")
                else { throw ReplicaError(.incompatible, "\(path) is not an Outpost replica") }
                if let peer: String = row["bootstrap_peer"] {
                    throw ReplicaError(
                        .unavailable, "this replica is still loading its first stream from site \(peer)",
                        hint: "finish that sync first")
                }
                let previous: String = row["site_id"]
                let newName = name ?? row["site_name"]
                let counter = try Int64.fetchOne(db, sql: "SELECT counter FROM replica_clock") ?? 0
                // The old site's writes are now a remote site's, all of which this replica holds.
                try db.execute(
                    sql:
                        "INSERT INTO version_vector (site, counter) VALUES (?, ?) ON CONFLICT(site) DO UPDATE SET counter = max(counter, excluded.counter)",
                    arguments: [row["local_ordinal"] as Int64, counter])
                try db.execute(
                    sql: "INSERT INTO sites (site_id, name) VALUES (?, ?)", arguments: [siteID, newName])
                let ordinal = db.lastInsertedRowID
                try db.execute(sql: "UPDATE replica_clock SET counter = 0, order_sequence = 0")
                try db.execute(
                    sql: """
                        UPDATE replica_info SET site_id = ?, site_name = ?, number_prefix = ?, local_ordinal = ?,
                            file_identity = ?, copied_from = NULL
                        """,
                    arguments: [siteID, newName, prefix, ordinal, FileIdentity.of(path)])
                return (previous, ReplicaIdentity(siteID: siteID, name: newName, numberPrefix: prefix))
            }
        }
        guard let (previous, identity) = done else {
            throw ReplicaError(
                .unavailable, "another process has \(path) open, so its site id cannot change under it",
                hint: "stop `outpost serve` (or the program using it) and run the command again")
        }
        return (previous, identity)
    }
}
