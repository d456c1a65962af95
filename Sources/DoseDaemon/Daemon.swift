import CSystemd
import DoseCore
import DoseFiles
import DoseProtocol
import DoseStore
import DoseSystemd
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The running service: the reminder machine on wall-clock timers, the history, the journal and
/// the socket (SPEC 5 and 6).
///
/// Every piece of state lives on one serial queue (`queue`; `perform`, `emit` and the socket's
/// `dispatch` check it). Timers, the socket, signals, the clock watcher and the config watcher only
/// enqueue work there (other threads through `inbox`); the machine decides, this class performs
/// its actions. The socket's methods are in DaemonMethods.swift.
public final class Daemon: @unchecked Sendable {
    /// How other threads (the socket's, the bus's) hand work to the engine queue.
    let inbox = Inbox(DispatchQueue(label: "dosed.engine"))
    var queue: DispatchQueue { inbox.queue }
    var machine: ReminderMachine
    /// The history, or why it cannot be opened (a full disk, a permission, a path in the way):
    /// reminders go on then, answers are refused, and the engine tries again every
    /// ``historyRetryInterval`` seconds and at each reload. Behind a lock: the housekeeping queue
    /// reads it too. Only the engine sets it.
    let history: NIOLockedValueBox<Result<HistoryStore, OutOfReach>>
    /// The history while it is open.
    var store: HistoryStore? { try? history.withLockedValue { $0 }.get() }
    /// Why the history is out of reach, while it is.
    var historyProblem: String? {
        guard case .failure(let outOfReach) = history.withLockedValue({ $0 }) else { return nil }
        return outOfReach.reason
    }
    private var historyRetry: (any DispatchSourceTimer)?
    static let historyRetryInterval = 10
    private let journal: Journal
    private let hooks: HookRunner
    let paths: Paths
    private let socketPath: String
    private let logger: Logger
    let started: Micros
    private var server: SocketServer?
    var subscribers: [Connection: Set<String>?] = [:]
    private let timer: any DispatchSourceTimer
    private let notifier = Notifier()
    private var watchdog: (any DispatchSourceTimer)?
    private var lastStatus = ""
    /// The next dose as of the last re-arm (``ReminderMachine/Plan/next``) and when that was.
    /// Until that dose falls due, and while nothing is performed (``perform(_:alive:)`` drops
    /// it; the re-arm after makes it again), it is also the next dose now: `status` (polled by
    /// status bars) need not walk every schedule again.
    private var planned: (at: Micros, next: DueDose?)?
    /// What the one timer is set to: `.none` before it is first set and once it has fired,
    /// else the deadline (nil: nothing to wait for). Setting a dispatch timer again clears an
    /// expiry not yet handled (dispatch_source_set_timer), so an unchanged deadline is left as
    /// it is: re-arming after every answer pushed a due reminder's tick behind each new request
    /// (50 ms late under a stream of takes).
    private var armedFor: Micros?? = .none
    /// The wall clock's offset from `CLOCK_BOOTTIME` when last looked at (see ``clockWasSet()``).
    private var clockOffset: Micros = 0
    private var watchers: [AnyObject] = []
    /// Desktop notifications (SPEC 9), made at start; shown while `[notify] desktop` is on.
    private var desktop: DesktopNotifier?
    /// What loading the config at start refused, reported once the journal is told we started.
    private var startErrors: ConfigLoad?
    /// Gives memory back once a burst of socket traffic is over (touched by each line and close).
    let afterBurst: AfterBurst

