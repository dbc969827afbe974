import ArgumentParser
import Foundation
import Messages
import OrderDomain
import Replica

/// Automated customer messages: the outbox, a sending pass, the templates.
struct MessagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages", abstract: "Customer messages: what is due, what was sent, the templates.",
        discussion: """
            Every device derives the same messages from the same facts (an order placed, a payment taken or \
            failed, a parcel shipped, delayed or delivered, a refund, a return received, a review request \
            messages.review_days after delivery), each with one id fleet-wide. Only the device named by \
            messages.sender sends them, through this device's messages.command (sendmail-style, e.g. msmtp -t) or \
            into its messages.spool directory; `outpost serve` sends continuously on that device. Messages of an \
            order holding concurrent values wait (held) until the conflict is settled; failures are retried with \
            backoff and listed by `outpost attention` (message_failed).

            Kinds: \(MessageKind.allCases.map(\.rawValue).joined(separator: ", ")).

            Examples:
              outpost config set messages.sender hub          # on any device
              outpost config set messages.command 'msmtp -t'  # on the hub: its own, never synced
              outpost messages list --pending
              outpost messages send
              outpost messages template set shipped shipped.mustache
            """,
        subcommands: [List.self, Send.self, Template.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The outbox: each message with its state (newest first).",
            discussion: "States: \(MessageState.allCases.map(\.rawValue).joined(separator: ", ")).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Only messages due and waiting to be sent.") var pending = false
        @Flag(help: "Only messages held by a conflict.") var held = false
        @Flag(help: "Only messages sent.") var sent = false
        @Flag(help: "Only messages whose delivery failed.") var failed = false
        @Option(help: "Only messages in this state.") var state: String?
        @Option(help: "Read as of this time (RFC 3339 UTC or YYYY-MM-DD); default now.") var asOf: String?
        @Option(help: "At most this many.") var limit = 200

        func run() async throws {
            try await guarded {
                var states = [(pending, MessageState.pending), (held, .held), (sent, .sent), (failed, .failed)]
                    .filter(\.0).map(\.1)
                if let state { states.append(try choice(MessageState.self, state, "a message state")) }
                guard states.count <= 1 else {
                    throw CLIError(64, "choose one state to list", hint: "e.g. outpost messages list --pending")
                }
                let selection: MessageSelection = states.first.map { .state($0) } ?? .all
                let messages = try await global.replica().queries.messages(
                    selection, asOf: try asOf.map(parseTime), limit: limit)
                if global.json {
                    return printJSON(
                        messages.map {
                            [
                                "id": $0.id, "message_id": MessageComposer.messageID($0.id), "kind": $0.kind.rawValue,
                                "order": $0.orderNumber, "order_id": $0.orderID, "to": $0.customerEmail as Any,
                                "state": $0.state.rawValue, "due_at": rfc3339($0.dueAt), "sent_at": rfc3339($0.sentAt),
                                "attempts": $0.attempts, "last_error": $0.lastError as Any,
                                "retry_at": rfc3339($0.retryAt),
                            ] as [String: Any]
                        })
                }
                guard !messages.isEmpty else { return print("no messages") }
                print(
                    table(
                        ["STATE", "KIND", "ORDER", "TO", "DUE", "SENT / WHY"],
                        messages.map {
                            [
                                $0.state.rawValue, $0.kind.rawValue, $0.orderNumber, $0.customerEmail ?? "-",
                                "\(rfc3339($0.dueAt))",
                                MessagesCommand.outcome($0),
                            ]
                        }))
            }
        }
    }

    /// When it was sent, or why not.
    static func outcome(_ message: OutboxMessage) -> String {
        if let sent = message.sentAt { return "\(rfc3339(sent))" }
        if let error = message.lastError { return "\(message.attempts) attempt(s): \(error)" }
        return ""
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send what is due now, once (on the device named by messages.sender).",
            discussion: """
                Exits 78 when this device is not the sender or has no delivery set. A message whose delivery \
                fails is recorded (retried after 1 minute, doubling to an hour; listed by `outpost attention`) \
                and the pass goes on; the exit status is then 75.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Retry failed messages now, whatever their retry time or age.") var retryNow = false

        func run() async throws {
            try await guarded {
                let report = try await MessageSender(replica: try global.replica()).sendDue(retryNow: retryNow)
                if global.json {
                    printJSON([
                        "sent": report.sent.map { ["id": $0.id, "kind": $0.kind.rawValue, "order": $0.orderNumber] },
                        "failed": report.failed.map {
                            [
                                "id": $0.message.id, "kind": $0.message.kind.rawValue, "order": $0.message.orderNumber,
                                "error": $0.error,
                            ]
                        },
                    ])
                } else {
                    for message in report.sent {
                        print(
                            "sent \(message.kind.rawValue) for \(message.orderNumber) to \(message.customerEmail ?? "-")"
                        )
                    }
                    for (message, error) in report.failed {
                        print("failed \(message.kind.rawValue) for \(message.orderNumber): \(error)")
                    }
                    print("\(report.sent.count) sent, \(report.failed.count) failed")
                }
                if !report.failed.isEmpty { throw ExitCode(75) }
            }
        }
    }

    struct Template: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or replace the template of a kind of message.",
            discussion: """
                A template is Mustache (plain text): a 'Subject: …' line, an empty line, the body. Names: \
                shop_name, customer_name, order_number, total, items (name, quantity), amount, carrier, \
                tracking_number, note, review_days. Templates are shared settings: set on any device, they reach \
                the sender by sync.

                Examples:
                  outpost messages template show shipped > shipped.mustache
                  outpost messages template set shipped shipped.mustache
                  outpost messages template reset shipped
                """,
            subcommands: [Show.self, Set.self, Reset.self])

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print a kind's template.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The kind of message.") var kind: String

            func run() async throws {
                try await guarded {
                    let kind = try choice(MessageKind.self, kind, "a kind of message")
                    let settings = try await global.replica().queries.settings()
                    print(settings.value(Settings.templateKey(kind)))
                }
            }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Replace a kind's template with a file's.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The kind of message.") var kind: String
            @Argument(help: "The template file.") var file: String

            func run() async throws {
                try await guarded {
                    let kind = try choice(MessageKind.self, kind, "a kind of message")
                    guard let data = FileManager.default.contents(atPath: file),
                        let text = String(data: data, encoding: .utf8)
                    else {
                        throw CLIError(66, "cannot read the template file \(file)", hint: "check the path")
                    }
                    try MessageComposer.check(text)
                    try await global.replica().commands.setSetting(Settings.templateKey(kind), to: text)
                    print("the \(kind.rawValue) template is set (other devices get it at their next sync)")
                }
            }
        }

        struct Reset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Put a kind's template back to the default.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The kind of message.") var kind: String

            func run() async throws {
                try await guarded {
                    let kind = try choice(MessageKind.self, kind, "a kind of message")
                    try await global.replica().commands.setSetting(Settings.templateKey(kind), to: nil)
                    print("the \(kind.rawValue) template is the default again")
                }
            }
        }
    }
}
