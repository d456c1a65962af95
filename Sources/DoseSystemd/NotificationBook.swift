/// Which desktop notification shows which dose, and the D-Bus calls that keep them in step
/// (SPEC 9): one notification per dose, replaced by repeats, closed by an answer.
///
/// Pure bookkeeping: the server assigns notification ids in its replies, so a dose whose `Notify`
/// is still unanswered remembers only what must follow (a newer notice, or a close).
public struct NotificationBook: Sendable {
    /// A call to make on `org.freedesktop.Notifications`.
    public enum Call: Sendable, Equatable {
        /// `Notify`; `serial` names the call for ``notified(dose:serial:id:)``.
        case notify(DesktopNotice, replaces: UInt32, serial: UInt64)
        case close(UInt32)
    }

    private enum Entry: Sendable {
        /// A `Notify` is on its way; `then` follows its reply.
        case sending(serial: UInt64, replaces: UInt32, final: Bool, then: Next?)
        case shown(UInt32)
    }

    private enum Next: Sendable {
        case show(DesktopNotice)
        case close
    }

    private var entries: [String: Entry] = [:]
    private var doses: [UInt32: String] = [:]
    private var serial: UInt64 = 0

    public init() {}

    /// Shows `notice`, replacing its dose's notification if one is shown.
    public mutating func show(_ notice: DesktopNotice) -> [Call] {
        switch entries[notice.dose] {
        case .sending(let serial, let replaces, let final, _):
            entries[notice.dose] = .sending(serial: serial, replaces: replaces, final: final, then: .show(notice))
            return []
        case .shown(let id):
            return [send(notice, replacing: id)]
        case nil:
            return [send(notice, replacing: 0)]
        }
    }

    /// Closes the dose's notification, if it has one.
    public mutating func close(dose: String) -> [Call] {
        switch entries[dose] {
        case .sending(let serial, let replaces, let final, _):
            entries[dose] = .sending(serial: serial, replaces: replaces, final: final, then: .close)
            return []
        case .shown(let id):
            entries[dose] = nil
            doses[id] = nil
            return [.close(id)]
        case nil:
            return []
        }
    }

    /// The server's reply to `Notify` call `serial`: the notification's id, or nil when it failed.
    public mutating func notified(dose: String, serial: UInt64, id: UInt32?) -> [Call] {
        guard case .sending(serial, let replaces, let final, let then)? = entries[dose] else { return [] }
        if doses[replaces] == dose { doses[replaces] = nil }
        entries[dose] = nil
        if let id, !(final && then == nil) {
            entries[dose] = .shown(id)
            doses[id] = dose
        }
        switch then {
        case nil: return []
        case .show(let notice): return show(notice)
        case .close: return close(dose: dose)
        }
    }

    /// The dose notification `id` shows, if it is ours.
    public func dose(for id: UInt32) -> String? {
        doses[id]
    }

    /// The server closed notification `id` (expired, dismissed, or after an action): the dose's
    /// next notice is a new notification.
    public mutating func closed(id: UInt32) {
        guard let dose = doses.removeValue(forKey: id) else { return }
        if case .shown(id)? = entries[dose] { entries[dose] = nil }
    }

    /// Closes every notification shown (dosed is stopping: their buttons would answer nobody).
    /// Notifications still on their way are left to the server.
    public mutating func closeAll() -> [Call] {
        let shown = entries.compactMap { _, entry -> UInt32? in
            if case .shown(let id) = entry { id } else { nil }
        }
        reset()
        return shown.sorted().map(Call.close)
    }

    /// Forgets every notification: the server or the bus went away.
    public mutating func reset() {
        entries = [:]
        doses = [:]
    }

    /// Doses with a notification shown or on its way.
    public var count: Int { entries.count }

    private mutating func send(_ notice: DesktopNotice, replacing id: UInt32) -> Call {
        serial += 1
        entries[notice.dose] = .sending(serial: serial, replaces: id, final: notice.final, then: nil)
        return .notify(notice, replaces: id, serial: serial)
    }
}
