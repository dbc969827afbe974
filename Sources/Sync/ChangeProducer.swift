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
    private let gate: DispatchSemaphore
    private let lock = NSLock()
    private var stopped = false

    init(replica: Replica, request: StreamRequest, batchSize: Int, window: Int = 4) {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Item.self)
        items = stream
        gate = DispatchSemaphore(value: window)
        continuation.onTermination = { [weak self] _ in self?.stop() }
        DispatchQueue.global().async { [self] in
            do {
                let end = try replica.withChanges(
                    for: request, batchSize: batchSize, estimate: { continuation.yield(.estimate($0)) }
                ) { batch in
                    gate.wait()
                    if isStopped { throw CancellationError() }
                    continuation.yield(.batch(batch))
                }
                continuation.yield(.end(end))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// The consumer sent one batch: the producer may make another.
    func sent() { gate.signal() }

    /// Stops the producer (its read transaction ends at the next batch).
    func stop() {
        lock.withLock { stopped = true }
        gate.signal()
    }
}
