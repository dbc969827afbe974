/// A period's figures for a shop (`outpost report`): one function of the period's orders, so the CLI, `--json`
/// and any page built on them agree. Every figure is defined in README ("The report"); in short, an order
/// belongs to the period it was created in, and money is counted per currency.
public struct Report: Hashable, Sendable {
    /// The period, Unix milliseconds UTC, `since` included, `until` not.
    public var since: Int64
    public var until: Int64
    /// Orders created in the period.
    public var orders: Int
    /// Orders per channel.
    public var ordersByChannel: [String: Int]
    /// Money per currency code.
    public var money: [String: CurrencyFigures]
    /// Revenue (captured − refunded) per channel and currency code, in minor units.
    public var revenueByChannel: [String: [String: Int64]]
    /// Hours from the first capture (or the order, when none) to the first shipment, over the orders shipped.
    public var hoursToShip: Distribution?
    /// Hours from the first shipment to the first delivery, over the orders delivered.
    public var hoursToDeliver: Distribution?
    /// Orders cancelled (whatever followed: an order cancelled and refunded counts here).
    public var cancelled: Int
    /// Orders with at least one refund.
    public var refunded: Int
    /// Orders that shipped something.
    public var shipped: Int
    /// Shipped orders with a return (not cancelled).
    public var returned: Int
    /// Returns by reason.
    public var returnReasons: [String: Int]
    /// Parcels whose carrier reported a delay, and a failed delivery.
    public var parcelsDelayed: Int
    public var parcelsFailed: Int
    /// Customers who ordered in the period; of them, those whose first order ever was in it, and those with two
    /// or more orders ever.
    public var customers: Int
    public var newCustomers: Int
    public var repeatCustomers: Int
    /// Units ordered per SKU (orders not cancelled), the five largest.
    public var topSKUs: [SKUUnits]
    /// Orders of the period holding units promised beyond stock at the period's end.
    public var oversoldOrders: Int
    /// What needed attention at the period's end, by kind.
    public var attentionAtEnd: [String: Int]
    /// Orders per UTC day (the day's first millisecond) and channel, every day of the period present.
    public var ordersPerDay: [Int64: [String: Int]]
    /// Refunds per UTC day (by the refund's time, of the period's orders) and currency, in minor units.
    public var refundsPerDay: [Int64: [String: Int64]]
    /// Every order's hours to ship (the values `hoursToShip` summarises), for a distribution.
    public var shipHours: [Double]

    /// Money in one currency.
    public struct CurrencyFigures: Hashable, Sendable {
        public var orders: Int
        public var capturedMinor: Int64
        public var refundedMinor: Int64
        /// Captured − refunded.
        public var revenueMinor: Int64 { capturedMinor - refundedMinor }
        /// Orders with money captured.
        public var paidOrders: Int
        /// Revenue ÷ paid orders, rounded to the minor unit (0 without paid orders).
        public var averageOrderMinor: Int64 {
            paidOrders == 0 ? 0 : (revenueMinor + Int64(paidOrders) / 2) / Int64(paidOrders)
        }
    }

    /// A median and 90th percentile (nearest rank) of hours.
    public struct Distribution: Hashable, Sendable {
        public var count: Int
        public var medianHours: Double
        public var p90Hours: Double

        init?(_ values: [Double]) {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            count = sorted.count
            let rank = { (share: Double) in sorted[max(0, Int((share * Double(sorted.count)).rounded(.up)) - 1)] }
            medianHours =
                sorted.count % 2 == 1
                ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            p90Hours = rank(0.9)
        }
    }

    public struct SKUUnits: Hashable, Sendable {
        public var sku: String
        public var units: Int64
    }

    /// The share of `part` in `whole` (0 when `whole` is 0).
    public static func rate(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }

    /// What one customer's history says, for new/repeat: the first order ever and how many orders ever.
    public struct CustomerHistory: Hashable, Sendable {
        public var firstOrderAt: Int64
        public var orders: Int

        public init(firstOrderAt: Int64, orders: Int) {
            self.firstOrderAt = firstOrderAt
            self.orders = orders
        }
    }

