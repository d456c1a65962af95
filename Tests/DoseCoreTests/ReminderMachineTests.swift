import DoseCore
import Testing

/// The reminder lifecycle of SPEC 5, driven with plain instants: no clock, no sleeping.
@Suite("Reminder machine (SPEC 5)")
struct ReminderMachineTests {
    static let interferon = """
        name = "Interferon"
        dose = "3 MU"
        sites = ["abdomen left", "abdomen right"]
        stock = 4
        refill_at = 2
        [[schedule]]
        id = "evening"
        on = "Mon,Wed,Fri 20:00"
        before = ["30m"]
        window = "2h"
        repeat = "10m"
        escalate = "1h"
        timezone = "UTC"
        """

    static func machine(lastAlive: String? = "2026-11-30T12:00:00Z", now: String = "2026-11-30T12:00:00Z",
                        records: [DoseRecord] = [], text: String = interferon) throws -> ReminderMachine {
        try started(lastAlive: lastAlive, now: now, records: records, text: text).machine
    }

    /// A machine after its start, and the events of the start (the catch-up).
    static func started(lastAlive: String?, now: String, records: [DoseRecord] = [], text: String = interferon) throws
        -> (machine: ReminderMachine, events: [String])
    {
        let config = try configuration(["interferon": text])
        var machine = ReminderMachine(
            config: config, snapshot: .init(records: records, lastAlive: lastAlive.map(at)), now: at(now))
        let events = Self.events(machine.start(now: at(now)))
        return (machine, events)
    }

    /// The events emitted, as `kind dose-time` strings.
    static func events(_ actions: [ReminderMachine.Action]) -> [String] {
        actions.compactMap {
            guard let event = $0.event else { return nil }
            var text = event.kind.rawValue
            if event.late { text += " late" }
            if event.warning { text += " warning" }
            return text
        }
    }

    /// Runs the machine from deadline to deadline until `end`, collecting `time kind` strings.
    /// A deadline at which `advance` does nothing would come back forever: that is a failure.
    static func run(_ machine: inout ReminderMachine, until end: String) -> [String] {
        var log: [String] = []
        var previous: Micros?
        while let next = machine.nextDeadline(), next <= at(end) {
            guard next != previous else {
                Issue.record("advance(to: \(RFC3339.utc(next))) left its own deadline in place")
                break
            }
            previous = next
            for event in events(machine.advance(to: next)) { log.append("\(RFC3339.utc(next).dropFirst(11).prefix(5)) \(event)") }
        }
        return log
    }

