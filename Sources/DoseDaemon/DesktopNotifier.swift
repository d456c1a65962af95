import DoseCore
import DoseSystemd
import Foundation
import Logging

/// Desktop notifications of doses (SPEC 9), on a queue of their own: the engine hands over each
/// change and never waits for the bus, so a missing, slow or crashing notification server costs
/// no reminder. Buttons pressed come back through `answer`, which the engine handles like a
/// socket's `take`, `snooze` or `skip`.
final class DesktopNotifier: @unchecked Sendable {
    private let inbox = Inbox(DispatchQueue(label: "dosed.desktop"))
    private var queue: DispatchQueue { inbox.queue }
    private let logger: Logger
    private let answer: @Sendable (String, DesktopNotice.Key) -> Void
    private var bus: SessionBus?
    private var book = NotificationBook()
    private var server = Server.unknown
    /// Changes that wait for the server's capabilities.
    private var waiting: [DesktopNotice.Change] = []
    /// A failure was logged and nothing has worked since: say nothing more until it works again.
    private var warned = false

    private enum Server {
        case unknown
        case asking
        /// The server's unique name and whether it shows buttons.
        case ready(name: String?, actions: Bool)
    }

    static let destination = "org.freedesktop.Notifications"
    static let path = "/org/freedesktop/Notifications"
    static let interface = "org.freedesktop.Notifications"
    /// Changes kept while the capabilities are asked for; beyond it the oldest go.
    static let maximumWaiting = 256

    init(logger: Logger, answer: @escaping @Sendable (String, DesktopNotice.Key) -> Void) {
        self.logger = logger
        self.answer = answer
    }

    /// Shows or closes a dose's notification, in the background.
    func apply(_ change: DesktopNotice.Change) {
        inbox.async { [self] in handle(change) }
    }

    /// Closes every notification shown and waits until that is written: once dosed is gone,
    /// their buttons would answer nobody.
    func stop() {
        inbox.sync { [self] in
            guard case .ready(_, let actions) = server else { return }
            perform(book.closeAll(), actions: actions)
            bus?.flush()
        }
    }

    private func handle(_ change: DesktopNotice.Change) {
        switch server {
        case .ready(_, let actions):
            switch change {
            case .show(let notice): perform(book.show(notice), actions: actions)
            case .close(let dose): perform(book.close(dose: dose), actions: actions)
            }
        case .asking:
            wait(change)
        case .unknown:
            // Closing needs nothing from a server we do not know: its notifications are gone.
            guard case .show = change else { return }
            // Connect again (and ask the server again) at each reminder after a failure.
            guard connect() else { return }
            wait(change)
            askCapabilities()
        }
    }

    private func wait(_ change: DesktopNotice.Change) {
        if waiting.count >= Self.maximumWaiting { waiting.removeFirst() }
        waiting.append(change)
    }

    /// Opens the session bus if needed and listens for the server's signals.
    private func connect() -> Bool {
        if bus?.isOpen == true { return true }
        do {
            let bus = try SessionBus(queue: queue) { [unowned self] failure in
                self.bus = nil
                forget()
                warn("\(failure)")
            }
            bus.subscribe(interface: Self.interface, member: "ActionInvoked") { [unowned self] signal in
                guard isServer(signal.sender), let id = signal.uint32(), let key = signal.string(),
                      let dose = book.dose(for: id), let action = DesktopNotice.Key(rawValue: key) else { return }
                answer(dose, action)
            }
            bus.subscribe(interface: Self.interface, member: "NotificationClosed") { [unowned self] signal in
                guard isServer(signal.sender), let id = signal.uint32() else { return }
                book.closed(id: id)
            }
            bus.subscribe(interface: "org.freedesktop.DBus", member: "NameOwnerChanged") { [unowned self] signal in
                // The server went away or another took its place: its notifications are gone.
                guard signal.sender == "org.freedesktop.DBus", signal.string() == Self.destination else { return }
                if case .ready = server { forget() }
            }
            self.bus = bus
            return true
        } catch {
            warn("\(error)")
            return false
        }
    }

    /// A signal counts only from the server that showed our notifications.
    private func isServer(_ sender: String?) -> Bool {
        guard case .ready(let name, _) = server else { return false }
        return name == nil || name == sender
    }

    private func askCapabilities() {
        server = .asking
        bus?.call(destination: Self.destination, path: Self.path, interface: Self.interface, member: "GetCapabilities",
                  arguments: { _ in }) { [unowned self] reply in
            guard case .asking = server else { return }
            switch reply {
            case .success(let message):
                let capabilities = message.strings() ?? []
                server = .ready(name: message.sender, actions: capabilities.contains("actions"))
                let changes = waiting
                waiting = []
                for change in changes { handle(change) }
            case .failure(let failure):
                forget()
                warn("no notification server answers (\(failure))")
            }
        }
    }

    private func perform(_ calls: [NotificationBook.Call], actions: Bool) {
        for call in calls {
            switch call {
            case .notify(let notice, let replaces, let serial):
                bus?.call(destination: Self.destination, path: Self.path, interface: Self.interface, member: "Notify",
                          arguments: { Self.notify(notice, replaces: replaces, actions: actions, into: &$0) }) { [unowned self] reply in
                    switch reply {
                    case .success(let message):
                        if warned {
                            warned = false
                            logger.info("desktop notifications work again")
                        }
                        perform(book.notified(dose: notice.dose, serial: serial, id: message.uint32()), actions: actions)
                    case .failure(let failure):
                        _ = book.notified(dose: notice.dose, serial: serial, id: nil)
                        forget()
                        warn("the notification server did not show a reminder (\(failure))")
                    }
                }
            case .close(let id):
                bus?.call(destination: Self.destination, path: Self.path, interface: Self.interface, member: "CloseNotification",
                          arguments: { $0.uint32(id) }) { _ in }
            }
        }
    }

    /// `Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout)`.
    static func notify(_ notice: DesktopNotice, replaces: UInt32, actions: Bool, into writer: inout SessionBus.Writer) {
        writer.string(DesktopNotice.appName)
        writer.uint32(replaces)
        writer.string(DesktopNotice.icon)
        writer.string(notice.summary)
        writer.string(notice.body(serverHasActions: actions))
        writer.strings(actions ? notice.actions.flatMap { [$0.key.rawValue, $0.label] } : [])
        writer.container("a", "{sv}") { hints in
            func hint(_ key: String, _ type: String, _ value: (inout SessionBus.Writer) -> Void) {
                hints.container("e", "sv") { entry in
                    entry.string(key)
                    entry.container("v", type, value)
                }
            }
            hint("urgency", "y") { $0.byte(notice.urgency) }
            hint("category", "s") { $0.string(DesktopNotice.category) }
            hint("desktop-entry", "s") { $0.string(DesktopNotice.desktopEntry) }
            hint("resident", "b") { $0.bool(!notice.final) }
        }
        writer.int32(notice.expireTimeout)
    }

    /// The server (or the bus) is gone: its notifications with it. The next reminder asks again.
    private func forget() {
        server = .unknown
        waiting = []
        book.reset()
    }

    /// One warning until notifications work again, never one per reminder.
    private func warn(_ what: String) {
        guard !warned else { return }
        warned = true
        logger.warning("desktop notifications are unavailable: \(what); reminders go on in the journal and on the socket, and dosed tries again at the next one")
    }
}