    /// The report of `orders` (those created in `since..<until` are counted; others are ignored).
    public init(
        since: Int64, until: Int64, orders all: [Order], customers: [String: CustomerHistory],
        oversoldOrders: Set<String>, attentionAtEnd: [String: Int]
    ) {
        self.since = since
        self.until = until
        let orders = all.filter { $0.createdAt >= since && $0.createdAt < until }
        self.orders = orders.count
        ordersByChannel = Dictionary(grouping: orders, by: \.channel.rawValue).mapValues(\.count)
        var money: [String: CurrencyFigures] = [:]
        var byChannel: [String: [String: Int64]] = [:]
        var toShip: [Double] = []
        var toDeliver: [Double] = []
        var units: [String: Int64] = [:]
        var reasons: [String: Int] = [:]
        (cancelled, refunded, shipped, returned, parcelsDelayed, parcelsFailed) = (0, 0, 0, 0, 0, 0)
        let hour = 3_600_000.0
        for order in orders {
            let progress = order.progress
            var figures =
                money[order.currency.code]
                ?? CurrencyFigures(orders: 0, capturedMinor: 0, refundedMinor: 0, paidOrders: 0)
            figures.orders += 1
            figures.capturedMinor += progress.capturedMinor
            figures.refundedMinor += progress.refundedMinor
            if progress.capturedMinor > 0 { figures.paidOrders += 1 }
            money[order.currency.code] = figures
            byChannel[order.channel.rawValue, default: [:]][order.currency.code, default: 0] +=
                progress.capturedMinor - progress.refundedMinor
            if order.cancelledAt != nil {
                cancelled += 1
            } else {
                for line in order.lines { units[line.sku, default: 0] += line.quantity }
            }
            if !order.refunds.isEmpty { refunded += 1 }
            let firstCapture = order.payments.filter { $0.kind == .capture }.map(\.at).min()
            if let firstShipped = order.fulfilments.compactMap(\.shippedAt).min() {
                shipped += 1
                toShip.append(Double(firstShipped - (firstCapture ?? order.createdAt)) / hour)
                if let delivered = order.fulfilments.compactMap(\.deliveredAt).min() {
                    toDeliver.append(Double(delivered - firstShipped) / hour)
                }
                let live = order.returns.filter { $0.cancelledAt == nil }
                if !live.isEmpty { returned += 1 }
                for item in live { reasons[item.reason.rawValue, default: 0] += 1 }
            }
            for parcel in order.fulfilments {
                let kinds = Set(order.trackingEvents.filter { $0.fulfilmentID == parcel.id }.map(\.kind))
                if kinds.contains(.delayed) { parcelsDelayed += 1 }
                if kinds.contains(.failed) { parcelsFailed += 1 }
            }
        }
        self.money = money
        revenueByChannel = byChannel
        let dayLength: Int64 = 86_400_000
        /// The first millisecond of the UTC day of `time` (times before 1970 included).
        func dayOf(_ time: Int64) -> Int64 { time - ((time % dayLength) + dayLength) % dayLength }
        let firstDay = dayOf(since)
        var perDay: [Int64: [String: Int]] = [:]
        var day = firstDay
        while day < until, perDay.count < 400 {
            perDay[day] = [:]
            day += dayLength
        }
        var refundDays: [Int64: [String: Int64]] = [:]
        for order in orders {
            let start = dayOf(order.createdAt)
            perDay[start, default: [:]][order.channel.rawValue, default: 0] += 1
            for refund in order.refunds {
                let refundDay = dayOf(refund.at)
                refundDays[refundDay, default: [:]][order.currency.code, default: 0] += refund.amountMinor
            }
        }
        ordersPerDay = perDay
        refundsPerDay = refundDays
        shipHours = toShip.sorted()
        hoursToShip = Distribution(toShip)
        hoursToDeliver = Distribution(toDeliver)
        returnReasons = reasons
        let buyers = Set(orders.map(\.customerID))
        self.customers = buyers.count
        newCustomers = buyers.filter { (customers[$0]?.firstOrderAt ?? since) >= since }.count
        repeatCustomers = buyers.filter { (customers[$0]?.orders ?? 0) >= 2 }.count
        topSKUs = units.map { SKUUnits(sku: $0.key, units: $0.value) }
            .sorted { ($0.units, $1.sku) > ($1.units, $0.sku) }.prefix(5).map { $0 }
        self.oversoldOrders = orders.filter { oversoldOrders.contains($0.id) }.count
        self.attentionAtEnd = attentionAtEnd
    }
}
