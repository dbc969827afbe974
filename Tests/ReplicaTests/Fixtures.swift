import Foundation
import GRDB
import OrderDomain
import OutpostTestSupport

@testable import Replica

extension Replica {
    /// Every table's full content, for byte-level "nothing changed" checks.
    func rawDump() async throws -> String {
        try await pool.read { db in
            var out = ""
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            for table in tables {
                out += "## \(table)\n"
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map(\.description).sorted()
                out += rows.joined(separator: "\n") + "\n"
            }
            return out
        }
    }

}

func line(_ sku: String, _ quantity: Int64, _ price: String? = "10.00") -> LineSpec {
    LineSpec(sku: sku, quantity: quantity, unitPrice: price)
}

/// The rows of `sql` as another tool sees the file: a plain read-only SQLite connection, each row's columns as
/// text.
func readOnlyRows(_ path: String, _ sql: String) throws -> Set<[String]> {
    var configuration = Configuration()
    configuration.readonly = true
    let queue = try DatabaseQueue(path: path, configuration: configuration)
    return try queue.read { db in
        Set(
            try Row.fetchAll(db, sql: sql).map { row in
                row.databaseValues.map { value in
                    switch value.storage {
                    case .int64(let number): "\(number)"
                    case .string(let text): text
                    default: "\(value)"
                    }
                }
            })
    }
}
