import DoseCore
import DoseStore
import Foundation
import Testing

/// The defects of issues #9 and #10, each shown against the real binaries: a real daemon, a real
/// socket (and socat, as README shows it), a real history.
@Suite("Robustness end to end", .serialized)
struct RobustnessEndToEndTests {
    static let paracetamol = "name = \"Paracetamol\"\nstock = 20\n"

    // MARK: - One broken file blocks nothing (#9.1)

    @Test("a typo in one medication file: the daemon keeps reminding and answering the others, and starts with it")
    func brokenFile() throws {
        let harness = try DaemonHarness(medications: [
            "interferon": DaemonTests.medication(first: 1, window: "1h", before: "[]", repeatEvery: "0", escalate: "1h"),
            "paracetamol": Self.paracetamol,
        ])
        defer { harness.remove() }
        try harness.start()
        // Given a running daemon and a dose due, when another file gets a typo
        try harness.write("paracetamol", Self.paracetamol + "bogus = 1\n")
        Thread.sleep(forTimeInterval: 1.5)
        // Then every command still works, with one warning naming the broken file
        for command in [["status"], ["list"], ["next"], ["history"], ["take", "interferon"]] {
            let outcome = try harness.dosectl(command)
            #expect(outcome.status == 0, "\(command): \(outcome.stderr)")
            let warnings = outcome.stderr.split(separator: "\n").filter { $0.contains("warning") }
            #expect(warnings.count == 1 && warnings[0].contains("paracetamol.toml"), "\(command): \(outcome.stderr)")
        }
        // The daemon keeps the paracetamol it loaded before (dosectl, which has no earlier
        // version, leaves it out until fixed)
        let status = try harness.client().call("status")["result"] as? [String: Any]
        #expect((status?["stock"] as? [[String: Any]])?.contains { $0["medication"] as? String == "paracetamol" && $0["stock"] as? Int == 20 } == true)
        // check still exits 1 with FILE:LINE:COLUMN
        let check = try harness.dosectl(["check"])
        #expect(check.status == 1 && check.stderr.contains("paracetamol.toml:3:1: unknown key 'bogus'"))
        // The reload method applies the rest and answers -32003 naming the file
        let reload = try harness.client().call("reload")
        let error = try #require(reload["error"] as? [String: Any])
        #expect(error["code"] as? Int == -32003 && (error["message"] as? String)?.contains("paracetamol.toml:3:1") == true)
        // After a restart with the broken file, dosed starts and reminds the valid medication
        harness.stop()
        try harness.write("interferon", DaemonTests.medication(first: 2, window: "1h", before: "[]", repeatEvery: "0", escalate: "1h"))
        try harness.start()
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["reminder"]])
        let reminder = try #require(subscriber.notification("reminder"))
        #expect((reminder["params"] as? [String: Any])?["medication"] as? String == "interferon")
        if journalAvailable {
            let entries = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "config-error" } }
            let error = try #require(entries.first { $0["DOSED_EVENT"] == "config-error" })
            #expect(error["DOSED_ERROR"]?.contains("paracetamol.toml:3:1") == true)
            #expect(error["PRIORITY"] == "3")
        }
    }

    // MARK: - Replies on half-close, as README shows (#9.2)

    @Test("socat with the README's examples prints every reply though it closes its sending side")
    func halfClose() throws {
        let harness = try DaemonHarness(medications: [
            "interferon": DaemonTests.medication(first: -5, window: "1h", before: "[]", repeatEvery: "0", escalate: "1h"),
        ])
        defer { harness.remove() }
        try harness.start()
        let status = try Self.socat(#"{"jsonrpc":"2.0","id":1,"method":"status"}"#, harness.socket)
        #expect(status.status == 0)
        #expect(status.stdout.contains(#""id":1"#) && status.stdout.contains(#""result""#), "\(status)")
        let take = try Self.socat(#"{"jsonrpc":"2.0","id":2,"method":"take","params":{"medication":"interferon"}}"#, harness.socket)
        #expect(take.stdout.contains(#""state":"taken""#), "\(take)")
        // Several lines, a last one without its newline: every one answered, in order.
        let many = try Self.socat("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"status\"}\n[1,2,]\n{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"status\"}",
                                  harness.socket, newline: false)
        let lines = many.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.count == 3 && lines[1].contains("-32700") && lines[2].contains(#""id":4"#))
    }

    static func socat(_ text: String, _ socket: String, newline: Bool = true) throws -> Outcome {
        let input = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("socat-\(UUID().uuidString)")
        try (text + (newline ? "\n" : "")).write(to: input, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        return try execute("/bin/sh", ["-c", "socat - UNIX-CONNECT:\(socket) < \(input.path)"])
    }

    // MARK: - anchor = "taken" (#9.3)

    @Test("anchor = taken: after a take, the daemon's status and upcoming say what dosectl next says")
    func anchor() throws {
        let text = """
            name = "Pump"
            [[schedule]]
            id = "hourly"
            every = "1h"
            first = \(DaemonHarness.local(-600))
            anchor = "taken"
            timezone = "UTC"
            """
        let harness = try DaemonHarness(medications: ["pump": text])
        defer { harness.remove() }
        try harness.start()
        let at = RFC3339.utc(Micros(Date().timeIntervalSince1970 - 300) * Civil.second)
        let take = try harness.dosectl(["take", "pump", "--at", at])
        #expect(take.status == 0, "\(take.stderr)")
        let next = try harness.dosectl(["next", "-n", "1", "--json"])
        let cli = try #require((try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [[String: Any]])?.first?["due"] as? String)
        let upcoming = try harness.client().call("upcoming", ["count": 1])
        let daemon = (upcoming["result"] as? [[String: Any]])?.first?["due"] as? String
        let status = try harness.client().call("status")
        let statusNext = ((status["result"] as? [String: Any])?["next"] as? [String: Any])?["due"] as? String
        #expect(cli == RFC3339.utc(RFC3339.parse(at)! + Civil.hour))
        #expect(daemon == cli)
        #expect(statusNext == cli)
    }

    // MARK: - Stock on hand (#9.4)

    @Test("stock on hand shows everywhere after a refill: stock, list, list --json, status")
    func stockOnHand() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600, stock: 4)])
        defer { harness.remove() }
        try harness.start()
        #expect(try harness.dosectl(["stock", "interferon", "--add", "10"]).stdout.contains("14 on hand"))
        #expect(try harness.dosectl(["stock", "interferon"]).stdout.contains("14 on hand"))
        #expect(try harness.dosectl(["list"]).stdout.contains("14 on hand"))
        let list = try harness.dosectl(["list", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(entries.first?["stock"] as? Int == 14)
        #expect(entries.first?["runs_out"] is String)
        let status = try harness.dosectl(["status", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect((object["stock"] as? [[String: Any]])?.first?["stock"] as? Int == 14)
        // Ranges are checked before arithmetic, with the range in the message (exit 2).
        for bad in [["--add", "-100"], ["--set", "9223372036854775807"], ["--add", "0"]] {
            let outcome = try harness.dosectl(["stock", "interferon"] + bad)
            #expect(outcome.status == 2 && outcome.stderr.contains("1000000"), "\(bad): \(outcome.stderr)")
        }
        let huge = try harness.client().call("stock", ["medication": "interferon", "add": 8_999_999_999_999_999])
        #expect((huge["error"] as? [String: Any])?["code"] as? Int == -32602)
        #expect(try harness.client().call("status")["result"] != nil)
    }

    // MARK: - Snooze in a short window (#9.5)

    @Test("snooze in a 90 s window: the reply says snoozed, and dosectl says why it was shortened")
    func snoozeShortWindow() throws {
        let harness = try DaemonHarness(medications: [
            "demo": DaemonTests.medication(first: 1, window: "90s", before: "[]", repeatEvery: "1m", escalate: "1h").replacingOccurrences(of: "interferon", with: "demo"),
        ])
        defer { harness.remove() }
        try harness.start()
        Thread.sleep(forTimeInterval: 1.5)
        let reply = try harness.client().call("snooze", ["medication": "demo", "for": "10s"])
        let dose = try #require(reply["result"] as? [String: Any], "\(reply)")
        #expect(dose["state"] as? String == "snoozed")
        let long = try harness.dosectl(["snooze", "demo", "1h"])
        #expect(long.status == 0, "\(long.stderr)")
        #expect(long.stdout.contains("not 1h — the window closes at"), "\(long.stdout)")
        // A snooze the size of a millennium is a clear error, never a dead daemon.
        let huge = try harness.client().call("snooze", ["medication": "demo", "for": "1000000000w"])
        let hugeError = try #require(huge["error"] as? [String: Any], "\(huge)")
        #expect(hugeError["code"] as? Int == -32602)
        #expect((hugeError["message"] as? String)?.contains("the longest allowed is 3650d") == true, "\(hugeError)")
        let hugeCLI = try harness.dosectl(["snooze", "demo", "1000000000w"])
        #expect(hugeCLI.status == 2 && hugeCLI.stderr.contains("the longest allowed is 3650d"), "\(hugeCLI.stderr)")
        #expect(try harness.client().call("status")["result"] != nil)
    }

    // MARK: - History right after an early take (#9.6)

    @Test("a dose taken early appears in history at once")
    func earlyTake() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 600, window: "1h")])
        defer { harness.remove() }
        let take = try harness.dosectl(["take", "interferon"])
        #expect(take.status == 0, "\(take.stderr)")
        let history = try harness.dosectl(["history", "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])
        #expect(rows.contains { $0["state"] as? String == "taken" && ($0["id"] as? String)?.hasPrefix("interferon/evening@") == true })
    }

    // MARK: - CLI edges (#9.9)

    @Test("--version on both programs; negative numbers are range errors; help names the program; dosed --help is argument-parser's")
    func cliEdges() throws {
        #expect(try execute("dosectl", ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == dosedVersionText)
        #expect(try execute("dosed", ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == dosedVersionText)
        let help = try execute("dosed", ["--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: dosed") && help.stdout.contains("--config"))
        // A subcommand's help names the program, however the arguments are parsed (its usage
        // line read "USAGE: next" once subcommands were parsed on their own first).
        for (arguments, usage) in [(["next", "--help"], "USAGE: dosectl next "), (["help", "take"], "USAGE: dosectl take "),
                                   (["med", "add", "--help"], "USAGE: dosectl med add ")] {
            let subcommandHelp = try dosectl(arguments)
            #expect(subcommandHelp.status == 0 && subcommandHelp.stdout.contains(usage), "\(arguments): \(subcommandHelp.stdout)")
        }
        let completion = try dosectl(["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.stdout.contains("next"))
        let dir = try ConfigDir(["medications/tablet.toml": "name = \"T\"\n[[schedule]]\nid = \"a\"\non = \"daily\"\n"])
        defer { dir.remove() }
        let negative = try dosectl(["next", "-n", "-3", "--config", dir.path])
        #expect(negative.status == 2 && negative.stderr.contains("-n must be 0 to 100000, not -3"), "\(negative.stderr)")
        // Year 0 east of UTC is before 1970 in UTC (dosectl trapped formatting it): a usage error naming the years.
        for arguments in [["history", "--since", "0000-01-01"], ["take", "tablet", "--at", "0000-01-01"], ["next", "--from", "2200-01-02"]] {
            let year = try dosectl(arguments + ["--config", dir.path, "--state", dir.url.appendingPathComponent("state").path],
                                   environment: ["TZ": "Pacific/Chatham"])
            #expect(year.status == 2 && year.stderr.contains("from 1970 to 2199"), "\(arguments): \(year.stderr)")
        }
        let unterminated = try ConfigDir(["medications/t.toml": "name = \"T\n"])
        defer { unterminated.remove() }
        let check = try dosectl(["check", "--config", unterminated.path])
        #expect(check.status == 1 && check.stderr.contains("t.toml:1:8: unterminated string"), "\(check.stderr)")
    }

    // MARK: - Crashes and freezes from the socket (#10)

    @Test("batches are bounded and answered between reminders; upcoming is bounded; invalid JSON is -32700")
    func boundedWork() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        let request = #"{"jsonrpc":"2.0","id":1,"method":"upcoming","params":{"count":1000}}"#
        client.sendLine("[" + Array(repeating: request, count: 101).joined(separator: ",") + "]")
        let tooMany = try #require(client.readJSON())
        #expect((tooMany["error"] as? [String: Any])?["code"] as? Int == -32602)
        #expect(((tooMany["error"] as? [String: Any])?["message"] as? String)?.contains("100") == true)
        let big = try client.call("upcoming", ["count": 1001])
        #expect((big["error"] as? [String: Any])?["code"] as? Int == -32602)
        // A full reply of 1000 doses (well over the notification limit) arrives whole.
        let full = try client.call("upcoming", ["count": 1000])
        #expect((full["result"] as? [Any])?.count == 1000)
        for invalid in ["[1,2,]", #"{"jsonrpc":"2.0","id":1,"method":"status",}"#, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["] {
            client.sendLine(invalid)
            #expect(((client.readJSON()?["error"] as? [String: Any])?["code"] as? Int) == -32700, "\(invalid)")
        }
        // A take 'at' year 0 east of UTC (before 1970 in UTC) is refused with the years allowed, never a trap.
        let yearZero = try client.call("take", ["medication": "interferon", "at": "0000-01-01T00:00:00+14:00"])
        let refusal = try #require(yearZero["error"] as? [String: Any], "\(yearZero)")
        #expect(refusal["code"] as? Int == -32602 && (refusal["message"] as? String)?.contains("from 1970 to 2199") == true, "\(refusal)")
        #expect(try client.call("status")["result"] != nil)
    }

    @Test("2,000 pipelined takes read late: every one is answered, none recorded twice")
    func pipelinedTakes() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600, stock: 100_000)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        let writer = DispatchQueue(label: "writer")
        writer.async {
            for id in 1...2000 {
                client.sendLine(#"{"jsonrpc":"2.0","id":\#(id),"method":"take","params":{"medication":"interferon"}}"#)
            }
        }
        Thread.sleep(forTimeInterval: 3)
        var ids: Set<Int> = []
        while ids.count < 2000, let reply = client.readJSON() {
            if reply["result"] != nil, let id = reply["id"] as? Int { ids.insert(id) }
        }
        #expect(ids.count == 2000)
        let history = try harness.dosectl(["history", "--json", "--since", "1d"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])
        #expect(rows.filter { $0["state"] as? String == "taken" }.count == 2000)
    }

    @Test("a journald that stalls (stopped, its socket's queue full) holds up no reminder: the subscriber gets each repeat on time, and the journal gets them once journald goes on",
          .enabled(if: ProcessInfo.processInfo.environment["DOSED_TEST_JOURNALD_PID"] != nil))
    func journaldStalls() throws {
        // The tests' own journald (scripts/with-journald.sh), never the machine's.
        let journald = try #require(ProcessInfo.processInfo.environment["DOSED_TEST_JOURNALD_PID"].flatMap { pid_t($0) })
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 1, window: "60s", repeatEvery: "1s", escalate: "60s")])
        defer { harness.remove() }
        try harness.start()
        let subscriber = try #require(RPCClient(path: harness.socket, timeout: 3))
        _ = try subscriber.call("subscribe", ["events": ["reminder"]])
        #expect(subscriber.notification("reminder") != nil)
        #expect(kill(journald, SIGSTOP) == 0)
        var stopped = true
        defer { if stopped { kill(journald, SIGCONT) } }
        // Another process fills journald's socket queue (net.unix.max_dgram_qlen datagrams),
        // then waits in its next send, as dosed's sends would.
        let limit = (try? String(contentsOfFile: "/proc/sys/net/unix/max_dgram_qlen", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 512
        let flooder = Process()
        flooder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        flooder.arguments = ["-c", """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            for _ in range(int(sys.argv[1])): s.sendto(b"MESSAGE=flood\\n", "/run/systemd/journal/socket")
            """, "\(limit + 20)"]
        try launch(flooder)
        Thread.sleep(forTimeInterval: 1)
        // A repeat a second while journald is stalled: each still reaches the subscriber.
        let start = Date()
        var repeats = 0
        while repeats < 4, subscriber.notification("reminder") != nil { repeats += 1 }
        #expect(repeats == 4 && Date().timeIntervalSince(start) < 6, "\(repeats) repeats in \(Date().timeIntervalSince(start)) s")
        #expect(flooder.isRunning, "the flood did not fill journald's queue")
        kill(journald, SIGCONT)
        stopped = false
        flooder.waitUntilExit()
        // What dosed told meanwhile reaches the journal, in order, once journald goes on.
        let entries = try harness.journal { $0.filter { $0["DOSED_EVENT"] == "reminder" }.count >= 6 }
        #expect(entries.filter { $0["DOSED_EVENT"] == "reminder" }.count >= 6)
    }

    @Test("the socket file removed, or its directory, is served again at once: new clients and dosectl reach dosed, clients already connected stay")
    func socketRemoved() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        let connected = try harness.client()
        #expect(unlink(harness.socket) == 0)
        #expect(answersStatus(harness.socket, within: 2))
        #expect(try connected.call("status")["result"] != nil, "a client connected before is still served")
        let take = try harness.dosectl(["take", "interferon"])
        #expect(take.status == 0 && take.stdout.hasPrefix("taken: Interferon alfa"), "\(take)")
        #expect(harness.stderrText().contains("]: the socket \(harness.socket) was removed: serving it again\n"), "\(harness.stderrText())")
        harness.stop()
        // In a directory of its own (as $XDG_RUNTIME_DIR/dosed/dosed.sock), the directory removed.
        let directory = harness.root.appendingPathComponent("run/dosed").path
        let socket = directory + "/dosed.sock"
        let dosed = Process()
        dosed.executableURL = product("dosed")
        dosed.arguments = ["--config", harness.config.path, "--state", harness.state.path, "--socket", socket]
        dosed.environment = ["PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": harness.root.path]
        dosed.standardError = FileHandle.nullDevice
        try launch(dosed)
        defer { dosed.terminate(); dosed.waitUntilExit() }
        #expect(answersStatus(socket, within: 2))
        try FileManager.default.removeItem(atPath: directory)
        #expect(answersStatus(socket, within: 2))
        var status = stat()
        #expect(stat(directory, &status) == 0 && status.st_mode & 0o777 == 0o700)
        #expect(stat(socket, &status) == 0 && status.st_mode & 0o777 == 0o600)
        // And again: the new directory is watched too.
        try FileManager.default.removeItem(atPath: socket)
        #expect(answersStatus(socket, within: 2))
    }

    @Test("socket setup problems are one clear line and exit 1, never a trap")
    func socketSetup() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        // dosed's own lines on stderr look like its reminders there: as journalctl prints them.
        // (It is written once the socket serves, so wait for it.)
        func startedLine() -> Substring? { harness.stderrText().split(separator: "\n").first { $0.contains("dosed started") } }
        for _ in 0..<100 where startedLine() == nil { Thread.sleep(forTimeInterval: 0.05) }
        let started = try #require(startedLine(), "\(harness.stderrText())")
        #expect(started.wholeMatch(of: /[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d dosed\[\d+\]: dosed started: 1 schedule\(s\), socket .+/) != nil, "\(started)")
        // A second dosed on the same socket (with a history of its own: on the same history it
        // stops before, answerBehindDaemon).
        let base = ["--config", harness.config.path, "--state", harness.root.appendingPathComponent("other-state").path]
        let second = try execute("dosed", base + ["--socket", harness.socket])
        #expect(second.status == 1 && second.stderr == "dosed: another dosed is already serving \(harness.socket)\n", "\(second.stderr)")
        let long = "/tmp/" + String(repeating: "x", count: 120) + ".sock"
        let dangling = harness.root.appendingPathComponent("dangling.sock").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "/nonexistent/target.sock")
        let expected = [
            "/proc/x.sock": "dosed: cannot serve /proc/x.sock: No such file or directory\n",
            long: "dosed: cannot serve \(long): the path is 130 bytes, and a socket path has at most 107\n",
            dangling: "dosed: cannot serve \(dangling): a symbolic link is there; remove it, or choose another path with --socket\n",
        ]
        for (socket, message) in expected {
            let outcome = try execute("dosed", base + ["--socket", socket])
            #expect(outcome.status == 1, "\(socket): \(outcome.status) \(outcome.stderr)")
            #expect(outcome.stderr == message)
        }
        // The planted link is left as it was, not followed or replaced.
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dangling) == "/nonexistent/target.sock")
    }

    @Test("dosectl never answers behind a running dosed's back: with its socket out of reach, take exits 3 and records nothing; a second dosed on the same history exits 1; once dosed stops, dosectl answers directly")
    func answerBehindDaemon() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 1, window: "60s", repeatEvery: "30s", escalate: "60s")])
        defer { harness.remove() }
        try harness.start()
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["reminder"]])
        let dose = try #require((subscriber.notification("reminder")?["params"] as? [String: Any])?["id"] as? String)
        // dosectl started with another socket (or the daemon's socket removed) finds no daemon.
        let elsewhere = ["--config", harness.config.path, "--state", harness.state.path, "--socket", harness.root.appendingPathComponent("elsewhere.sock").path]
        let history = harness.state.path + "/history.sqlite"
        for command in [["take", "interferon"], ["skip", dose], ["stock", "interferon", "--add", "5"]] {
            let refused = try execute("dosectl", command + elsewhere)
            #expect(refused.status == 3, "\(command): \(refused)")
            #expect(refused.stderr == "dosectl \(command[0]): dosed runs on the history \(history) but does not answer at \(elsewhere[5]) "
                    + "(started with another --socket or DOSED_SOCKET, or its socket was removed: restart it); nothing was recorded\n", "\(refused.stderr)")
        }
        #expect(try execute("dosectl", ["note", "fever"] + elsewhere).status == 0)
        // The daemon still holds the dose open, and nothing else was recorded.
        let status = try #require(try harness.client().call("status")["result"] as? [String: Any])
        #expect((status["due"] as? [[String: Any]])?.first?["id"] as? String == dose, "\(status)")
        let listed = try harness.dosectl(["history", "--json"])
        #expect(!listed.stdout.contains("\"state\":\"taken\"") && !listed.stdout.contains("\"state\":\"skipped\""), "\(listed.stdout)")
        #expect((status["stock"] as? [[String: Any]])?.first?["stock"] as? Int == 10, "\(status)")
        // A second dosed on this history (another socket): one daemon reminds, not two.
        let second = try execute("dosed", elsewhere)
        #expect(second.status == 1 && second.stderr == "dosed: another dosed is already running on the history \(history)\n", "\(second.stderr)")
        // No dosed: dosectl answers in the history itself.
        harness.stop()
        let direct = try execute("dosectl", ["take", dose] + elsewhere)
        #expect(direct.status == 0, "\(direct)")
        try harness.start()
        let after = try #require(try harness.client().call("status")["result"] as? [String: Any])
        #expect((after["due"] as? [[String: Any]])?.isEmpty == true, "\(after)")
    }

    @Test("ids are checked before any path: med remove ../../victim touches nothing")
    func pathTraversal() throws {
        let dir = try ConfigDir(["medications/tablet.toml": "name = \"T\"\n"])
        defer { dir.remove() }
        let victim = dir.url.deletingLastPathComponent().appendingPathComponent("victim-\(UUID().uuidString.prefix(6)).toml")
        try "name = \"Victim\"\n".write(to: victim, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: victim) }
        let relative = "../../" + victim.deletingPathExtension().lastPathComponent
        for command in [["med", "remove", relative], ["med", "edit", relative, "--stock", "5"], ["stock", relative, "--set", "1"]] {
            let outcome = try dosectl(command + ["--config", dir.path, "--state", dir.path + "/state"])
            #expect(outcome.status == 2, "\(command): \(outcome.stderr)")
        }
        #expect(try String(contentsOf: victim, encoding: .utf8) == "name = \"Victim\"\n")
    }
}

