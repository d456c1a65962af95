import Foundation
import Testing

/// The built `dosectl` on real config dirs: output, JSON shapes and exit codes (SPEC 8).
@Suite("dosectl check | list | next, end to end")
struct DosectlTests {
    static let interferon = """
        name = "Interferon alfa (Intron A)"
        dose = "3 million units"
        route = "subcutaneous"
        sites = ["abdomen left", "abdomen right", "thigh left", "thigh right"]
        stock = 12
        [[schedule]]
        id = "evening"
        on = "Mon,Wed,Fri 20:00"
        before = ["30m"]
        """

    @Test("check accepts the shipped example config")
    func exampleConfig() throws {
        let outcome = try dosectl(["check", "--config", packageRoot.appendingPathComponent("config").path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("OK, 4 medication(s)"))
        #expect(outcome.stdout.contains("interferon"))
    }

    @Test("check prints every error as FILE:LINE:COLUMN and exits 1")
    func checkErrors() throws {
        let dir = try ConfigDir([
            "dosed.toml": "timezone = \"Nowhere/Land\"\n",
            "medications/bad.toml": "name = \"Bad\"\n[[schedule]]\nid = \"x\"\non = \"Mon 25:00\"\nwindow = \"soon\"\n",
        ])
        defer { dir.remove() }
        let outcome = try dosectl(["check", "--config", dir.path])
        #expect(outcome.status == 1)
        let lines = outcome.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "\(dir.path)/dosed.toml:1:12: unknown time zone 'Nowhere/Land' (use an IANA name such as Europe/London)",
            "\(dir.path)/medications/bad.toml:4:7: bad calendar expression 'Mon 25:00': hour out of range 0–23",
            "\(dir.path)/medications/bad.toml:5:10: bad duration for 'schedule[0].window': duration 'soon' has a unit 's' without a number before it",
        ])
        #expect(outcome.stdout.isEmpty)
    }

    @Test("a missing config dir is a failure that names it")
    func missingDir() throws {
        let outcome = try dosectl(["check", "--config", "/nonexistent/dosed"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("/nonexistent/dosed"))
    }

    @Test("the config dir comes from DOSED_CONFIG_DIR, then XDG_CONFIG_HOME")
    func configFromEnvironment() throws {
        let dir = try ConfigDir(["medications/interferon.toml": Self.interferon])
        defer { dir.remove() }
        #expect(try dosectl(["check"], environment: ["DOSED_CONFIG_DIR": dir.path]).status == 0)
        let xdg = dir.url.deletingLastPathComponent().appendingPathComponent("xdg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: xdg, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: xdg) }
        try FileManager.default.createSymbolicLink(at: xdg.appendingPathComponent("dosed"), withDestinationURL: dir.url)
        #expect(try dosectl(["check"], environment: ["XDG_CONFIG_HOME": xdg.path]).status == 0)
    }

    @Test("next --from --json: Dose objects of SPEC 6, sites in rotation, zone offsets in due_local")
    func nextJSON() throws {
        let dir = try ConfigDir(["dosed.toml": "timezone = \"Europe/London\"\n", "medications/interferon.toml": Self.interferon])
        defer { dir.remove() }
        let outcome = try dosectl(["next", "--config", dir.path, "-n", "3", "--from", "2026-10-23 12:00", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let doses = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
        #expect(doses.map { $0["id"] as? String } == [
            "interferon/evening@2026-10-23T19:00:00Z", "interferon/evening@2026-10-26T20:00:00Z",
            "interferon/evening@2026-10-28T20:00:00Z",
        ])
        #expect(doses.map { $0["due_local"] as? String } == [
            "2026-10-23T20:00:00+01:00", "2026-10-26T20:00:00+00:00", "2026-10-28T20:00:00+00:00",
        ])
        #expect(doses.map { $0["site"] as? String } == ["abdomen left", "abdomen right", "thigh left"])
        let first = try #require(doses.first)
        #expect(first["state"] as? String == "upcoming")
        #expect(first["medication"] as? String == "interferon")
        #expect(first["medication_name"] as? String == "Interferon alfa (Intron A)")
        #expect(first["schedule"] as? String == "evening")
        #expect(first["due"] as? String == "2026-10-23T19:00:00Z")
        #expect(first["dose"] as? String == "3 million units")
        #expect(first["route"] as? String == "subcutaneous")
    }

    @Test("next filters by MED and MED/SCHED; --from is exclusive like --base-time")
    func nextFilter() throws {
        let dir = try ConfigDir([
            "dosed.toml": "timezone = \"UTC\"\n",
            "medications/interferon.toml": Self.interferon,
            "medications/tablet.toml": "name = \"Tablet\"\n[[schedule]]\nid = \"am\"\non = \"08:00\"\n[[schedule]]\nid = \"pm\"\non = \"20:00\"\n",
        ])
        defer { dir.remove() }
        let all = try dosectl(["next", "--config", dir.path, "-n", "3", "--from", "2026-11-30T08:00:00Z"])
        #expect(all.status == 0)
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].contains("2026-11-30 20:00") && lines[0].contains("interferon/evening"))
        #expect(lines[1].contains("2026-11-30 20:00") && lines[1].contains("tablet/pm"))
        #expect(lines[2].contains("2026-12-01 08:00") && lines[2].contains("tablet/am"))
        let one = try dosectl(["next", "tablet/am", "--config", dir.path, "-n", "2", "--from", "2026-11-30", "--json"])
        let doses = try #require(try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [[String: Any]])
        #expect(doses.map { $0["id"] as? String } == ["tablet/am@2026-11-30T08:00:00Z", "tablet/am@2026-12-01T08:00:00Z"])
        let unknown = try dosectl(["next", "nosuch", "--config", dir.path])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no medication 'nosuch'"))
    }

    @Test("list --json: medications with schedules and their next dose")
    func listJSON() throws {
        let dir = try ConfigDir([
            "medications/interferon.toml": Self.interferon,
            "medications/il2.toml": "name = \"IL-2\"\n[[schedule]]\nid = \"course\"\nevery = \"8h\"\nfirst = 2026-12-01T08:00:00\npaused = true\n",
        ])
        defer { dir.remove() }
        let outcome = try dosectl(["list", "--config", dir.path, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
        #expect(list.map { $0["id"] as? String } == ["il2", "interferon"])
        let interferon = list[1]
        #expect(interferon["name"] as? String == "Interferon alfa (Intron A)")
        #expect(interferon["sites"] as? [String] == ["abdomen left", "abdomen right", "thigh left", "thigh right"])
        #expect(interferon["stock"] as? Int == 12)
        let schedule = try #require((interferon["schedules"] as? [[String: Any]])?.first)
        #expect(schedule["id"] as? String == "evening")
        #expect(schedule["on"] as? String == "Mon,Wed,Fri 20:00")
        #expect(schedule["paused"] as? Bool == false)
        #expect((schedule["next"] as? [String: Any])?["state"] as? String == "upcoming")
        let il2 = try #require((list[0]["schedules"] as? [[String: Any]])?.first)
        #expect(il2["every"] as? String == "8h")
        #expect(il2["paused"] as? Bool == true)
        #expect(il2["next"] is NSNull)
        #expect(list[0]["dose"] is NSNull)
    }

    @Test("usage errors exit 2", arguments: [
        ["next", "-n", "many"], ["next", "--from", "tomorrowish"], ["next", "Bad/Name"], ["frobnicate"], ["list", "--bogus"],
    ])
    func usageErrors(_ arguments: [String]) throws {
        let dir = try ConfigDir(["medications/interferon.toml": Self.interferon])
        defer { dir.remove() }
        let outcome = try dosectl(arguments + ["--config", dir.path])
        #expect(outcome.status == 2, "\(arguments): \(outcome.stderr)")
        #expect(!outcome.stderr.isEmpty)
    }

    @Test("next follows the last take in the history for anchor = \"taken\"")
    func nextAnchoredOnTake() throws {
        let dir = try ConfigDir([
            "dosed.toml": "timezone = \"UTC\"\n",
            "medications/prn.toml": "name = \"PRN\"\n[[schedule]]\nid = \"q6h\"\nevery = \"6h\"\nfirst = 2026-11-01T00:00:00\nanchor = \"taken\"\n",
        ])
        defer { dir.remove() }
        let flags = ["--config", dir.path, "--state", dir.path + "/state", "--socket", dir.path + "/none.sock"]
        func next() throws -> [String] {
            let outcome = try dosectl(["next", "-n", "2", "--from", "2026-11-01T07:00:00Z", "--json"] + flags)
            let doses = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]]
            return doses?.compactMap { $0["due"] as? String } ?? []
        }
        #expect(try next() == ["2026-11-01T12:00:00Z", "2026-11-01T18:00:00Z"])
        let take = try dosectl(["take", "prn/q6h@2026-11-01T06:00:00Z", "--at", "2026-11-01T07:00:00Z"] + flags)
        #expect(take.status == 0, "\(take.stderr)")
        #expect(try next() == ["2026-11-01T13:00:00Z", "2026-11-01T19:00:00Z"])
    }

    @Test("next -n 10000 lists ten thousand doses")
    func many() throws {
        let dir = try ConfigDir(["medications/interferon.toml": Self.interferon])
        defer { dir.remove() }
        let outcome = try dosectl(["next", "--config", dir.path, "-n", "10000", "--from", "2026-01-01"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.split(separator: "\n").count == 10000)
    }
}
