import ArgumentParser
import Foundation
import OrderDomain
import Replica

/// Shop settings every device shares, and this device's own.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show and change the shop settings every device shares, and this device's own.",
        discussion: """
            Settings sync like orders: a change made on one device reaches the others at their next sync; two \
            devices changing one setting at once keep the later change and show a conflict (`outpost \
            conflicts`). A device's own settings (\(Settings.definitions.filter { $0.scope == .device }.map(\.key).joined(separator: ", "))) \
            never sync: how a machine delivers mail is not a peer's to set. Settings: \
            \(Settings.definitions.map(\.key).joined(separator: ", ")).

            Examples:
              outpost config list
              outpost config set attention.unpaid_hours 24
              outpost config unset attention.unpaid_hours
            """,
        subcommands: [List.self, Get.self, Set.self, Unset.self])

    static func document(_ settings: Settings, _ definition: Settings.Definition) -> [String: Any] {
        [
            "key": definition.key, "value": settings.value(definition.key), "default": definition.defaultValue,
            "set": settings.values[definition.key] != nil, "unit": definition.kind.rawValue,
            "summary": definition.summary, "scope": definition.scope.rawValue,
        ]
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every setting with its value and default.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await guarded {
                let settings = try await global.replica().queries.settings()
                if global.json {
                    return printJSON(Settings.definitions.map { ConfigCommand.document(settings, $0) })
                }
                print(
                    table(
                        ["SETTING", "VALUE", "DEFAULT", "MEANING"],
                        Settings.definitions.map {
                            let set = settings.values[$0.key] != nil
                            // Templates are whole messages: the table says whether one is set, `messages
                            // template show` prints it.
                            let template = $0.kind == .template
                            return [
                                $0.key,
                                template
                                    ? (set ? "custom" : "built-in") : settings.value($0.key) + (set ? " (set)" : ""),
                                template ? "built-in" : $0.defaultValue,
                                "\($0.summary) (\($0.kind.rawValue)\($0.scope == .device ? ", this device only" : ""))",
                            ]
                        }))
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One setting's value.", discussion: "Example: outpost config get attention.ship_days")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The setting.") var key: String

        func run() async throws {
            try await guarded {
                let definition = try Settings.known(key)
                let settings = try await global.replica().queries.settings()
                if global.json { return printJSON(ConfigCommand.document(settings, definition)) }
                print(settings.value(key))
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a setting for every device.",
            discussion: "Example: outpost config set attention.high_value 250")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The setting.") var key: String
        @Argument(help: "Its new value.") var value: String

        func run() async throws {
            try await guarded {
                let replica = try global.replica()
                try await replica.commands.setSetting(key, to: value)
                let settings = try await replica.queries.settings()
                if global.json, let definition = Settings.definition(key) {
                    return printJSON(ConfigCommand.document(settings, definition))
                }
                let scope =
                    Settings.definition(key)?.scope == .device
                    ? "this device only, never synced" : "other devices get it at their next sync"
                print("\(key) = \(settings.value(key)) (\(scope))")
            }
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a setting back to its default for every device.",
            discussion: "Example: outpost config unset attention.high_value")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The setting.") var key: String

        func run() async throws {
            try await guarded {
                let replica = try global.replica()
                try await replica.commands.setSetting(key, to: nil)
                let settings = try await replica.queries.settings()
                if global.json, let definition = Settings.definition(key) {
                    return printJSON(ConfigCommand.document(settings, definition))
                }
                print("\(key) = \(settings.value(key)) (the default)")
            }
        }
    }
}
