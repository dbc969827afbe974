// swift-tools-version:6.1
// Outpost — an embedded, offline-first order replica for Linux.
// Layers (imports flow one way):
//   outpost → Sync → {SecureLine → CSodium, Replica → {OrderDomain, CSodium, CSQLiteSetup}}.
import PackageDescription

let package = Package(
    name: "Outpost",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "OrderDomain", targets: ["OrderDomain"]),
        .library(name: "Replica", targets: ["Replica"]),
        .library(name: "SecureLine", targets: ["SecureLine"]),
        .library(name: "Sync", targets: ["Sync"]),
        .executable(name: "outpost", targets: ["outpost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", .upToNextMinor(from: "2.101.2")),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/JohnSundell/Plot", from: "0.14.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // Shared by every module: the error protocol and exit statuses, hex and base64url. No dependencies.
        .target(name: "OutpostCore"),
        .target(name: "OrderDomain", dependencies: ["OutpostCore"]),
        .target(
            name: "Replica",
            dependencies: [
                "OrderDomain",
                "OutpostCore",
                // BLAKE2b, for the digest of a file snapshot (resumed copies are checked whole).
                "CSodium",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for binding the values of the hottest statements straight onto GRDB's handles.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CSQLiteSetup",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // SQLite's process-wide configuration (`sqlite3_config` is variadic: Swift cannot call it).
        .systemLibrary(name: "CSQLiteSetup", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(
            name: "SecureLine",
            dependencies: [
                "CSodium",
                "OutpostCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Sync",
            dependencies: [
                "OutpostCore",
                "Replica",
                "SecureLine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Orders in from other shop systems (Shopify's CSV export, WooCommerce's REST JSON) and out as CSV.
        .target(
            name: "Intake",
            dependencies: [
                "OrderDomain",
                "OutpostCore",
                "Replica",
                .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        // The report as one self-contained HTML page (Plot for the HTML; the SVG charts drawn here).
        .target(
            name: "ReportPage",
            dependencies: ["OrderDomain", "OutpostCore", .product(name: "Plot", package: "Plot")]
        ),
        // Customer messages: what is due from the replica's outbox, rendered (Mustache templates), handed to a
        // sendmail-style command or written to a spool directory, and recorded as sent.
        .target(
            name: "Messages",
            dependencies: [
                "OrderDomain",
                "OutpostCore",
                "Replica",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "outpost",
            dependencies: [
                "OutpostCore",
                "Replica",
                "Sync",
                "Intake",
                "ReportPage",
                "Messages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "OutpostTestSupport",
            dependencies: ["OrderDomain"],
            path: "Tests/OutpostTestSupport"
        ),
        .executableTarget(
            name: "OutpostBench",
            dependencies: [
                "Replica",
                // The cutting proxy of the tests, for the bootstrap over a dropping link.
                "OutpostTestSupport",
                "Intake",
                .product(name: "CSV", package: "CSV.swift"),
                "Sync",
                "SecureLine",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "OrderDomainTests",
            dependencies: [
                "OrderDomain",
                "OutpostTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ReplicaTests",
            dependencies: [
                "Replica",
                "OutpostTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "SyncTests",
            dependencies: ["Sync", "Replica", "SecureLine", "OutpostCore", "OutpostTestSupport"]
        ),
        .testTarget(
            name: "CLITests", dependencies: ["OutpostTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "OutpostCoreTests", dependencies: ["OutpostCore"]),
        .testTarget(
            name: "MessagesTests", dependencies: ["Messages", "OrderDomain", "Replica", "OutpostTestSupport"]),
        .testTarget(name: "IntakeTests", dependencies: ["Intake", "OrderDomain", "Replica", "OutpostTestSupport"]),
        .testTarget(
            name: "SecureLineTests",
            dependencies: [
                "SecureLine",
                "OutpostTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
