import Foundation
import Testing

@testable import SecureLine

@Suite struct LineMachineTests {
    @Test func aHandshakeEstablishesBothSidesWithTheirHellos() throws {
        var pair = LinePair()
        let events = try pair.handshake()
        #expect(events == [.established(peerKey: pair.dialKey.publicKey, peerHello: Array("dialler".utf8))])
        #expect(pair.dialler.isEstablished && pair.listener.isEstablished)
    }

    @Test func recordsRoundTripIncludingBodiesSpanningFrames() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var wire = try pair.dialler.seal(Record(verb: "CHANGES", json: #"{"batch":1}"#, body: big))
        wire += try pair.dialler.seal(Record(verb: "DONE"))
        let got = records(try pair.listener.receive(wire).events)
        #expect(got.count == 2)
        #expect(got.first?.body == big)
        #expect(got.first?.fields["batch"] as? Int == 1)
        #expect(got.last?.verb == "DONE")
        let back = records(
            try pair.dialler.receive(try pair.listener.seal(Record(verb: "ACK", json: #"{"n":2}"#))).events)
        #expect(back.map(\.verb) == ["ACK"])
    }

    /// A trusted key whose hello the upper layer cannot read gets no second message (issue 16, item 5).
    @Test func aTrustedDiallerWithAMalformedHelloIsNotAnswered() throws {
        let dialKey = KeyPair.generate()
        let listenKey = KeyPair.generate()
        let network = KeyText.newNetworkID()
        var dialler = LineMachine(
            dialling: dialKey, listenerKey: listenKey.publicKey, networkID: network, hello: Array("not json".utf8))
        let trusted = dialKey.publicKey
        var listener = LineMachine(
            listening: listenKey, networkID: network, hello: Array("listener".utf8), trusts: { $0 == trusted },
            acceptsHello: { $0.first == UInt8(ascii: "{") })
        let error = #expect(throws: LineError.self) { try listener.receive(try dialler.start()) }
        #expect(error?.message.contains("hello is malformed") == true)
    }

    /// A PING with a body once got a PONG that announced the body and sent none, so the next record parsed
    /// from the middle of a line (issue 16). A PING carries no body: the line closes instead.
    @Test func aPingWithABodyClosesTheLine() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        let wire = try pair.dialler.seal(Record(verb: "PING", json: #"{"n":1}"#, body: [1, 2, 3]))
        let error = #expect(throws: LineError.self) { try pair.listener.receive(wire) }
        #expect(error?.code == .protocolViolation)
        #expect(error?.message.contains("no body") == true)
    }

    @Test func aPingIsAnsweredWithTheSameObject() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        let answer = try pair.listener.receive(try pair.dialler.seal(Record(verb: "PING", json: #"{"n":7}"#)))
        #expect(!answer.output.isEmpty)
        #expect(records(try pair.dialler.receive(answer.output).events).isEmpty, "a PONG is consumed by the line")
    }

    @Test func aReChunkedStreamStillParses() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        var wire: [UInt8] = []
        for index in 0..<30 {
            wire += try pair.dialler.seal(
                Record(verb: "ITEM", json: "{\"i\":\(index)}", body: Array(repeating: UInt8(index), count: index * 300))
            )
        }
        wire += try pair.dialler.goodbye()
        var generator = SystemRandomNumberGenerator()
        var offset = 0
        var events: [LineEvent] = []
        while offset < wire.count {
            let size = Int.random(in: 1...700, using: &generator)
            let end = min(wire.count, offset + size)
            events += try pair.listener.receive(wire[offset..<end]).events
            offset = end
        }
        #expect(records(events).count == 30)
        #expect(records(events).last?.body.count == 29 * 300)
        #expect(events.last == .goodbye)
    }

    @Test func rekeyingMidStreamWorksAndReallyChangesKeys() throws {
        var settings = LineSettings()
        settings.rekeyInterval = 3
        var pair = LinePair(settings: settings)
        _ = try pair.handshake()
        for index in 0..<20 {
            let got = records(
                try pair.listener.receive(try pair.dialler.seal(Record(verb: "N", json: "{\"i\":\(index)}"))).events)
            #expect(got.count == 1)
            let back = records(try pair.dialler.receive(try pair.listener.seal(Record(verb: "M"))).events)
            #expect(back.count == 1)
        }
        // A receiver that does not rekey fails exactly when the sender's keys change.
        var mismatched = LinePair(settings: settings)
        var otherSettings = LineSettings()
        otherSettings.rekeyInterval = 1 << 40
        mismatched.listener = LineMachine(
            listening: mismatched.listenKey, networkID: mismatched.network, hello: [], settings: otherSettings,
            trusts: { _ in true })
        _ = try mismatched.handshake()  // nonce 0 was the confirmation PING; rekey happens after nonce 3
        _ = try mismatched.listener.receive(try mismatched.dialler.seal(Record(verb: "A")))
        _ = try mismatched.listener.receive(try mismatched.dialler.seal(Record(verb: "B")))
        #expect(throws: LineError.self) {
            try mismatched.listener.receive(try mismatched.dialler.seal(Record(verb: "C")))
        }
    }

    @Test func pingIsAnsweredAndGoodbyeClosesCleanly() throws {
        var pair = LinePair()
        _ = try pair.handshake()
        let (pong, none) = try pair.listener.receive(try pair.dialler.seal(Record(verb: "PING", json: #"{"n":7}"#)))
        #expect(none.isEmpty)
        #expect(records(try pair.dialler.receive(pong).events).isEmpty)
        let error = try pair.listener.seal(
            Record(verb: "ERROR", json: #"{"code":"schema","message":"version 2 needed"}"#))
        #expect(try pair.dialler.receive(error).events == [.peerError(code: "schema", message: "version 2 needed")])
        #expect(try pair.listener.receive(try pair.dialler.goodbye()).events == [.goodbye])
    }
}
