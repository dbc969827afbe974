/// Checking a complete history at once (an imported order), with the same transition rules as commands.
extension Order {
    /// One step of an imported order's history, in the order the transition graph needs them.
    private enum Step: Comparable {
        case payment(Int)
        case processing
        case pack(Int)
        case ship(Int)
        case delivered(Int)
        case track(Int)
        case request(Int)
        case refund(Int)
        case cancel

        var rank: Int {
            switch self {
            case .payment: 0
            case .processing: 1
            case .pack: 2
            case .ship: 3
            case .delivered: 4
            case .track: 5
            case .request: 6
            case .refund: 7
            case .cancel: 8
            }
        }

        static func < (lhs: Step, rhs: Step) -> Bool { lhs.rank < rhs.rank }
    }

    /// Replays this order's facts, earliest first (at equal times: payments, processing, packing, shipping,
    /// delivery, tracking, returns, refunds, cancellation), each checked against the order as it stood then:
    /// whether a device could have reached this state one command at a time. Used to vet imported histories.
    public func checkHistory() throws(DomainError) {
        let order = self
        var steps: [(Int64, Step)] = []
        for (index, payment) in order.payments.enumerated() { steps.append((payment.at, .payment(index))) }
        if let at = order.processingAt { steps.append((at, .processing)) }
        for (index, parcel) in order.fulfilments.enumerated() {
            guard let packedAt = parcel.packedAt else {
                throw DomainError(.invalidInput, "parcel \(parcel.id) has no packing time")
            }
            steps.append((packedAt, .pack(index)))
            if let shippedAt = parcel.shippedAt {
                guard shippedAt >= packedAt else {
                    throw DomainError(.invalidInput, "parcel \(parcel.id) shipped before it was packed")
                }
                steps.append((shippedAt, .ship(index)))
                if let deliveredAt = parcel.deliveredAt {
                    guard deliveredAt >= shippedAt else {
                        throw DomainError(.invalidInput, "parcel \(parcel.id) was delivered before it shipped")
                    }
                    steps.append((deliveredAt, .delivered(index)))
                }
            } else if parcel.deliveredAt != nil {
                throw DomainError(.invalidInput, "parcel \(parcel.id) was delivered but never shipped")
            }
        }
        for (index, event) in order.trackingEvents.enumerated() { steps.append((event.at, .track(index))) }
        for (index, item) in order.returns.enumerated() {
            if let receivedAt = item.receivedAt, receivedAt < item.requestedAt {
                throw DomainError(.invalidInput, "return \(item.id) was received before it was requested")
            }
            steps.append((item.requestedAt, .request(index)))
        }
        for (index, refund) in order.refunds.enumerated() { steps.append((refund.at, .refund(index))) }
        if let at = order.cancelledAt { steps.append((at, .cancel)) }
        steps.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }

        var state = order
        state.payments = []
        state.fulfilments = []
        state.trackingEvents = []
        state.returns = []
        state.refunds = []
        state.cancelledAt = nil
        state.cancelReason = nil
        state.processingAt = nil
        for (at, step) in steps {
            switch step {
            case .payment(let index):
                let payment = order.payments[index]
                try state.checkPayment(
                    kind: payment.kind, amountMinor: payment.amountMinor, reference: payment.reference)
                state.payments.append(payment)
            case .processing:
                try state.checkProcess()
                state.processingAt = at
            case .pack(let index):
                var parcel = order.fulfilments[index]
                try state.checkPack(parcel.lines)
                parcel.shippedAt = nil
                parcel.deliveredAt = nil
                state.fulfilments.append(parcel)
            case .ship(let index):
                let id = order.fulfilments[index].id
                try state.checkShip([id])
                if let position = state.fulfilments.firstIndex(where: { $0.id == id }) {
                    state.fulfilments[position].shippedAt = at
                }
            case .delivered(let index):
                let id = order.fulfilments[index].id
                try state.checkShipped(id)
                if let position = state.fulfilments.firstIndex(where: { $0.id == id }) {
                    state.fulfilments[position].deliveredAt = at
                }
            case .track(let index):
                let event = order.trackingEvents[index]
                try state.checkShipped(event.fulfilmentID)
                state.trackingEvents.append(event)
            case .request(let index):
                let item = order.returns[index]
                try state.checkReturn(item.lines)
                state.returns.append(item)
            case .refund(let index):
                let refund = order.refunds[index]
                try state.checkRefund(amountMinor: refund.amountMinor)
                state.refunds.append(refund)
            case .cancel:
                try state.checkCancel()
                state.cancelledAt = at
                state.cancelReason = order.cancelReason
            }
        }
    }
}
