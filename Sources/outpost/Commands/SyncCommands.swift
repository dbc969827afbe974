import ArgumentParser
import Dispatch
import Foundation
import Messages
import OutpostCore
import Replica
import SecureLine
import Sync

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Listen for peers (as a hub or a peer) until SIGINT or SIGTERM.",
        discussion: """
            Prints `listening on HOST:PORT` once ready (port 0 picks a free port). Only trusted peers on this \
            device's network are answered; the trust store is re-read for each connection.

            On the device that messages.sender names, it also sends customer messages as they fall due (every \
            2 s; see `outpost messages`). When nobody is named and this device has a mail command or spool \
            (messages.command, messages.spool), it names itself. It also names itself the stock authority \
            (stock.authority) when none is named: it holds the selling rights no other device holds and tops \
            each device up as it syncs (`outpost stock`).

            Example: outpost serve --listen 0.0.0.0:7400
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Address to listen on.") var listen = "127.0.0.1:7400"

    func run() async throws {
        try await guarded {
            let address = try PeerAddress(parsing: listen, listening: true)
            let replica = try global.replica()
            let device = global.device
            let identity = try device.identity()
            let peersPath = device.peersPath
            let server = try await SyncServer.bind(
                replica: replica.replication, identity: identity, host: address.host, port: address.port
            ) { key in
                (try? TrustStore.load(from: peersPath).trusts(key)) ?? false
            }
            print("listening on \(address.host):\(server.port)")
            fflush(nil)
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
            for source in sources {
                source.setEventHandler { Task { await server.shutdown() } }
                source.resume()
            }
            let json = global.json
            // The device that serves its peers sends customer messages when it is named to, or when nobody is
            // and it has a way to deliver them (Messages.MessageSender).
            let sender = MessageSender(replica: replica)
            if try await sender.claimIfUnclaimed() {
                FileHandle.standardError.write(
                    Data("this device now sends customer messages (messages.sender = \(replica.identity.name))\n".utf8))
            }
            // The device that serves its peers is the stock authority unless one is named.
            try await replica.commands.claimStockAuthority()
            let sending = Task {
                await sender.sendContinuously { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
            defer { sending.cancel() }
            try await server.run { result in
                guard !json else { return }
                switch result {
                case .success(let summary):
                    FileHandle.standardError.write(
                        Data(
                            "synced with \(summary.peerName): sent \(summary.changesSent), received \(summary.changesReceived), conflicts \(summary.conflicts)\n"
                                .utf8))
                case .failure(let error):
                    FileHandle.standardError.write(Data("a session failed: \(error)\n".utf8))
                }
            }
            if !json { print("stopped") }
        }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Run one full sync session with a peer: both directions, each merged whole.",
        discussion: """
            PEER is a trusted peer's name (its address comes from the trust store) or HOST:PORT of a trusted peer. \
            A cut session is safe: the next sync resumes from what was staged. A new, empty replica starts from a \
            copy of the peer's file (fast); a cut copy continues at the next sync from the last byte this replica \
            synced to disk, while the peer keeps that copy (an hour after it last served it; after that a new \
            copy starts). --no-snapshot asks for records instead, which resume the same way.

            Examples:
              outpost sync hub
              outpost sync 192.0.2.10:7400 --json
              outpost sync hub --no-snapshot
              outpost sync hub --watch                  # stay in step until Ctrl-C
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A peer name or HOST:PORT.") var peer: String
    @Flag(help: "On an empty replica, load a resumable record stream instead of the peer's file snapshot.")
    var noSnapshot = false
    @Flag(
        help:
            "Stay in step until SIGINT or SIGTERM: one live session that pushes each local change (here or in another process) as it happens and receives the peer's as they happen; a dropped link is retried with backoff."
    )
    var watch = false
    @Option(
        help:
            "With --watch, for a peer without live sessions (or with --no-live): seconds between syncs when nothing changes here."
    )
    var interval: Double = 2
    @Flag(help: "With --watch: a session after each local change and every --interval seconds, not a live session.")
    var noLive = false
    @Flag(help: "With --watch: print only failures.") var quiet = false

    func run() async throws {
        try await guarded {
            let replica = try global.replica()
            let device = global.device
            let identity = try device.identity()
            let store = try device.trustStore()
            let target = try store.resolve(peer)
            let address = try TrustStore.address(of: target)
            if watch {
                return try await Self.watch(
                    replica, target.name, address, target.publicKey, identity, interval: interval, live: !noLive,
                    quiet: quiet, json: global.json)
            }
            let bar = ProgressBar(enabled: !global.json && isatty(STDERR_FILENO) != 0)
            let summary = try await replica.replication.sync(
                host: address.host, port: address.port, peerKey: target.publicKey, identity: identity,
                acceptSnapshot: !noSnapshot,
                progress: { bar.update($0) })
            bar.finish()
            let milliseconds = Int(
                summary.duration.components.seconds * 1000 + summary.duration.components.attoseconds
                    / 1_000_000_000_000_000)
            if global.json {
                printJSON([
                    "peer": target.name, "sent_changes": summary.changesSent,
                    "received_changes": summary.changesReceived,
                    "applied_changes": summary.changesApplied, "conflicts": summary.conflicts,
                    "bytes_sent": summary.bytesSent,
                    "bytes_received": summary.bytesReceived, "snapshot_bytes_received": summary.snapshotBytesReceived,
                    "snapshot_resumed_at": summary.snapshotResumedAt,
                    "repaired_claim": summary.claimRepair.map {
                        ["claimed": Int($0.claimed), "peer_counter": Int($0.peerCounter), "now": Int($0.repaired)]
                    } as Any,
                    "duration_ms": milliseconds,
                ])
            } else {
                print("synced with \(target.name) in \(milliseconds) ms")
                print("  sent      \(summary.rowsSent) records (\(summary.changesSent) field changes)")
                if summary.snapshotBytesReceived > 0 {
                    let total = summary.snapshotBytesReceived + summary.snapshotResumedAt
                    let resumed =
                        summary.snapshotResumedAt > 0
                        ? ", continued at byte \(summary.snapshotResumedAt) where the last sync was cut" : ""
                    print(
                        "  received  a snapshot of \(target.name)'s replica (\(Self.megabytes(total))\(resumed)): this replica starts from it"
                    )
                } else {
                    print(
                        "  received  \(summary.rowsReceived) records (\(summary.changesReceived) field changes, \(summary.changesApplied) applied)"
                    )
                }
                print(
                    "  conflicts \(summary.conflicts) new" + (summary.conflicts > 0 ? " — see `outpost conflicts`" : "")
                )
                if let repair = summary.claimRepair {
                    print(
                        "  repaired  this replica's vector claimed \(repair.claimed) changes by \(target.name), which has made \(repair.peerCounter) (a poisoned vector from some peer); lowered to \(repair.repaired) and its changes were sent again"
                    )
                }
                print("  wire      \(summary.bytesSent) bytes out, \(summary.bytesReceived) bytes in")
            }
        }
    }

    /// `--watch`: sessions until a signal, one line per session that moved anything (JSON lines with `--json`).
    static func watch(
        _ replica: Replica, _ name: String, _ address: PeerAddress, _ key: [UInt8], _ identity: SyncIdentity,
        interval: Double, live: Bool, quiet: Bool, json: Bool
    ) async throws {
        guard interval >= 0.1, interval <= 86_400 else {
            throw CLIError(64, "--interval is from 0.1 to 86400 seconds, not \(interval)", hint: "e.g. --interval 2")
        }
        let watching = Task {
            try await replica.replication.syncContinuously(
                host: address.host, port: address.port, peerKey: key, identity: identity,
                interval: .milliseconds(Int64(interval * 1000)), live: live ? LiveSettings() : nil,
                localChanges: replica.changedOrders()
            ) { event in
                let now = UTCTime.rfc3339(Int64(Date().timeIntervalSince1970 * 1000))
                switch event {
                case .synced(let summary):
                    guard !quiet, summary.changesSent + summary.changesReceived > 0 else { return }
                    if json {
                        printJSON([
                            "at": now, "peer": name, "sent_changes": summary.changesSent,
                            "received_changes": summary.changesReceived, "applied_changes": summary.changesApplied,
                            "conflicts": summary.conflicts,
                        ])
                    } else {
                        print(
                            "\(now)  \(name): sent \(summary.changesSent), received \(summary.changesReceived) field changes"
                                + (summary.conflicts > 0 ? ", \(summary.conflicts) new conflicts" : ""))
                    }
                case .live(let change):
                    guard !quiet else { return }
                    let verb = change.direction == .sent ? "sent" : "received"
                    if json {
                        printJSON([
                            "at": now, "peer": name, "live": verb, "records": change.rows,
                            "field_changes": change.fields,
                            "applied_changes": change.changed, "conflicts": change.conflicts, "bytes": change.bytes,
                        ])
                    } else {
                        print(
                            "\(now)  \(name): live, \(verb) \(change.rows) record\(change.rows == 1 ? "" : "s") (\(change.fields) field changes, \(change.bytes) bytes)"
                                + (change.conflicts > 0 ? ", \(change.conflicts) new conflicts" : ""))
                    }
                case .linkDown(let error, let retryIn):
                    FileHandle.standardError.write(
                        Data("\(now)  \(name): \(error); retrying in \(retryIn.components.seconds) s\n".utf8))
                }
                fflush(nil)
            }
        }
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for source in sources {
            source.setEventHandler { watching.cancel() }
            source.resume()
        }
        try await watching.value
        if !json && !quiet { print("stopped") }
    }

    /// A byte count for people: MB with one decimal, or kB below one MB.
    static func megabytes(_ bytes: Int) -> String {
        bytes >= 1_000_000
            ? String(format: "%.1f MB", Double(bytes) / 1_000_000) : "\(max(1, (bytes + 500) / 1_000)) kB"
    }
}

/// A progress bar on stderr for long transfers (only on a terminal).
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: SyncProgress) {
        guard enabled, progress.direction == .receiving, progress.total >= 1000 else { return }
        lock.withLock {
            let fraction = min(1, Double(progress.done) / Double(max(1, progress.total)))
            let filled = Int(fraction * 30)
            let amount =
                progress.unit == .bytes
                ? "\(progress.done / 1_000_000)/\(progress.total / 1_000_000) MB"
                : "\(progress.done)/\(progress.total) records"
            let line =
                "\rreceiving [" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
                + "] " + amount
            FileHandle.standardError.write(Data(line.utf8))
            shown = true
        }
    }

    func finish() {
        lock.withLock { if shown { FileHandle.standardError.write(Data("\n".utf8)) } }
    }
}
