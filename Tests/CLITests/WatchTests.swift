import Foundation
import Testing

/// Two terminals kept in step with a hub by `outpost sync hub --watch`: a sale made on one (by a command in
/// another process) shows on the other within seconds, with nobody running a sync; the watchers stop cleanly.
@Suite(.oneAtATime) struct WatchTests {
    @Test func anEditReachesTheOtherTerminalWithoutASyncCommand() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let one = Outpost(directory: scratch.url, name: "one")
        let two = Outpost(directory: scratch.url, name: "two")
        try hub("init", "--name", "hub")
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        for terminal in [one, two] {
            try terminal("init", "--name", terminal.db.hasSuffix("one.sqlite") ? "one" : "two")
            try hub.pair(terminal, port: port)
            #expect(try terminal("sync", "hub").status == 0)
        }
        let watchers = try [one, two].map { terminal -> (Process, Pipe) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Outpost.binary)
            process.arguments = ["sync", "hub", "--watch", "--interval", "0.5", "--json", "--db", terminal.db]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            return (process, out)
        }
        defer { for (process, _) in watchers where process.isRunning { process.terminate() } }

        let created = try one("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:10.00", "--json")
        let number = try #require(created.object["number"] as? String)
        let start = Date()
        var arrived = false
        while Date().timeIntervalSince(start) < 20 {
            if try two("order", "list", "--json").array.contains(where: { $0["number"] as? String == number }) {
                arrived = true
                break
            }
            usleep(100_000)
        }
        #expect(arrived, "the order reached the other terminal")
        print("arrived after \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        // An edit on the second terminal comes back to the first the same way.
        #expect(try two("order", "edit", number, "--note", "gift wrap").status == 0)
        var back = false
        let again = Date()
        while Date().timeIntervalSince(again) < 20 {
            if (try one("order", "show", number, "--json").object["notes"] as? String) == "gift wrap" {
                back = true
                break
            }
            usleep(100_000)
        }
        #expect(back, "the edit came back")
        #expect(try two("order", "list", "--json").array.count == 1, "nothing doubled")

        for (process, out) in watchers {
            process.terminate()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "a watcher stops cleanly on SIGTERM")
            let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n")
            #expect(!lines.isEmpty, "each watcher reported a session that moved something")
        }
    }
}
