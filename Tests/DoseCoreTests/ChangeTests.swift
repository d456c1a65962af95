@testable import DoseCore
import Testing

/// A change the daemon could not save is taken back (`beginChange`/`endChange`): the machine is
/// then exactly as before, though it remembered only the keys the change touched.
@Suite("Changes taken back")
struct ChangeTests {
    typealias M = ReminderMachineTests
    static let me = Origin(uid: 1000, channel: .cli)
    /// Interferon on Mon/Wed/Fri with sites and stock, anchored on its last take, and paracetamol
    /// as needed with stock.
    static let texts = [
        "interferon": M.interferon.replacingOccurrences(of: "escalate = \"1h\"", with: "escalate = \"1h\"\nanchor = \"taken\"")
            .replacingOccurrences(of: "on = \"Mon,Wed,Fri 20:00\"", with: "every = \"2d\"\nfirst = 2026-11-30T20:00:00"),
        "paracetamol": AsNeededTests.paracetamol,
    ]

    /// Everything the machine holds that a change may alter.
    struct State: Equatable {
        var records: [DueDose: DoseRecord]
        var stock: [String: ReminderMachine.Stock]
        var siteUse: [String: [String: Micros]]
        var lastTaken: [String: Micros]
        var takes: [String: [Micros]]

        init(_ machine: ReminderMachine) {
            records = machine.records.contents
            stock = machine.stock.contents
            siteUse = machine.siteUse.contents
            lastTaken = machine.lastTaken.contents
            takes = machine.takes.contents
        }
    }

    /// A machine at Monday 20:05 with Monday's interferon due, one paracetamol and one
    /// unscheduled interferon taken earlier (its record, as the history keeps it).
    static func machine() throws -> (ReminderMachine, DoseRecord) {
        let config = try configuration(texts, zone: "UTC")
        var machine = ReminderMachine(config: config, snapshot: .init(lastAlive: at("2026-11-30T12:00:00Z")), now: at("2026-11-30T12:00:00Z"))
        _ = machine.start(now: at("2026-11-30T12:00:00Z"))
        _ = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("paracetamol"), now: at("2026-11-30T13:00:00Z"), by: me).get()
        let (extra, _) = try machine.answer(.take(at: nil, site: "thigh", note: nil), for: .medication("interferon"),
                                            now: at("2026-11-30T14:00:00Z"), by: me).get()
        _ = machine.advance(to: at("2026-11-30T20:05:00Z"))
        return (machine, extra)
    }

    static let now = at("2026-11-30T20:05:00Z")
    static let monday = "interferon/evening@2026-11-30T20:00:00Z"

    /// Each kind of change, as the daemon runs it (given the unscheduled take's stored record).
    static let changes: [(String, @Sendable (inout ReminderMachine, DoseRecord) -> Bool)] = [
        ("take", { m, _ in m.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"), now: now, by: me).isSuccess }),
        ("take as needed, forced past its limit", { m, _ in
            m.answer(.take(at: nil, site: nil, note: nil), for: .medication("paracetamol"), now: now, force: true, by: me).isSuccess
        }),
        ("skip", { m, _ in m.answer(.skip(reason: "fever"), for: .dose(monday), now: now, by: me).isSuccess }),
        ("hold", { m, _ in m.answer(.hold(reason: "care team"), for: .medication("interferon"), now: now, by: me).isSuccess }),
        ("snooze", { m, _ in m.answer(.snooze(10 * Civil.minute), for: .dose(monday), now: now, by: me).isSuccess }),
        ("amend the unscheduled take's time", { m, extra in
            m.amend(extra.id, to: .taken(at: at("2026-11-30T15:00:00Z"), site: "arm"), reason: "later", stored: extra, now: now, by: me).isSuccess
        }),
        ("withdraw the unscheduled take", { m, extra in
            m.amend(extra.id, to: .open, reason: "never", stored: extra, now: now, by: me).isSuccess
        }),
        ("refill", { m, _ in m.refill("interferon", amount: 10, add: true, now: now).isSuccess }),
    ]

    @Test("each change, not kept, leaves records, stock, sites and takes as they were", arguments: 0..<changes.count)
    func takenBack(_ index: Int) throws {
        let (name, change) = Self.changes[index]
        var (machine, extra) = try Self.machine()
        let before = State(machine)
        machine.beginChange()
        #expect(change(&machine, extra), "\(name) succeeds")
        #expect(State(machine) != before, "\(name) changes something")
        machine.endChange(keeping: false)
        #expect(State(machine) == before, "\(name) is taken back")
        // The machine goes on as before: the dose is still due, and can be taken.
        #expect(machine.due(at: Self.now).map(\.id) == [Self.monday])
        machine.beginChange()
        #expect(change(&machine, extra))
        let changed = State(machine)
        machine.endChange(keeping: true)
        #expect(State(machine) == changed, "\(name) is kept")
    }

    @Test("a failed change taken back is a no-op; a kept one is not undone by the next")
    func sequence() throws {
        var (machine, _) = try Self.machine()
        let before = State(machine)
        machine.beginChange()
        #expect(!machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("nosuch"), now: Self.now, by: Self.me).isSuccess)
        machine.endChange(keeping: false)
        #expect(State(machine) == before)
        machine.beginChange()
        _ = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"), now: Self.now, by: Self.me).get()
        machine.endChange(keeping: true)
        let taken = State(machine)
        machine.beginChange()
        _ = try machine.refill("interferon", amount: 5, add: true, now: Self.now).get()
        machine.endChange(keeping: false)
        #expect(State(machine) == taken, "only the refill is taken back")
        #expect(machine.records[DoseID.parse(Self.monday)!]?.state == .taken)
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { true } else { false }
    }
}
