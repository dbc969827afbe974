import Foundation
import OrderDomain
import Replica

/// JSON shapes of the CLI (amounts as integer `*_minor` fields plus `currency`; times RFC 3339 UTC).
enum Documents {
    static func order(_ details: OrderDetails) -> [String: Any] {
        let order = details.order
        let progress = details.progress
        let lines = Dictionary(uniqueKeysWithValues: progress.lines.map { ($0.lineID, $0) })
        return [
            "id": order.id, "number": order.number, "status": progress.status.rawValue,
            "financial_status": progress.financialStatus.rawValue, "overlays": progress.overlays.map(\.rawValue),
            "flags": details.flags.map(\.rawValue),
            "customer": ["email": details.customerEmail as Any, "id": order.customerID],
            "currency": order.currency.code,
            "channel": order.channel.rawValue, "location": order.location, "created_at": rfc3339(order.createdAt),
            "ship_by": rfc3339(order.shipBy), "cancelled_at": rfc3339(order.cancelledAt),
            "address": order.address as Any,
            "phone": order.phone as Any, "notes": order.notes as Any, "tags": order.tags.sorted(),
            "lines": order.lines.sorted { $0.position < $1.position }.map { line -> [String: Any] in
                let state = lines[line.id]
                return [
                    "id": line.id, "sku": line.sku, "quantity": line.quantity, "unit_price_minor": line.unitPriceMinor,
                    "packed": state?.packed ?? 0, "shipped": state?.shipped ?? 0, "delivered": state?.delivered ?? 0,
                    "returned": state?.returned ?? 0, "reserved": state?.reserved ?? 0,
                ]
            },
            "shipping_minor": order.shippingMinor, "tax_minor": order.taxMinor, "discount_minor": order.discountMinor,
            "total_minor": progress.totalMinor, "paid_minor": progress.capturedMinor,
            "authorized_minor": progress.authorizedOpenMinor, "refunded_minor": progress.refundedMinor,
            "balance_due_minor": progress.balanceDueMinor, "refund_due_minor": progress.refundDueMinor,
            "payments": order.payments.sorted { $0.at < $1.at }.map {
                [
                    "id": $0.id, "kind": $0.kind.rawValue, "amount_minor": $0.amountMinor, "method": $0.method.rawValue,
                    "provisional": $0.provisional, "reference": $0.reference as Any, "at": rfc3339($0.at),
                    "note": $0.note as Any,
                ] as [String: Any]
            },
            "fulfilments": order.fulfilments.map {
                [
                    "id": $0.id,
                    "lines": $0.lines.map {
                        ["sku": order.line($0.lineID)?.sku ?? $0.lineID, "quantity": $0.quantity]
                    },
                    "packed_at": rfc3339($0.packedAt), "shipped_at": rfc3339($0.shippedAt),
                    "delivered_at": rfc3339($0.deliveredAt),
                    "carrier": $0.carrier as Any, "tracking_number": $0.trackingNumber as Any,
                ] as [String: Any]
            },
            "returns": order.returns.map {
                [
                    "id": $0.id,
                    "lines": $0.lines.map {
                        ["sku": order.line($0.lineID)?.sku ?? $0.lineID, "quantity": $0.quantity]
                    },
                    "reason": $0.reason.rawValue, "requested_at": rfc3339($0.requestedAt),
                    "received_at": rfc3339($0.receivedAt),
                    "cancelled_at": rfc3339($0.cancelledAt), "closed_at": rfc3339($0.closedAt), "restock": $0.restock,
                ] as [String: Any]
            },
            "refunds": order.refunds.map {
                ["id": $0.id, "amount_minor": $0.amountMinor, "reason": $0.reason as Any, "at": rfc3339($0.at)]
                    as [String: Any]
            },
            "exchanges": order.exchanges.map {
                ["id": $0.id, "return_id": $0.returnID, "difference_minor": $0.differenceMinor, "at": rfc3339($0.at)]
                    as [String: Any]
            },
            "timeline": details.timeline.map {
                ["at": rfc3339($0.at), "event": $0.event, "detail": $0.detail as Any] as [String: Any]
            },
            "conflicts": details.conflicts.map(conflict),
        ]
    }

    static func conflict(_ conflict: Conflict) -> [String: Any] {
        [
            "order_id": conflict.orderID as Any, "record": conflict.entity.rawValue, "record_id": conflict.recordID,
            "field": conflict.field,
            "values": conflict.values.map(value), "winner": value(conflict.winner), "rule": conflict.rule.rawValue,
            "sites": conflict.sites,
            "detected_at": rfc3339(conflict.detectedAt),
        ]
    }

    static func value(_ value: FieldValue) -> Any {
        switch value {
        case .null: NSNull()
        case .integer(let integer): integer
        case .text(let text): text
        }
    }

    static func listing(_ order: OrderListing) -> [String: Any] {
        [
            "id": order.id, "number": order.number, "status": order.status.rawValue,
            "overlays": order.overlays.map(\.rawValue), "flags": order.flags.map(\.rawValue),
            "financial_status": order.financialStatus.rawValue,
            "total_minor": order.totalMinor, "currency": order.currency, "customer_email": order.customerEmail as Any,
            "channel": order.channel.rawValue, "created_at": rfc3339(order.createdAt),
        ]
    }
}