    /// Loads the configuration and the history, binds the socket: everything that can fail at start.
    public init(paths: Paths, logger: Logger, journal: Journal = Journal()) throws {
        self.paths = paths
        self.logger = logger
        self.journal = journal
        hooks = HookRunner { name, what in
            Self.journaling.async { journal.send(HookRunner.failure(name, what)) }
        }
        socketPath = try paths.socket()
        guard Paths.isDirectory(paths.config) else {
            throw StartError.noConfigDirectory(paths.config)
        }
        // Whatever is valid is in force: a broken file is reported once started, never fatal.
        let load = ConfigDirectory.load(paths.config)
        let config = load.configuration
        // One malloc arena for the daemon's threads, set before they start: they seldom allocate
        // at once, and per-thread arenas kept much of what a burst of requests had freed
        // (bench/abuse.py: 13.5 → 8.7 MB five seconds after, 38 → 20 MB at the peak). Set after
        // the config is loaded: a config dir of 64 files or more is decoded on every core, and
        // one arena's lock made that 25 % slower (10,000 schedules: 385 → 310 ms). The decoding
        // threads are the global queue's, which the daemon does not use otherwise; its idle
        // memory is the same either way.
        mallopt(M_ARENA_MAX, 1)
        startErrors = load
        let now = Self.now()
        started = now
        let snapshot: ReminderMachine.Snapshot
        do {
            let opened = try Self.openHistory(paths, config: config, now: now, logger: logger, waitForLock: true)
            history = NIOLockedValueBox(.success(opened.store))
            snapshot = opened.snapshot
        } catch let error as HistoryStore.OpenError where error.heldBy == .daemon {
            // Another dosed reminds from this history already: one is enough.
            throw StartError.historyInUse(error.description)
        } catch {
            // Reminders first: without the history dosed starts as on a first start (nothing
            // caught up), and ``retryHistory()`` starts again from the history once it opens.
            history = NIOLockedValueBox(.failure(OutOfReach(reason: "\(error)")))
            snapshot = ReminderMachine.Snapshot()
        }
        machine = ReminderMachine(config: config, snapshot: snapshot, now: now)
        timer = DispatchSource.makeTimerSource(queue: inbox.queue)
        afterBurst = AfterBurst(queue: Self.housekeeping, quiet: .seconds(1), longest: .seconds(10)) { [history] in
            Self.giveBack(try? history.withLockedValue { $0 }.get())
        }
        // Resumed at once: a suspended source must never be released (if start fails).
        timer.schedule(wallDeadline: .distantFuture)
        timer.resume()
    }

    /// Opens the history and reads what the engine starts from. A history SQLite cannot read
    /// (not a database, or damaged) is kept under a new name for recovery, and a new one is
    /// started: a damaged file must not stop every reminder. Any other error (a history out of
    /// reach: a permission, a full disk) is thrown; the daemon then runs without it.
    ///
    /// The history's lock (``HistoryLock``) is taken before anything is read: an answer dosectl
    /// writes while no dosed runs is in the snapshot. At start (`waitForLock`) dosed waits up to
    /// 3 s for it: dosectl holds it for milliseconds, and a dosed killed a moment ago holds it
    /// until the kernel has closed all its files (its socket may close first).
    private static func openHistory(_ paths: Paths, config: Configuration, now: Micros, logger: Logger,
                                    waitForLock: Bool = false)
        throws -> (store: HistoryStore, snapshot: ReminderMachine.Snapshot) {
        func open() throws -> (store: HistoryStore, snapshot: ReminderMachine.Snapshot) {
            var tries = waitForLock ? 60 : 1
            while true {
                do {
                    let store = try HistoryStore(path: paths.history, directoryMode: paths.directoryMode, lock: .daemon)
                    let snapshot = try store.snapshot(longestWindow: config.longestWindow,
                                                      takesSince: config.asNeededLookback.map { now - $0 })
                    return (store, snapshot)
                } catch let error as HistoryStore.OpenError where error.heldBy != nil && tries > 1 {
                    tries -= 1
                    usleep(50_000)
                }
            }
        }
        do {
            return try open()
        } catch where HistoryStore.isDamage(error) {
            let kept = try HistoryStore.setAside(paths.history, now: now)
            logger.error("\(error); the file is kept as \(kept), and a new history starts now")
            return try open()
        }
    }

