import Foundation
import OrderDomain
import Replica

/// The three sides of `write_overhead_ratio` once each, for looking into where a write's time goes:
/// `OutpostBench write-parts PER_COMMIT ORDERS DIRECTORY` writes ORDERS orders through the replica's commands,
/// then the same rows as the storage floor (`StorageFloor`), then into plain SQLite (`RawBaseline`), PER_COMMIT
/// to a commit, into files in DIRECTORY, and prints each part's wall time and CPU time (every thread of the
/// process, the checkpointer's too) per order.
///
/// Each part also prints the monotonic clock when it begins and ends, so that a profile recorded with
/// `perf record -k CLOCK_MONOTONIC` can be split by part: the set-up between the parts (the dataset, the new
/// files, reading the sales back for the floor) falls outside all three.
extension Bench {
    static func writeParts(_ arguments: [String]) async throws {
        guard arguments.count == 3, let perCommit = Int(arguments[0]), let count = Int(arguments[1]), perCommit > 0,
            count > 0
        else {
            throw DomainError(
                .invalidInput, "usage: OutpostBench write-parts PER_COMMIT ORDERS DIRECTORY",
                hint: "PER_COMMIT orders to a commit (1 or more), ORDERS to write (1 or more), DIRECTORY for the files")
        }
        let directory = URL(fileURLWithPath: arguments[2])
        func path(_ name: String) -> String { directory.appendingPathComponent("\(name).sqlite").path }
        let dataset = Dataset(count: count, seed: 1)

        let replica = try Replica.create(at: path("replica"), name: "bench")
        try await part("replica", orders: count) {
            try await sell(dataset.orders[...], perCommit: perCommit, on: replica)
        }

        let sales = try StorageFloor.sales(ofReplicaAt: path("replica"))
        let floor = try StorageFloor(path: path("floor"))
        try await part("floor", orders: count) { try await floor.write(sales, perCommit: perCommit) }

        let raw = try RawBaseline(path: path("raw"))
        try await part("raw", orders: count) { try raw.write(dataset, perCommit: perCommit) }
    }

    /// Runs one part between its marks and prints its wall and CPU time per order.
    private static func part(_ name: String, orders: Int, _ body: () async throws -> Void) async throws {
        let cpu = Clock.processCPU()
        let begins = monotonicNanoseconds()
        print("begins \(name) \(begins)")
        try await body()
        let ends = monotonicNanoseconds()
        print("ends \(name) \(ends)")
        let wall = Double(ends - begins) / 1e3 / Double(orders)
        let used = (Clock.processCPU() - cpu) * 1e6 / Double(orders)
        print(String(format: "%@: wall %.1f µs, CPU %.1f µs per order", name, wall, used))
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
