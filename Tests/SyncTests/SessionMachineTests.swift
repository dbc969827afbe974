import Foundation
import Replica
import SecureLine
import Testing

@testable import Sync

/// The session's rules without a socket: every transition of `SessionMachine`, every out-of-order, repeated or
/// inconsistent message, and the typed messages' wire form.
@Suite struct SessionMachineTests {
    static let peer = "0123456789abcdef0123456789abcdef"

    static func hello(schema: Int = 1, cursor: Int64 = 0, snapshot: Bool = false) -> SessionMessage {
        .hello(.init(schema: schema, request: StreamRequest(vector: [peer: 3], cursor: cursor, snapshot: snapshot)))
    }
    static func changes(_ batch: Int, position: [Int64] = [1, 7]) -> SessionMessage {
        .changes(.init(batch: batch, position: position, snapshot: 9), body: [1, 0, 0])
    }
    static let end = SessionMessage.end(.init(vector: [peer: 3], snapshot: 9))

    static func machine(asksSnapshot: Bool = false) -> SessionMachine {
        SessionMachine(schema: 1, peer: peer, asksSnapshot: asksSnapshot)
    }

    @Test func aRecordExchangeRunsToCompletion() throws {
        var machine = Self.machine()
        #expect(try machine.receive(Self.hello(cursor: 4)) == .serve(StreamRequest(vector: [Self.peer: 3], cursor: 4)))
        #expect(try machine.receive(.stream(.init(total: 20))) == .announce(total: 20))
        #expect(
            try machine.receive(Self.changes(1))
                == .batch(number: 1, position: StreamPosition(entity: 1, lseq: 7), stagePrevious: nil))
        #expect(
            try machine.receive(Self.changes(2))
                == .batch(number: 2, position: StreamPosition(entity: 1, lseq: 7), stagePrevious: 1))
        #expect(try machine.receive(.ack(.init(batch: 1))) == SessionMachine.Action.none)
        let end = StreamEnd(sender: Self.peer, vector: [Self.peer: 3], snapshotLseq: 9)
        #expect(try machine.receive(Self.end) == .complete(end, lastBatch: 2))
        #expect(!machine.isComplete)
        try machine.merged()
        #expect(try machine.receive(.ack(.init(batch: 3))) == SessionMachine.Action.none)
        #expect(!machine.isComplete, "this side's stream is not merged yet")
        #expect(try machine.receive(.done(.init(rows: 5, changed: 5, conflicts: 0))) == SessionMachine.Action.none)
        #expect(machine.isComplete)
        try machine.checkSent(batches: 3)
    }

    @Test func anEmptyStreamIsJustItsEnd() throws {
        var machine = Self.machine()
        _ = try machine.receive(Self.hello())
        #expect(
            try machine.receive(Self.end)
                == .complete(StreamEnd(sender: Self.peer, vector: [Self.peer: 3], snapshotLseq: 9), lastBatch: nil))
        try machine.merged()
        _ = try machine.receive(.done(.init(rows: 0, changed: 0, conflicts: 0)))
        #expect(machine.isComplete)
    }

    @Test func aSnapshotArrivesInPagesAndIsInstalled() throws {
        var machine = Self.machine(asksSnapshot: true)
        _ = try machine.receive(Self.hello())
        #expect(
            try machine.receive(.snapshot(.init(bytes: 10, snapshot: 9)))
                == .beginSnapshot(SnapshotInfo(vector: [:], snapshotLseq: 9, bytes: 10), offset: 0))
        #expect(try machine.receive(.pages(Array(repeating: 0, count: 4))) == .appendPages(received: 4, expected: 10))
        #expect(try machine.receive(.pages(Array(repeating: 0, count: 6))) == .appendPages(received: 10, expected: 10))
        #expect(
            try machine.receive(Self.end)
                == .installSnapshot(StreamEnd(sender: Self.peer, vector: [Self.peer: 3], snapshotLseq: 9)))
        try machine.merged()
        _ = try machine.receive(.done(.init(rows: 0, changed: 0, conflicts: 0)))
        #expect(machine.isComplete)
    }

    /// Each sequence must be refused at its last message, saying what was wrong.
    static let refusals: [(String, [SessionMessage], Bool, String)] = [
        ("changes before hello", [changes(1)], false, "CHANGES is out of order (before the peer's HELLO)"),
        ("end before hello", [end], false, "END is out of order"),
        ("second hello", [hello(), hello()], false, "a second HELLO"),
        ("negative cursor", [hello(cursor: -1)], false, "cursor is negative"),
        (
            "second stream", [hello(), .stream(.init(total: 1)), .stream(.init(total: 1))], false,
            "STREAM is out of order"
        ),
        (
            "stream after changes", [hello(), changes(1), .stream(.init(total: 1))], false,
            "STREAM is out of order (after batch 1)"
        ),
        ("first batch numbered 2", [hello(), changes(2)], false, "batch 2 where batch 1 was due"),
        ("repeated batch", [hello(), changes(1), changes(1)], false, "batch 1 where batch 2 was due"),
        ("skipped batch", [hello(), changes(1), changes(3)], false, "batch 3 where batch 2 was due"),
        ("bad position", [hello(), changes(1, position: [1])], false, "position must be [entity code, lseq]"),
        ("entity code too large", [hello(), changes(1, position: [300, 1])], false, "position must be"),
        ("unasked snapshot", [hello(), .snapshot(.init(bytes: 5, snapshot: 1))], false, "did not ask"),
        (
            "snapshot after stream", [hello(), .stream(.init(total: 1)), .snapshot(.init(bytes: 5, snapshot: 1))], true,
            "SNAPSHOT is out of order"
        ),
        ("empty snapshot", [hello(), .snapshot(.init(bytes: 0, snapshot: 1))], true, "positive size"),
        ("pages without snapshot", [hello(), .pages([1])], false, "PAGES is out of order"),
        ("pages after batches", [hello(), changes(1), .pages([1])], true, "PAGES is out of order"),
        (
            "snapshot too long", [hello(), .snapshot(.init(bytes: 3, snapshot: 1)), .pages([1, 2]), .pages([3, 4])],
            true, "longer than the 3 bytes"
        ),
        (
            "snapshot too short", [hello(), .snapshot(.init(bytes: 3, snapshot: 1)), .pages([1, 2]), end], true,
            "ended after 2 of 3 bytes"
        ),
        (
            "second snapshot",
            [hello(), .snapshot(.init(bytes: 3, snapshot: 1)), .snapshot(.init(bytes: 3, snapshot: 1))], true,
            "out of order"
        ),
        ("changes after end", [hello(), end, changes(1)], false, "CHANGES is out of order (after END)"),
        ("second end", [hello(), end, end], false, "END is out of order (after END)"),
        ("ack before hello", [.ack(.init(batch: 1))], false, "an ACK before this side's stream began"),
        ("repeated ack", [hello(), .ack(.init(batch: 1)), .ack(.init(batch: 1))], false, "repeated or reordered"),
        ("ack going back", [hello(), .ack(.init(batch: 2)), .ack(.init(batch: 1))], false, "repeated or reordered"),
        (
            "ack after done", [hello(), .done(.init(rows: 0, changed: 0, conflicts: 0)), .ack(.init(batch: 1))], false,
            "an ACK after DONE"
        ),
        (
            "done before hello", [.done(.init(rows: 0, changed: 0, conflicts: 0))], false,
            "a DONE before this side's stream began"
        ),
        (
            "second done",
            [
                hello(), .done(.init(rows: 0, changed: 0, conflicts: 0)),
                .done(.init(rows: 0, changed: 0, conflicts: 0)),
            ], false, "a second DONE"
        ),
    ]

    @Test(arguments: refusals)
    func outOfOrderRepeatedAndInconsistentMessagesAreRefused(
        name: String, messages: [SessionMessage], asksSnapshot: Bool, problem: String
    ) throws {
        var machine = Self.machine(asksSnapshot: asksSnapshot)
        for message in messages.dropLast() { _ = try machine.receive(message) }
        let error = #expect(throws: SyncError.self, "\(name)") { _ = try machine.receive(messages[messages.count - 1]) }
        #expect(error?.code == .protocolViolation, "\(name)")
        #expect(
            error?.message.contains(problem) == true, "\(name): \(error?.message ?? "no error") should say \(problem)")
    }

    @Test func aHelloOfAnotherSchemaIsAMismatch() {
        var machine = Self.machine()
        let error = #expect(throws: SyncError.self) { _ = try machine.receive(Self.hello(schema: 2)) }
        #expect(error?.code == .schemaMismatch)
    }

    @Test func mergingBeforeTheEndAndAcknowledgementsOfUnsentBatchesAreRefused() throws {
        var machine = Self.machine()
        _ = try machine.receive(Self.hello())
        #expect(throws: SyncError.self) { try machine.merged() }
        _ = try machine.receive(.ack(.init(batch: 4)))
        let error = #expect(throws: SyncError.self) { try machine.checkSent(batches: 3) }
        #expect(error?.message.contains("acknowledged batch 4 of 3") == true)
    }

    // MARK: Messages on the wire

    @Test func messagesKeepTheSpecsFieldNamesAndRoundTrip() throws {
        let resume = StreamRequest.Resume(position: StreamPosition(entity: 2, lseq: 40), snapshotLseq: 33)
        let cases: [(SessionMessage, String)] = [
            (
                .hello(
                    .init(
                        schema: 1,
                        request: StreamRequest(vector: [Self.peer: 3], cursor: 5, resume: resume, snapshot: false))),
                "HELLO {\"cursor\":5,\"resume\":{\"position\":[2,40],\"snapshot\":33},\"schema\":1,\"vector\":{\"\(Self.peer)\":3}}"
            ),
            (
                Self.hello(snapshot: true),
                "HELLO {\"cursor\":0,\"schema\":1,\"snapshot\":true,\"vector\":{\"\(Self.peer)\":3}}"
            ),
            (.stream(.init(total: 12)), "STREAM {\"total\":12}"),
            (Self.changes(4), "CHANGES {\"body\":3,\"batch\":4,\"position\":[1,7],\"snapshot\":9}"),
            (.snapshot(.init(bytes: 4096, snapshot: 9)), "SNAPSHOT {\"bytes\":4096,\"snapshot\":9}"),
            (.pages([1, 2]), "PAGES {\"body\":2}"),
            (Self.end, "END {\"snapshot\":9,\"vector\":{\"\(Self.peer)\":3}}"),
            (.ack(.init(batch: 4)), "ACK {\"batch\":4}"),
            (.done(.init(rows: 3, changed: 2, conflicts: 1)), "DONE {\"changed\":2,\"conflicts\":1,\"rows\":3}"),
        ]
        for (message, line) in cases {
            let record = try message.record()
            let encoded = try record.encoded()
            let text = String(decoding: encoded.prefix { $0 != 10 }, as: UTF8.self)
            #expect(text == line)
            var parser = RecordParser()
            parser.append(encoded)
            let parsed = try #require(try parser.next())
            #expect(try SessionMessage(parsed) == message)
        }
    }

    /// Compatible additions (protocol/SPEC.md §7): unknown JSON members are ignored; features are announced.
    @Test func unknownMembersAreIgnoredAndFeaturesRead() throws {
        var parser = RecordParser()
        parser.append(
            Array("HELLO {\"cursor\":0,\"features\":[\"live\"],\"future\":{\"x\":1},\"schema\":1,\"vector\":{}}\n".utf8)
        )
        let record = try #require(try parser.next())
        guard case .hello(let hello) = try SessionMessage(record) else {
            Issue.record("not a HELLO")
            return
        }
        #expect(hello.features == ["live"])
        #expect(hello.schema == 1 && hello.vector.isEmpty)
    }

    @Test(arguments: [
        ("HELLO {\"schema\":1,\"cursor\":0}", "lacks \"vector\""),
        ("END {\"vector\":{}}", "lacks \"snapshot\""),
        ("END {\"vector\":{\"a\":-1},\"snapshot\":1}", "END is malformed"),
        ("ACK {\"batch\":\"one\"}", "\"batch\" has the wrong type"),
        ("WAVE {}", "unexpected WAVE"),
    ])
    func malformedRecordsNameWhatIsWrong(line: String, problem: String) throws {
        var parser = RecordParser()
        parser.append(Array((line + "\n").utf8))
        let record = try #require(try parser.next())
        let error = #expect(throws: SyncError.self) { _ = try SessionMessage(record) }
        #expect(error?.code == .protocolViolation)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "no error") should say \(problem)")
    }
}
