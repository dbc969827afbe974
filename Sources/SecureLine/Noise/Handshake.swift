/// The `Noise_IK_25519_ChaChaPoly_SHA256` handshake (Noise rev. 34, §7.5):
///
/// ```
/// IK:
///   <- s
///   ...
///   -> e, es, s, ss
///   <- e, ee, se
/// ```
///
/// A pure state machine over byte arrays: no sockets, no clocks. The initiator must know the responder's
/// static key (pinned); the responder learns the initiator's static key from message one and decides, before
/// answering, whether it trusts it.
struct Handshake {
    static let protocolName = "Noise_IK_25519_ChaChaPoly_SHA256"

    enum Role { case initiator, responder }

    let role: Role
    private var symmetric: SymmetricState
    private let localStatic: KeyPair
    private var localEphemeral: KeyPair?
    private(set) var remoteStatic: [UInt8]?
    private var remoteEphemeral: [UInt8]?

    /// - Parameters:
    ///   - remoteStatic: the responder's static public key; required for the initiator.
    ///   - ephemeral: a fixed ephemeral key (test vectors only); normally a fresh one is generated.
    init(role: Role, prologue: [UInt8], localStatic: KeyPair, remoteStatic: [UInt8]? = nil, ephemeral: KeyPair? = nil) {
        self.role = role
        self.localStatic = localStatic
        self.remoteStatic = remoteStatic
        self.localEphemeral = ephemeral
        symmetric = SymmetricState(protocolName: Self.protocolName)
        symmetric.mixHash(prologue)
        // Pre-message pattern `<- s`: both sides hash the responder's static key.
        symmetric.mixHash(role == .initiator ? remoteStatic ?? [] : localStatic.publicKey)
    }

    /// The handshake hash, for channel binding and test vectors.
    var handshakeHash: [UInt8] { symmetric.hash }

    private mutating func dh(_ secret: KeyPair, _ publicKey: [UInt8]?) throws(LineError) {
        guard let publicKey, let shared = Primitives.dh(secret.secret, publicKey) else {
            throw LineError(.authenticationFailed, "key agreement failed (low-order or malformed public key)")
        }
        symmetric.mixKey(shared)
    }

    private mutating func freshEphemeral() -> KeyPair {
        if let localEphemeral { return localEphemeral }
        let pair = KeyPair.generate(guarded: false)
        localEphemeral = pair
        return pair
    }

    /// Initiator: `-> e, es, s, ss` with `payload`.
    mutating func writeMessageOne(payload: [UInt8]) throws(LineError) -> [UInt8] {
        let ephemeral = freshEphemeral()
        var message = ephemeral.publicKey
        symmetric.mixHash(ephemeral.publicKey)
        try dh(ephemeral, remoteStatic)
        message += try symmetric.encryptAndHash(localStatic.publicKey)
        try dh(localStatic, remoteStatic)
        message += try symmetric.encryptAndHash(payload)
        return message
    }

    /// Responder: reads message one; returns its payload. `remoteStatic` is then the initiator's key.
    mutating func readMessageOne(_ message: [UInt8]) throws(LineError) -> [UInt8] {
        let staticLength = 32 + Primitives.tagLength
        guard message.count >= 32 + staticLength + Primitives.tagLength else {
            throw LineError(.protocolViolation, "handshake message one is too short (\(message.count) bytes)")
        }
        let ephemeral = Array(message[0..<32])
        remoteEphemeral = ephemeral
        symmetric.mixHash(ephemeral)
        try dh(localStatic, ephemeral)
        let initiatorStatic = try symmetric.decryptAndHash(message[32..<(32 + staticLength)])
        remoteStatic = initiatorStatic
        try dh(localStatic, initiatorStatic)
        return try symmetric.decryptAndHash(message[(32 + staticLength)...])
    }

    /// Responder: `<- e, ee, se` with `payload`.
    mutating func writeMessageTwo(payload: [UInt8]) throws(LineError) -> [UInt8] {
        let ephemeral = freshEphemeral()
        var message = ephemeral.publicKey
        symmetric.mixHash(ephemeral.publicKey)
        try dh(ephemeral, remoteEphemeral)
        try dh(ephemeral, remoteStatic)
        message += try symmetric.encryptAndHash(payload)
        return message
    }

    /// Initiator: reads message two; returns its payload.
    mutating func readMessageTwo(_ message: [UInt8]) throws(LineError) -> [UInt8] {
        guard message.count >= 32 + Primitives.tagLength else {
            throw LineError(.protocolViolation, "handshake message two is too short (\(message.count) bytes)")
        }
        let ephemeral = Array(message[0..<32])
        remoteEphemeral = ephemeral
        symmetric.mixHash(ephemeral)
        guard let own = localEphemeral else { throw LineError(.protocolViolation, "message two before message one") }
        try dh(own, ephemeral)
        try dh(localStatic, ephemeral)
        return try symmetric.decryptAndHash(message[32...])
    }

    /// The transport cipher states once both messages are done: (sending, receiving) for this side.
    func transport() -> (send: CipherState, receive: CipherState) {
        let (initiatorToResponder, responderToInitiator) = symmetric.split()
        return role == .initiator
            ? (initiatorToResponder, responderToInitiator) : (responderToInitiator, initiatorToResponder)
    }
}
