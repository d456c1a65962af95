import DoseCore
import DoseProtocol
import Testing

/// The hand-written JSON of the long listings is exactly what Foundation's encoder writes.
@Suite("JSON text written by hand")
struct JSONTextTests {
    static let awkward = ["", "plain", "quote \" backslash \\ slash / end", "controls \u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}",
                          "ünïcödé — 😀 \u{2028}", "20 million units/m²"]

    @Test("a Dose with every member, with awkward strings, as JSONEncoder (sorted keys, slashes unescaped) writes it")
    func sameAsEncoder() throws {
        for (index, text) in Self.awkward.enumerated() {
            let medication = Medication(id: "m", name: text)
            var message = DoseMessage(DueDose(medication: "m", schedule: "s", due: 1_796_068_800_000_000), medication: medication,
                                      zone: ZoneRules.utc, site: index % 2 == 0 ? text : nil, state: .taken)
            message.note = text
            message.reason = index % 3 == 0 ? nil : text
            message.late = index % 2 == 0 ? true : nil
            message.corrected = index % 2 == 1 ? true : nil
            message.answered_at = "2026-11-30T20:05:00Z"
            message.changes = [
                ChangeMessage(Change(dose: DueDose(medication: "m", schedule: "s", due: 0), state: .taken, at: 5, site: text,
                                     recorded: 7, origin: Origin(uid: 1000, channel: .cli))),
                ChangeMessage(Change(dose: DueDose(medication: "m", schedule: "s", due: 0), state: .skipped, recorded: 9,
                                     origin: nil, reason: text, isCorrection: true)),
            ]
            #expect(message.jsonText() == (try RPCMessage.text(message)), "\(text)")
        }
    }

    @Test("a list of doses (upcoming's reply) as the encoder writes it, the empty list included")
    func doseList() throws {
        let medication = Medication(id: "m", name: "M")
        let messages = Self.awkward.enumerated().map { index, text in
            DoseMessage(DueDose(medication: "m", schedule: "s", due: Micros(index) * 3_600_000_000), medication: medication,
                        zone: ZoneRules.utc, site: text, state: index % 2 == 0 ? .upcoming : .due)
        }
        #expect(EncodedJSON(doses: { messages }).text == (try RPCMessage.text(messages)))
        #expect(EncodedJSON(doses: { [] }).text == "[]")
    }

    @Test("kind takes its place in key order")
    func kind() throws {
        let message = DoseMessage(DueDose(medication: "m", schedule: "s", due: 0), medication: Medication(id: "m", name: "M"),
                                  zone: ZoneRules.utc, site: nil, state: .upcoming)
        let text = message.jsonText(kind: "dose")
        #expect(text.contains(#""id":"m/s@1970-01-01T00:00:00Z","kind":"dose","medication":"m""#), "\(text)")
    }

    @Test("a record written straight (history --json) is its message's text: every state, snooze, lateness, trail, zone offset and awkward string")
    func recordWrittenStraight() throws {
        var config = Configuration(systemZone: ZoneRules.utc)
        config.timezone = "America/New_York"
        var medication = Medication(id: "m", name: "quote \" and — ü")
        medication.dose = "1 \\ 2"
        var schedule = Schedule(id: "s", timing: .interval(every: Civil.hour, first: .instant(0)))
        schedule.window = Civil.hour
        schedule.timezone = "Asia/Kolkata"
        medication.schedules = [schedule]
        config.medications = [medication]
        let now: Micros = 1_796_068_800_000_000
        let origin = Origin(uid: 1000, channel: .cli)
        var records: [DoseRecord] = []
        for (index, state) in [DoseRecord.State.pending, .pending, .pending, .taken, .taken, .skipped, .missed, .held].enumerated() {
            // Scheduled doses of the configured schedule, and some of a medication no longer configured.
            let dose = DueDose(medication: index % 3 == 2 ? "gone" : "m", schedule: index == 7 ? "extra" : "s",
                               due: now + Micros(index - 1) * Civil.hour + (index == 4 ? 500_000 : 0))
            var record = DoseRecord(dose: dose)
            record.state = state
            record.snoozedUntil = index == 0 ? now + Civil.minute : nil
            record.answeredAt = state == .pending ? nil : dose.due + (index == 3 ? 2 * Civil.hour : 0)
            record.site = index % 2 == 0 ? "left\tthigh" : nil
            record.note = index == 5 ? "note \u{1}" : nil
            record.reason = index >= 5 ? "reason \"\(index)\"" : nil
            record.corrected = index == 6
            record.late = index == 1
            records.append(record)
        }
        for (index, record) in records.enumerated() {
            let changes = index % 2 == 0 ? nil : Array(repeating: Change(answer: record, recorded: now, origin: origin), count: index / 2)
            var bytes: [UInt8] = []
            DoseMessage.appendJSON(record, shown: config.shown(record.dose), now: now, kind: index % 3 == 0 ? "dose" : nil,
                                   changes: changes, to: &bytes)
            var message = DoseMessage(record, config: config, now: now)
            message.changes = changes?.map(ChangeMessage.init)
            #expect(String(decoding: bytes, as: UTF8.self) == message.jsonText(kind: index % 3 == 0 ? "dose" : nil), "\(record)")
            if index % 3 != 0 { #expect(String(decoding: bytes, as: UTF8.self) == (try RPCMessage.text(message)), "\(record)") }
        }
        // The states and members the records were chosen to reach.
        let states = records.map { DoseMessage($0, config: config, now: now).state }
        #expect(states == [.snoozed, .due, .upcoming, .taken, .taken, .skipped, .missed, .held])
        #expect(DoseMessage(records[3], config: config, now: now).late == true)
        #expect(DoseMessage(records[0], config: config, now: now).due_local.hasSuffix("+05:30"))
    }
}
