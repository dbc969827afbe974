/// What the line delivers upward.
public enum LineEvent: Hashable, Sendable {
    /// The handshake completed: the peer's static key and the payload it sent in its handshake message.
    case established(peerKey: [UInt8], peerHello: [UInt8])
    /// A record of an upper layer (reserved verbs are handled here).
    case record(Record)
    /// The peer sent an `ERROR` record.
    case peerError(code: String, message: String)
    /// The peer said goodbye: a clean close.
    case goodbye
}

/// Settings shared by both ends of a line.
public struct LineSettings: Sendable {
    /// The protocol banner bound into the prologue; a different banner fails the handshake.
    public static let banner = "OUTPOST/1"
    /// Each direction rekeys (Noise `REKEY`) after this many transport messages.
    public var rekeyInterval: UInt64 = 65536
    /// The largest handshake payload accepted.
    public var maximumHelloSize = 4096
    /// Both messages of the handshake must arrive within this time, or the connection closes.
    public var handshakeTimeout: Duration = .seconds(10)
    /// A connection with no bytes received for this long closes (peers `PING` to stay alive).
    public var idleTimeout: Duration = .seconds(120)

    public init() {}

    /// The prologue: the banner's ASCII bytes followed by the 32-byte network id.
    public static func prologue(networkID: [UInt8], banner: String = banner) -> [UInt8] {
        Array(banner.utf8) + networkID
    }
}

/// The whole line as a pure state machine: handshake, framing, encryption, records, rekeying and goodbye.
/// Bytes in, events and bytes out; no sockets and no clocks (the channel handler enforces deadlines).
public struct LineMachine: Sendable {
    enum State: Sendable {
        case awaitingMessageOne, awaitingMessageTwo
        /// Listener: message two sent; the dialler's first transport message will prove it is live (a replayed
        /// message one never gets this far, so it authenticates nothing and changes nothing).
        case awaitingConfirmation(peerHello: [UInt8])
        case established, closed
    }

    private var state: State
    private var handshake: Handshake?
    private var sender = CipherState()
    private var receiver = CipherState()
    private var frames = FrameDecoder()
    private var records = RecordParser()
    private let settings: LineSettings
    private let hello: [UInt8]
    private let trusts: @Sendable ([UInt8]) -> Bool
    private let acceptsHello: @Sendable ([UInt8]) -> Bool

    /// The peer's static public key, once known.
    public private(set) var peerKey: [UInt8]?

    /// The dialling side. It must know the listener's static key (`listenerKey`).
    public init(
        dialling identity: KeyPair, listenerKey: [UInt8], networkID: [UInt8], hello: [UInt8],
        settings: LineSettings = LineSettings(),
        banner: String = LineSettings.banner, ephemeral: KeyPair? = nil
    ) {
        state = .awaitingMessageTwo
        handshake = Handshake(
            role: .initiator, prologue: LineSettings.prologue(networkID: networkID, banner: banner),
            localStatic: identity,
            remoteStatic: listenerKey, ephemeral: ephemeral)
        peerKey = listenerKey
        self.settings = settings
        self.hello = hello
        trusts = { _ in true }
        acceptsHello = { _ in true }
    }

    /// The listening side. `trusts` decides, from the dialler's static key, whether to answer at all;
    /// `acceptsHello` whether the dialler's hello (the upper layer's, e.g. its site id) is well formed — a
    /// trusted key with a malformed hello gets no second message either.
    public init(
        listening identity: KeyPair, networkID: [UInt8], hello: [UInt8], settings: LineSettings = LineSettings(),
        banner: String = LineSettings.banner, ephemeral: KeyPair? = nil, trusts: @escaping @Sendable ([UInt8]) -> Bool,
        acceptsHello: @escaping @Sendable ([UInt8]) -> Bool = { _ in true }
    ) {
        state = .awaitingMessageOne
        handshake = Handshake(
            role: .responder, prologue: LineSettings.prologue(networkID: networkID, banner: banner),
            localStatic: identity,
            ephemeral: ephemeral)
        self.settings = settings
        self.hello = hello
        self.trusts = trusts
        self.acceptsHello = acceptsHello
    }

    /// Whether records can flow.
    public var isEstablished: Bool { if case .established = state { true } else { false } }

    /// The dialler's first bytes (framed message one).
    public mutating func start() throws(LineError) -> [UInt8] {
        guard case .awaitingMessageTwo = state, var handshake else {
            throw LineError(.protocolViolation, "only the dialling side starts")
        }
        let message = try handshake.writeMessageOne(payload: hello)
        self.handshake = handshake
        var output: [UInt8] = []
        FrameDecoder.frame(message, into: &output)
        return output
    }

    /// Feeds received bytes; returns bytes to send back and events for the upper layer, in order.
    ///
    /// Any error is final: the caller closes the connection and delivers nothing further.
    public mutating func receive<C: Collection>(_ bytes: C) throws(LineError) -> (output: [UInt8], events: [LineEvent])
    where C.Element == UInt8 {
        var output: [UInt8] = []
        var events: [LineEvent] = []
        do {
            frames.append(bytes)
            while let frame = try frames.next() {
                try handle(frame, output: &output, events: &events)
            }
        } catch {
            state = .closed
            throw error
        }
        return (output, events)
    }

