// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "dosed",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dosed", targets: ["dosed"]),
        .executable(name: "dosectl", targets: ["dosectl"]),
        // The properties the fuzz targets in FuzzTesting/ check; `make test` replays their corpus.
        .library(name: "DoseFuzzing", targets: ["DoseFuzzing"]),
    ],
    dependencies: [
        // TOML 1.0 parsing with source positions for syntax errors (toml++ underneath).
        .package(url: "https://github.com/LebJe/TOMLKit.git", exact: "0.6.0"),
        // The dosectl command tree: flags, help, validation and exit codes.
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // The history: SQLite with migrations, WAL and records, instead of hand-written bindings.
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        // The socket server: non-blocking Unix sockets, framing and back-pressure.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Diagnostics of the daemon itself (events go to the journal, not here).
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "DoseCore",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(name: "DoseFiles", dependencies: ["DoseCore"]),
        .target(name: "DoseStore", dependencies: ["DoseCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "DoseProtocol", dependencies: ["DoseCore"]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(name: "DoseSystemd", dependencies: ["CSystemd", "DoseCore", "DoseFiles"]),
        .target(
            name: "DoseDaemon",
            dependencies: [
                "CSystemd", "DoseCore", "DoseFiles", "DoseStore", "DoseProtocol", "DoseSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "DoseFuzzing",
            dependencies: [
                "DoseCore", "DoseFiles", "DoseProtocol", "DoseDaemon", "DoseSystemd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dosed",
            dependencies: [
                "DoseDaemon", "DoseFiles", "DoseProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dosectl",
            dependencies: [
                "DoseCore", "DoseFiles", "DoseProtocol", "DoseStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // DoseFiles gives the tests comparing with systemd this machine's tz database, as the daemon reads it.
        .testTarget(name: "DoseCoreTests", dependencies: ["DoseCore", "DoseFiles", .product(name: "TOMLKit", package: "TOMLKit")]),
        .testTarget(name: "DoseFilesTests", dependencies: ["DoseFiles", "DoseCore"]),
        .testTarget(name: "DoseStoreTests", dependencies: ["DoseStore", .product(name: "GRDB", package: "GRDB.swift")],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DoseProtocolTests", dependencies: ["DoseProtocol"]),
        .testTarget(name: "DoseSystemdTests", dependencies: ["DoseSystemd", "DoseCore"]),
        .testTarget(name: "DoseDaemonTests", dependencies: [
            "DoseDaemon", "DoseSystemd", .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "DoseFuzzingTests", dependencies: ["DoseFuzzing"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["DoseCore", "DoseDaemon", "DoseProtocol", "DoseStore"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
