import Foundation
import OutpostTestSupport
import Testing

/// A warehouse terminal's first sync by snapshot over a link that drops (a proxy cuts it after 150 kB): each
/// `outpost sync` continues the copy where the last one was cut, and the terminal ends with the hub's orders.
@Suite(.oneAtATime) struct SnapshotResumeTests {
    @Test func aCutFirstSyncContinuesAtTheNextSync() throws {
        let scratch = try Scratch()
        let hub = Outpost(directory: scratch.url, name: "hub")
        let terminal = Outpost(directory: scratch.url, name: "terminal")
        try hub("init", "--name", "hub")
        for index in 0..<120 {
            let lines = (0..<4).flatMap { ["--line", "SKU-\(index)-\($0):2:1\($0).50"] }
            let created = try hub.run(
                [
                    "order", "create", "--customer", "c\(index % 9)@example.com", "--address",
                    "Dock \(index), " + String(repeating: "Warehouse Road ", count: 25),
                ] + lines)
            #expect(created.status == 0, "\(created.stderr)")
        }
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        try terminal("init", "--name", "terminal")
        try hub.pair(terminal, port: port)

        var cuts = 0
        var completed: [String: Any]?
        for _ in 0..<30 where completed == nil {
            let proxy = try CuttingProxy(target: port, cutAfter: 150_000)
            defer { proxy.close() }  // and alive until then
            try terminal("peer", "set-address", "hub", "127.0.0.1:\(proxy.port)")
            let result = try terminal.run(["sync", "hub", "--json"])
            if result.status == 0 {
                completed = result.object
            } else {
                #expect(result.status == 75 || result.status == 76, "a cut sync: \(result.status) \(result.stderr)")
                let status = try terminal("status", "--json").object
                #expect(!(status["bootstrapping_from"] is String), "a cut snapshot leaves the terminal ready")
                #expect(try terminal("order", "list", "--json").array.isEmpty)
                cuts += 1
            }
        }
        let summary = try #require(completed, "no sync completed over the dropping link")
        #expect(cuts >= 2, "the copy was cut more than once")
        let continuedAt = try #require(summary["snapshot_resumed_at"] as? Int)
        #expect(continuedAt > 0, "the last sync continued a kept part: \(summary)")
        #expect(try terminal("order", "list", "--json").stdout == hub("order", "list", "--json").stdout)
        let directory = scratch.url.path
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("terminal.sqlite.snapshot-incoming")
        }
        #expect(leftovers.isEmpty, "the installed copy left \(leftovers)")
    }
}
