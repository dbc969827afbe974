import ArgumentParser

/// The `outpost` command: a thin shell over the `Replica` library (parsing and printing only).
@main
struct Outpost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost",
        abstract: "An offline-first order replica: sell offline, sync later, never lose a change.",
        discussion: """
            Start with `outpost demo`: a hub and two pop-up laptops on this machine sell offline, disagree about \
            an order, sync, and show what happened and why.
            """,
        version: "0.1.0",
        subcommands: [Demo.self]
    )
}