    @Test("pre-reminder, reminder, repeats, escalation, then missed at the window's end")
    func lifecycle() throws {
        var machine = try Self.machine()
        #expect(RFC3339.utc(machine.nextDeadline()!) == "2026-11-30T19:30:00Z")
        let log = Self.run(&machine, until: "2026-11-30T23:00:00Z")
        #expect(log == [
            "19:30 pre-reminder", "20:00 reminder", "20:10 reminder", "20:20 reminder", "20:30 reminder",
            "20:40 reminder", "20:50 reminder", "21:00 escalated", "21:00 reminder warning", "21:10 reminder warning",
            "21:20 reminder warning", "21:30 reminder warning", "21:40 reminder warning", "21:50 reminder warning",
            "22:00 missed",
        ])
        #expect(machine.records[DoseID.parse("interferon/evening@2026-11-30T20:00:00Z")!]?.state == .missed)
    }

    @Test("the first reminder suggests the least recently used site")
    func site() throws {
        var machine = try Self.machine(now: "2026-11-30T19:59:00Z")
        let actions = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let reminder = actions.compactMap(\.event).first { $0.kind == .reminder }
        #expect(reminder?.dose?.site == "abdomen left")
        #expect(reminder?.first == true)
        #expect(reminder?.late == false)
    }

    @Test("the plan's next dose is upcoming's first, step by step (its deadline is nextDeadline(), which every lifecycle test checks)")
    func plan() throws {
        let spaced = """
            name = "Aldesleukin"
            [[schedule]]
            id = "course"
            every = "8h"
            first = 2026-11-30T08:00:00
            anchor = "taken"
            before = ["20m"]
            window = "1h"
            timezone = "UTC"
            """
        let config = try configuration(["interferon": Self.interferon, "aldesleukin": spaced])
        var machine = ReminderMachine(config: config, snapshot: .init(records: [], lastAlive: at("2026-11-30T06:00:00Z")),
                                      now: at("2026-11-30T06:00:00Z"))
        _ = machine.start(now: at("2026-11-30T06:00:00Z"))
        var now = at("2026-11-30T06:00:00Z")
        var compared = 0
        while now < at("2026-12-03T00:00:00Z") {
            _ = machine.advance(to: now)
            if now == at("2026-11-30T08:20:00Z") {  // a step: 06:00 + 20 × 7 min
                _ = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("aldesleukin"), now: now).get()
            }
            // Also a moment later than the last step, as the daemon re-arms after it.
            for later in [now, now + 90 * Civil.second] {
                let plan = machine.plan(now: later)
                #expect(plan.deadline == machine.nextDeadline())
                #expect(plan.next == machine.upcoming(after: later, count: 1).first, "\(RFC3339.utc(later))")
                compared += 1
            }
            now += 7 * Civil.minute
        }
        #expect(compared > 1000)
        // The take at 08:20 moved the spaced schedule: its next dose follows the take, not `first`.
        #expect(machine.upcoming(after: at("2026-11-30T09:00:00Z"), count: 1).first
            == DueDose(medication: "aldesleukin", schedule: "course", due: at("2026-11-30T16:20:00Z")))
    }

    @Test("what falls due is told before it is saved; answers, refills and reloads once saved")
    func tellingOrder() throws {
        var machine = try Self.machine(now: "2026-11-30T19:59:00Z")
        func order(_ actions: [ReminderMachine.Action]) -> [String] {
            actions.compactMap { action in
                switch action {
                case .remind(let event): "remind \(event.kind.rawValue)"
                case .emit(let event): "emit \(event.kind.rawValue)"
                default: nil
                }
            }
        }
        #expect(order(machine.advance(to: at("2026-11-30T20:00:00Z"))) == ["remind reminder"])
        #expect(order(machine.advance(to: at("2026-11-30T22:00:00Z"))).suffix(1) == ["remind missed"])
        _ = machine.advance(to: at("2026-12-02T20:00:00Z"))
        let take = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"),
                                      now: at("2026-12-02T20:01:00Z")).get()
        #expect(order(take.1) == ["emit taken"])
        // A count at `refill_at` raises its low-stock alert once saved.
        let refill = try machine.refill("interferon", amount: 2, add: false, now: at("2026-12-02T20:02:00Z")).get()
        #expect(order(refill) == ["emit low-stock"])
    }

    @Test("take answers the due dose, records the site, counts stock down; no more reminders")
    func take() throws {
        var machine = try Self.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let result = machine.answer(.take(at: nil, site: nil, note: "fine"), for: .medication("interferon"), now: at("2026-11-30T20:05:00Z"))
        let (record, actions) = try result.get()
        #expect(record.id == "interferon/evening@2026-11-30T20:00:00Z")
        #expect(record.state == .taken)
        #expect(record.site == "abdomen left")
        #expect(record.note == "fine")
        guard case .save(let saved) = actions.first else { Issue.record("save comes first"); return }
        #expect(saved == record)
        #expect(Self.events(actions) == ["taken"])
        #expect(machine.stock["interferon"]?.value == 3)
        // Nothing more for this dose; the next is Wednesday's pre-reminder.
        #expect(RFC3339.utc(machine.nextDeadline()!) == "2026-12-02T19:30:00Z")
        #expect(machine.suggestedSite("interferon") == "abdomen right")
    }

    @Test("a dose taken early (within its window before due) is answered and never reminded")
    func takeEarly() throws {
        var machine = try Self.machine()
        let (record, _) = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"), now: at("2026-11-30T18:30:00Z")).get()
        #expect(record.id == "interferon/evening@2026-11-30T20:00:00Z")
        let log = Self.run(&machine, until: "2026-11-30T23:00:00Z")
        #expect(log.isEmpty)
    }

    @Test("take with nothing due or early records an unscheduled dose")
    func extra() throws {
        var machine = try Self.machine()
        let (record, _) = try machine.answer(.take(at: nil, site: "thigh", note: nil), for: .medication("interferon"), now: at("2026-11-30T12:00:00Z")).get()
        #expect(record.id == "interferon/extra@2026-11-30T12:00:00Z")
        #expect(record.isExtra && record.state == .taken && record.site == "thigh")
    }

    @Test("skip answers; skip and snooze with nothing due are refused; a second answer is refused")
    func skipAndRefusals() throws {
        var machine = try Self.machine()
        #expect(throws: ReminderMachine.AnswerError.self) {
            try machine.answer(.snooze(15 * Civil.minute), for: .medication("interferon"), now: at("2026-11-30T12:00:00Z")).get()
        }
        #expect(throws: ReminderMachine.AnswerError.self) {
            try machine.answer(.skip(reason: nil), for: .medication("nosuch"), now: at("2026-11-30T12:00:00Z")).get()
        }
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let (skipped, actions) = try machine.answer(.skip(reason: "fever"), for: .dose("interferon/evening@2026-11-30T20:00:00Z"), now: at("2026-11-30T20:01:00Z")).get()
        #expect(skipped.state == .skipped && skipped.reason == "fever" && skipped.note == nil)
        #expect(Self.events(actions) == ["skipped"])
        #expect(throws: ReminderMachine.AnswerError.self) {
            try machine.answer(.take(at: nil, site: nil, note: nil), for: .dose("interferon/evening@2026-11-30T20:00:00Z"), now: at("2026-11-30T20:02:00Z")).get()
        }
        #expect(throws: ReminderMachine.AnswerError.self) {
            try machine.answer(.take(at: nil, site: nil, note: nil), for: .dose("interferon/evening@2026-11-30T20:07:00Z"), now: at("2026-11-30T20:02:00Z")).get()
        }
    }

    @Test("hold (SPEC 10): a held dose is answered and never reminded; a dose to come can be held ahead; not twice")
    func hold() throws {
        var machine = try Self.machine()
        // Monday 20:00 is due: held at 20:05, nothing more for it (no repeats, no miss at 22:00).
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let (held, actions) = try machine.answer(.hold(reason: "low blood pressure"), for: .medication("interferon"),
                                                 now: at("2026-11-30T20:05:00Z")).get()
        #expect(held.state == .held && held.reason == "low blood pressure" && held.id == "interferon/evening@2026-11-30T20:00:00Z")
        #expect(Self.events(actions) == ["held"])
        #expect(throws: ReminderMachine.AnswerError.self) {
            try machine.answer(.hold(reason: nil), for: .dose(held.id), now: at("2026-11-30T20:06:00Z")).get()
        }
        // Friday's dose, days ahead, held by id; Wednesday's stays as it is.
        let friday = "interferon/evening@2026-12-04T20:00:00Z"
        #expect(try machine.answer(.hold(reason: nil), for: .dose(friday), now: at("2026-11-30T20:10:00Z")).get().0.state == .held)
        // With nothing due, a hold by medication is for its next dose: Wednesday's.
        let (next, _) = try machine.answer(.hold(reason: nil), for: .medication("interferon"), now: at("2026-11-30T23:00:00Z")).get()
        #expect(next.id == "interferon/evening@2026-12-02T20:00:00Z")
        #expect(Self.run(&machine, until: "2026-12-07T19:00:00Z") == [])
        // A dose that is not one of the schedule's cannot be held.
        #expect(throws: ReminderMachine.AnswerError.self) {
            try machine.answer(.hold(reason: nil), for: .dose("interferon/evening@2026-12-05T20:00:00Z"), now: at("2026-12-01T00:00:00Z")).get()
        }
    }

    @Test("adherence with held doses, by hand: held doses are reported beside and never counted")
    func heldAdherence() {
        let due = at("2026-11-30T20:00:00Z")
        func record(_ state: DoseRecord.State, answered: Micros? = nil) -> DoseRecord {
            var r = DoseRecord(dose: DueDose(medication: "m", schedule: "s", due: due))
            r.state = state
            r.answeredAt = answered
            r.closes = due + 2 * Civil.hour
            return r
        }
        var tally = Tally()
        // 5 due: taken on time, held, held, skipped, missed → counted 3, adherence 1/3, held 2.
        for r in [record(.taken, answered: due), record(.held, answered: due), record(.held), record(.skipped), record(.missed)] {
            tally.add(Tally.outcome(r, now: due + Civil.day))
        }
        #expect(tally == Tally(counted: 3, onTime: 1, late: 0, skipped: 1, missed: 1, held: 2))
        #expect(tally.adherence == 1.0 / 3.0)
        let cells = DayChart.cells([record(.held)], medications: ["m"], days: [WallTime(year: 2026, month: 11, day: 30)],
                                   zone: .utc, now: due + Civil.day)
        #expect(cells["m"] == [.held])
    }

    @Test("snooze re-reminds after the snooze, never past the window: a long one ends a minute before it closes")
    func snooze() throws {
        var machine = try Self.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let (short, _) = try machine.answer(.snooze(25 * Civil.minute), for: .medication("interferon"), now: at("2026-11-30T20:01:00Z")).get()
        #expect(RFC3339.utc(short.snoozedUntil!) == "2026-11-30T20:26:00Z")
        #expect(Self.run(&machine, until: "2026-11-30T20:30:00Z") == ["20:26 reminder"])
        let (long, _) = try machine.answer(.snooze(5 * Civil.hour), for: .medication("interferon"), now: at("2026-11-30T20:30:00Z")).get()
        #expect(RFC3339.utc(long.snoozedUntil!) == "2026-11-30T21:59:00Z")
        #expect(Self.run(&machine, until: "2026-11-30T23:00:00Z") == ["21:00 escalated", "21:59 reminder warning", "22:00 missed"])
    }

    @Test("catch-up after downtime: inside the window the reminder fires now, late; past it, missed once")
    func catchUp() throws {
        // Down from Monday noon to Monday 21:00: Monday's dose is still in its window.
        var (machine, log) = try Self.started(lastAlive: "2026-11-30T12:00:00Z", now: "2026-11-30T21:00:00Z")
        #expect(log == ["escalated", "reminder late warning"])
        #expect(machine.records[DoseID.parse("interferon/evening@2026-11-30T20:00:00Z")!]?.late == true)
        // Down from Monday noon to Thursday: Monday's and Wednesday's windows closed.
        (machine, log) = try Self.started(lastAlive: "2026-11-30T12:00:00Z", now: "2026-12-03T09:00:00Z")
        #expect(log == ["missed", "missed"])
        #expect(Self.events(machine.advance(to: at("2026-12-03T09:00:00Z"))).isEmpty)
    }

    @Test("a very first start has nothing to catch up")
    func firstStart() throws {
        let (machine, log) = try Self.started(lastAlive: nil, now: "2026-11-30T21:00:00Z")
        #expect(log.isEmpty)
        #expect(RFC3339.utc(machine.nextDeadline()!) == "2026-12-02T19:30:00Z")
    }

    @Test("records restored after a restart: nothing fires twice")
    func restart() throws {
        var machine = try Self.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let saved = Array(machine.records.values)
        var (restarted, log) = try Self.started(lastAlive: "2026-11-30T20:00:00Z", now: "2026-11-30T20:05:00Z", records: saved)
        #expect(log.isEmpty)
        #expect(Self.run(&restarted, until: "2026-11-30T20:10:00Z") == ["20:10 reminder"])
    }

    @Test("a clock jump forward is caught up like downtime; backward fires nothing again")
    func clockJumps() throws {
        var machine = try Self.machine()
        _ = machine.advance(to: at("2026-11-30T19:00:00Z"))
        #expect(Self.events(machine.advance(to: at("2026-11-30T20:15:00Z"))) == ["reminder late"])
        #expect(Self.events(machine.advance(to: at("2026-11-30T18:00:00Z"))).isEmpty)
        #expect(Self.events(machine.advance(to: at("2026-11-30T20:15:00Z"))).isEmpty)
    }

    @Test("low stock: one event when crossing refill_at; a refill above re-arms it")
    func lowStock() throws {
        var machine = try Self.machine()
        var all: [String] = []
        for now in ["2026-11-30T12:00:00Z", "2026-11-30T12:01:00Z", "2026-11-30T12:02:00Z"] {
            all += Self.events(try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"), now: at(now)).get().1)
        }
        #expect(all == ["taken", "taken", "low-stock", "taken"])
        #expect(machine.stock["interferon"]?.value == 1)
        #expect(Self.events(try machine.refill("interferon", amount: 10, add: true, now: at("2026-11-30T12:00:00Z")).get()).isEmpty)
        #expect(machine.stock["interferon"]?.value == 11)
        #expect(Self.events(try machine.refill("interferon", amount: 2, add: false, now: at("2026-11-30T12:00:00Z")).get()) == ["low-stock"])
    }

    @Test("refill_days (SPEC 10): one low-stock event when the stock comes to run out within that many days; a refill re-arms it")
    func refillDays() throws {
        // Daily at 08:00 (UTC); 7 on hand; alert when they run out within 5 days.
        let text = """
            name = "Tablet"
            stock = 7
            refill_days = 5
            [[schedule]]
            id = "am"
            on = "*-*-* 08:00"
            timezone = "UTC"
            """
        var machine = try Self.machine(now: "2026-11-30T07:00:00Z", text: text)
        #expect(machine.isLow("interferon", 7, now: at("2026-11-30T07:00:00Z")) == false)
        #expect(machine.runsOut("interferon", stock: 7, after: at("2026-11-30T07:00:00Z")) == at("2026-12-06T08:00:00Z"))
        var log: [String] = []
        // Each morning's take: 6 left after the 30th's run out on the 6th, 6 days ahead; 5 left after
        // the 1st's also run out on the 6th, now 5 days ahead: that take crosses, the next does not alert again.
        for day in ["2026-11-30", "2026-12-01", "2026-12-02"] {
            _ = machine.advance(to: at(day + "T08:00:00Z"))
            log += Self.events(try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"),
                                                  now: at(day + "T08:01:00Z")).get().1)
        }
        #expect(log == ["taken", "taken", "low-stock", "taken"])
        // At the boundary: 5 left at 08:00 on the 1st run out at 08:00 on the 6th, exactly 5 days
        // ahead, which is within; 6 left run out a day later.
        #expect(machine.isLow("interferon", 5, now: at("2026-12-01T08:00:00Z")) == true)
        #expect(machine.isLow("interferon", 6, now: at("2026-12-01T08:00:00Z")) == false)
        #expect(Self.events(try machine.refill("interferon", amount: 20, add: true, now: at("2026-12-02T09:00:00Z")).get()).isEmpty)
        #expect(Self.events(try machine.refill("interferon", amount: 3, add: false, now: at("2026-12-02T09:00:00Z")).get()) == ["low-stock"])
    }

    @Test("a dose id names the dose however its time is written: the record answered is the machine's")
    func idSpelling() throws {
        var machine = try Self.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let (taken, _) = try machine.answer(.take(at: nil, site: nil, note: nil),
                                            for: .dose("interferon/evening@2026-11-30T21:00:00+01:00"),
                                            now: at("2026-11-30T20:01:00Z")).get()
        #expect(taken.id == "interferon/evening@2026-11-30T20:00:00Z")
        // The reminder it was sent stays on its record (a fresh record would say none).
        #expect(taken.reminders == 1)
    }

    @Test("reload keeps answers and repeats no reminder; the new schedule applies")
    func reload() throws {
        var machine = try Self.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        _ = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"), now: at("2026-11-30T20:01:00Z")).get()
        let changed = try configuration(["interferon": Self.interferon.replacingOccurrences(of: "Mon,Wed,Fri 20:00", with: "*-*-* 20:00")])
        #expect(Self.events(machine.reload(changed, now: at("2026-11-30T20:02:00Z"))).isEmpty)
        #expect(machine.records[DoseID.parse("interferon/evening@2026-11-30T20:00:00Z")!]?.state == .taken)
        #expect(RFC3339.utc(machine.nextDeadline()!) == "2026-12-01T19:30:00Z")
    }
}

