import ArgumentParser
import Foundation
import GRDB
import OrderDomain
import OutpostCore
import Replica
import SecureLine
import Sync

/// The `outpost` command: a thin shell over the library (parsing and printing only).
@main
struct Outpost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost",
        abstract: "An offline-first order replica: sell offline, sync later, never lose a change.",
        discussion: """
            Start with `outpost demo`. Then:
              outpost init --name popup-1
              outpost stock set TEE-M 10
              outpost order create --customer ana@example.com --line TEE-M:2:19.90
              outpost order pay POP1-1 --amount 39.80 --method cash

            Exit codes: 0 ok, 64 usage, 65 invalid data or refused command, 66 not found, 69 peer unreachable \
            or port busy, 70 a bug, 73 cannot create, 74 I/O error (disk full, read-only), 75 interrupted or \
            timed out (retry), 77 rejected by the peer, 78 not set up (a setting missing).
            """,
        version: "0.1.0",
        subcommands: [
            Demo.self, Init.self, Whoami.self, Reidentify.self, Invite.self, Join.self, PeerCommand.self, Serve.self,
            SyncCommand.self,
            CustomerCommand.self, OrderCommand.self, ReturnCommand.self, AttentionCommand.self, StockCommand.self,
            ReportCommand.self, ImportCommand.self, ExportCommand.self, ConfigCommand.self, MessagesCommand.self,
            Conflicts.self, Status.self,
            SchemaCommand.self,
        ]
    )

    /// Parses and runs; usage errors follow the same `error:`/`hint:` contract as every other failure.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let status = exitCode(for: error).rawValue
            let message = fullMessage(for: error)
            if status == 0 {
                print(message)
                Foundation.exit(0)
            }
            var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if let first = lines.first, first.hasPrefix("Error: ") {
                lines[0] = String(first.dropFirst("Error: ".count))
            }
            let usage = lines.dropFirst().first { $0.hasPrefix("Usage: ") }
            FileHandle.standardError.write(Data("error: \(lines.first ?? message)\n".utf8))
            if let usage {
                FileHandle.standardError.write(Data("hint: \(usage.dropFirst("Usage: ".count)) (see --help)\n".utf8))
            }
            Foundation.exit(status == 1 ? 64 : status)
        }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The replica file (also $OUTPOST_DB).", valueName: "PATH"))
    var db: String?

    @Flag(name: .long, help: "Print one JSON document on stdout.")
    var json = false

    var device: Device {
        Device(
            replicaPath: db ?? ProcessInfo.processInfo.environment["OUTPOST_DB"].flatMap { $0.isEmpty ? nil : $0 }
                ?? Device.defaultPath())
    }

    func replica() throws -> Replica {
        let device = self.device
        guard FileManager.default.fileExists(atPath: device.replicaPath) else {
            throw CLIError(
                66, "no replica at \(device.replicaPath)",
                hint: "create one with `outpost init --name NAME`, or pass --db PATH")
        }
        return try device.openReplica()
    }
}

/// An error with its exit status, message, hint, and the library's own words as detail.
struct CLIError: OutpostError {
    var status: Int32
    var message: String
    var hint: String?
    var detail: String?

    init(_ status: Int32, _ message: String, hint: String? = nil, detail: String? = nil) {
        self.status = status
        self.message = message
        self.hint = hint
        self.detail = detail
    }

    /// A plain sentence for an SQLite failure, by its primary result code; SQLite's text becomes the detail.
    init(_ error: DatabaseError) {
        let detail = error.message ?? "\(error)"
        switch error.resultCode {
        case .SQLITE_FULL:
            self.init(
                74, "the disk is full", hint: "free some space and run the command again; nothing was written",
                detail: detail)
        case .SQLITE_READONLY:
            self.init(
                74, "the replica file or its directory is read-only",
                hint: "check the permissions of the file and the directory holding it", detail: detail)
        case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_PERM:
            self.init(
                74, "cannot read or write the replica file", hint: "check the disk and the file's permissions",
                detail: detail)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            self.init(
                65, "the replica file is damaged",
                hint: "restore it from a backup, or re-create it and sync from a peer",
                detail: detail)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            self.init(75, "the replica is busy with another long write", hint: "run the command again", detail: detail)
        default:
            self.init(
                70, "an unexpected storage failure (a bug in Outpost)", hint: "please report it with the detail below",
                detail: detail)
        }
    }

    var codeName: String { "cli" }
    var exitStatus: ExitStatus { ExitStatus(status) }
}

