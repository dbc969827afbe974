import Foundation
import OutpostTestSupport
import Testing

/// Customer messages end to end through real parts: a hub (the sender, `outpost serve`) and two laptops; a real
/// SMTP server (Python's aiosmtpd) reached through Debian's `msmtp`. Facts made on the laptops reach the hub by
/// sync and each expected message arrives once; laptops never send; a conflict holds a message until it is
/// settled; a sender killed between handing a message over and recording it sends it once more, with the same
/// Message-ID, and never again.
@Suite(.serialized, .oneAtATime) struct MessageDeliveryTests {
    /// The SMTP server: every message it accepted, as a file in its directory.
    final class Sink {
        let process: Process
        let directory: URL
        let port: Int

        init(directory: URL) throws {
            self.directory = directory
            let python = try InteropOrderTests.python()
            process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [
                Outpost.root.appendingPathComponent("tools/interop/smtp_sink.py").path, directory.path,
            ]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = try Outpost.firstLine(of: out)
            guard text.hasPrefix("listening on "), let port = Int(text.dropFirst("listening on ".count)) else {
                process.terminate()
                throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "smtp sink said: \(text)"])
            }
            self.port = port
        }

        deinit { process.terminate() }

        /// Every message received so far, parsed: headers (first occurrence) and the decoded body.
        func messages() throws -> [(headers: [String: String], body: String)] {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".eml") }.sorted()
            return try names.map { name in
                let raw = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
                    .replacingOccurrences(of: "\r\n", with: "\n")
                let parts = raw.components(separatedBy: "\n\n")
                var headers: [String: String] = [:]
                for line in parts[0].split(separator: "\n") where !line.hasPrefix(" ") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let key = String(line[..<colon]).lowercased()
                    if headers[key] == nil {
                        headers[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                }
                var body = parts.dropFirst().joined(separator: "\n\n")
                if headers["content-transfer-encoding"] == "base64",
                    let data = Data(base64Encoded: body.replacingOccurrences(of: "\n", with: ""))
                {
                    body = String(decoding: data, as: UTF8.self)
                }
                return (headers, body)
            }
        }

        /// Waits until `condition` holds for what arrived (at most `seconds`), without holding a thread.
        func wait(
            seconds: Double = 30, until condition: ([(headers: [String: String], body: String)]) -> Bool
        ) async throws -> [(headers: [String: String], body: String)] {
            let start = Date()
            while true {
                let arrived = try messages()
                if condition(arrived) || Date().timeIntervalSince(start) > seconds { return arrived }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// How many arrived of `kind` for `order`.
    static func count(_ messages: [(headers: [String: String], body: String)], _ kind: String, _ order: String) -> Int {
        messages.filter { $0.headers["x-outpost-message"] == kind && $0.headers["x-outpost-order"] == order }.count
    }

    /// An msmtp configuration for the sink (msmtp wants it private).
    static func msmtpConfig(_ directory: URL, port: Int) throws -> String {
        let path = directory.appendingPathComponent("msmtprc").path
        try """
        defaults
        auth off
        tls off
        account default
        host 127.0.0.1
        port \(port)
        from orders@corner-shop.example
        """.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return path
    }

    @Test func factsFromLaptopsAreMailedOnceByTheHub() async throws {
        let scratch = try Scratch()
        let sink = try Sink(directory: scratch.url.appendingPathComponent("inbox"))
        let rc = try Self.msmtpConfig(scratch.url, port: sink.port)
        let hub = Outpost(directory: scratch.url, name: "hub")
        let one = Outpost(directory: scratch.url, name: "one")
        let two = Outpost(directory: scratch.url, name: "two")
        try hub("init", "--name", "hub")
        // The hub's own way to deliver (a device setting, never synced), and the shop's From address.
        #expect(try hub("config", "set", "messages.command", "msmtp -C \(rc) -t").status == 0)
        #expect(try hub("config", "set", "messages.from", "Corner Shop <orders@corner-shop.example>").status == 0)
        let (server, port) = try hub.serve()
        defer { server.terminate() }
        for (terminal, name) in [(one, "one"), (two, "two")] {
            try terminal("init", "--name", name)
            try hub.pair(terminal, port: port)
            #expect(try terminal("sync", "hub").status == 0)
        }
        // `serve` on the hub claimed the sending role (nobody had it and it can deliver); the laptops learn it.
        #expect(try one("config", "get", "messages.sender").stdout.trimmingCharacters(in: .whitespaces) == "hub\n")

        // Facts made on the laptops, offline from the hub's point of view until they sync.
        #expect(try one("customer", "add", "--email", "ana@example.com", "--name", "Ana Lima").status == 0)
        let ana = try #require(
            try one("order", "create", "--customer", "ana@example.com", "--line", "TEE-M:2:19.90", "--json")
                .object["number"] as? String)
        #expect(try one("order", "pay", ana, "--amount", "39.80", "--method", "cash").status == 0)
        #expect(try two("customer", "add", "--email", "bob@example.com", "--name", "Bob Stone").status == 0)
        let bob = try #require(
            try two("order", "create", "--customer", "bob@example.com", "--line", "MUG:1:12.00", "--json")
                .object["number"] as? String)
        #expect(try two("order", "pay", bob, "--amount", "12.00", "--method", "card").status == 0)
        #expect(try two("order", "pack", bob).status == 0)
        #expect(try two("order", "ship", bob, "--carrier", "DHL", "--tracking", "JD0042").status == 0)

        // A laptop never sends, even when asked and able to.
        #expect(try one("config", "set", "messages.command", "msmtp -C \(rc) -t").status == 0)
        let refused = try one("messages", "send")
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("hub does"))
        #expect(try one("messages", "list", "--pending", "--json").array.count == 2)

        for terminal in [one, two] { #expect(try terminal("sync", "hub").status == 0) }
        let expected = [
            ("order_confirmation", ana), ("payment_received", ana), ("order_confirmation", bob),
            ("payment_received", bob), ("shipped", bob),
        ]
        var arrived = try await sink.wait { messages in expected.allSatisfy { Self.count(messages, $0.0, $0.1) >= 1 } }
        // A little longer: anything sent twice would show now.
        try await Task.sleep(for: .seconds(3))
        arrived = try sink.messages()
        for (kind, order) in expected {
            #expect(Self.count(arrived, kind, order) == 1, "\(kind) for \(order) arrived once")
        }
        #expect(arrived.count == expected.count)
        #expect(Set(arrived.compactMap { $0.headers["message-id"] }).count == arrived.count)
        let shipped = try #require(arrived.first { $0.headers["x-outpost-message"] == "shipped" })
        #expect(shipped.headers["to"] == "\"Bob Stone\" <bob@example.com>")
        #expect(shipped.headers["from"] == "Corner Shop <orders@corner-shop.example>")
        #expect(shipped.body.contains("DHL") && shipped.body.contains("JD0042"))
        let confirmation = try #require(
            arrived.first {
                $0.headers["x-outpost-message"] == "order_confirmation" && $0.headers["x-outpost-order"] == ana
            })
        #expect(confirmation.body.contains("Hello Ana Lima") && confirmation.body.contains("39.80 EUR"))

        // The sender's records sync back: the laptops list the same messages as sent.
        for terminal in [one, two] { #expect(try terminal("sync", "hub").status == 0) }
        let sentOnLaptop = try one("messages", "list", "--sent", "--json").array
        #expect(sentOnLaptop.count == expected.count)
        #expect(
            Set(sentOnLaptop.compactMap { $0["message_id"] as? String })
                == Set(arrived.compactMap { $0.headers["message-id"] }))

        // A conflict on the customer's name (used in the To line): the laptops rename Ana at once, offline.
        // Both reach the hub first (a conflict the sender has not heard of yet cannot hold anything); then a
        // laptop ships her order.
        #expect(try one("customer", "edit", "ana@example.com", "--name", "Ana L.").status == 0)
        #expect(try two("customer", "edit", "ana@example.com", "--name", "Ana Lima-Silva").status == 0)
        for terminal in [one, two] { #expect(try terminal("sync", "hub").status == 0) }
        #expect(try one("order", "pack", ana).status == 0)
        #expect(try one("order", "ship", ana, "--carrier", "UPS", "--tracking", "1Z999").status == 0)
        #expect(try one("sync", "hub").status == 0)
        let held = try hub("messages", "list", "--held", "--json").array
        #expect(held.map { $0["kind"] as? String } == ["shipped"])
        try await Task.sleep(for: .seconds(4))  // two sending passes of `serve`
        #expect(Self.count(try sink.messages(), "shipped", ana) == 0, "held while the name is in conflict")
        // Settled on the hub: the message goes out once, to the settled name.
        #expect(try hub("customer", "edit", "ana@example.com", "--name", "Ana Lima").status == 0)
        arrived = try await sink.wait { Self.count($0, "shipped", ana) >= 1 }
        try await Task.sleep(for: .seconds(3))
        arrived = try sink.messages()
        #expect(Self.count(arrived, "shipped", ana) == 1)
        #expect(
            arrived.first { $0.headers["x-outpost-order"] == ana && $0.headers["x-outpost-message"] == "shipped" }?
                .headers["to"] == "\"Ana Lima\" <ana@example.com>")
        server.terminate()
        server.waitUntilExit()

        // Killed between handing over and recording: the command kills the sender right after msmtp succeeded.
        #expect(try hub("order", "refund", bob, "--amount", "5.00").status == 0)
        #expect(try hub("config", "set", "messages.command", "msmtp -C \(rc) -t && kill -9 $PPID").status == 0)
        let killed = try hub("messages", "send")
        #expect(killed.status != 0 && killed.status != 75, "the pass died: \(killed.status)")
        arrived = try await sink.wait { Self.count($0, "refund_issued", bob) >= 1 }
        #expect(Self.count(arrived, "refund_issued", bob) == 1)
        #expect(
            try hub("messages", "list", "--pending", "--json").array.map { $0["kind"] as? String } == ["refund_issued"])
        #expect(try hub("config", "set", "messages.command", "msmtp -C \(rc) -t").status == 0)
        let again = try hub("messages", "send", "--json")
        #expect(again.status == 0)
        #expect((again.object["sent"] as? [Any])?.count == 1)
        let third = try hub("messages", "send", "--json")
        #expect(third.status == 0 && (third.object["sent"] as? [Any])?.isEmpty == true, "nothing left to send")
        arrived = try await sink.wait { Self.count($0, "refund_issued", bob) >= 2 }
        let refunds = arrived.filter { $0.headers["x-outpost-message"] == "refund_issued" }
        #expect(refunds.count == 2, "sent at most once more")
        #expect(Set(refunds.compactMap { $0.headers["message-id"] }).count == 1, "with the same Message-ID")
    }

    @Test func aFailingDeliveryIsRetriedAndListedForAttention() async throws {
        let scratch = try Scratch()
        let sink = try Sink(directory: scratch.url.appendingPathComponent("inbox"))
        let hub = Outpost(directory: scratch.url, name: "hub")
        try hub("init", "--name", "hub")
        #expect(try hub("config", "set", "messages.sender", "hub").status == 0)
        // Nothing listens on the sink's port + 1 (the sink holds its own): msmtp fails.
        let wrong = try Self.msmtpConfig(scratch.url, port: sink.port + 1)
        #expect(try hub("config", "set", "messages.command", "msmtp -C \(wrong) -t").status == 0)
        let number = try #require(
            try hub("order", "create", "--customer", "cy@example.com", "--line", "CAP:1:9.00", "--json")
                .object["number"] as? String)
        let failed = try hub("messages", "send")
        #expect(failed.status == 75)
        #expect(failed.stdout.contains("failed order_confirmation"))
        let listed = try hub("messages", "list", "--failed", "--json").array
        #expect(listed.count == 1 && (listed.first?["attempts"] as? Int) == 1)
        let attention = try hub("attention", "--kind", "message_failed", "--json").array
        #expect(attention.map { $0["order"] as? String } == [number])
        // The retry waits its backoff; a second pass right away tries nothing.
        let waiting = try hub("messages", "send", "--json")
        #expect(waiting.status == 0 && (waiting.object["failed"] as? [Any])?.isEmpty == true)
        // Mended: asked for now, it goes out, and the attention item is gone.
        let rc = try Self.msmtpConfig(scratch.url, port: sink.port)
        #expect(try hub("config", "set", "messages.command", "msmtp -C \(rc) -t").status == 0)
        #expect(try hub("messages", "send", "--retry-now").status == 0)
        let arrived = try await sink.wait { Self.count($0, "order_confirmation", number) >= 1 }
        #expect(Self.count(arrived, "order_confirmation", number) == 1)
        #expect(try hub("attention", "--kind", "message_failed", "--json").array.isEmpty)
        #expect(try hub("messages", "list", "--sent", "--json").array.count == 1)
    }
}
