import GRDB
import OrderDomain

extension Replica {
    /// The replicated content and everything derived from it (every record with every sibling and its dot,
    /// derived columns, stock levels, open conflicts), with sites named by site id, as text: equal on replicas
    /// that have converged. For tests and support; large replicas should use `contentDigest()`.
    public func contentDump() async throws -> String {
        try await pool.read { db in
            var out = ""
            try Self.dumpContent(db) { out += $0 }
            return out
        }
    }

    /// A fingerprint of `contentDump()`, computed piece by piece (bounded memory at any size): two replicas
    /// with the same digest hold the same content.
    public func contentDigest() async throws -> String {
        try await pool.read { db in
            var fingerprint = Fingerprint()
            try Self.dumpContent(db) { fingerprint.update($0.utf8) }
            return fingerprint.hex
        }
    }

    /// Writes the content dump piece by piece to `sink`.
    static func dumpContent(_ db: Database, into sink: (String) -> Void) throws {
        let sites = try ReplicationLog.siteIDs(db)
        for entity in Entity.allCases {
            sink("## \(entity.rawValue)\n")
            let derived = Schema.derivedColumns(entity).map(\.0)
            let derivedSQL = derived.isEmpty ? "" : ", " + derived.joined(separator: ", ")
            let columns = entity.fields.map(\.name).joined(separator: ", ")
            let rows = try Row.fetchCursor(
                db, sql: "SELECT lseq, id, \(columns), dots\(derivedSQL) FROM \(entity.rawValue) ORDER BY id")
            while let row = try rows.next() {
                let (state, _) = try RowStore.decode(db, entity, row: row)
                var line = state.id
                for (spec, field) in zip(entity.fields, state.fields) {
                    let siblings = field.siblings.map { "\($0.value)@\(sites[$0.dot.site] ?? "?"):\($0.dot.counter)" }
                        .sorted()
                    line += " \(spec.name)=\(siblings.joined(separator: "|"))"
                }
                if !derived.isEmpty {
                    line += " derived=" + derived.map { (row[$0] as DatabaseValue).description }.joined(separator: ",")
                }
                sink(line + "\n")
            }
        }
        sink("## stock_levels\n")
        for level in try StockLevels.all(db, sku: nil) { sink("\(level)\n") }
        sink("## conflicts\n")
        for conflict in try OrderQueries.conflicts(db, orderID: nil) { sink("\(conflict)\n") }
    }
}
