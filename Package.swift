// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "dosed",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dosed", targets: ["dosed"]),
        .executable(name: "dosectl", targets: ["dosectl"]),
    ],
    dependencies: [
        // TOML 1.0 parsing with source positions for syntax errors (toml++ underneath).
        .package(url: "https://github.com/LebJe/TOMLKit.git", exact: "0.6.0"),
        // The dosectl command tree: flags, help, validation and exit codes.
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "DoseCore",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(name: "DoseFiles", dependencies: ["DoseCore"]),
        .target(name: "DoseProtocol", dependencies: ["DoseCore"]),
        .executableTarget(
            name: "dosed",
            dependencies: ["DoseCore", "DoseFiles", "DoseProtocol"]
        ),
        .executableTarget(
            name: "dosectl",
            dependencies: [
                "DoseCore", "DoseFiles", "DoseProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "DoseCoreTests", dependencies: ["DoseCore"]),
        .testTarget(name: "DoseFilesTests", dependencies: ["DoseFiles"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["DoseCore", "DoseProtocol"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
