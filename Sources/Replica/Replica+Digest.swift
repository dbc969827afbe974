import GRDB
import OrderDomain

extension Replica {
    /// The replicated content and everything derived from it (every record with every sibling and its dot,
    /// derived columns, stock levels, open conflicts), with sites named by site id, as text: equal on replicas
    /// that have converged. For tests, support and `outpost status --digest`.
    public func contentDump() async throws -> String {
        try await pool.read { db in
            let sites = try Replica.siteIDs(db)
            var out = ""
            for entity in Entity.allCases {
                out += "## \(entity.rawValue)\n"
                let derived = Schema.derivedColumns(entity).map(\.0)
                for row in try Row.fetchAll(db, sql: RowStore.selectSQL(entity, where: "ORDER BY id")) {
                    let (state, _) = try RowStore.decode(db, entity, row: row)
                    out += state.id
                    for (spec, field) in zip(entity.fields, state.fields) {
                        let siblings = field.siblings.map { "\($0.value)@\(sites[$0.dot.site] ?? "?"):\($0.dot.counter)" }.sorted()
                        out += " \(spec.name)=\(siblings.joined(separator: "|"))"
                    }
                    if !derived.isEmpty,
                        let values = try Row.fetchOne(db, sql: "SELECT \(derived.joined(separator: ", ")) FROM \(entity.rawValue) WHERE id = ?", arguments: [state.id])
                    {
                        out += " derived=\(values.description)"
                    }
                    out += "\n"
                }
            }
            out += "## stock_levels\n"
            for level in try StockLevels.all(db, sku: nil) { out += "\(level)\n" }
            out += "## conflicts\n"
            for conflict in try Replica.conflicts(db, orderID: nil) { out += "\(conflict)\n" }
            return out
        }
    }
}

extension Replica {
    /// A short fingerprint of `contentDump()`: two replicas with the same digest hold the same content.
    public func contentDigest() async throws -> String {
        Identifiers.fingerprint(Array(try await contentDump().utf8))
    }
}
