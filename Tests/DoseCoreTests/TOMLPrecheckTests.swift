@testable import DoseCore
import Foundation
import Testing
import TOMLKit

/// The TOML recognizer that guards toml++: it must accept every TOML document (or a person's valid
/// file would be refused) and refuse malformed text with its place. Python's `tomllib` (a strict
/// TOML 1.0 parser) is the reference.
@Suite("TOML syntax before toml++")
struct TOMLPrecheckTests {
    static func check(_ text: String) -> [ConfigError] {
        ConfigDecoder.load(main: nil, medications: [SourceFile(path: "m/x.toml", text: text)], zones: .foundation()).errors
    }

    @Test("malformed text (some of which once crashed toml++) is an error at its place; toml++'s own errors stand", arguments: [
        ("name = \"A\"\n[{schedule]]\n", "2:2: a table header needs a name"),
        ("t = 07:3\n", "1:5: bad minute: 2 digits expected"),
        ("name = \"x\u{0}\"\n", "1:10: a NUL byte"),
        ("name = \"a\u{10}b\"\n", "1:10: the control character U+0010"),
        ("name = \"x\n", "1:8: unterminated string"),
        ("name = 'x\n", "1:8: unterminated string"),
        ("a = [1, 2\n", "2:1: unterminated array"),
        ("a = 2026-02-30\n", "1:5: bad day"),
        ("a = 1__0\n", "1:6: an underscore"),
        ("a = 012\n", "1:5: a number cannot start with 0"),
        ("a = {b = 1,\nc = 2}\n", "1:12: expected a key"),
        ("a = \"\\q\"\n", "1:6: unknown escape"),
        ("a = hello\n", "1:5: expected a value"),
        ("a = " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "\n", "nested more than 64 deep"),
        ("name = \"x\"\nname = \"y\"\n", "2:8: Error while parsing key-value pair: cannot redefine existing string 'name'"),
    ])
    func malformed(_ c: (String, String)) {
        let errors = Self.check(c.0)
        #expect(errors.count == 1 && errors[0].description.contains(c.1), "\(errors)")
    }

    /// Mutations of real configuration files: deletions, duplications and TOML's own characters
    /// put anywhere. Deterministic.
    static let corpus: [String] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var seeds = ["config/dosed.toml", "config/medications/interferon.toml", "config/medications/aldesleukin.toml",
                     "config/medications/ondansetron.toml"].compactMap { try? String(contentsOf: root.appendingPathComponent($0), encoding: .utf8) }
        seeds += ["a = 1979-05-27T07:32:00.999-07:00\nb = 07:32:00\nc = 1979-05-27 07:32:00Z\nd = [ 1, 2.5e-3, -inf, nan, 0x_1, 0o7, 0b1, +1_000 ]\n",
                  "s = \"\"\"\nline \\\n  joined \"\" quotes\"\"\"\"\nl = '''\nraw 'x' ''''\n\"quoted key\".bare = { a = 1, 'b' = [\"x\",] }\n[[t]]\n[ t . 'u' ]\n"]
        let alphabet = Array("[]{}\"'=#,.\\\n \t:-_+0123456789abcxyzTZeE\r".unicodeScalars)
        var seed: UInt64 = 0x70_4D_4C
        func random(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        var corpus: [String] = seeds
        while corpus.count < 4000 {
            var scalars = Array(seeds[random(seeds.count)].unicodeScalars)
            for _ in 0..<(1 + random(3)) {
                let at = random(scalars.count + 1)
                switch random(3) {
                case 0 where at < scalars.count: scalars.remove(at: at)
                case 1: scalars.insert(alphabet[random(alphabet.count)], at: at)
                default: if at < scalars.count { scalars[at] = alphabet[random(alphabet.count)] }
                }
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars)
            corpus.append(String(text))
        }
        return corpus
    }()

    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// tomllib's verdict on each text.
    static func tomllib(_ texts: [String]) throws -> [Bool] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = ["-c", """
            import json, sys, tomllib
            out = []
            for text in json.load(sys.stdin):
                try:
                    tomllib.loads(text); out.append(True)
                except Exception:
                    out.append(False)
            json.dump(out, sys.stdout)
            """]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let data = try JSONSerialization.data(withJSONObject: texts)
        DispatchQueue.global().async {
            input.fileHandleForWriting.write(data)
            try? input.fileHandleForWriting.close()
        }
        let result = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONSerialization.jsonObject(with: result) as? [Bool] ?? []
    }

    @Test("accepts every document tomllib accepts; what it passes, toml++ parses or refuses without crashing",
          .enabled(if: python != nil))
    func differential() throws {
        let verdicts = try Self.tomllib(Self.corpus)
        try #require(verdicts.count == Self.corpus.count, "tomllib gave no verdicts (python3 >= 3.11 needed)")
        var falseRejections: [String] = []
        var rejected = 0
        for (text, valid) in zip(Self.corpus, verdicts) {
            let ours = TOMLPrecheck.problem(in: text) == nil
            if valid && !ours { falseRejections.append(text.debugDescription) }
            if !ours { rejected += 1 }
            if ours { _ = try? TOMLTable(string: text) }  // must not crash
        }
        #expect(falseRejections.isEmpty, "refused valid TOML: \(falseRejections.prefix(5))")
        #expect(rejected > 500, "the corpus should hold many malformed texts")
    }
}
