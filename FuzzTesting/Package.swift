// swift-tools-version:6.0
// The fuzz targets of dosed, built by `make fuzz` with libFuzzer and AddressSanitizer:
//   swift build --sanitize=fuzzer --sanitize=address --disable-dead-strip \
//     -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
// SwiftPM's --sanitize=fuzzer instruments only the executable's own module for coverage, so the
// -sanitize-coverage flag instruments every module (ours and our dependencies); without
// --disable-dead-strip the linker drops the coverage counters. Either way libFuzzer runs blind.
// Each target feeds one input format to a property check of the DoseFuzzing library, which
// `make test` also runs over Corpus/ and FailCases/.
import Foundation
import PackageDescription

// The parent package's identity is its directory's name, whatever the clone is called.
let parent = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "FuzzTesting",
    dependencies: [.package(path: "..")],
    targets: ["FuzzConfig", "FuzzCalendar", "FuzzTimeInput", "FuzzRequest"].map {
        .executableTarget(name: $0, dependencies: [.product(name: "DoseFuzzing", package: parent)])
    }
)
