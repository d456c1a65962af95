import CSystemd
import Foundation

/// The service manager's notification protocol (`sd_notify`, SPEC 7): READY, STATUS, RELOADING,
/// STOPPING and WATCHDOG. Without `NOTIFY_SOCKET` every call does nothing.
public struct Notifier: Sendable {
    public init() {}

    /// Sends `NAME=value` lines; false when there is no service manager to tell.
    @discardableResult
    public func notify(_ fields: [(String, String)]) -> Bool {
        let text = fields.map { "\($0.0)=\($0.1)" }.joined(separator: "\n")
        return sd_notify(0, text) > 0
    }

    public func ready(status: String) { notify([("READY", "1"), ("STATUS", status)]) }
    public func status(_ text: String) { notify([("STATUS", text)]) }
    public func stopping() { notify([("STOPPING", "1"), ("STATUS", "Stopping")]) }
    public func watchdog() { notify([("WATCHDOG", "1")]) }

    /// `RELOADING=1` with the monotonic time systemd 253+ expects alongside it.
    public func reloading() {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        notify([("RELOADING", "1"), ("MONOTONIC_USEC", String(Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec / 1000)))])
    }

    /// The watchdog interval (`WATCHDOG_USEC`, for this process), or nil when none is set.
    public var watchdogInterval: UInt64? {
        var usec: UInt64 = 0
        return sd_watchdog_enabled(0, &usec) > 0 && usec > 0 ? usec : nil
    }

    /// The first listening socket systemd passed (`LISTEN_FDS`, `LISTEN_PID`), if any.
    public static func listeningSocket() -> Int32? {
        let count = sd_listen_fds(1)
        guard count >= 1 else { return nil }
        return SD_LISTEN_FDS_START
    }
}