@Suite("Adherence arithmetic and the day chart (SPEC 8)")
struct AdherenceTests {
    static func record(_ due: String, _ state: DoseRecord.State, answered: String? = nil, medication: String = "m") -> DoseRecord {
        var r = DoseRecord(dose: DueDose(medication: medication, schedule: "s", due: at(due)))
        r.state = state
        r.answeredAt = answered.map(at)
        r.closes = at(due) + 2 * Civil.hour
        return r
    }

    @Test("3 due: one taken on time, one skipped, one missed → adherence 1/3, on time 1/3")
    func thirds() {
        var tally = Tally()
        let now = at("2026-11-10T00:00:00Z")
        for r in [Self.record("2026-11-01T08:00:00Z", .taken, answered: "2026-11-01T08:30:00Z"),
                  Self.record("2026-11-02T08:00:00Z", .skipped, answered: "2026-11-02T08:01:00Z"),
                  Self.record("2026-11-03T08:00:00Z", .pending)] {
            tally.add(Tally.outcome(r, now: now))
        }
        #expect(tally == Tally(counted: 3, onTime: 1, late: 0, skipped: 1, missed: 1))
        #expect(tally.adherence == 1.0 / 3.0 && tally.onTimeRate == 1.0 / 3.0)
    }

    @Test("a take after the window is late: it counts for adherence, not for on time; open doses do not count")
    func lateAndOpen() {
        var tally = Tally()
        let now = at("2026-11-01T09:00:00Z")
        tally.add(Tally.outcome(Self.record("2026-10-31T08:00:00Z", .taken, answered: "2026-10-31T11:00:00Z"), now: now))
        tally.add(Tally.outcome(Self.record("2026-11-01T08:00:00Z", .pending), now: now))
        var extra = DoseRecord(dose: DueDose(medication: "m", schedule: "extra", due: now))
        extra.state = .taken
        tally.add(Tally.outcome(extra, now: now))
        #expect(tally == Tally(counted: 1, onTime: 0, late: 1, skipped: 0, missed: 0))
        #expect(tally.adherence == 1 && tally.onTimeRate == 0)
        #expect(Tally().adherence == nil)
    }

