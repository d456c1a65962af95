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
}
