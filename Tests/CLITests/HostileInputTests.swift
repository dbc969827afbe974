import Foundation
import GRDB
import OutpostTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a hostile or careless user types: every case exits with its documented status and an `error:` first
/// line, never crashes, never changes the replica, and never touches a file that is not a replica.
@Suite(.oneAtATime) struct HostileInputTests {
    /// A replica with one order and stock, and a digest of everything a user can see of it.
    static func till(_ scratch: Scratch) throws -> (Outpost, String, () throws -> String) {
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        try outpost("stock", "set", "TEE-M", "2")
        let number = try #require(
            try outpost("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:10", "--json").object[
                "number"] as? String)
        let digest = { () throws -> String in
            try outpost("order", "show", number, "--json").stdout + outpost("stock", "show", "--json").stdout
                + outpost("order", "list", "--json").stdout + outpost("peer", "list", "--json").stdout
                + outpost("customer", "show", "ana@example.com", "--json").stdout
        }
        return (outpost, number, digest)
    }

    @Test func badInputIsRefusedWithItsStatusAndChangesNothing() throws {
        let scratch = try Scratch()
        let (outpost, number, digest) = try Self.till(scratch)
        let ownKey = try #require(try outpost("whoami", "--json").object["public_key"] as? String)
        let before = try digest()
        let create = ["order", "create", "--customer", "bo@example.com"]
        let cases: [([String], Int32, String)] = [
            // Money and counts: checked arithmetic, refused with the limit (never a wrapped total or a trap).
            (create + ["--line", "X:1000000:46116860184273879.03"], 65, "the most one order may hold"),
            (
                create + ["--line", "X:1:46116860184273879.03", "--shipping", "46116860184273879.03"], 65,
                "most one order"
            ),
            (create + ["--line", "X:1:1.00", "--discount", "5.00"], 65, "larger than the goods"),
            (create + ["--line", "X:1:1.00", "--tax", "-1"], 65, "cannot be negative"),
            (create + ["--line", "X:1:1.00", "--shipping", "-1"], 65, "cannot be negative"),
            (["order", "pay", number, "--amount", "-1"], 65, "positive"),
            (["stock", "set", "BIG", "9223372036854775000"], 65, "beyond the limit"),
            (["stock", "set", "BIG", "-1"], 65, "must not be negative"),
            (["stock", "add", "TEE-M", "9223372036854775000"], 65, "beyond the limit"),
            (["stock", "set", "TEE-M"], 64, "give the counted number"),
            // Validation types: currencies, SKUs, tags, e-mail, text, limits.
            (create + ["--line", "X:1:1", "--currency", "ZZZ"], 65, "ISO 4217"),
            (create + ["--line", "X:1:1", "--currency", "EURO"], 65, "ISO 4217"),
            (create + ["--line", "A\tB:1:1"], 65, "not a SKU"),
            (create + ["--line", "A\u{1B}B:1:1"], 65, "not a SKU"),
            (create + ["--line", "X:1:1", "--tag", "red,blue"], 65, "several tags"),
            (create + ["--line", "X:1:1", "--address", "Main St\u{1B}[2J"], 65, "control character"),
            (
                [
                    "order", "create", "--customer", String(repeating: "a", count: 100_000) + "@x.com", "--line",
                    "X:1:1",
                ], 65, "e-mail"
            ),
            (
                ["customer", "add", "--email", "eve@example.com", "--name", "Eve\u{1B}[31m\u{07}"], 65,
                "control character"
            ),
            (
                ["customer", "add", "--email", "eve@example.com", "--name", String(repeating: "n", count: 5_000)], 65,
                "the most a field holds"
            ),
            (["order", "list", "--limit=-1"], 65, "at least 1"),
            // Trust: nothing injected, no impossible or own keys, no port 0.
            (
                [
                    "peer", "add", "p4", "opk_a8OCKiqn9OaYHWU4aSs83z5t-e6m7SaetB2TwidXt1o", "--address",
                    "127.0.0.1:7400\nevil opk_x 127.0.0.1:9",
                ],
                64, "HOST:PORT"
            ),
            (
                ["peer", "add", "p4", "opk_a8OCKiqn9OaYHWU4aSs83z5t-e6m7SaetB2TwidXt1o", "--address", "127.0.0.1:0"],
                64, "HOST:PORT"
            ),
            (["peer", "add", "zero", "opk_" + String(repeating: "A", count: 43)], 65, "low-order"),
            (["peer", "add", "me", ownKey], 65, "own public key"),
            (["peer", "add", "bad\nname", "opk_a8OCKiqn9OaYHWU4aSs83z5t-e6m7SaetB2TwidXt1o"], 64, "name"),
            // The replica itself.
            (["init", "--name", "again"], 73, "already exists"),
        ]
        for (arguments, status, text) in cases {
            let result = try outpost.run(arguments)
            let shown = arguments.map { $0.prefix(60) }
            #expect(result.status == status, "\(shown): \(result.status) \(result.stderr.prefix(300))")
            #expect(result.stderr.hasPrefix("error: "), "\(shown): \(result.stderr.prefix(300))")
            #expect(result.stderr.contains(text), "\(shown): \(result.stderr.prefix(300))")
            #expect(!result.stderr.contains("\u{1B}"), "\(shown) printed a raw escape code")
        }
        #expect(try digest() == before)
        let peers = try String(contentsOfFile: outpost.db + ".peers", encoding: .utf8)
        #expect(!peers.contains("evil"), "the trust store gained a line: \(peers)")
    }

    /// A carrier event is dated between the shipment and tomorrow.
    @Test func trackingTimesFollowTheShipment() throws {
        let scratch = try Scratch()
        let (outpost, number, _) = try Self.till(scratch)
        try outpost("order", "pay", number, "--amount", "10")
        try outpost("order", "pack", number)
        try outpost("order", "ship", number, "--carrier", "DHL", "--tracking", "JD1")
        for (at, text) in [("2020-01-01", "before the parcel shipped"), ("2999-01-01", "in the future")] {
            let result = try outpost("order", "track", number, "--event", "in_transit", "--at", at)
            #expect(result.status == 65 && result.stderr.contains(text), "\(at): \(result.stderr)")
        }
        #expect(try outpost("order", "track", number, "--event", "in_transit").status == 0)
    }

    /// Another program's files are refused as they are: nothing switched to WAL, nothing written.
    @Test func filesThatAreNotReplicasAreLeftAlone() throws {
        let scratch = try Scratch()
        let text = scratch.url.appendingPathComponent("notes.txt").path
        try "hello\n".write(toFile: text, atomically: true, encoding: .utf8)
        let empty = scratch.url.appendingPathComponent("empty.sqlite").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        let foreign = scratch.url.appendingPathComponent("other-app.sqlite").path
        try Self.makeForeignDatabase(at: foreign)
        let directory = scratch.url.appendingPathComponent("a-directory").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let outpost = Outpost(directory: scratch.url, name: "unused")
        for (path, why) in [
            (text, "not an SQLite database"), (empty, "empty"), (foreign, "another program"), (directory, "directory"),
        ] {
            let before = try? Data(contentsOf: URL(fileURLWithPath: path))
            let result = try outpost("order", "list", "--db", path)
            #expect(result.status == 65, "\(path): \(result.status) \(result.stderr)")
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(why), "\(result.stderr)")
            #expect((try? Data(contentsOf: URL(fileURLWithPath: path))) == before, "\(path) was changed")
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "\(path) gained a WAL")
        }
    }

    /// Another program's database: SQLite in its default rollback-journal mode, with a table and a row.
    static func makeForeignDatabase(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')")
        }
        try queue.close()
    }

    /// An identity key other users may read is refused, as OpenSSH refuses such a key.
    @Test func anIdentityKeyOpenToOthersIsRefused() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let identity = outpost.db + ".identity"
        #expect(chmod(identity, 0o644) == 0)
        let result = try outpost("whoami")
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("error: the identity file") && result.stderr.contains("chmod 600"))
        #expect(chmod(identity, 0o600) == 0)
        #expect(try outpost("whoami").status == 0)
    }

    /// Text that reaches the terminal is escaped: a reference holding an escape code comes back quoted in the
    /// error, not executed.
    @Test func controlCharactersNeverReachTheTerminal() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "till")
        try outpost("init", "--name", "till-1")
        let result = try outpost("order", "show", "X\u{1B}[2J\u{07}")
        #expect(result.status == 66)
        #expect(!result.stderr.contains("\u{1B}") && !result.stderr.contains("\u{07}"))
        #expect(result.stderr.contains("\\u{1b}[2J\\u{7}"), "\(result.stderr)")
    }

    /// `serve` stops within about a second of SIGTERM, even with a connection that never says a word.
    @Test func serveStopsPromptlyWithAHalfOpenConnectionPending() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "hub")
        try outpost("init", "--name", "hub")
        let (process, port) = try outpost.serve()
        let socket = connectLoopback(port: port)
        defer { close(socket) }
        #expect(socket >= 0)
        Thread.sleep(forTimeInterval: 0.2)  // let the listener accept it
        let clock = ContinuousClock()
        let started = clock.now
        process.terminate()  // SIGTERM
        let exited = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            process.waitUntilExit()
            exited.signal()
        }
        let inTime = exited.wait(timeout: .now() + 5) == .success
        if !inTime { kill(process.processIdentifier, SIGKILL) }
        #expect(inTime, "serve was still running 5 s after SIGTERM")
        // About a second (0.5 s grace, then every connection is closed); slack for a loaded machine.
        #expect(clock.now - started < .milliseconds(2_500), "serve took \(clock.now - started) to stop")
    }

    /// A port already taken: exit 69 with a sentence, not NIO's errno text.
    @Test func aBusyPortSaysSo() throws {
        let scratch = try Scratch()
        let outpost = Outpost(directory: scratch.url, name: "hub")
        try outpost("init", "--name", "hub")
        let (process, port) = try outpost.serve()
        defer { process.terminate() }
        let second = try outpost("serve", "--listen", "127.0.0.1:\(port)")
        #expect(second.status == 69, "\(second.stderr)")
        #expect(
            second.stderr.hasPrefix("error: cannot listen on 127.0.0.1:\(port): the port is in use"), "\(second.stderr)"
        )
        let elsewhere = try outpost("serve", "--listen", "192.0.2.77:7400")  // TEST-NET-1: never this host's
        #expect(elsewhere.status == 69 && elsewhere.stderr.contains("not one of this host's"), "\(elsewhere.stderr)")
        // Editing with bad text is refused like creating.
        let number = try #require(
            try outpost("order", "create", "--customer", "ana@example.com", "--line", "MUG:1:1", "--json").object[
                "number"] as? String)
        let edit = try outpost("order", "edit", number, "--address", "Main St\u{1B}[2J")
        #expect(edit.status == 65 && edit.stderr.contains("control character"), "\(edit.stderr)")
        let tag = try outpost("order", "edit", number, "--tag", "a,b")
        #expect(tag.status == 65 && tag.stderr.contains("several tags"), "\(tag.stderr)")
        let phone = try outpost("customer", "edit", "ana@example.com", "--phone", "\u{07}")
        #expect(phone.status == 65 && phone.stderr.contains("control character"), "\(phone.stderr)")
    }

    /// `demo --keep` never overwrites what it did not make.
    @Test func theDemoKeepsOutOfTheUsersFiles() throws {
        let scratch = try Scratch()
        let kept = scratch.url.appendingPathComponent("kept")
        try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        let mine = kept.appendingPathComponent("hub.sqlite")
        try "my own file\n".write(to: mine, atomically: true, encoding: .utf8)
        let outpost = Outpost(directory: scratch.url, name: "unused")
        let result = try outpost("demo", "--keep", kept.path)
        #expect(result.status == 73)
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("did not make"))
        #expect(try String(contentsOf: mine, encoding: .utf8) == "my own file\n")
    }

    /// A full disk: the command that does not fit exits 74 with a plain sentence and writes nothing; the
    /// replica stays readable and whole. Needs root to mount a small tmpfs; skipped with a printed reason
    /// otherwise.
    @Test func aFullDiskRefusesTheWriteAndKeepsTheReplicaWhole() throws {
        let scratch = try Scratch()
        guard
            let mountPoint = try Self.tmpfs(
                in: scratch, size: "1200k", for: "aFullDiskRefusesTheWriteAndKeepsTheReplicaWhole")
        else { return }
        defer { _ = Self.run("/bin/umount", mountPoint) }
        let outpost = Outpost(directory: URL(fileURLWithPath: mountPoint), name: "till")
        try outpost("init", "--name", "till-1")
        let address = String(repeating: "Long Street ", count: 300)
        var created = 0
        var last: Outpost.Result?
        for index in 0..<1_000 {
            let before = try outpost("order", "list", "--json").stdout
            let result = try outpost(
                "order", "create", "--customer", "c\(index)@example.com", "--line", "SKU-\(index):1:1.00", "--address",
                address)
            if result.status != 0 {
                #expect(try outpost("order", "list", "--json").stdout == before, "the failed command wrote something")
                last = result
                break
            }
            created += 1
        }
        let failure = try #require(last, "the disk never filled")
        #expect(failure.status == 74, "\(failure.stderr)")
        #expect(failure.stderr.hasPrefix("error: the disk is full"), "\(failure.stderr)")
        #expect(created > 0)
        let listing = try outpost("order", "list", "--json")
        #expect(listing.status == 0)
        #expect(listing.array.count == created)
        // A new replica on the full disk: refused, and nothing half-made is left behind.
        let second = Outpost(directory: URL(fileURLWithPath: mountPoint), name: "second")
        let initFailure = try second("init", "--name", "second")
        #expect(initFailure.status == 74, "\(initFailure.stderr)")
        #expect(initFailure.stderr.hasPrefix("error: the disk is full"), "\(initFailure.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: mountPoint).filter { $0.hasPrefix("second") }
        #expect(left.isEmpty, "init left \(left)")
    }

    /// A replica on read-only media can be read; a command on it exits 74 saying the file is read-only.
    /// Needs root to mount (and remount read-only) a tmpfs; skipped with a printed reason otherwise.
    @Test func aReadOnlyReplicaCanBeRead() throws {
        let scratch = try Scratch()
        guard let mountPoint = try Self.tmpfs(in: scratch, size: "4m", for: "aReadOnlyReplicaCanBeRead") else { return }
        defer { _ = Self.run("/bin/umount", mountPoint) }
        let outpost = Outpost(directory: URL(fileURLWithPath: mountPoint), name: "till")
        try outpost("init", "--name", "till-1")
        try outpost("stock", "set", "TEE-M", "3")
        try outpost("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:1:10")
        let listing = try outpost("order", "list", "--json").stdout
        #expect(Self.run("/bin/mount", "-o", "remount,ro", mountPoint) == 0)
        let read = try outpost("order", "list", "--json")
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.stdout == listing)
        #expect(try outpost("stock", "show").status == 0)
        let write = try outpost("stock", "set", "TEE-M", "4")
        #expect(write.status == 74)
        #expect(write.stderr.hasPrefix("error: the replica file or its directory is read-only"), "\(write.stderr)")
    }

    /// A tmpfs of `size` mounted in `scratch` (the caller unmounts it), or nil with the reason printed: mounting
    /// needs root, which CI has and a developer's account may not.
    static func tmpfs(in scratch: Scratch, size: String, for test: String) throws -> String? {
        let mountPoint = scratch.url.appendingPathComponent("disk-\(size)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard getuid() == 0, run("/bin/mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint) == 0 else {
            print("skipped \(test): mounting a tmpfs needs root")
            return nil
        }
        return mountPoint
    }

    static func run(_ arguments: String...) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
