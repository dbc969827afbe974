import Foundation
import Testing

@testable import SecureLine

/// Each attack asserts the exact outcome: an error surfaces, and no record is delivered upward.
@Suite struct AdversarialTests {
    @Test func aWrongListenerKeyFailsAtTheListener() throws {
        var pair = LinePair()
        pair.dialler = LineMachine(
            dialling: pair.dialKey, listenerKey: KeyPair.generate().publicKey, networkID: pair.network, hello: [])
        let one = try pair.dialler.start()
        #expect(
            throws: LineError(
                .authenticationFailed,
                "a message failed authentication (tampered, replayed, reordered or from another session)")
        ) {
            try pair.listener.receive(one)
        }
    }

    @Test func anUntrustedDiallerGetsNoAnswer() throws {
        var pair = LinePair(listenerTrustsDialler: false)
        let one = try pair.dialler.start()
        let error = #expect(throws: LineError.self) { try pair.listener.receive(one) }
        #expect(error?.code == .untrustedPeer)
    }

    @Test(arguments: ["network", "banner"])
    func aDifferentNetworkOrBannerFailsTheHandshake(change: String) throws {
        var pair = LinePair()
        let network = change == "network" ? KeyText.newNetworkID() : pair.network
        let banner = change == "banner" ? "OUTPOST/2" : LineSettings.banner
        pair.dialler = LineMachine(
            dialling: pair.dialKey, listenerKey: pair.listenKey.publicKey, networkID: network, hello: [], banner: banner
        )
        let error = #expect(throws: LineError.self) { try pair.listener.receive(try pair.dialler.start()) }
        #expect(error?.code == .authenticationFailed)
    }

    @Test func everySingleByteFlipOfMessageOneIsRejected() throws {
        var pair = LinePair()
        let one = try pair.dialler.start()
        for index in 4..<one.count {
            var flipped = one
            flipped[index] ^= 0x01
            var listener = LineMachine(
                listening: pair.listenKey, networkID: pair.network, hello: [], trusts: { _ in true })
            #expect(throws: LineError.self, "byte \(index)") { try listener.receive(flipped) }
        }
    }

    @Test func everySingleByteFlipOfMessageTwoIsRejected() throws {
        var pair = LinePair()
        let one = try pair.dialler.start()
        let (two, _) = try pair.listener.receive(one)
        for index in 4..<two.count {
            var flipped = two
            flipped[index] ^= 0x80
            var dialler = pair.dialler
            var events: [LineEvent] = []
            #expect(throws: LineError.self, "byte \(index)") { events = try dialler.receive(flipped).events }
            #expect(events.isEmpty)
        }
    }

    @Test func lowOrderAndZeroPublicKeysAreRefused() throws {
        var pair = LinePair()
        let one = try pair.dialler.start()
        let lowOrder: [[UInt8]] = [
            [UInt8](repeating: 0, count: 32),
            [1] + [UInt8](repeating: 0, count: 31),
            [UInt8](hex: "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        ]
        for key in lowOrder {
            var forged = one
            forged.replaceSubrange(4..<36, with: key)
            var listener = LineMachine(
                listening: pair.listenKey, networkID: pair.network, hello: [], trusts: { _ in true })
            let error = #expect(throws: LineError.self) { try listener.receive(forged) }
            #expect(error?.code == .authenticationFailed)
            var dialler = LineMachine(dialling: pair.dialKey, listenerKey: key, networkID: pair.network, hello: [])
            #expect(throws: LineError.self) { try dialler.start() }
        }
    }

    @Test func aReplayedMessageOneAuthenticatesNothing() throws {
        var pair = LinePair()
        let one = try pair.dialler.start()
        _ = try pair.handshake(completing: one)
        // The attacker replays message one to the same listener identity: it answers, but reports no session…
        var replayTarget = LineMachine(
            listening: pair.listenKey, networkID: pair.network, hello: [], trusts: { _ in true })
        let (answer, events) = try replayTarget.receive(one)
        #expect(!answer.isEmpty)
        #expect(events.isEmpty)
        #expect(!replayTarget.isEstablished)
        // …the live session is untouched…
        let live = records(try pair.listener.receive(try pair.dialler.seal(Record(verb: "STILL"))).events)
        #expect(live.map(\.verb) == ["STILL"])
        // …and frames of the live session do not authenticate on the replayed one.
        #expect(throws: LineError.self) { try replayTarget.receive(try pair.dialler.seal(Record(verb: "X"))) }
    }

    @Test func framesFromAnotherSessionAreRejected() throws {
        var first = LinePair()
        _ = try first.handshake()
        var second = first
        second.dialler = LineMachine(
            dialling: first.dialKey, listenerKey: first.listenKey.publicKey, networkID: first.network, hello: [])
        second.listener = LineMachine(
            listening: first.listenKey, networkID: first.network, hello: [], trusts: { _ in true })
        _ = try second.handshake()
        let spliced = try first.dialler.seal(Record(verb: "SPLICE"))
        let error = #expect(throws: LineError.self) { try second.listener.receive(spliced) }
        #expect(error?.code == .authenticationFailed)
    }

    @Test(arguments: ["reorder", "duplicate", "drop"])
    func reorderedDuplicatedOrDroppedFramesAreRejected(mode: String) throws {
        var pair = LinePair()
        _ = try pair.handshake()
        let a = try pair.dialler.seal(Record(verb: "A"))
        let b = try pair.dialler.seal(Record(verb: "B"))
        let c = try pair.dialler.seal(Record(verb: "C"))
        let wire: [[UInt8]] =
            switch mode {
            case "reorder": [b, a, c]
            case "duplicate": [a, a, b]
            default: [a, c]
            }
        var delivered: [Record] = []
        let error = #expect(throws: LineError.self) {
            for frame in wire { delivered += records(try pair.listener.receive(frame).events) }
        }
        #expect(error?.code == .authenticationFailed)
        #expect(delivered.map(\.verb) == (mode == "reorder" ? [] : ["A"]))
    }

    @Test func bitFlipsInLengthCiphertextAndTagAreRejected() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        let frame = try pair.dialler.seal(
            Record(verb: "PAYLOAD", json: #"{"x":1}"#, body: Array(repeating: 7, count: 100)))
        for index in [0, 1, 2, 3, 10, frame.count / 2, frame.count - 16, frame.count - 1] {
            var flipped = frame
            flipped[index] ^= 0x04
            var listener = pair.listener
            var events: [LineEvent] = []
            do {
                events = try listener.receive(flipped).events
                // A length flip can only make the decoder wait for bytes that never come.
                #expect(index < 4, "byte \(index) was accepted")
            } catch {}
            #expect(records(events).isEmpty, "byte \(index)")
        }
    }

    @Test(arguments: [UInt32(0), 65536, 0xFFFF_FFFF])
    func impossibleLengthsFailBeforeAnyAllocation(length: UInt32) {
        var decoder = FrameDecoder()
        decoder.append([
            UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
            UInt8(truncatingIfNeeded: length),
        ])
        #expect(throws: LineError.self) { try decoder.next() }
        #expect(decoder.pendingCount == 4)
    }

    @Test func theMaximumLengthWaitsForItsBytes() throws {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0xFF, 0xFF, 1, 2, 3])
        #expect(try decoder.next() == nil)
        decoder.append([UInt8](repeating: 0, count: 65535 - 3))
        #expect(try decoder.next()?.count == 65535)
    }

    @Test func truncationAtEveryByteDeliversOnlyCompleteRecords() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        var wire: [UInt8] = []
        var boundaries: [Int] = []
        for index in 0..<4 {
            wire += try pair.dialler.seal(
                Record(verb: "R", json: "{\"i\":\(index)}", body: Array(repeating: 1, count: 40)))
            boundaries.append(wire.count)
        }
        for cut in 0...wire.count {
            var listener = pair.listener
            let events = try listener.receive(wire[..<cut]).events
            #expect(records(events).count == boundaries.filter { $0 <= cut }.count, "cut at \(cut)")
            #expect(!events.contains(.goodbye))
        }
    }

    @Test func dataAfterGoodbyeIsAViolation() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        var wire = try pair.dialler.seal(Record(verb: "LAST"))
        let goodbye = try pair.dialler.goodbye()
        wire += goodbye
        let events = try pair.listener.receive(wire).events
        #expect(events.last == .goodbye)
        #expect(throws: LineError.self) { try pair.listener.receive(goodbye) }
        #expect(throws: LineError.self) { try pair.dialler.seal(Record(verb: "MORE")) }
    }

    @Test(arguments: [
        "lowercase {}\n", "VERB not-json\n", "VERB {\"body\":-1}\n", "VERB {\"body\":99999999999}\n",
        "VERB {\"body\":1.5}\n", "NOSPACE\n", "V\u{0}B {}\n",
    ])
    func malformedRecordLinesAreViolations(line: String) {
        var parser = RecordParser()
        parser.append(Array(line.utf8))
        #expect(throws: LineError.self) { try parser.next() }
    }

    @Test func anEndlessLineIsRefusedWithoutBuffering() {
        var parser = RecordParser()
        parser.append([UInt8](repeating: 65, count: Record.maximumLine + 1))
        #expect(throws: LineError.self) { try parser.next() }
    }
}

extension LinePair {
    /// Completes a handshake whose message one was already produced by `start()`.
    mutating func handshake(completing one: [UInt8]) throws -> [LineEvent] {
        let (two, _) = try listener.receive(one)
        let (confirmation, _) = try dialler.receive(two)
        let (pong, events) = try listener.receive(confirmation)
        _ = try dialler.receive(pong)
        return events
    }
}
