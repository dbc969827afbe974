import Foundation
import OutpostTestSupport
import Testing

@testable import SecureLine

/// An independent implementation (the Python `noiseprotocol` package driven by tools/interop/noise_peer.py,
/// written from protocol/SPEC.md) completes the handshake and exchanges records with ours, both ways.
/// tools/interop/setup creates its virtualenv; if that fails, these tests fail (they never skip).
@Suite(.serialized) struct InteropTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func python() throws -> String {
        let output = try run(root.appendingPathComponent("tools/interop/setup").path, [])
        guard output.status == 0, let path = output.stdout.split(separator: "\n").last.map(String.init) else {
            throw LineError(.unreachable, "tools/interop/setup failed: \(output.stderr)")
        }
        return path
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
        try runProcess(executable, arguments)
    }

    @Test func pythonReproducesOurWireVectors() throws {
        let result = try Self.run(
            try Self.python(),
            [
                Self.root.appendingPathComponent("tools/interop/noise_peer.py").path, "vectors",
                Self.root.appendingPathComponent("protocol/vectors/line-session.json").path,
            ])
        #expect(result.status == 0, "python: \(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("ok: all 8 steps"))
    }

    @Test func pythonDialsOurListener() async throws {
        let python = try Self.python()
        let listenerKey = KeyPair.generate()
        let pythonKey = KeyPair.generate()
        let network = KeyText.newNetworkID()
        let listener = try await LineListener.bind(
            host: "127.0.0.1", port: 0, identity: listenerKey, networkID: network, hello: Array("swift".utf8)
        ) {
            $0 == pythonKey.publicKey
        }
        let echoed = LockedCounter()
        let server = Task {
            try await listener.run { session in
                while let record = try await session.next() {
                    try await session.send(Record(verb: "ECHOED", json: record.json, body: record.body))
                    echoed.increment()
                }
            }
        }
        let port = listener.port
        let result = try await offThePool {
            try Self.run(
                python,
                [
                    Self.root.appendingPathComponent("tools/interop/noise_peer.py").path, "dial", "127.0.0.1",
                    String(port),
                    "--key", pythonKey.privateKeyCopy().hex, "--listener", listenerKey.publicKey.hex, "--network",
                    network.hex,
                ])
        }
        #expect(result.status == 0, "python: \(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("ok: 5 records echoed"))
        await listener.close()
        try await server.value
        #expect(echoed.value == 5)
    }

    @Test func weDialAPythonListener() async throws {
        let python = try Self.python()
        let pythonKey = KeyPair.generate()
        let ourKey = KeyPair.generate()
        let network = KeyText.newNetworkID()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            Self.root.appendingPathComponent("tools/interop/noise_peer.py").path, "listen", "--key",
            pythonKey.privateKeyCopy().hex,
            "--network", network.hex, "--trust", ourKey.publicKey.hex,
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let firstLine = try await offThePool { () -> String in
            var line = Data()
            while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([10]) {
                line += byte
            }
            return String(decoding: line, as: UTF8.self)
        }
        let port = try #require(Int(firstLine.replacingOccurrences(of: "port ", with: "")), "python said \(firstLine)")
        let bodies = try await SecureLine.dial(
            host: "127.0.0.1", port: port, identity: ourKey, listenerKey: pythonKey.publicKey, networkID: network,
            hello: Array("swift".utf8)
        ) { session -> [Int] in
            #expect(String(decoding: session.peerHello, as: UTF8.self).contains("python-listener"))
            var sizes: [Int] = []
            for size in [1, 1000, 150_000] {
                try await session.send(
                    Record(verb: "ECHO", json: "{\"n\":\(size)}", body: Array(repeating: 3, count: size)))
                let reply = try await session.next()
                #expect(reply?.verb == "ECHOED")
                #expect(reply?.fields["n"] as? Int == size)
                sizes.append(reply?.body.count ?? -1)
            }
            try await session.goodbye()
            return sizes
        }
        #expect(bodies == [1, 1000, 150_000])
        let rest = try await offThePool { out.fileHandleForReading.readDataToEndOfFile() }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: rest, as: UTF8.self).contains("ok: echoed 3 records"))
    }
}
