import ArgumentParser
import Foundation
import Replica
import SecureLine
import Sync

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new replica and device identity.",
        discussion: """
            Creates the replica file, an identity key beside it (mode 0600), an empty trust store and a network id \
            (a new one unless --network is given).

            Examples:
              outpost init --name popup-1
              outpost init --name warehouse-2 --network onet_QkJC…
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "A name for this device, shown to peers.") var name: String
    @Option(help: "Join an existing network (onet_…) instead of creating one.") var network: String?

    func run() async throws {
        try await guarded {
            let networkID = try network.map { try KeyText.parseNetworkID($0) }
            try DeviceName.check(name)
            let (replica, identity) = try global.device.create(name: name, networkID: networkID)
            if global.json {
                printJSON(Whoami.document(replica, identity))
            } else {
                print("created replica \(replica.path)")
                print("name        \(replica.identity.name)")
                print("public key  \(KeyText.publicKey(identity.keyPair.publicKey))")
                print("network     \(KeyText.networkID(identity.networkID))")
            }
        }
    }
}

struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show this device's name, site id, public key and network id.")
    @OptionGroup var global: GlobalOptions

    static func document(_ replica: Replica, _ identity: SyncIdentity) -> [String: Any] {
        [
            "site_id": replica.identity.siteID, "name": replica.identity.name,
            "public_key": KeyText.publicKey(identity.keyPair.publicKey),
            "network_id": KeyText.networkID(identity.networkID), "order_prefix": replica.identity.numberPrefix,
        ]
    }

    func run() async throws {
        try await guarded {
            let replica = try global.replica()
            let identity = try global.device.identity()
            let document = Self.document(replica, identity)
            if global.json {
                printJSON(document)
            } else {
                for key in ["name", "site_id", "public_key", "network_id", "order_prefix"] {
                    print(key.padding(toLength: 13, withPad: " ", startingAt: 0) + "\(document[key] ?? "")")
                }
            }
        }
    }
}

struct Reidentify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give this replica a new site id, so that a copy and its original can both go on.",
        discussion: """
            A replica file that was copied, restored from a backup, or moved to another disk or machine refuses \
            writes and syncs: two files writing with one site id would number different changes alike, and peers \
            would keep whichever arrived first. This command gives the file a new site id and order-number \
            prefix (and, with --name, a new device name); everything it holds stays, and the other file is not \
            affected. It is safe on any replica, copied or not. Stop `outpost serve` on this file first.

            Examples:
              outpost reidentify --name laptop-2
              outpost reidentify --json
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "A new name for this device (default: keep the name).") var name: String?

    func run() async throws {
        try await guarded {
            if let name { try DeviceName.check(name) }
            let (previous, identity) = try Replica.reidentify(at: global.device.replicaPath, name: name)
            if global.json {
                return printJSON([
                    "previous_site_id": previous, "site_id": identity.siteID, "name": identity.name,
                    "order_prefix": identity.numberPrefix,
                ])
            }
            print(
                "site id \(previous) → \(identity.siteID) (\(identity.name), orders numbered \(identity.numberPrefix)-…)"
            )
            print("this replica writes and syncs as a device of its own; sync it with the hub to catch up")
        }
    }
}

struct Invite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one pasteable line that lets another device join this one.",
        discussion: """
            On the hub:     outpost invite --address 192.0.2.10:7400
            On the laptop:  outpost join outpost-invite:… --name hub
            Then on the hub, trust the laptop with the `outpost peer add` line that `join` prints.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Where this device listens (HOST:PORT).") var address: String?

    func run() async throws {
        try await guarded {
            if let address { _ = try PeerAddress(parsing: address) }
            let replica = try global.replica()
            let identity = try global.device.identity()
            let code = Invitation(
                name: replica.identity.name, publicKey: identity.keyPair.publicKey, networkID: identity.networkID,
                address: address
            ).code
            if global.json { printJSON(["invite": code]) } else { print(code) }
        }
    }
}

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trust the device of an invite code and adopt its network.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The line printed by `outpost invite`.") var code: String
    @Option(help: "The name to give the peer here (default: its own name).") var name: String?

    func run() async throws {
        try await guarded {
            let invitation = try Invitation(code: code)
            let replica = try global.replica()
            let device = global.device
            var store = try device.trustStore()
            try store.add(
                TrustedPeer(
                    name: name ?? invitation.name, publicKey: invitation.publicKey, address: invitation.address),
                ownKey: try device.identity().keyPair.publicKey)
            try store.save(to: device.peersPath)
            try device.writeNetwork(invitation.networkID)
            let identity = try device.identity()
            let addLine = "outpost peer add \(replica.identity.name) \(KeyText.publicKey(identity.keyPair.publicKey))"
            if global.json {
                printJSON([
                    "peer": name ?? invitation.name, "network_id": KeyText.networkID(invitation.networkID),
                    "run_on_peer": addLine,
                ])
            } else {
                print(
                    "trusted \(name ?? invitation.name) and joined network \(KeyText.networkID(invitation.networkID))")
                print("now run this on \(invitation.name), so that it trusts this device:")
                print("  \(addLine)")
            }
        }
    }
}

struct PeerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer", abstract: "Manage trusted peers.",
        subcommands: [Add.self, List.self, SetAddress.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trust a peer's public key.",
            discussion: "Example: outpost peer add hub opk_a8OC… --address 192.0.2.10:7400")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A name for the peer.") var name: String
        @Argument(help: "Its public key (opk_…), from its `outpost whoami`.") var publicKey: String
        @Option(help: "Where it listens (HOST:PORT).") var address: String?

        func run() async throws {
            try await guarded {
                _ = try global.replica()
                var store = try global.device.trustStore()
                try store.add(
                    TrustedPeer(name: name, publicKey: try KeyText.parsePublicKey(publicKey), address: address),
                    ownKey: try global.device.identity().keyPair.publicKey)
                try store.save(to: global.device.peersPath)
                if global.json { printJSON(["added": name]) } else { print("trusted \(name)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List trusted peers.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await guarded {
                _ = try global.replica()
                let peers = try global.device.trustStore().peers
                if global.json {
                    printJSON(
                        peers.map {
                            [
                                "name": $0.name, "public_key": KeyText.publicKey($0.publicKey),
                                "address": $0.address as Any,
                            ]
                        })
                } else {
                    print(
                        table(
                            ["NAME", "ADDRESS", "PUBLIC KEY"],
                            peers.map { [$0.name, $0.address ?? "-", KeyText.publicKey($0.publicKey)] }))
                }
            }
        }
    }

    struct SetAddress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-address", abstract: "Change where a trusted peer listens.",
            discussion: "Example: outpost peer set-address hub 192.0.2.11:7400")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The peer's name.") var name: String
        @Argument(help: "Where it listens now (HOST:PORT).") var address: String

        func run() async throws {
            try await guarded {
                _ = try global.replica()
                var store = try global.device.trustStore()
                try store.setAddress(of: name, to: address)
                try store.save(to: global.device.peersPath)
                if global.json {
                    printJSON(["peer": name, "address": address])
                } else {
                    print("\(name) listens at \(address)")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop trusting a peer.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The peer's name.") var name: String

        func run() async throws {
            try await guarded {
                _ = try global.replica()
                var store = try global.device.trustStore()
                guard store.remove(named: name) else {
                    throw CLIError(66, "no peer named \(name)", hint: "see `outpost peer list`")
                }
                try store.save(to: global.device.peersPath)
                if global.json { printJSON(["removed": name]) } else { print("removed \(name)") }
            }
        }
    }
}
