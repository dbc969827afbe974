import Foundation
import OrderDomain
import OutpostCore

/// How the sending device hands a message over: to a sendmail-style command on stdin, or as a file in a spool
/// directory. Set per device (`messages.command`, `messages.spool`), never synced.
public enum MessageTransport: Sendable, Equatable {
    /// `/bin/sh -c COMMAND` with the message on stdin (`msmtp -t`, `sendmail -t`): exit status 0 is handed over.
    case command(String)
    /// `DIRECTORY/ID.eml`, written whole (a temporary file renamed into place); writing it again replaces it.
    case spool(String)

    /// The transport this device's settings name: the command when set, else the spool directory.
    ///
    /// - Throws: `MessageError(.noDelivery)` when neither is set.
    public init(_ settings: Settings) throws {
        let command = settings.value("messages.command")
        let spool = settings.value("messages.spool")
        if !command.isEmpty {
            self = .command(command)
        } else if !spool.isEmpty {
            self = .spool(spool)
        } else {
            throw MessageError(
                .noDelivery,
                "this device has no way to deliver messages: neither messages.command nor messages.spool is set",
                hint:
                    "outpost config set messages.command 'msmtp -t', or outpost config set messages.spool /var/spool/outpost"
            )
        }
    }

    /// How long a command may take before it counts as failed.
    public static let commandTimeout: TimeInterval = 60

    /// Hands `message` over. Returns nil when it was, else why not (one line).
    public func deliver(_ message: ComposedMessage) -> String? {
        switch self {
        case .spool(let directory):
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try AtomicFile.write(Array(message.text.utf8), to: directory + "/" + message.id + ".eml", mode: 0o640)
                return nil
            } catch {
                return "cannot write to the spool \(directory): \(error)"
            }
        case .command(let command):
            return run(command, input: Data(message.text.utf8))
        }
    }

    private func run(_ command: String, input: Data) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            return "cannot run /bin/sh: \(error)"
        }
        // The message is written on another thread so that a command that does not read cannot block this one.
        let handle = stdin.fileHandleForWriting
        DispatchQueue.global().async {
            try? handle.write(contentsOf: input)
            try? handle.close()
        }
        let errors = LockedData()
        let reader = stderr.fileHandleForReading
        let read = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors.set(reader.readDataToEndOfFile())
            read.signal()
        }
        if finished.wait(timeout: .now() + Self.commandTimeout) == .timedOut {
            process.terminate()
            finished.wait()
            return "the mail command did not finish within \(Int(Self.commandTimeout)) s: \(command)"
        }
        guard process.terminationStatus != 0 else { return nil }
        // What it said is complete once its stderr closed (a child it left running may hold it: not for long).
        _ = read.wait(timeout: .now() + 5)
        let said =
            String(decoding: errors.get(), as: UTF8.self)
            .split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        return "the mail command exited with status \(process.terminationStatus)" + (said.isEmpty ? "" : ": \(said)")
    }
}

/// Bytes handed from a reading thread.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
