import CSV
import Foundation
import Intake
import OrderDomain
import Replica

extension Bench {
    /// Orders per second through `outpost import shopify`'s path (read the CSV, check every order, import in
    /// chunks) for a generated export of 100,000 orders (quick: 20,000) of 1–3 line items, about half paid and
    /// shipped, some refunded or cancelled.
    mutating func importFigures() async throws -> [Figure] {
        let count = quick ? 20_000 : 100_000
        let file = path("shopify") + ".csv"
        try Self.writeShopifyExport(orders: count, to: file)
        var rates: [Double] = []
        for _ in 0..<(quick ? 1 : 3) {
            let replica = try Replica.create(at: path("import"), name: "bench", cacheMegabytes: 64)
            var report = ImportReport()
            let seconds = try await Clock.seconds {
                report = try await OrderImport.run(try ShopifyOrders.read(path: file), into: replica)
            }
            guard report.imported == count, report.problems.isEmpty else {
                throw ReplicaError(.corrupt, "the generated export did not import whole: \(report.problems.prefix(3))")
            }
            rates.append(Double(count) / seconds)
        }
        return [Figure(key: "import_orders_per_s", unit: "/s", target: "report", runs: rates)]
    }

    /// A Shopify-shaped export of `orders` orders (the columns the importer reads; one row per line item).
    static func writeShopifyExport(orders: Int, to path: String) throws {
        guard let stream = OutputStream(toFileAtPath: path, append: false) else {
            throw ReplicaError(.unavailable, "cannot write \(path)")
        }
        let writer = try CSVWriter(stream: stream)
        let header = [
            "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Currency",
            "Shipping", "Taxes", "Total", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
            "Lineitem sku", "Lineitem fulfillment status", "Cancelled at", "Refunded Amount", "Id", "Tags",
        ]
        try writer.write(row: header)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss Z"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let start = 1_790_000_000.0
        for index in 0..<orders {
            let created = formatter.string(from: Date(timeIntervalSince1970: start + Double(index) * 60))
            let later = formatter.string(from: Date(timeIntervalSince1970: start + Double(index) * 60 + 3600))
            let lines = 1 + index % 3
            let prices = (0..<lines).map { 500 + (index + $0 * 7) % 40 * 100 }
            let total = prices.reduce(0, +) + 490
            let kind = index % 10
            let paid = kind < 8
            let shipped = kind < 5
            let money = { (minor: Int) in String(format: "%d.%02d", minor / 100, minor % 100) }
            for line in 0..<lines {
                let first = line == 0
                try writer.write(row: [
                    "#\(10_000 + index)", "buyer\(index % 5_000)@example.com",
                    first ? (kind == 7 ? "partially_refunded" : paid ? "paid" : "pending") : "",
                    first && paid ? later : "", first ? (shipped ? "fulfilled" : "unfulfilled") : "",
                    first && shipped ? later : "", first ? "EUR" : "", first ? "4.90" : "", first ? "0.00" : "",
                    first ? money(total) : "", first ? created : "", "1", "Item \((index + line) % 200)",
                    money(prices[line]), "SKU-\((index + line) % 200)", shipped ? "fulfilled" : "pending",
                    first && kind == 9 ? later : "", first && kind == 7 ? "2.00" : "",
                    first ? "\(9_000_000 + index)" : "",
                    first ? "bench" : "",
                ])
            }
        }
        writer.stream.close()
    }
}
