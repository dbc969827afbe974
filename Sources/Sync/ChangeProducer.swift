import Dispatch
import Foundation
import Replica

/// Runs a replica's change stream (one read transaction, synchronous) on a background thread and hands its
/// batches to async code with back-pressure: at most `window` batches are produced ahead of the sender, so
/// memory stays bounded however large the stream.
final class ChangeProducer: @unchecked Sendable {
    enum Item: Sendable {
        case estimate(Int)
        case batch(ChangeBatch)
        case end(StreamEnd)
    }

    let items: AsyncThrowingStream<Item, any Error>
    private let condition = NSCondition()
    private var credits: Int
    private var stopped = false

    init(replica: Replica, request: StreamRequest, batchSize: Int, window: Int = 4) {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Item.self)
        items = stream
        credits = window
        continuation.onTermination = { [weak self] _ in self?.stop() }
        DispatchQueue.global().async { [self] in
            do {
                let end = try replica.withChanges(
                    for: request, batchSize: batchSize, estimate: { continuation.yield(.estimate($0)) }
                ) { batch in
                    try takeCredit()
                    continuation.yield(.batch(batch))
                }
                continuation.yield(.end(end))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    /// Waits until the consumer is at most `window` batches behind; throws once stopped.
    private func takeCredit() throws {
        condition.lock()
        defer { condition.unlock() }
        while credits == 0 && !stopped { condition.wait() }
        if stopped { throw CancellationError() }
        credits -= 1
    }

    /// The consumer sent one batch: the producer may make another.
    func sent() {
        condition.lock()
        credits += 1
        condition.signal()
        condition.unlock()
    }

    /// Stops the producer (its read transaction ends at the next batch).
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