extension RobustnessEndToEndTests {
    // MARK: - Files (#10.7)

    @Test("history files are 0600 whatever the umask; a symlink at the history path is refused; stale temporaries go; the WAL stays small")
    func files() throws {
        let dir = try ConfigDir(["medications/tablet.toml": "name = \"T\"\nstock = 5\n"])
        defer { dir.remove() }
        let state = dir.path + "/state"
        // Given umask 000, when dosectl creates the history
        let made = try execute("/bin/sh", ["-c", "umask 000; exec \(product("dosectl").path) take tablet --config \(dir.path) --state \(state)"])
        #expect(made.status == 0, "\(made.stderr)")
        for suffix in ["", "-wal", "-shm"] {
            var info = stat()
            if stat(state + "/history.sqlite" + suffix, &info) == 0 {
                #expect(info.st_mode & 0o777 == 0o600, "history.sqlite\(suffix): \(String(info.st_mode & 0o777, radix: 8))")
            }
        }
        // A symlink planted at the history path is refused, its target untouched
        let planted = dir.path + "/planted"
        try FileManager.default.createDirectory(atPath: planted, withIntermediateDirectories: true)
        let target = dir.path + "/precious"
        try "precious".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: planted + "/history.sqlite", withDestinationPath: target)
        let refused = try dosectl(["take", "tablet", "--config", dir.path, "--state", planted])
        #expect(refused.status == 1 && refused.stderr.contains("symbolic link"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious")
        // A temporary left by a killed edit (its process is gone) is removed by the next edit
        let stale = dir.path + "/medications/.tablet.toml.999999.tmp"
        try "half".write(toFile: stale, atomically: false, encoding: .utf8)
        #expect(try dosectl(["med", "edit", "tablet", "--dose", "1 tablet", "--config", dir.path, "--state", state]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    @Test("the WAL stays small under many answers")
    func smallWAL() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600, stock: 100_000)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        for _ in 0..<1500 { _ = try client.call("take", ["medication": "interferon", "note": String(repeating: "n", count: 500)]) }
        var info = stat()
        #expect(stat(harness.state.path + "/history.sqlite-wal", &info) == 0)
        #expect(info.st_size < 1_000_000, "WAL of \(info.st_size) bytes")
    }

    // MARK: - Stop (#10.8)

    @Test("SIGTERM: queued requests are answered or the client closed, hooks are ended, last-alive recorded, exit 0")
    func gracefulStop() throws {
        let pgidFile = FileManager.default.temporaryDirectory.appendingPathComponent("hook-pgid-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: pgidFile) }
        let hooks = "[hooks]\non_due = 'ps -o pgid= $$ > \(pgidFile.path); sleep 60 & sleep 60'\n"
        // Due 3 s after the files are written: after the daemon's start even on a busy machine
        // (a dose due before a very first start is not caught up, so it would run no hook).
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3, window: "1h", before: "[]")], main: hooks)
        defer { harness.remove() }
        try harness.start()
        for _ in 0..<150 where !FileManager.default.fileExists(atPath: pgidFile.path) { Thread.sleep(forTimeInterval: 0.1) }
        Thread.sleep(forTimeInterval: 0.2)
        let pgid = try #require(Int32((try? String(contentsOf: pgidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(kill(-pgid, 0) == 0)
        let client = try harness.client()
        for id in 1...20 { client.sendLine(#"{"jsonrpc":"2.0","id":\#(id),"method":"status"}"#) }
        let before = Int64(Date().timeIntervalSince1970 * 1_000_000)
        kill(harness.pid, SIGTERM)
        var lines: [String] = []
        while let line = client.readLine() { lines.append(line) }
        // Every line that came is a whole reply to one of the requests, and the stream ends
        // (closed by dosed), never hangs until the read times out.
        let ids = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? Int }
        #expect(ids.count == lines.count && ids.allSatisfy { (1...20).contains($0) }, "\(lines)")
        #expect(Int64(Date().timeIntervalSince1970 * 1_000_000) - before < 9_000_000, "the connection was not closed")
        harness.process?.waitUntilExit()
        #expect(harness.process?.terminationStatus == 0)
        // The group's processes die at once; give their reaping a moment.
        for _ in 0..<30 where kill(-pgid, 0) == 0 { Thread.sleep(forTimeInterval: 0.1) }
        #expect(kill(-pgid, 0) != 0, "the hook's process group outlived dosed")
        let alive = try HistoryStore(path: harness.state.path + "/history.sqlite").lastAlive()
        #expect((alive ?? 0) >= before)
    }

    @Test("SIGHUP reloads the configuration (what systemctl reload sends), twice in a row as well")
    func reloadOnSIGHUP() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        _ = try client.call("subscribe", ["events": ["config-loaded"]])
        for _ in 0..<2 {
            kill(harness.pid, SIGHUP)
            #expect(client.notification("config-loaded") != nil)
        }
        _ = try harness.client().call("status")  // still serving: the call throws otherwise
    }

    @Test("SIGTERM while dosed starts (its socket just made) or right after its first answer: a graceful stop, exit 0, every time")
    func stopWhileStarting() throws {
        // Enough schedules that arming them takes dosed a while after its socket is made.
        var medications = ["interferon": DaemonTests.medication(first: 3600, window: "1h", before: "[]")]
        for index in 0..<2000 {
            medications["m\(index)"] = "name = \"M\"\n[[schedule]]\nid = \"a\"\non = \"*-*-* *:\(index % 60):00\"\n"
        }
        let harness = try DaemonHarness(medications: medications)
        defer { harness.remove() }
        for round in 0..<6 {
            // As systemd starts it: no signal blocked (the test runner blocks SIGTERM, and a
            // Process would pass that on).
            let pid = try harness.spawnAsService()
            var status: Int32?
            defer { if status == nil { kill(pid, SIGKILL); _ = waitForExit(pid, within: 10) } }
            if round % 2 == 0 {
                for _ in 0..<5000 where access(harness.socket, F_OK) != 0 { usleep(1000) }
            } else {
                _ = answersStatus(harness.socket, within: 5)
            }
            kill(pid, SIGTERM)
            status = waitForExit(pid, within: 10)
            #expect(status != nil, "round \(round): SIGTERM was lost, dosed still runs after 10 s")
            if let status { #expect(exitedWithZero(status), "round \(round): wait status \(status)") }
        }
    }
}

