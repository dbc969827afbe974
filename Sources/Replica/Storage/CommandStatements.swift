/// The text of the statements every command runs besides its own inserts, in one place: the commands use them,
/// and this package's benchmark replays them (its storage floor, `OutpostBench`), so the floor cannot drift from
/// what a command does.
package enum CommandStatements {
    /// A transaction's clock and the replica's state, on both singleton tables (columns read by position).
    package static let clock = """
        SELECT counter, hlc, lseq, order_sequence, bootstrap_peer, local_ordinal, copied_from
        FROM replica_clock, replica_info
        """

    /// The clock a transaction leaves (`counter`, `hlc`, `lseq`, `order_sequence`).
    package static let clockUpdate = "UPDATE replica_clock SET counter = ?, hlc = ?, lseq = ?, order_sequence = ?"

    /// The shared settings (`0, id, value`) then this device's own (`1, key, value`).
    package static let settings = """
        SELECT 0, id, value FROM settings WHERE value IS NOT NULL
        UNION ALL SELECT 1, key, value FROM device_settings
        """

    /// Whether the customer `?` exists.
    package static var customerExists: String { RowStore.sql(.customers).exists }

    /// Which of `count` SKUs (`?1` … `?count`) are tracked at location `?count+1`: built once for the common counts.
    package static func stockProbe(_ count: Int) -> String {
        count < stockProbes.count ? stockProbes[count] : makeStockProbe(count)
    }
    private static let stockProbes = (0..<17).map(makeStockProbe)
    private static func makeStockProbe(_ count: Int) -> String {
        // One probe pair per SKU joined by UNION ALL: an `IN (…)` list or a `UNION` would make SQLite build an
        // ephemeral table for every execution, which costs more than the probes.
        (0..<count).map { index in
            """
            SELECT ?\(index + 1) WHERE EXISTS (SELECT 1 FROM stock_movements WHERE sku = ?\(index + 1) AND location = ?\(count + 1))
                OR EXISTS (SELECT 1 FROM stock WHERE sku = ?\(index + 1) AND location = ?\(count + 1))
            """
        }.joined(separator: "\nUNION ALL\n")
    }
}
