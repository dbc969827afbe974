import Foundation
import Synchronization
import Testing

@testable import Sync

/// The batches a receiver stages: in order, each acknowledged only once staged and after the one before it, a
/// failure failing those after it; and the writer goes on to the next batch without waiting for an
/// acknowledgement to be sent.
@Suite struct StagingQueueTests {
    /// What ran, in order.
    final class Log: Sendable {
        let events = Mutex<[String]>([])
        func note(_ event: String) { events.withLock { $0.append(event) } }
        var all: [String] { events.withLock { $0 } }
        func contains(_ event: String) -> Bool { events.withLock { $0.contains(event) } }
    }

    struct Refused: Error {}

    @Test func batchesAreStagedAndAcknowledgedInOrder() async throws {
        let log = Log()
        var queue = StagingQueue()
        for batch in 1...5 {
            try await queue.add(
                stage: {
                    try await Task.sleep(for: .milliseconds(batch % 2 == 0 ? 1 : 5))
                    log.note("stage \(batch)")
                },
                acknowledge: { log.note("ack \(batch)") })
        }
        try await queue.finish()
        let events = log.all
        #expect(events.filter { $0.hasPrefix("stage") } == (1...5).map { "stage \($0)" })
        #expect(events.filter { $0.hasPrefix("ack") } == (1...5).map { "ack \($0)" })
        for batch in 1...5 {
            let staged = try #require(events.firstIndex(of: "stage \(batch)"))
            let acknowledged = try #require(events.firstIndex(of: "ack \(batch)"))
            #expect(staged < acknowledged, "batch \(batch) acknowledged before it was staged")
        }
    }

    @Test func aFailedStagingFailsTheBatchesAfterIt() async throws {
        let log = Log()
        var queue = StagingQueue()
        for batch in 1...3 {
            try await queue.add(
                stage: {
                    if batch == 2 { throw Refused() }
                    log.note("stage \(batch)")
                },
                acknowledge: { log.note("ack \(batch)") })
        }
        await #expect(throws: Refused.self) { try await queue.finish() }
        await queue.settle()
        #expect(log.all == ["stage 1", "ack 1"], "nothing after the failed batch is staged or acknowledged")
    }

    @Test func theNextBatchIsStagedWhileAnAcknowledgementIsBeingSent() async throws {
        let log = Log()
        var queue = StagingQueue()
        try await queue.add(
            stage: { log.note("stage 1") },
            acknowledge: {
                // A slow line: batch 1's acknowledgement goes out only once batch 2 is staged (or after 5 s).
                for _ in 0..<500 where !log.contains("stage 2") { try await Task.sleep(for: .milliseconds(10)) }
                log.note("ack 1")
            })
        try await queue.add(stage: { log.note("stage 2") }, acknowledge: { log.note("ack 2") })
        try await queue.finish()
        #expect(log.all == ["stage 1", "stage 2", "ack 1", "ack 2"])
    }
}