    /// While the history is out of reach: opens it if it now can be, and starts the machine
    /// again from it, as after a stop (doses that fell due meanwhile are caught up: reminded
    /// again while their window is open, missed once it has closed). Says so once each time the
    /// reason changes.
    private func retryHistory() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let problem = historyProblem else { return }
        let now = Self.now()
        let config = machine.config
        let opened: (store: HistoryStore, snapshot: ReminderMachine.Snapshot)
        do {
            opened = try Self.openHistory(paths, config: config, now: now, logger: logger)
        } catch {
            if "\(error)" != problem {
                history.withLockedValue { $0 = .failure(OutOfReach(reason: "\(error)")) }
                logHistoryProblem()
            }
            return
        }
        history.withLockedValue { $0 = .success(opened.store) }
        historyRetry?.cancel()
        historyRetry = nil
        logger.notice("the history \(paths.history) is open: answers are recorded again")
        // A history new or never alive: catch up from this start, so a dose reminded meanwhile
        // and still open is held (and can be answered), not left out as before a first start.
        var snapshot = opened.snapshot
        snapshot.lastAlive = snapshot.lastAlive ?? started
        machine = ReminderMachine(config: config, snapshot: snapshot, now: now)
        perform(machine.start(now: now), alive: now)
        rearm()
        noteSchedulesSeen(of: config, at: now)
    }

    /// Tries ``retryHistory()`` every ``historyRetryInterval`` seconds while the history is out
    /// of reach (the only time dosed wakes while nothing is due).
    private func startHistoryRetry() {
        logHistoryProblem()
        let source = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.seconds(Self.historyRetryInterval)
        source.schedule(deadline: .now() + interval, repeating: interval, leeway: .seconds(1))
        source.setEventHandler { [unowned self] in retryHistory() }
        source.resume()
        historyRetry = source
    }

    private func logHistoryProblem() {
        guard let historyProblem else { return }
        logger.error("\(historyProblem); reminders go on, but no answer can be recorded until the history opens (tried again every \(Self.historyRetryInterval) s and at each reload)")
    }

    /// Why the history cannot be opened; every answer meanwhile is refused with ``rpcError``.
    struct OutOfReach: Error {
        var reason: String
        var rpcError: RPCError { Daemon.notRecorded("the history is out of reach (\(reason))") }
    }

    /// Why the daemon could not start.
    public enum StartError: Error, CustomStringConvertible {
        /// The config directory does not exist.
        case noConfigDirectory(String)
        /// Another dosed runs on the same history (its message).
        case historyInUse(String)

        public var description: String {
            switch self {
            case .noConfigDirectory(let path): "\(path): the config directory does not exist (create it, or pass --config DIR)"
            case .historyInUse(let message): message
            }
        }
    }

    static func now() -> Micros {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Micros(spec.tv_sec) * Civil.second + Micros(spec.tv_nsec / 1000)
    }

    // MARK: - Running

    /// Catches up, arms the timers, serves the socket, then tells systemd `READY=1`.
    public func start() throws {
        if let activated = Notifier.listeningSocket() {
            // Socket activation: systemd made and owns the socket (dosed.socket).
            server = try SocketServer(path: socketPath, descriptor: activated, mode: 0, delegate: self, logger: logger)
        } else {
            let system = paths.flags.system
            server = try SocketServer(
                path: socketPath, mode: system ? 0o660 : 0o600, ownerGroup: system ? getgrnam("dosed")?.pointee.gr_gid : nil,
                directoryMode: mode_t(paths.directoryMode), delegate: self, logger: logger)
            if let watcher = SocketWatcher(path: socketPath, queue: queue, gone: { [unowned self] in
                if let what = server?.serveAgainIfGone() { logger.notice("\(what)") }
            }) { watchers.append(watcher) }
        }
        desktop = DesktopNotifier(logger: logger) { [unowned self] dose, key in
            self.inbox.async { self.answerFromDesktop(dose, key) }
        }
        try queue.sync {
            try startEngine()
            notifier.ready(status: lastStatus)
            startWatchdog()
        }
        giveMemoryBack()
        if let clock = ClockWatcher(queue: queue, changed: { [unowned self] in self.clockWasSet() }) {
            watchers.append(clock)
        }
        if let config = ConfigWatcher(directory: paths.config, queue: queue, changed: { [unowned self] in
            _ = self.reload()
        }) { watchers.append(config) }
        let schedules = queue.sync { machine.config.scheduleCount }
        logger.info("dosed started: \(schedules) schedule(s), socket \(socketPath)")
    }

    /// The engine's start, on its queue: the timer gets its work, the machine catches up from
    /// the history (and tells of it), and the timer is set.
    func startEngine() throws {
        dispatchPrecondition(condition: .onQueue(queue))
        clockOffset = Self.wallClockOffset()
        timer.setEventHandler { [unowned self] in self.tick() }
        let now = Self.now()
        let loaded = Event.configLoaded(summary: summary(machine.config))
        perform(machine.start(now: now) + [.emit(loaded)] + configErrors(startErrors), alive: now)
        startErrors = nil
        rearm()
        noteSchedulesSeen(of: machine.config, at: now)
        if historyProblem != nil { startHistoryRetry() }
    }

    // MARK: - Signals

    /// What dosed acts on: SIGHUP reloads the configuration, SIGTERM and SIGINT stop.
    private static let handledSignals = [SIGHUP, SIGTERM, SIGINT]

    private static var handledSignalSet: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handledSignals { sigaddset(&set, signal) }
        return set
    }

    /// Blocks the handled signals in the calling thread, and so in every thread started from it
    /// afterwards: call it first, before any other thread exists. A signal sent at any moment
    /// from then on, also while dosed starts and before it serves, waits for
    /// ``handleSignals()``. (libdispatch's signal sources lost one sent while they were being
    /// set up, and dosed never stopped; before them, the default action killed dosed without
    /// its graceful stop.)
    ///
    /// SIGPIPE is ignored: a write whose reader went away (stderr piped to a program that
    /// ended) is an error of that write, not dosed's death. Under systemd, a service killed by
    /// SIGPIPE counts as stopped cleanly and is not restarted: every reminder would stop.
    public static func prepareSignals() {
        var set = handledSignalSet
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Takes the handled signals on the calling thread, for ever (it parks the main thread once
    /// dosed has started): each is handed to the engine in the order it came, SIGHUP to
    /// ``reload()``, SIGTERM and SIGINT to ``stop()``. Nothing wakes while no signal comes.
    public func handleSignals() -> Never {
        var set = Self.handledSignalSet
        while true {
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { continue }
            let signal = received
            inbox.async { [self] in
                if signal == SIGHUP { _ = reload() } else { stop() }
            }
        }
    }

    /// Stops in the order of swift-service-lifecycle's graceful shutdown: what is already queued
    /// for the engine runs first (the stop itself is queued behind it), then every client gets
    /// the replies written to it and is closed, running hooks are ended, the time is recorded
    /// (the next start catches up from it), and dosed exits 0.
    public func stop() {
        dispatchPrecondition(condition: .onQueue(queue))
        notifier.stopping()
        inbox.async { [self] in
            // Replies being encoded go out before the connections close.
            Self.rendering.sync()
            // The journal's entries told so far, unless journald has stalled (not for long).
            Self.journaling.sync(timeout: .now() + .seconds(2))
            server?.shutdown()
            desktop?.stop()
            hooks.stopAll()
            try? store?.setLastAlive(Self.now())
            logger.info("dosed stopped")
            exit(0)
        }
    }

    /// Where entries go to the journal, in the order told. `sd_journal_sendv` blocks while
    /// journald's socket queue is full (journald stopped, or slow on a failing disk): on the
    /// engine's queue, that held every reminder to the socket, the desktop and the hooks until
    /// journald went on. Serial, and signalled rather than one block per entry (``Inbox``).
    static let journaling = Inbox(DispatchQueue(label: "dosed.journal"))

    /// Work no reminder waits for: giving memory back, noting the schedules seen. A serial
    /// queue of its own: a global queue would start libdispatch's once-a-second thread-pool
    /// monitor, and the engine queue must not wait.
    static let housekeeping = DispatchQueue(label: "dosed.housekeeping")

    /// Records when each schedule of `config` was first seen (where dosectl's reports start
    /// counting a schedule without `start`). Nothing the engine does reads it, so it is written
    /// off the engine's way: 10,000 new schedules took 50 ms before the first reminder was armed.
    private func noteSchedulesSeen(of config: Configuration, at now: Micros) {
        guard let store else { return }  // noted once the history opens
        Self.housekeeping.async { [logger] in
            do {
                try store.noteSchedulesSeen(of: config, at: now)
            } catch {
                logger.warning("could not note the schedules seen in the history: \(error)")
            }
        }
    }

    /// Gives back memory a burst of work took, once armed and after each burst of socket
    /// traffic (``afterBurst``).
    func giveMemoryBack() {
        Self.housekeeping.async { [store] in Self.giveBack(store) }
    }

    /// SQLite's page caches, then glibc's free pages (glibc keeps freed memory otherwise).
    private static func giveBack(_ store: HistoryStore?) {
        store?.releaseMemory()
        _ = malloc_trim(0)
    }

    /// The wall clock was set: catch up at once (a tick), and say so when it moved. Some
    /// machines set the clock to the time it already shows many times a second; a line for each
    /// buried the reminders on the terminal.
    private func clockWasSet() {
        let offset = Self.wallClockOffset()
        let moved = offset - clockOffset
        clockOffset = offset
        if moved.magnitude >= UInt64(Civil.second) {
            let seconds = moved.magnitude / UInt64(Civil.second)
            logger.info("the clock was set \(moved > 0 ? "forward" : "back") by \(seconds) s: catching up")
        }
        tick()
    }

    /// The wall clock's offset from `CLOCK_BOOTTIME`, which counts on through suspend and is never
    /// set: setting the clock changes the offset by as much as it moved the clock.
    static func wallClockOffset() -> Micros {
        var boot = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        return now() - (Micros(boot.tv_sec) * Civil.second + Micros(boot.tv_nsec) / 1000)
    }

    private func tick() {
        let now = Self.now()
        armedFor = .none
        perform(machine.advance(to: now), alive: now)
        rearm()
    }

    /// `WATCHDOG=1` at half of `WATCHDOG_USEC`, from the engine's queue: a stuck engine stops
    /// the pings and systemd restarts the daemon.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let source = DispatchSource.makeTimerSource(queue: queue)
        let half = DispatchTimeInterval.microseconds(Int(interval / 2))
        source.schedule(deadline: .now() + half, repeating: half, leeway: .milliseconds(100))
        source.setEventHandler { [notifier] in notifier.watchdog() }
        source.resume()
        watchdog = source
    }

    /// `STATUS=`: what is due, and the next dose.
    private func statusText(now: Micros, next: DueDose?) -> String {
        let config = machine.config
        let due = machine.dueCount(at: now)
        var text = due == 0 ? "Nothing due" : "\(due) dose(s) due"
        if let next, let medication = config.medication(next.medication) {
            let zone = medication.schedule(next.schedule).map(config.zone(for:)) ?? config.zone
            text += "; next: \(medication.name) at \(RFC3339.local(next.due, offset: zone.offset(at: next.due)))"
        }
        if historyProblem != nil { text += "; the history is out of reach: answers are not recorded" }
        return text
    }

    /// The next dose due after `now`: the last plan's while it holds, else worked out afresh.
    func nextDose(after now: Micros) -> DueDose? {
        dispatchPrecondition(condition: .onQueue(queue))
        if let planned, planned.at <= now, planned.next.map({ $0.due > now }) ?? true { return planned.next }
        return machine.upcoming(after: now, count: 1).first
    }

    /// Sets the one wall-clock timer to the machine's next deadline, and refreshes `STATUS=`.
    func rearm() {
        let now = Self.now()
        let plan = machine.plan(now: now)
        planned = (now, plan.next)
        let status = statusText(now: now, next: plan.next)
        if status != lastStatus {
            lastStatus = status
            notifier.status(status)
        }
        guard armedFor != .some(plan.deadline) else { return }
        armedFor = .some(plan.deadline)
        guard let deadline = plan.deadline else {
            timer.schedule(wallDeadline: .distantFuture)
            return
        }
        var spec = timespec()
        spec.tv_sec = Int(Civil.floorDiv(deadline, Civil.second))
        spec.tv_nsec = Int((deadline - Micros(spec.tv_sec) * Civil.second) * 1000)
        // No leeway: a reminder is due at its instant, and one timer costs nothing to be exact.
        timer.schedule(wallDeadline: DispatchWallTime(timespec: spec), leeway: .nanoseconds(0))
    }

    /// Saves what the actions save (one transaction) and tells their events in the order each
    /// action names: `.remind` before saving, `.emit` once saved (see ``ReminderMachine/Action``).
    /// Fails when there were records to save and they were not saved. The time last alive alone
    /// not written fails nothing: the next start catches up from an earlier time, which reminds
    /// again what may be reminded and drops nothing.
    @discardableResult
    func perform(_ actions: [ReminderMachine.Action], alive: Micros? = nil) -> Result<Void, RPCError> {
        dispatchPrecondition(condition: .onQueue(queue))
        planned = nil
        for case .remind(let event) in actions { emit(event) }
        let saves = actions.contains { $0.event == nil }
        switch history.withLockedValue({ $0 }) {
        case .success(let store):
            do {
                try store.apply(actions, alive: alive)
            } catch {
                logger.error("could not write the history: \(error)")
                if saves { return .failure(Self.notRecorded("could not write the history: \(error)")) }
            }
        case .failure(let outOfReach):
            if saves { return .failure(outOfReach.rpcError) }
        }
        for case .emit(let event) in actions { emit(event) }
        return .success(())
    }

    static func notRecorded(_ why: String) -> RPCError {
        RPCError(code: RPCErrorCode.internalError, message: "\(why); nothing was recorded")
    }

    private func emit(_ event: Event) {
        dispatchPrecondition(condition: .onQueue(queue))
        let config = machine.config
        let fields = EventFields.fields(event, config: config)
        Self.journaling.async { [journal] in journal.send(fields) }
        let listeners = subscribers.filter { $0.value?.contains(event.kind.rawValue) ?? true }.keys
        if !listeners.isEmpty {
            let params: EncodedJSON
            if let record = event.dose {
                params = EncodedJSON(DoseMessage(record, config: config, now: Self.now()))
            } else {
                params = EncodedJSON(EventNotice(message: EventFields.message(event, config: config),
                                                 medication: event.medication, stock: event.stock, error: event.error))
            }
            // Encoded once for every subscriber.
            let line = RPCMessage.notificationLine(method: event.kind.rawValue, params)
            for connection in listeners { connection.notify(line) }
        }
        if let (name, command) = HookRunner.command(for: event, hooks: config.hooks) {
            hooks.run(name, command, environment: EventFields.environment(event, config: config))
        }
        // Last, and handed over: the bus never delays the journal or a subscriber. Closes go
        // through even with notifications turned off since: one may still be on screen.
        if let desktop, let change = DesktopNotice.change(for: event, config: config) {
            if case .show = change, !config.notify.desktop(system: paths.flags.system) { return }
            desktop.apply(change)
        }
    }

    /// A button pressed on a dose's notification: answered as the socket's take, snooze or skip.
    private func answerFromDesktop(_ dose: String, _ key: DesktopNotice.Key) {
        let answer: ReminderMachine.Answer = switch key {
        case .take: .take(at: nil, site: nil, note: nil)
        case .snooze: .snooze(machine.config.notify.snooze)
        case .skip: .skip(reason: nil)
        }
        if case .failure(let error) = self.answer(answer, for: .dose(dose), now: Self.now(),
                                                  by: Origin(uid: getuid(), channel: .notification)) {
            logger.info("the notification's \(key.rawValue) for \(dose) was not recorded: \(error.message)")
            // The person pressed a button and must not think it recorded: said on the screen,
            // with the buttons to try again, while the dose is still to answer.
            if let desktop, let record = machine.record(dose), record.state == .pending,
               let change = DesktopNotice.notRecorded(record, why: error.message, config: machine.config) {
                desktop.apply(change)
            }
        }
    }

    // MARK: - Reload

    /// Re-reads the config dir file by file: every valid file is in force, every invalid one is
    /// refused with a `config-error` event and its previous version kept (SPEC 5). The result is
    /// the schedule count, or -32003 naming the refused files once the rest is applied.
    func reload() -> Result<Int, RPCError> {
        retryHistory()
        notifier.reloading()
        defer { notifier.ready(status: lastStatus) }
        let load = ConfigDirectory.load(paths.config, previous: machine.config)
        let config = load.configuration
        let now = Self.now()
        noteSchedulesSeen(of: config, at: now)
        let loaded = Event.configLoaded(summary: summary(config))
        // The takes the new as-needed limits look back over, from the history.
        let takes = config.asNeededLookback.flatMap { try? store?.takes(since: now - $0) } ?? [:]
        perform(machine.reload(config, now: now, takes: takes) + [.emit(loaded)] + configErrors(load), alive: now)
        rearm()
        guard load.isValid else {
            return .failure(RPCError(code: RPCErrorCode.invalidConfiguration,
                                     message: ConfigErrors(load.errors).description))
        }
        return .success(config.scheduleCount)
    }

    /// One `config-error` event per refused file, naming each error as FILE:LINE:COLUMN.
    private func configErrors(_ load: ConfigLoad?) -> [ReminderMachine.Action] {
        guard let load else { return [] }
        return load.refused.map { path in
            let kept = load.kept.contains(path) ? "\n(its previous version stays in force)" : "\n(left out until fixed)"
            return .emit(.configError(load.errors.filter { $0.file == path }.map(\.description).joined(separator: "\n") + kept))
        }
    }

    private func summary(_ config: Configuration) -> String {
        "\(config.medications.count) medication(s), \(config.scheduleCount) schedule(s) from \(paths.config)"
    }
}
