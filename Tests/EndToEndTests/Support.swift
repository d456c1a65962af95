import Foundation
import DoseCore
import Testing

/// The package's root, from this file's place in it.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A built executable of the package (`make test` builds them before testing); with
/// `DOSED_PRODUCTS=DIR`, the one in DIR (to test the binaries a release ships, e.g. the static
/// ones of `make release`).
func product(_ name: String) -> URL {
    let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let chosen = ProcessInfo.processInfo.environment["DOSED_PRODUCTS"].map { [URL(fileURLWithPath: $0)] } ?? []
    for directory in chosen + [testBinary.deletingLastPathComponent(), packageRoot.appendingPathComponent(".build/debug")] {
        let candidate = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return packageRoot.appendingPathComponent(".build/debug/\(name)")
}

/// Foundation's Process can fail with EBADF when several threads launch processes at once:
/// tests launch one at a time.
private let launching = NSLock()

/// Starts `process`, one launch at a time.
func launch(_ process: Process) throws {
    launching.lock()
    defer { launching.unlock() }
    try process.run()
}

/// Starts `path` with `arguments` and `environment`, no signal blocked and every signal at its
/// default action, stdin, stdout and stderr on /dev/null (stderr on the descriptor `stderr` when
/// given): as systemd starts a service. The caller waits for it (`waitpid`).
func spawnUnblocked(_ path: String, _ arguments: [String], environment: [String], stderr: Int32? = nil) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard result == 0 else { throw HarnessError(message: "posix_spawn \(path): \(String(cString: strerror(result)))") }
    return pid
}

/// Waits up to `seconds` for `pid` to end: its wait status, or nil while it still runs.
func waitForExit(_ pid: pid_t, within seconds: Double) -> Int32? {
    var status: Int32 = 0
    for _ in 0..<Int(seconds * 100) {
        if waitpid(pid, &status, WNOHANG) == pid { return status }
        usleep(10000)
    }
    return nil
}

/// Whether a wait status says the process exited by itself, with 0 (WIFEXITED, WEXITSTATUS).
func exitedWithZero(_ status: Int32) -> Bool {
    status & 0x7f == 0 && (status >> 8) & 0xff == 0
}

/// Calls `status` on `socket` until dosed answers, for up to `seconds`: whether it did.
func answersStatus(_ socket: String, within seconds: Double) -> Bool {
    for _ in 0..<Int(seconds * 100) {
        if (try? RPCClient(path: socket)?.call("status")) != nil { return true }
        usleep(10000)
    }
    return false
}

/// What a finished process printed and returned.
struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `dosectl` with `arguments`, in a clean environment plus `environment`.
func dosectl(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
    try execute("dosectl", arguments, environment: environment)
}

/// Runs a product of the package with `arguments`, in a clean environment plus `environment`.
/// A process still running after `timeout` seconds is killed (its outcome says so): a command
/// that should end but serves on fails its test instead of hanging the run.
func execute(_ name: String, _ arguments: [String], environment: [String: String] = [:],
             timeout: Double = 120) throws -> Outcome {
    let process = Process()
    process.executableURL = name.hasPrefix("/") ? URL(fileURLWithPath: name) : product(name)
    process.arguments = arguments
    var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "TZ": "Europe/London"]
    env.merge(environment) { $1 }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try launch(process)
    let pid = process.processIdentifier
    nonisolated(unsafe) var killed = false
    let deadline = DispatchWorkItem {
        if process.isRunning { killed = true; kill(pid, SIGKILL) }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
    defer { deadline.cancel() }
    // Read both pipes while the process runs, so a large output never blocks it.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    deadline.cancel()
    return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self) + (killed ? "\n(killed: still running after \(timeout) s)" : ""))
}

/// A temporary config dir with `files` (relative path → text), removed by `remove()`.
struct ConfigDir {
    let url: URL
    var path: String { url.path }

    init(_ files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dosed-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("medications"), withIntermediateDirectories: true)
        for (name, text) in files {
            try replaceFile(url.appendingPathComponent(name), with: text)
        }
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Instants from RFC 3339 text, for readable tests.
func at(_ text: String) -> Int64 { RFC3339.parse(text)! }

/// Writes `text` to a hidden file beside `url` and renames it over `url`: a watcher never sees a
/// half-written file. (Foundation's `atomically: true` leaves a `/tmp/TemporaryDirectory.*`
/// behind on every write on Linux.)
func replaceFile(_ url: URL, with text: String) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    try text.write(to: temporary, atomically: false, encoding: .utf8)
    guard rename(temporary.path, url.path) == 0 else {
        throw HarnessError(message: "cannot rename \(temporary.path) to \(url.path)")
    }
}