/// `0.1.0`: what `--version` prints.
let dosedVersionText = "0.1.0"

extension RobustnessEndToEndTests {
    @Test("the example config follows the system's zone; a huge window is a usage error, not a crash")
    func exampleZoneAndHugeDurations() throws {
        let check = try dosectl(["check", "--config", packageRoot.appendingPathComponent("config").path], environment: ["TZ": "America/New_York"])
        #expect(check.status == 0 && check.stdout.contains("zone America/New_York"), "\(check.stdout)")
        let dir = try ConfigDir(["medications/tablet.toml": "name = \"T\"\n[[schedule]]\nid = \"a\"\non = \"daily\"\n"])
        defer { dir.remove() }
        let edit = try dosectl(["schedule", "edit", "tablet/a", "--window", "1000000000w", "--config", dir.path])
        #expect(edit.status == 2 && edit.stderr.contains("3650d"), "\(edit.stderr)")
    }
}

extension RobustnessEndToEndTests {
    @Test("output dosectl cannot write (a full disk) ends it with exit 1 and the reason, never a crash")
    func outputToFullDisk() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("dosed-full-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        let flags = ["--config", packageRoot.appendingPathComponent("config").path, "--state", state.path,
                     "--socket", state.appendingPathComponent("none.sock").path]
        // A line, a calendar file, a JSON listing, a table: each way dosectl writes.
        for arguments in [["next", "-n", "3"], ["next", "-n", "3", "--ics"], ["history", "--json"], ["list"]] {
            let process = Process()
            process.executableURL = product("dosectl")
            process.arguments = arguments + flags
            process.environment = ["PATH": "/usr/bin:/bin", "HOME": state.path, "TZ": "UTC"]
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
            let err = Pipe()
            process.standardError = err
            try launch(process)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 1,
                    "\(arguments): \(process.terminationReason) \(process.terminationStatus)")
            #expect(stderr == "dosectl: cannot write the output: No space left on device\n", "\(arguments): \(stderr)")
        }
    }

    @Test("dosed whose stderr cannot be written (a full disk, a pipe its reader closed) serves on and stops cleanly")
    func stderrUnwritable() throws {
        let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600, window: "1h", before: "[]")])
        defer { harness.remove() }
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        var ends: [Int32] = [0, 0]
        #expect(full >= 0 && pipe(&ends) == 0)
        close(ends[0])  // nobody reads: a write gets EPIPE (and SIGPIPE, at its default action)
        defer { close(full); close(ends[1]) }
        for (name, stderr) in [("/dev/full", full), ("a closed pipe", ends[1])] {
            // Spawned as systemd does: every signal at its default action.
            let pid = try harness.spawnAsService(stderr: stderr)
            var status: Int32?
            defer { if status == nil { kill(pid, SIGKILL); _ = waitForExit(pid, within: 10) } }
            // It logs as it starts, and again on a reload (SIGHUP): each line fails to be written.
            #expect(answersStatus(harness.socket, within: 5), "\(name): dosed did not serve")
            kill(pid, SIGHUP)
            let take = try harness.client().call("take", ["medication": "interferon"])
            #expect((take["result"] as? [String: Any])?["state"] as? String == "taken", "\(name): \(take)")
            kill(pid, SIGTERM)
            status = waitForExit(pid, within: 10)
            #expect(status.map(exitedWithZero) == true, "\(name): wait status \(String(describing: status))")
        }
    }
}

