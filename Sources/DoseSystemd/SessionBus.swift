import CSystemd
import Foundation

/// A connection to the user's session bus through libsystemd's sd-bus (SPEC 9), driven by
/// Dispatch sources on one serial queue: the bus's fd, its write readiness and its timeout.
/// Nothing here blocks: calls are asynchronous and their replies come back on the queue.
///
/// Not thread-safe, like sd-bus itself: create it and use it on `queue` only.
public final class SessionBus: @unchecked Sendable {
    /// A D-Bus error: its name (`org.freedesktop.DBus.Error.ServiceUnknown`) and message, or
    /// a local failure (errno) with no name.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var name: String?
        public var message: String
        public var description: String { name.map { "\($0): \(message)" } ?? message }

        init(errno code: Int32, _ what: String) {
            message = "\(what): \(String(cString: strerror(code)))"
        }

        init(name: String?, message: String) {
            self.name = name
            self.message = message
        }
    }

    private var bus: OpaquePointer?
    private let queue: DispatchQueue
    private let readSource: any DispatchSourceRead
    private let writeSource: any DispatchSourceWrite
    private let timer: any DispatchSourceTimer
    private var writing = false
    /// ``pump()`` is running: sd-bus refuses a nested `sd_bus_process` (EBUSY), so calls made
    /// from a callback leave the sending to the running loop.
    private var processing = false
    private let lost: @Sendable (Failure) -> Void

    /// Connects as sd-bus finds a user bus: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`.
    /// `lost` is called (on `queue`, once) when the connection breaks; the bus is closed then.
    public init(queue: DispatchQueue, lost: @escaping @Sendable (Failure) -> Void) throws(Failure) {
        dispatchPrecondition(condition: .onQueue(queue))
        var bus: OpaquePointer?
        let opened = sd_bus_open_user(&bus)
        guard opened >= 0, let bus else { throw Failure(errno: -opened, "cannot connect to the session bus") }
        let fd = sd_bus_get_fd(bus)
        guard fd >= 0 else {
            sd_bus_close_unref(bus)
            throw Failure(errno: -fd, "the session bus has no connection")
        }
        self.bus = bus
        self.queue = queue
        self.lost = lost
        readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        writeSource = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        timer = DispatchSource.makeTimerSource(queue: queue)
        readSource.setEventHandler { [unowned self] in pump() }
        writeSource.setEventHandler { [unowned self] in pump() }
        timer.setEventHandler { [unowned self] in pump() }
        timer.schedule(deadline: .distantFuture)
        readSource.resume()
        timer.resume()
        pump()
    }

    deinit {
        guard let bus else { return }
        readSource.cancel()
        if !writing { writeSource.resume() }
        writeSource.cancel()
        timer.cancel()
        sd_bus_close_unref(bus)
    }

    /// Whether the connection is still up.
    public var isOpen: Bool { bus != nil }

    /// Calls `member` and hands its reply (or error) to `reply` on the queue. Replies that do not
    /// come within `timeout` seconds are a `NoReply` error.
    public func call(
        destination: String, path: String, interface: String, member: String, timeout: Double = 10,
        arguments build: (inout Writer) -> Void, reply: @escaping (Result<Reader, Failure>) -> Void
    ) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let bus else { return reply(.failure(Failure(name: nil, message: "the session bus is closed"))) }
        var message: OpaquePointer?
        let created = sd_bus_message_new_method_call(bus, &message, destination, path, interface, member)
        guard created >= 0, let message else { return reply(.failure(Failure(errno: -created, "cannot make a D-Bus message"))) }
        defer { sd_bus_message_unref(message) }
        var writer = Writer(message: message)
        build(&writer)
        if writer.error < 0 { return reply(.failure(Failure(errno: -writer.error, "cannot build \(member)"))) }
        let handler = Handler { message in
            guard let message else { return reply(.failure(Failure(name: nil, message: "no reply"))) }
            if let error = sd_bus_message_get_error(message) {
                reply(.failure(Failure(name: error.pointee.name.map { String(cString: $0) },
                                       message: error.pointee.message.map { String(cString: $0) } ?? "")))
            } else {
                reply(.success(Reader(message: message)))
            }
        }
        var slot: OpaquePointer?
        let userdata = Unmanaged.passRetained(handler).toOpaque()
        let sent = sd_bus_call_async(bus, &slot, message, Handler.callback, userdata, UInt64(timeout * 1_000_000))
        guard sent >= 0, let slot else {
            Unmanaged<Handler>.fromOpaque(userdata).release()
            return reply(.failure(Failure(errno: -sent, "cannot send \(member)")))
        }
        Handler.float(slot)
        pump()
    }

    /// Calls `handler` with every signal `member` of `interface` on the bus (any sender: callers
    /// check ``Reader/sender``).
    public func subscribe(interface: String, member: String, handler body: @escaping (Reader) -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let bus else { return }
        let handler = Handler { message in if let message { body(Reader(message: message)) } }
        var slot: OpaquePointer?
        let userdata = Unmanaged.passRetained(handler).toOpaque()
        let added = sd_bus_match_signal_async(bus, &slot, nil, nil, interface, member, Handler.callback, nil, userdata)
        guard added >= 0, let slot else {
            Unmanaged<Handler>.fromOpaque(userdata).release()
            return
        }
        Handler.float(slot)
        pump()
    }

    /// Writes out every message queued (blocking: for a clean stop only).
    public func flush() {
        dispatchPrecondition(condition: .onQueue(queue))
        if let bus { sd_bus_flush(bus) }
    }

    /// Closes the connection (pending calls are dropped without replies).
    public func close() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let bus else { return }
        self.bus = nil
        readSource.cancel()
        if !writing { writeSource.resume() }
        writing = true
        writeSource.cancel()
        timer.cancel()
        // Freed after the current turn: this may run inside one of the bus's own callbacks.
        let pointer = UInt(bitPattern: bus)
        queue.async { sd_bus_close_unref(OpaquePointer(bitPattern: pointer)) }
    }

    /// Dispatches whatever the bus has (replies, signals, writes, timeouts), then waits for
    /// what it needs next.
    private func pump() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while let bus {
            let processed = sd_bus_process(bus, nil)
            if processed < 0 {
                close()
                lost(Failure(errno: -processed, "the session bus connection broke"))
                return
            }
            if processed == 0 { break }
        }
        guard let bus else { return }
        let events = sd_bus_get_events(bus)
        let wantsWrite = events >= 0 && events & Int32(POLLOUT) != 0
        if wantsWrite != writing {
            writing = wantsWrite
            if wantsWrite { writeSource.resume() } else { writeSource.suspend() }
        }
        var usec: UInt64 = .max
        if sd_bus_get_timeout(bus, &usec) >= 0, usec != .max {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let current = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
            let wait = usec > current ? Int(min(usec - current, 3_600_000_000)) : 0
            timer.schedule(deadline: .now() + .microseconds(wait))
        } else {
            timer.schedule(deadline: .distantFuture)
        }
    }

    /// A Swift closure as an sd-bus callback's userdata, released when its slot is freed.
    private final class Handler {
        let body: (OpaquePointer?) -> Void
        init(_ body: @escaping (OpaquePointer?) -> Void) { self.body = body }

        static let callback: sd_bus_message_handler_t = { message, userdata, _ in
            guard let userdata else { return 0 }
            Unmanaged<Handler>.fromOpaque(userdata).takeUnretainedValue().body(message)
            return 0
        }

        static let destroy: sd_bus_destroy_t = { userdata in
            if let userdata { Unmanaged<Handler>.fromOpaque(userdata).release() }
        }

        /// Hands the slot to the bus: freed (and the handler released) after a call's reply, or
        /// with the bus.
        static func float(_ slot: OpaquePointer) {
            sd_bus_slot_set_destroy_callback(slot, destroy)
            sd_bus_slot_set_floating(slot, 1)
            sd_bus_slot_unref(slot)
        }
    }

    /// Appends arguments to a message; the first failure is kept in `error`.
    public struct Writer {
        let message: OpaquePointer
        var error: Int32 = 0

        private mutating func check(_ result: Int32) {
            if result < 0, error == 0 { error = result }
        }

        private static func code(_ type: Character) -> CChar { CChar(type.asciiValue!) }

        public mutating func string(_ value: String) {
            check(value.withCString { sd_bus_message_append_basic(message, Self.code("s"), $0) })
        }

        public mutating func uint32(_ value: UInt32) {
            var value = value
            check(sd_bus_message_append_basic(message, Self.code("u"), &value))
        }

        public mutating func int32(_ value: Int32) {
            var value = value
            check(sd_bus_message_append_basic(message, Self.code("i"), &value))
        }

        public mutating func byte(_ value: UInt8) {
            var value = value
            check(sd_bus_message_append_basic(message, Self.code("y"), &value))
        }

        public mutating func bool(_ value: Bool) {
            var value: Int32 = value ? 1 : 0
            check(sd_bus_message_append_basic(message, Self.code("b"), &value))
        }

        /// `as`
        public mutating func strings(_ values: [String]) {
            container("a", "s") { writer in for value in values { writer.string(value) } }
        }

        /// A container of `type` (`a`, `e`, `v`, `r`) holding `contents`, filled by `body`.
        public mutating func container(_ type: Character, _ contents: String, _ body: (inout Writer) -> Void) {
            check(sd_bus_message_open_container(message, Self.code(type), contents))
            body(&self)
            check(sd_bus_message_close_container(message))
        }
    }

    /// Reads a message's arguments in order.
    public struct Reader {
        let message: OpaquePointer

        /// The sender's unique name (`:1.42`).
        public var sender: String? { sd_bus_message_get_sender(message).map { String(cString: $0) } }

        public func string() -> String? {
            var value: UnsafePointer<CChar>?
            guard sd_bus_message_read_basic(message, CChar(UInt8(ascii: "s")), &value) > 0, let value else { return nil }
            return String(cString: value)
        }

        public func uint32() -> UInt32? {
            var value: UInt32 = 0
            return sd_bus_message_read_basic(message, CChar(UInt8(ascii: "u")), &value) > 0 ? value : nil
        }

        /// `as`
        public func strings() -> [String]? {
            guard sd_bus_message_enter_container(message, CChar(UInt8(ascii: "a")), "s") > 0 else { return nil }
            var values: [String] = []
            while let value = string() { values.append(value) }
            sd_bus_message_exit_container(message)
            return values
        }
    }
}
