import CSystemd
import Foundation

/// Calls back when the wall clock is set (a jump either way), via a timerfd armed with
/// `TFD_TIMER_CANCEL_ON_SET`: no polling, the kernel tells.
final class ClockWatcher: @unchecked Sendable {
    private let fd: Int32
    private let source: any DispatchSourceRead

    init?(queue: DispatchQueue, changed: @escaping @Sendable () -> Void) {
        fd = timerfd_create(CLOCK_REALTIME, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard fd >= 0 else { return nil }
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        let fd = self.fd
        source.setEventHandler {
            var expirations: UInt64 = 0
            let result = read(fd, &expirations, 8)
            if result < 0 && errno == ECANCELED {
                Self.arm(fd)
                changed()
            }
        }
        source.setCancelHandler { close(fd) }
        Self.arm(fd)
        source.resume()
    }

    /// Arms the timer far in the future; setting the clock cancels it, which wakes the source.
    private static func arm(_ fd: Int32) {
        var spec = itimerspec()
        spec.it_value.tv_sec = Int(Int32.max)
        _ = timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET), &spec, nil)
    }
}

/// Calls back (once per burst) when files in the config dir or its `medications/` change, or
/// when the system's zone changes (`/etc/localtime` or `/etc/timezone` replaced). A config dir
/// or `medications/` replaced whole (a new one renamed into place, as dotfile managers and
/// checkouts do) is followed: the watches are set again on whatever the paths name after each
/// change, and the config dir's own name is watched in its parent.
final class ConfigWatcher: @unchecked Sendable {
    private let fd: Int32
    private let source: any DispatchSourceRead
    private let directory: String
    private var pending = false
    /// Watches whose events count only for some names (/etc's: the zone's files; the parent
    /// dir's: the config dir's own name). Events of the other watches all count.
    private var only: [Int32: Set<String>] = [:]
    /// The watch of the config dir and of its `medications/`, by path.
    private var watched: [String: Int32] = [:]
    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)

    init?(directory: String, queue: DispatchQueue, changed: @escaping @Sendable () -> Void) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.directory = directory
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        watchDirectories()
        guard watched[directory] != nil else {
            close(fd)
            return nil
        }
        let path = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        if let slash = path.lastIndex(of: "/") {
            let parent = slash == path.startIndex ? "/" : String(path[..<slash])
            // Only its entry: files written in the parent (~/.config) never wake dosed.
            watchNames(in: parent, [String(path[path.index(after: slash)...])],
                       mask: UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE))
        }
        watchNames(in: "/etc", ["localtime", "timezone"], mask: UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE))
        let fd = self.fd
        source.setEventHandler { [weak self] in
            guard let self else { return }
            guard self.matters(InotifyEvent.drain(fd)) else { return }
            self.watchDirectories()
            // Editors write several events per save: reload once, a moment later.
            guard !self.pending else { return }
            self.pending = true
            queue.asyncAfter(deadline: .now() + .milliseconds(200)) {
                self.pending = false
                changed()
            }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
    }

    /// Whether inotify events touch the config, or the zone's files in /etc.
    private func matters(_ events: [InotifyEvent]) -> Bool {
        events.contains { event in only[event.wd].map { $0.contains(event.name) } ?? true }
    }

    /// Watches the config dir and its `medications/`, as the paths name them now: the same
    /// watch when they are the same directories, a new one when they were replaced.
    private func watchDirectories() {
        for path in [directory, directory + "/medications"] {
            let wd = inotify_add_watch(fd, path, Self.mask)
            guard wd >= 0 else { continue }
            // The directory replaced: its predecessor (renamed away, or gone) is watched no more.
            if let old = watched[path], old != wd { inotify_rm_watch(fd, old) }
            watched[path] = wd
        }
    }

    /// Watches `directory` for `mask`'s events naming `names` only (added to the names and events
    /// already watched there: the config dir may be in /etc).
    private func watchNames(in directory: String, _ names: Set<String>, mask: UInt32) {
        let wd = inotify_add_watch(fd, directory, mask | UInt32(IN_MASK_ADD))
        guard wd >= 0 else { return }
        only[wd, default: []].formUnion(names)
    }
}

/// One event of an inotify descriptor's read.
struct InotifyEvent {
    var wd: Int32
    var mask: UInt32
    /// The name in the watched directory; empty for the directory itself.
    var name: String

    /// Every event waiting on the (non-blocking) inotify descriptor `fd`.
    static func drain(_ fd: Int32) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return events }
            events += all(in: buffer[..<count])
        }
    }

    /// The events in the bytes of one read (the kernel returns whole events only).
    static func all(in bytes: ArraySlice<UInt8>) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        var offset = bytes.startIndex
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= bytes.endIndex {
            let (wd, mask, length) = bytes[offset..<(offset + header)].withUnsafeBytes {
                ($0.load(fromByteOffset: 0, as: Int32.self), $0.load(fromByteOffset: 4, as: UInt32.self),
                 Int($0.load(fromByteOffset: 12, as: UInt32.self)))
            }
            let nameBytes = bytes[(offset + header)..<min(bytes.endIndex, offset + header + length)].prefix { $0 != 0 }
            events.append(InotifyEvent(wd: wd, mask: mask, name: String(decoding: nameBytes, as: UTF8.self)))
            offset += header + length
        }
        return events
    }
}

/// Calls back when the socket file at `path` is removed or renamed away, or its directory is
/// (a clean-up of `$XDG_RUNTIME_DIR`, a script): the daemon serves the path again, so dosectl
/// and status bars find it. Nothing else in the directory wakes dosed.
final class SocketWatcher: @unchecked Sendable {
    private let fd: Int32
    private let source: any DispatchSourceRead
    private let directory: String
    private var wd: Int32 = -1
    private var pending = false
    private static let mask = UInt32(IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF)

    init?(path: String, queue: DispatchQueue, gone: @escaping @Sendable () -> Void) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        watch()
        let fd = self.fd
        source.setEventHandler { [weak self] in
            guard let self else { return }
            let removed = InotifyEvent.drain(fd).contains {
                $0.name == name || $0.mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0
            }
            // A moment later, once a removal of the whole directory (rm -r) is done: a socket
            // made in the directory meanwhile would be removed with it. Should it be, that is
            // one more event, and it is served again.
            guard removed, !self.pending else { return }
            self.pending = true
            queue.asyncAfter(deadline: .now() + .milliseconds(100)) {
                self.pending = false
                gone()
                self.watch()  // the directory may be a new one now
            }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
    }

    private func watch() {
        let new = inotify_add_watch(fd, directory, Self.mask)
        if wd >= 0, new != wd { inotify_rm_watch(fd, wd) }
        wd = new
    }
}

/// Whether `uid` belongs to the group `name`, as primary or supplementary member (group database).
func isMember(uid: UInt32, gid: UInt32, of name: String) -> Bool {
    guard let group = getgrnam(name) else { return false }
    let target = group.pointee.gr_gid
    if gid == target { return true }
    guard let user = getpwuid(uid) else { return false }
    if user.pointee.pw_gid == target { return true }
    var count: Int32 = 64
    var groups = [gid_t](repeating: 0, count: Int(count))
    if getgrouplist(user.pointee.pw_name, user.pointee.pw_gid, &groups, &count) < 0 {
        groups = [gid_t](repeating: 0, count: Int(count))
        _ = getgrouplist(user.pointee.pw_name, user.pointee.pw_gid, &groups, &count)
    }
    return groups.prefix(Int(max(count, 0))).contains(target)
}
