import Dispatch
import Foundation
import Replica

/// Runs synchronous work that must stay inside one read transaction (a change stream, a file snapshot) on a
/// background thread and hands what it emits to async code with back-pressure: at most `window` items are
/// produced ahead of the consumer, so memory stays bounded however large the stream.
///
/// Why not NIO's `NIOThrowingAsyncSequenceProducer` on `NIOThreadPool`: the producer must *block* inside its
/// read transaction while the consumer is behind, and NIO's producer signals demand asynchronously, so a
/// condition variable would remain; and a stream holds its thread for the whole stream, which on a hub serving
/// many terminals would exhaust NIOThreadPool's fixed threads (one per core) and stall every session, where
/// Dispatch's global queue grows. The bridge is this one small type, with the credit logic in one place.
final class BlockingProducer<Item: Sendable>: @unchecked Sendable {
    /// Emits an item; `paced` items wait for a credit (the consumer calls `sent()` for each).
    typealias Emit = (_ item: Item, _ paced: Bool) throws -> Void

    let items: AsyncThrowingStream<Item, any Error>
    private let condition = NSCondition()
    private var credits: Int
    private var stopped = false

    init(window: Int = 4, _ work: @escaping @Sendable (Emit) throws -> Void) {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Item.self)
        items = stream
        credits = window
        continuation.onTermination = { [weak self] _ in self?.stop() }
        // A queue of its own, not a global one: the work blocks (on SQLite, on credits), and blocked workers on the
        // global queues can starve the threads async tasks run on. A serial queue of its own gets a thread of
        // its own when it needs one.
        DispatchQueue(label: "outpost.stream-producer").async { [self] in
            do {
                try work { item, paced in
                    if paced { try takeCredit() }
                    continuation.yield(item)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    /// Waits until the consumer is at most `window` items behind; throws once stopped.
    private func takeCredit() throws {
        condition.lock()
        defer { condition.unlock() }
        while credits == 0 && !stopped { condition.wait() }
        if stopped { throw CancellationError() }
        credits -= 1
    }

    /// The consumer sent one paced item: the producer may make another.
    func sent() {
        condition.lock()
        credits += 1
        condition.signal()
        condition.unlock()
    }

    /// Stops the producer (its read transaction ends at the next paced item).
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A change stream's items.
enum ChangeItem: Sendable {
    case estimate(Int)
    case batch(EncodedChangeBatch)
    case end(StreamEnd)
}

/// A file snapshot's items.
enum SnapshotItem: Sendable {
    case header(SnapshotInfo, offset: Int)
    case chunk([UInt8])
}

extension BlockingProducer where Item == ChangeItem {
    /// The stream `request` asks `replica` for, in batches of `batchSize` records in their wire form.
    static func changes(_ replica: any ReplicationStore, request: StreamRequest, batchSize: Int) -> BlockingProducer {
        BlockingProducer { emit in
            try withoutActuallyEscaping(emit) { emit in
                let end = try replica.withEncodedChanges(
                    for: request, batchSize: batchSize, estimate: { try emit(.estimate($0), false) }
                ) { batch in
                    try emit(.batch(batch), true)
                }
                try emit(.end(end), false)
            }
        }
    }
}

extension BlockingProducer where Item == SnapshotItem {
    /// A consistent copy of `replica`'s file in chunks of `chunkSize` bytes (continued at the receiver's offset
    /// when `resume` names a copy still kept).
    static func snapshot(_ replica: any SnapshotStore, chunkSize: Int, resume: SnapshotResume?) -> BlockingProducer {
        BlockingProducer(window: 8) { emit in
            try replica.withSnapshot(
                chunkSize: chunkSize, resume: resume, header: { try emit(.header($0, offset: $1), false) }
            ) {
                try emit(.chunk($0), true)
            }
        }
    }
}