/// What to do about a failure that came without a hint, by its code (the library's words are the message).
private let hints: [String: String] = [
    "unreachable": "is `outpost serve` running there? check the address and the network",
    "rejected":
        "the peer must trust this device: run `outpost peer add NAME KEY` there (see `outpost whoami`); if it already does, check that both are on one network, and run the sync again (a byte corrupted on the way looks the same)",
    "authentication_failed":
        "bytes were corrupted or tampered with on the way, and nothing of them was used; run the sync again, and check the network if it recurs",
    "untrusted_peer": "the peer must trust this device: run `outpost peer add NAME KEY` there (see `outpost whoami`)",
    "truncated": "the link dropped; run the sync again, it resumes where it stopped",
    "timed_out": "the link dropped; run the sync again, it resumes where it stopped",
]

/// Runs a command body, turning every failure into `error:`/`hint:` lines on stderr and a sysexits status.
func guarded(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as any OutpostError {
        fail(CLIError(error.exitStatus.rawValue, error.message, hint: error.hint ?? hints[error.codeName]))
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as DatabaseError {
        fail(CLIError(error))
    } catch let error as CocoaError where error.code == .fileWriteOutOfSpace {
        fail(CLIError(74, "the disk is full", hint: "free some space and run the command again", detail: "\(error)"))
    } catch let error as CocoaError where error.code == .fileWriteNoPermission || error.code == .fileWriteVolumeReadOnly
    {
        fail(
            CLIError(
                74, "permission denied writing a file", hint: "check the directory's permissions", detail: "\(error)"))
    } catch {
        fail(
            CLIError(
                70, "an unexpected failure (a bug in Outpost)", hint: "please report it with the detail below",
                detail: "\(error)"))
    }
}

/// Prints a failure: `error:` with a plain sentence, then `hint:` and `detail:` (the library's own words)
/// where there are any, and exits with its status. Stored or typed text in them is shown with control
/// characters escaped.
func fail(_ error: CLIError) -> Never {
    var text = "error: \(error.message)\n"
    if let hint = error.hint { text += "hint: \(hint)\n" }
    if let detail = error.detail { text += "detail: \(detail)\n" }
    FileHandle.standardError.write(Data(text.escapingControlCharacters.utf8))
    Foundation.exit(error.status)
}

/// Human output: `print`, with control characters in the text escaped (`String.escapingControlCharacters`),
/// so that stored text (a customer's name, a peer's note) cannot drive the terminal. Shadows the standard
/// library's `print` for the whole tool; JSON output is escaped by the encoder and goes through here unchanged.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    let text = items.map { "\($0)" }.joined(separator: separator)
    Swift.print(text.escapingControlCharacters, terminator: terminator)
}

/// Prints a JSON document on stdout.
func printJSON(_ value: Any) {
    let data =
        (try? JSONSerialization.data(
            withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    print(String(decoding: data, as: UTF8.self))
}

/// RFC 3339 UTC for Unix milliseconds.
func rfc3339(_ milliseconds: Int64?) -> Any {
    guard let milliseconds else { return NSNull() }
    return UTCTime.rfc3339(milliseconds)
}

/// Parses an RFC 3339 time (or a date `YYYY-MM-DD`) into Unix milliseconds.
func parseTime(_ text: String) throws -> Int64 {
    let formatter = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [
        [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate],
    ] {
        formatter.formatOptions = options
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    }
    throw CLIError(
        65, "'\(text)' is not a time", hint: "write RFC 3339 UTC, e.g. 2026-11-27T15:00:00Z, or a date 2026-11-27")
}

/// Left-aligned columns for people.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count {
            widths[index] = max(widths[index], cell.count)
        }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
        }
        .joined()
    }
    let bold = isatty(STDOUT_FILENO) != 0
    let head = line(header)
    return ([bold ? "\u{1B}[1m\(head)\u{1B}[0m" : head] + rows.map(line)).joined(separator: "\n")
}

func money(_ minor: Int64, _ currency: String) -> String {
    let digits = CurrencyCode(stored: currency).minorDigits
    return Money.decimalString(minor, digits: digits)
}

/// One of a closed set of words (`T`'s raw values), or a usage error (64) that lists them.
func choice<T: RawRepresentable & CaseIterable>(_: T.Type, _ text: String, _ what: String) throws -> T
where T.RawValue == String {
    guard let value = T(rawValue: text) else {
        throw CLIError(
            64, "'\(text)' is not \(what)", hint: "use one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return value
}
