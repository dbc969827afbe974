import Foundation
import GRDB
import OrderDomain

@testable import Replica

/// A fake wall clock shared by a test's replicas: every reading advances one millisecond.
final class FakeClock: Sendable {
    private let value = LockedValue<Int64>(1_790_000_000_000)
    func callAsFunction() -> Int64 {
        value.update {
            $0 += 1
            return $0
        }
    }
}

final class LockedValue<T: Sendable>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ value: T) { self.value = value }
    func update<R>(_ body: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// A directory removed when the test ends.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

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
