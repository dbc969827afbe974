import Foundation
import OrderDomain
import OutpostCore
import Replica

/// The sending side of customer messages: one pass takes what is due from the outbox, renders each message,
/// hands it over (`MessageTransport`) and records the outcome, which syncs to every device.
///
/// Only the device that `messages.sender` names sends. A message is recorded as sent after it was handed over,
/// so a sender stopped between the two (killed, power lost) sends that message once more at its next pass,
/// with the same `Message-ID` (`<id@outpost>`), by which the receiving side can drop the copy. Passes on one
/// device never overlap (an advisory lock on `<replica>.messages.lock`).
public struct MessageSender: Sendable {
    public let replica: Replica

    public init(replica: Replica) { self.replica = replica }

    /// What one pass did.
    public struct Report: Sendable {
        /// Handed over and recorded.
        public var sent: [OutboxMessage] = []
        /// Tried and failed, with why.
        public var failed: [(message: OutboxMessage, error: String)] = []
    }

    /// Whether `settings` name this device as the sender.
    public func isSender(_ settings: Settings) -> Bool {
        settings.value("messages.sender") == replica.identity.name
    }

    /// Names this device the sender when nobody is and it can deliver (a mail command or spool is set here):
    /// the default for the device that serves its peers. Returns whether it did.
    public func claimIfUnclaimed() async throws -> Bool {
        let settings = try await replica.queries.settings()
        guard settings.value("messages.sender").isEmpty, (try? MessageTransport(settings)) != nil else { return false }
        try await replica.commands.setSetting("messages.sender", to: replica.identity.name)
        return true
    }

    /// Sends every message due at `now` (the replica's clock when nil). `retryNow`: failed messages too,
    /// whatever their retry time and age.
    ///
    /// - Throws: `MessageError(.notSender)` when this device does not send, `MessageError(.noDelivery)` when
    ///   it has no way to; a failed delivery is not thrown but recorded (`Report.failed`, `message_failed`).
    public func sendDue(retryNow: Bool = false, now: Int64? = nil) async throws -> Report {
        let settings = try await replica.queries.settings()
        guard isSender(settings) else {
            let named = settings.value("messages.sender")
            throw MessageError(
                .notSender,
                named.isEmpty
                    ? "no device is named to send customer messages (messages.sender is unset)"
                    : "this device (\(replica.identity.name)) does not send customer messages: \(named) does",
                hint: named.isEmpty
                    ? "on the device that should send: outpost config set messages.sender \(replica.identity.name)"
                    : "only one device sends, so that nothing goes out twice; change it with outpost config set messages.sender NAME"
            )
        }
        let transport = try MessageTransport(settings)
        let lock = try PassLock(path: replica.path + ".messages.lock")
        defer { lock.release() }
        var report = Report()
        let due = try await replica.queries.messages(.sendable(retryNow: retryNow), asOf: now)
        for message in due {
            let order = try await replica.queries.order(message.orderID).order
            let failure: String?
            do {
                let composed = try MessageComposer.compose(
                    message, order: order, settings: settings, now: now ?? replica.now())
                failure = transport.deliver(composed)
            } catch let error as MessageError {
                failure = error.message
            }
            if let failure {
                try await replica.commands.recordMessageFailure(message, error: failure)
                report.failed.append((message, failure))
            } else {
                try await replica.commands.recordMessageSent(message)
                report.sent.append(message)
            }
        }
        return report
    }
}

extension MessageSender {
    /// Sends what is due every `interval` until the task is cancelled, while this device is the sender and can
    /// deliver (settings are read again at every pass, so naming another sender stops it). `log` gets one line
    /// per message sent or failed, and per pass that could not run.
    public func sendContinuously(
        interval: Duration = .seconds(2), log: @escaping @Sendable (String) -> Void
    ) async {
        var lastProblem = ""
        while !Task.isCancelled {
            do {
                let settings = try await replica.queries.settings()
                if isSender(settings), (try? MessageTransport(settings)) != nil {
                    let report = try await sendDue()
                    for message in report.sent {
                        log("sent \(message.kind.rawValue) for \(message.orderNumber)")
                    }
                    for (message, error) in report.failed {
                        log("could not send \(message.kind.rawValue) for \(message.orderNumber): \(error)")
                    }
                }
                lastProblem = ""
            } catch {
                let problem = "a sending pass failed: \(error)"
                if problem != lastProblem { log(problem) }
                lastProblem = problem
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// An exclusive advisory lock held for one sending pass.
private struct PassLock {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw MessageError(
                .cannotLock, "cannot open the sending lock \(path): \(String(cString: strerror(errno)))",
                hint: "check that the replica's directory is writable")
        }
        while flock(descriptor, LOCK_EX) != 0 && errno == EINTR {}
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
