import DoseFuzzing
import Foundation
import Testing

/// Every input the fuzzers keep (their seed corpus and every crash they found, FuzzTesting/) is
/// replayed through the same property checks as the fuzz targets, without sanitizers: quick, and
/// a regression here is a regression the fuzzer once found.
@Suite("Fuzz corpus and regressions replayed")
struct ReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("FuzzTesting")

    static let targets: [(String, @Sendable ([UInt8]) -> [String])] = [
        ("FuzzConfig", FuzzChecks.config), ("FuzzCalendar", FuzzChecks.calendar),
        ("FuzzTimeInput", FuzzChecks.timeInput), ("FuzzRequest", FuzzChecks.request),
    ]

    static func inputs(_ target: String) -> [URL] {
        ["Corpus", "FailCases"].flatMap { folder -> [URL] in
            let directory = root.appendingPathComponent(folder).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
        }
    }

    @Test("every kept input holds every property", arguments: targets.map(\.0))
    func replay(_ target: String) throws {
        let check = try #require(Self.targets.first { $0.0 == target }?.1)
        let inputs = Self.inputs(target)
        #expect(inputs.count >= 5, "\(target) has no corpus")
        defer { if target == "FuzzRequest" { FuzzChecks.removeDaemonFiles() } }
        for input in inputs {
            let problems = check(Array(try Data(contentsOf: input)))
            #expect(problems.isEmpty, "\(input.lastPathComponent): \(problems)")
        }
    }
}
