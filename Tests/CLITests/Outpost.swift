import Foundation
import OutpostTestSupport

/// Runs the real `outpost` binary (built by `swift build --build-tests`).
struct Outpost {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binary = root.appendingPathComponent(".build/debug/outpost").path

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        init(_ output: ProcessOutput) {
            status = output.status
            stdout = output.stdout
            stderr = output.stderr
        }
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    }

    let db: String

    init(directory: URL, name: String) {
        db = directory.appendingPathComponent("\(name).sqlite").path
    }

    @discardableResult
    func callAsFunction(_ arguments: String...) throws -> Result { try run(arguments) }

    func run(_ arguments: [String]) throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["OUTPOST_DB"] = db
        return Result(try runProcess(Self.binary, arguments, environment: environment))
    }

    /// `laptop` joins `self` (a hub serving on loopback `port`): the invite, the join and the hub's half of the
    /// pairing, as a person would run them.
    func pair(_ laptop: Outpost, port: Int) throws {
        let invite = try self("invite", "--address", "127.0.0.1:\(port)").stdout
        let joined = try laptop("join", invite, "--json").object
        guard let line = joined["run_on_peer"] as? String else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "join said: \(joined)"])
        }
        try run(Array(line.split(separator: " ").map(String.init).dropFirst()))
    }

    /// The first line a process writes to `pipe` (without its newline), read a byte at a time so that nothing
    /// after it is consumed.
    static func firstLine(of pipe: Pipe) throws -> String {
        var line = Data()
        while let byte = try pipe.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([10]) {
            line += byte
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Starts `outpost serve --listen 127.0.0.1:0` and returns the process and its port.
    func serve() throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--db", db]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = try Self.firstLine(of: out)
        guard text.hasPrefix("listening on "), let port = text.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "serve said: \(text)"])
        }
        return (process, port)
    }
}

final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}