extension RobustnessEndToEndTests {
    @Test("a history SQLite cannot read (not a database, or damaged) is kept aside under a new name and a new one started: dosed reminds and records on")
    func damagedHistory() throws {
        let damages: [(String, (Data) -> Data)] = [
            ("random bytes", { _ in Data((0..<8192).map { _ in UInt8.random(in: 0...255) }) }),
            ("not a database, a text file", { _ in Data("my notes\n".utf8) }),
            // The header stays; the rest of the first page (the schema) is overwritten.
            ("a damaged schema page", { data in data.prefix(100) + Data(repeating: 0xA5, count: 4096 - 100) + data.dropFirst(4096) }),
        ]
        for (name, damage) in damages {
            let harness = try DaemonHarness(medications: ["interferon": DaemonTests.medication(first: 3600, window: "1h", before: "[]")])
            defer { harness.stop(); harness.remove() }
            // A real history first (dosed made it), then damaged.
            try harness.start()
            harness.stop()
            let history = harness.state.appendingPathComponent("history.sqlite")
            // Without its WAL (which holds every page written since the last checkpoint, and
            // would stand in for the damaged file's).
            for suffix in ["-wal", "-shm"] { unlink(history.path + suffix) }
            let damaged = damage(try Data(contentsOf: history))
            try damaged.write(to: history)
            try harness.start()  // throws when dosed does not serve
            let take = try harness.client().call("take", ["medication": "interferon"])
            #expect((take["result"] as? [String: Any])?["state"] as? String == "taken", "\(name): \(take)")
            let kept = try FileManager.default.contentsOfDirectory(atPath: harness.state.path)
                .filter { $0.hasPrefix("history.sqlite.damaged-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
            #expect(kept.count == 1, "\(name): \(kept)")
            if let file = kept.first {
                #expect(try Data(contentsOf: harness.state.appendingPathComponent(file)) == damaged, "\(name): kept as it was")
                #expect(harness.stderrText().contains("the file is kept as \(harness.state.appendingPathComponent(file).path), and a new history starts now"), "\(name): \(harness.stderrText())")
            }
            harness.stop()
            // The new history holds the take; dosectl reads it.
            let listed = try dosectl(["history", "--json"] + harness.flags)
            #expect(listed.status == 0 && listed.stdout.contains(#""state":"taken""#), "\(name): \(listed.stdout) \(listed.stderr)")
        }
    }
}