    private mutating func handle(_ frame: ArraySlice<UInt8>, output: inout [UInt8], events: inout [LineEvent])
        throws(LineError)
    {
        switch state {
        case .awaitingMessageOne:
            guard var handshake else { throw LineError(.protocolViolation, "no handshake") }
            let payload = try handshake.readMessageOne(Array(frame))
            guard let initiator = handshake.remoteStatic, trusts(initiator) else {
                throw LineError(.untrustedPeer, "the dialling key is not in the trust store")
            }
            guard payload.count <= settings.maximumHelloSize else {
                throw LineError(.protocolViolation, "handshake payload too large")
            }
            guard acceptsHello(payload) else { throw LineError(.protocolViolation, "the dialler's hello is malformed") }
            FrameDecoder.frame(try handshake.writeMessageTwo(payload: hello), into: &output)
            (sender, receiver) = handshake.transport()
            self.handshake = nil
            peerKey = initiator
            state = .awaitingConfirmation(peerHello: payload)
        case .awaitingMessageTwo:
            guard var handshake else { throw LineError(.protocolViolation, "no handshake") }
            let payload = try handshake.readMessageTwo(Array(frame))
            guard payload.count <= settings.maximumHelloSize else {
                throw LineError(.protocolViolation, "handshake payload too large")
            }
            (sender, receiver) = handshake.transport()
            self.handshake = nil
            state = .established
            events.append(.established(peerKey: peerKey ?? [], peerHello: payload))
            // The first transport message confirms to the listener that this is a live dialler.
            output += try sealRecord(Record(verb: "PING", json: "{\"n\":0}"))
        case .awaitingConfirmation(let peerHello):
            try receiver.decrypt(frame, into: &records)
            state = .established
            events.append(.established(peerKey: peerKey ?? [], peerHello: peerHello))
            try deliver(output: &output, events: &events)
        case .established:
            try receiver.decrypt(frame, into: &records)
            try deliver(output: &output, events: &events)
        case .closed:
            throw LineError(.protocolViolation, "data after goodbye")
        }
    }

    /// Hands on every record the decrypted stream now completes.
    private mutating func deliver(output: inout [UInt8], events: inout [LineEvent]) throws(LineError) {
        if receiver.nonce % settings.rekeyInterval == 0 { receiver.rekey() }
        while let record = try records.next() {
            switch record.verb {
            case "PING":
                // A PING carries no body (protocol/SPEC.md §6): echoing a body-announcing line without the body
                // would desynchronise the peer's record stream.
                guard record.body.isEmpty else {
                    throw LineError(.protocolViolation, "a PING carries no body")
                }
                output += try sealRecord(Record(verb: "PONG", json: record.json))
            case "PONG":
                break
            case "ERROR":
                let fields = record.fields
                events.append(
                    .peerError(
                        code: fields["code"] as? String ?? "unknown", message: fields["message"] as? String ?? ""))
            case "BYE":
                guard records.pendingCount == 0 else { throw LineError(.protocolViolation, "data after goodbye") }
                state = .closed
                events.append(.goodbye)
                return
            default:
                events.append(.record(record))
            }
        }
    }

    /// The bytes that carry `record` (one or more frames).
    public mutating func seal(_ record: Record) throws(LineError) -> [UInt8] {
        guard isEstablished else { throw LineError(.protocolViolation, "the line is not established") }
        return try sealRecord(record)
    }

    /// The bytes of a goodbye record; the line is closed afterwards.
    public mutating func goodbye() throws(LineError) -> [UInt8] {
        let bytes = try seal(Record(verb: "BYE"))
        state = .closed
        return bytes
    }

    /// Transport payloads are at most 65535 − 16 bytes; longer records span several frames.
    static let maximumChunk = FrameDecoder.maximumFrame - Primitives.tagLength

    /// Encrypts and frames a record: each chunk is encrypted straight into its frame in the output (one
    /// allocation, no intermediate copies).
    private mutating func sealRecord(_ record: Record) throws(LineError) -> [UInt8] {
        let plaintext = try record.encoded()
        let chunks = max(1, (plaintext.count + Self.maximumChunk - 1) / Self.maximumChunk)
        let total = plaintext.count + chunks * (4 + Primitives.tagLength)
        var failure: LineError?
        let output = [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            plaintext.withUnsafeBufferPointer { source in
                var start = 0
                repeat {
                    let end = min(plaintext.count, start + Self.maximumChunk)
                    let length = UInt32(end - start + Primitives.tagLength)
                    for shift in 0..<4 { base[count + shift] = UInt8(truncatingIfNeeded: length >> (24 - 8 * shift)) }
                    do throws(LineError) {
                        try sender.encrypt(UnsafeBufferPointer(rebasing: source[start..<end]), into: base + count + 4)
                    } catch {
                        failure = error
                        return
                    }
                    if sender.nonce % settings.rekeyInterval == 0 { sender.rekey() }
                    count += 4 + Int(length)
                    start = end
                } while start < plaintext.count
            }
        }
        if let failure { throw failure }
        return output
    }
}