    @Test("the chart's cells for a known week: the worst dose of each day")
    func week() throws {
        let zone = try #require(ZoneRules.named("UTC"))
        let days = DayChart.days(since: at("2026-11-02T00:00:00Z"), until: at("2026-11-08T12:00:00Z"), zone: zone)
        #expect(days.count == 7)
        let records = [
            Self.record("2026-11-02T08:00:00Z", .taken, answered: "2026-11-02T08:10:00Z"),
            Self.record("2026-11-03T08:00:00Z", .taken, answered: "2026-11-03T12:00:00Z"),
            Self.record("2026-11-04T08:00:00Z", .skipped, answered: "2026-11-04T08:00:00Z"),
            Self.record("2026-11-05T08:00:00Z", .missed),
            Self.record("2026-11-06T08:00:00Z", .taken, answered: "2026-11-06T08:10:00Z"),
            Self.record("2026-11-06T20:00:00Z", .missed),
            Self.record("2026-11-08T11:00:00Z", .pending),
        ]
        let cells = DayChart.cells(records, medications: ["m", "other"], days: days, zone: zone, now: at("2026-11-08T12:00:00Z"))
        #expect(cells["m"] == [.onTime, .late, .skipped, .missed, .missed, .nothingDue, .open])
        #expect(cells["other"] == Array(repeating: .nothingDue, count: 7))
    }
}
