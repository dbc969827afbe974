import Foundation

@testable import SecureLine

/// A dialler and a listener machine with fresh keys on one network.
struct LinePair {
    let dialKey = KeyPair.generate()
    let listenKey = KeyPair.generate()
    let network = KeyText.newNetworkID()
    var dialler: LineMachine
    var listener: LineMachine

    init(settings: LineSettings = LineSettings(), listenerTrustsDialler: Bool = true) {
        let trusted = dialKey.publicKey
        dialler = LineMachine(
            dialling: dialKey, listenerKey: listenKey.publicKey, networkID: network, hello: Array("dialler".utf8),
            settings: settings)
        listener = LineMachine(
            listening: listenKey, networkID: network, hello: Array("listener".utf8), settings: settings,
            trusts: { listenerTrustsDialler && $0 == trusted })
    }

    /// Runs the handshake to completion, returning the listener's events.
    mutating func handshake() throws -> [LineEvent] {
        let one = try dialler.start()
        let (two, none) = try listener.receive(one)
        precondition(none.isEmpty)
        let (confirmation, diallerEvents) = try dialler.receive(two)
        precondition(diallerEvents.count == 1)
        let (pong, listenerEvents) = try listener.receive(confirmation)
        _ = try dialler.receive(pong)
        return listenerEvents
    }
}

func records(_ events: [LineEvent]) -> [Record] {
    events.compactMap { if case .record(let record) = $0 { record } else { nil } }
}
