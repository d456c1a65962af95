import DoseCore
import DoseProtocol
import Foundation

/// The care-team report (SPEC 11): one self-contained HTML5 page — no script, nothing fetched —
/// with inline SVG charts drawn here, each with a text equivalent, and a print stylesheet for A4
/// that puts each medication on its own page.
struct CareReport {
    let config: Configuration
    let since: Micros
    let until: Micros
    let now: Micros
    /// The doses and notes of the period (``Reports/history(since:until:medication:)``).
    let rows: [Reports.Row]
    /// Adherence per medication: the numbers of `adherence --json`.
    let tallies: [String: Tally]
    /// The audit trail of the period's doses, by dose.
    let trail: [DueDose: [Change]]
    /// Stock on hand and when it runs out, per medication with stock.
    let stock: [String: (onHand: Int, runsOut: Micros?)]
    /// The medications reported, in order.
    let medications: [String]

    var zone: ZoneRules { config.zone }
    var records: [DoseRecord] { rows.compactMap { if case .dose(let r) = $0 { r } else { nil } } }
    var notes: [Note] { rows.compactMap { if case .note(let n) = $0 { n } else { nil } } }

    // MARK: - The page

    func html() -> String {
        var body = header() + summary()
        for id in medications { body += medicationSection(id) }
        body += symptoms() + exceptions() + corrections() + diary()
        let title = "Medication report" + (config.patient.map { " — " + $0 } ?? "")
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(esc(title))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    static let style = """

        body { font-family: system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #111; line-height: 1.4;
               max-width: 62rem; margin: 1rem auto; padding: 0 1rem; }
        h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.3rem; border-bottom: 2px solid #333; }
        h3 { font-size: 1.05rem; margin: 1rem 0 .3rem; }
        table { border-collapse: collapse; margin: .4rem 0 .8rem; font-size: .92rem; }
        th, td { border: 1px solid #bbb; padding: .15rem .45rem; text-align: left; vertical-align: top; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        figure { margin: .4rem 0 .8rem; } figcaption { font-size: .9rem; color: #333; }
        svg.chart { max-width: 100%; height: auto; display: block; }
        .legend { font-size: .88rem; margin: .2rem 0; } .legend span { margin-right: 1.1rem; white-space: nowrap; }
        .legend svg { width: 12px; height: 12px; vertical-align: -1px; margin-right: .25rem; }
        .meta { color: #333; margin: .1rem 0; } .none { color: #555; font-style: italic; }
        @media print {
          @page { size: A4; margin: 14mm 12mm; }
          body { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
          section.medication, section.symptoms { break-before: page; }
          figure, table, svg, .legend { break-inside: avoid; }
          h2, h3 { break-after: avoid; }
        }

        """

    func header() -> String {
        var text = "<header>\n<h1>Medication report</h1>\n"
        if let patient = config.patient { text += "<p class=\"meta\">Patient: <strong>\(esc(patient))</strong></p>\n" }
        text += "<p class=\"meta\">Period: \(esc(day(since))) to \(esc(day(until - 1)))</p>\n"
        text += "<p class=\"meta\">Made \(esc(Presentation.localTime(now, zone: zone))) by dosectl \(esc(dosedVersion)) from the dosed history.</p>\n"
        return text + "</header>\n"
    }

    func summary() -> String {
        var text = "<section class=\"summary\">\n<h2>Summary</h2>\n"
        text += "<p>Adherence counts the scheduled doses due in the period that were answered or whose time to take them has passed: "
            + "taken on time (within the window), taken late, skipped and missed. Held doses (withheld by the care team) are shown beside and not counted.</p>\n"
        var all = Tally()
        var rowsHTML = ""
        for id in medications {
            let tally = tallies[id] ?? Tally()
            all = all + tally
            rowsHTML += ratesRow(name(id), tally)
        }
        text += "<table class=\"rates\">\n" + Self.ratesHeader + rowsHTML + ratesRow("All medications", all) + "</table>\n"
        return text + "</section>\n"
    }

    static let ratesHeader = "<tr><th>Medication</th><th class=\"n\">Counted</th><th class=\"n\">Taken</th><th class=\"n\">On time</th>"
        + "<th class=\"n\">Late</th><th class=\"n\">Skipped</th><th class=\"n\">Missed</th><th class=\"n\">Held</th>"
        + "<th class=\"n\">Adherence</th><th class=\"n\">On time rate</th></tr>\n"

    func ratesRow(_ label: String, _ t: Tally) -> String {
        let cells: [(String, String)] = [("counted", "\(t.counted)"), ("taken", "\(t.taken)"), ("on_time", "\(t.onTime)"),
                                         ("late", "\(t.late)"), ("skipped", "\(t.skipped)"), ("missed", "\(t.missed)"),
                                         ("held", "\(t.held)"), ("adherence", percent(t.adherence)), ("on_time_rate", percent(t.onTimeRate))]
        return "<tr><th>\(esc(label))</th>" + cells.map { "<td class=\"n\" data-key=\"\($0.0)\">\($0.1)</td>" }.joined() + "</tr>\n"
    }

    // MARK: - A medication

    func medicationSection(_ id: String) -> String {
        let medication = config.medication(id)
        var text = "<section class=\"medication\" id=\"medication-\(esc(id))\">\n<h2>Medication: \(esc(name(id)))</h2>\n"
        if let medication {
            var facts: [String] = []
            if let dose = medication.dose { facts.append("Dose: " + esc(dose)) }
            if let route = medication.route { facts.append("Route: " + esc(route)) }
            if !facts.isEmpty { text += "<p class=\"meta\">\(facts.joined(separator: " · "))</p>\n" }
            text += "<h3>Regimen</h3>\n<ul>\n"
            for schedule in medication.schedules {
                var line = Regimen.words(schedule, zone: config.zone(for: schedule))
                if let dose = schedule.dose { line = esc(dose) + ", " + esc(line) } else { line = esc(line) }
                if let route = schedule.route { line += " (" + esc(route) + ")" }
                text += "<li>\(line)</li>\n"
            }
            if let rule = medication.asNeeded {
                var line = "As needed: at least \(Regimen.span(rule.minInterval)) apart"
                if let doses = rule.maxDoses, let per = rule.per { line += ", at most \(doses) in \(Regimen.span(per))" }
                if let reason = rule.reason { line += " (\(reason))" }
                text += "<li>\(esc(line))</li>\n"
            }
            text += "</ul>\n"
        } else {
            text += "<p class=\"none\">No longer in the configuration; its recorded doses are shown.</p>\n"
        }
        let doses = records.filter { $0.dose.medication == id }
        let scheduled = doses.filter { !$0.isExtra }
        text += "<h3>Adherence</h3>\n<table class=\"rates\">\n" + Self.ratesHeader + ratesRow(name(id), tallies[id] ?? Tally()) + "</table>\n"
        if !scheduled.isEmpty || !doses.isEmpty {
            text += "<h3>Every dose, day by day</h3>\n" + doseChart(id, doses) + legend(doses)
        }
        text += sites(doses) + stockText(id)
        if medication?.asNeeded != nil || doses.contains(where: \.isExtra) { text += asNeededChart(id, doses.filter(\.isExtra)) }
        return text + "</section>\n"
    }

    /// How a dose shows in the charts: its outcome, with shape, colour and words.
    enum Mark: CaseIterable {
        case onTime, late, skipped, missed, held, open, unscheduled

        init(_ record: DoseRecord, now: Micros) {
            switch Tally.outcome(record, now: now) {
            case .onTime?: self = .onTime
            case .late?: self = .late
            case .skipped?: self = .skipped
            case .missed?: self = .missed
            case .held?: self = .held
            case .open?: self = .open
            case nil: self = .unscheduled
            }
        }

        var words: String {
            switch self {
            case .onTime: "taken on time"
            case .late: "taken late"
            case .skipped: "skipped"
            case .missed: "missed"
            case .held: "held by the care team"
            case .open: "open (not answered yet)"
            case .unscheduled: "taken outside the schedule (as needed or extra)"
            }
        }

        /// Okabe–Ito colours (safe for colour-blind readers), each with its own shape.
        func shape(x: Double, y: Double, r: Double = 3.6) -> String {
            func n(_ v: Double) -> String { String(format: "%.1f", v) }
            switch self {
            case .onTime:
                return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"#0072B2\""
            case .late:
                return "<path d=\"M\(n(x)) \(n(y - r - 0.6))L\(n(x + r + 0.4)) \(n(y + r))H\(n(x - r - 0.4))Z\" fill=\"#E69F00\""
            case .skipped:
                return "<rect x=\"\(n(x - r + 0.6))\" y=\"\(n(y - r + 0.6))\" width=\"\(n(2 * r - 1.2))\" height=\"\(n(2 * r - 1.2))\" fill=\"#fff\" stroke=\"#56B4E9\" stroke-width=\"1.6\""
            case .missed:
                return "<path d=\"M\(n(x - r)) \(n(y - r))L\(n(x + r)) \(n(y + r))M\(n(x - r)) \(n(y + r))L\(n(x + r)) \(n(y - r))\" stroke=\"#D55E00\" stroke-width=\"2\" fill=\"none\""
            case .held:
                return "<path d=\"M\(n(x)) \(n(y - r - 0.6))L\(n(x + r + 0.6)) \(n(y))L\(n(x)) \(n(y + r + 0.6))L\(n(x - r - 0.6)) \(n(y))Z\" fill=\"#CC79A7\""
            case .open:
                return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r - 0.6))\" fill=\"#fff\" stroke=\"#666\" stroke-width=\"1.3\""
            case .unscheduled:
                return "<path d=\"M\(n(x - r)) \(n(y))H\(n(x + r))M\(n(x)) \(n(y - r))V\(n(y + r))\" stroke=\"#009E73\" stroke-width=\"2.2\" fill=\"none\""
            }
        }
    }

    /// The width of a day in the charts: about 650 px for the period, 4 to 22 px a day.
    var column: Double { Swift.min(22, Swift.max(4, 650 / Double(dayCount))) }

    /// `<svg>`'s opening: drawn at its own size (never scaled up), shrunk to fit the page.
    func svg(_ id: String, width: Double, height: Double) -> String {
        "<svg class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" "
            + "aria-labelledby=\"\(id)-t \(id)-d\" xmlns=\"http://www.w3.org/2000/svg\">"
    }

    /// Days of the period (local midnights in `dosed.toml`'s zone).
    var dayCount: Int { Swift.max(1, Int(dayIndex(until - 1)) + 1) }

    func dayIndex(_ instant: Micros) -> Int64 {
        let local = instant + Micros(zone.offset(at: instant)) * Civil.second
        let first = since + Micros(zone.offset(at: since)) * Civil.second
        return Civil.floorDiv(local, Civil.day) - Civil.floorDiv(first, Civil.day)
    }

    func secondOfDay(_ instant: Micros) -> Int64 {
        let local = instant + Micros(zone.offset(at: instant)) * Civil.second
        return (local - Civil.floorDiv(local, Civil.day) * Civil.day) / Civil.second
    }

    /// A chart of every dose: one column per day, the time of day downwards.
    func doseChart(_ id: String, _ doses: [DoseRecord]) -> String {
        let left = 42.0, top = 8.0, plot = 144.0
        let width = left + Double(dayCount) * column + 8
        let height = top + plot + 22
        let chartID = "chart-" + id
        var counts: [Mark: Int] = [:]
        var marks = ""
        for record in doses {
            let mark = Mark(record, now: now)
            counts[mark, default: 0] += 1
            let day = Double(dayIndex(record.dose.due))
            guard day >= 0, day < Double(dayCount) else { continue }
            let x = left + (day + 0.5) * column
            let y = top + Double(secondOfDay(record.dose.due)) / 86_400 * plot
            var label = "\(Presentation.localTime(record.dose.due, zone: zone)): \(mark.words)"
            if record.state == .taken, let at = record.answeredAt, !record.isExtra { label += ", at \(RFC3339.shortClock(at, zone: zone))" }
            if let reason = record.reason { label += " (\(reason))" }
            marks += mark.shape(x: x, y: y) + "><title>\(esc(label))</title>" + closing(mark) + "\n"
        }
        var grid = ""
        for hour in stride(from: 0, through: 24, by: 6) {
            let y = top + Double(hour) / 24 * plot
            grid += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 8)\" y2=\"\(y)\" stroke=\"#ddd\"/>"
            grid += "<text x=\"\(left - 4)\" y=\"\(y + 3.5)\" text-anchor=\"end\" font-size=\"10\">\(hour < 10 ? "0" : "")\(hour):00</text>\n"
        }
        grid += dayAxis(left: left, top: top, bottom: top + plot)
        let summary = Mark.allCases.compactMap { mark in counts[mark].map { "\($0) \(mark.words)" } }.joined(separator: ", ")
        return """
            <figure>
            \(svg(chartID, width: width, height: height))
            <title id="\(chartID)-t">Every dose of \(esc(name(id))), day by day (columns) and time of day (downwards)</title>
            <desc id="\(chartID)-d">\(esc(summary.isEmpty ? "No doses in the period." : summary + ".")) Each dose has its own title with its time and state.</desc>
            \(grid)\(marks)</svg>
            <figcaption>\(esc(summary.isEmpty ? "No doses in the period." : summary.prefix(1).uppercased() + summary.dropFirst() + "."))</figcaption>
            </figure>

            """
    }

    /// Vertical lines and date labels every week (every two or four for long periods).
    func dayAxis(left: Double, top: Double, bottom: Double, labelsAt offset: Double = 14) -> String {
        let step = dayCount <= 35 ? 7 : dayCount <= 120 ? 14 : 28
        var text = ""
        for day in stride(from: 0, to: dayCount, by: step) {
            let x = String(format: "%.1f", left + Double(day) * column)
            text += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(bottom)\" stroke=\"#eee\"/>"
            text += "<text x=\"\(x)\" y=\"\(bottom + offset)\" font-size=\"10\">\(esc(shortDay(since + Micros(day) * Civil.day)))</text>\n"
        }
        return text
    }

    func closing(_ mark: Mark) -> String {
        switch mark {
        case .onTime, .open: "</circle>"
        case .skipped: "</rect>"
        default: "</path>"
        }
    }

    /// The legend: shape, colour and words, for the marks in the chart.
    func legend(_ doses: [DoseRecord]) -> String {
        let present = Set(doses.map { Mark($0, now: now) })
        let items = Mark.allCases.filter(present.contains).map { mark in
            "<span><svg viewBox=\"0 0 12 12\" aria-hidden=\"true\">" + mark.shape(x: 6, y: 6, r: 4) + "/></svg>\(esc(mark.words))</span>"
        }
        return items.isEmpty ? "" : "<p class=\"legend\">" + items.joined() + "</p>\n"
    }

    func sites(_ doses: [DoseRecord]) -> String {
        var counts: [String: Int] = [:]
        for record in doses where record.state == .taken { if let site = record.site { counts[site, default: 0] += 1 } }
        guard !counts.isEmpty else { return "" }
        let ordered = (config.medication(doses.first?.dose.medication ?? "")?.sites ?? []).filter { counts[$0] != nil }
            + counts.keys.filter { site in !(config.medication(doses.first?.dose.medication ?? "")?.sites.contains(site) ?? false) }.sorted()
        return "<h3>Injection sites used</h3>\n<table>\n<tr><th>Site</th><th class=\"n\">Doses</th></tr>\n"
            + ordered.map { "<tr><td>\(esc($0))</td><td class=\"n\">\(counts[$0]!)</td></tr>\n" }.joined() + "</table>\n"
    }

    func stockText(_ id: String) -> String {
        guard let entry = stock[id] else { return "" }
        let runsOut = entry.runsOut.map { "; at the current schedule it runs out \(esc(Presentation.localTime($0, zone: zone)))" } ?? ""
        return "<h3>Stock</h3>\n<p>\(entry.onHand) on hand now\(runsOut).</p>\n"
    }

    /// Takes outside the schedule (as needed or extra) per day, as bars.
    func asNeededChart(_ id: String, _ takes: [DoseRecord]) -> String {
        var perDay: [Int64: Int] = [:]
        for take in takes where take.state == .taken { perDay[dayIndex(take.answeredAt ?? take.dose.due), default: 0] += 1 }
        let total = perDay.values.reduce(0, +)
        var text = "<h3>Taken as needed, per day</h3>\n"
        guard total > 0 else { return text + "<p class=\"none\">None in the period.</p>\n" }
        let most = perDay.values.max() ?? 1
        let left = 30.0, top = 6.0, plot = 60.0
        let width = left + Double(dayCount) * column + 8
        var bars = ""
        for (index, count) in perDay.sorted(by: { $0.key < $1.key }) where index >= 0 && index < Int64(dayCount) {
            let h = Double(count) / Double(most) * plot
            let x = left + Double(index) * column + 1.5
            bars += "<rect x=\"\(x)\" y=\"\(top + plot - h)\" width=\"\(Swift.max(1, column - 3))\" height=\"\(h)\" fill=\"#009E73\">"
                + "<title>\(esc(day(since + index * Civil.day))): \(count) taken</title></rect>\n"
        }
        let chartID = "prn-" + id
        let days = perDay.count
        text += """
            <figure>
            \(svg(chartID, width: width, height: top + plot + 20))
            <title id="\(chartID)-t">\(esc(name(id))) taken as needed, per day</title>
            <desc id="\(chartID)-d">\(total) taken on \(days) day(s); at most \(most) in one day.</desc>
            <line x1="\(left)" y1="\(top + plot)" x2="\(width - 8)" y2="\(top + plot)" stroke="#999"/>
            <text x="\(left - 4)" y="\(top + 8)" text-anchor="end" font-size="10">\(most)</text>
            <text x="\(left - 4)" y="\(top + plot)" text-anchor="end" font-size="10">0</text>
            \(bars)</svg>
            <figcaption>\(total) taken on \(days) day(s); at most \(most) in one day.</figcaption>
            </figure>

            """
        return text
    }

    // MARK: - Symptoms, exceptions, corrections, notes

    func symptoms() -> String {
        var text = "<section class=\"symptoms\">\n<h2>Symptom diary</h2>\n"
        let bySymptom = Dictionary(grouping: notes.filter { $0.symptom != nil && $0.severity != nil }, by: { $0.symptom! })
        guard !bySymptom.isEmpty else { return text + "<p class=\"none\">No symptoms with a severity were noted in the period.</p>\n</section>\n" }
        text += "<p>Severity from 1 (mild) to 5 (severe). The small marks along the bottom are the doses taken of scheduled medications.</p>\n"
        let taken = records.filter { $0.state == .taken && !$0.isExtra }
        let left = 30.0, top = 8.0, plot = 90.0
        let width = left + Double(dayCount) * column + 8
        let span = Double(dayCount) * Double(Civil.day)
        let start = Double(since - (since + Micros(zone.offset(at: since)) * Civil.second) % Civil.day)
        func x(_ instant: Micros) -> Double { left + (Double(instant) - start) / span * (width - 8 - left) }
        for (index, (symptom, entries)) in bySymptom.sorted(by: { $0.key < $1.key }).enumerated() {
            let sorted = entries.sorted { $0.at < $1.at }
            let chartID = "symptom-\(index)"
            var grid = ""
            for level in 1...5 {
                let y = top + plot - Double(level - 1) / 4 * plot
                grid += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 8)\" y2=\"\(y)\" stroke=\"#e4e4e4\"/>"
                grid += "<text x=\"\(left - 5)\" y=\"\(y + 3.5)\" text-anchor=\"end\" font-size=\"10\">\(level)</text>\n"
            }
            grid += dayAxis(left: left, top: top, bottom: top + plot, labelsAt: 24)
            var ticks = ""
            for dose in taken {
                let tx = x(dose.answeredAt ?? dose.dose.due)
                ticks += "<line x1=\"\(String(format: "%.1f", tx))\" y1=\"\(top + plot + 6)\" x2=\"\(String(format: "%.1f", tx))\" y2=\"\(top + plot + 12)\" stroke=\"#777\"/>"
            }
            let points = sorted.map { note in
                (x(note.at), top + plot - Double(note.severity! - 1) / 4 * plot, note)
            }
            let line = points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
            let dots = points.map { p in
                String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#D55E00\">", p.0, p.1)
                    + "<title>\(esc(Presentation.localTime(p.2.at, zone: zone))): \(p.2.severity!)/5 — \(esc(p.2.text))</title></circle>"
            }.joined(separator: "\n")
            let worst = sorted.map { $0.severity! }.max()!
            let summary = "\(sorted.count) entr\(sorted.count == 1 ? "y" : "ies") of \(symptom), severity \(sorted.map { $0.severity! }.min()!) to \(worst)"
            text += """
                <h3>\(esc(symptom.prefix(1).uppercased() + symptom.dropFirst()))</h3>
                <figure>
                \(svg(chartID, width: width, height: top + plot + 28))
                <title id="\(chartID)-t">Severity of \(esc(symptom)) over the period, with the doses taken marked along the bottom</title>
                <desc id="\(chartID)-d">\(esc(summary)). Each point has its own title with its time and note.</desc>
                \(grid)<polyline points="\(line)" fill="none" stroke="#D55E00" stroke-width="1.4"/>
                \(dots)
                \(ticks)</svg>
                <figcaption>\(esc(summary)).</figcaption>
                </figure>

                """
        }
        return text + "</section>\n"
    }

    func exceptions() -> String {
        var text = "<section class=\"exceptions\">\n<h2>Doses missed, skipped, held or late</h2>\n"
        let rows = records.filter { [.late, .skipped, .missed, .held].contains(Mark($0, now: now)) }
        guard !rows.isEmpty else { return text + "<p class=\"none\">None in the period.</p>\n</section>\n" }
        text += "<table>\n<tr><th>Due</th><th>Medication</th><th>What happened</th><th>Answered</th><th>Reason or note</th></tr>\n"
        for record in rows {
            let answered = record.answeredAt.map { Presentation.localTime($0, zone: zone) } ?? ""
            let why = [record.reason, record.note].compactMap { $0 }.joined(separator: "; ")
            text += "<tr><td>\(esc(Presentation.localTime(record.dose.due, zone: zone)))</td><td>\(esc(name(record.dose.medication)))</td>"
                + "<td>\(esc(Mark(record, now: now).words))</td><td>\(esc(record.state == .missed ? "" : answered))</td><td>\(esc(why))</td></tr>\n"
        }
        return text + "</table>\n</section>\n"
    }

    func corrections() -> String {
        var text = "<section class=\"corrections\">\n<h2>Corrections</h2>\n"
        let changes = trail.values.flatMap { $0 }.filter(\.isCorrection).sorted { ($0.recorded, $0.dose.id) < ($1.recorded, $1.dose.id) }
        guard !changes.isEmpty else { return text + "<p class=\"none\">No answer was corrected.</p>\n</section>\n" }
        text += "<table>\n<tr><th>Corrected</th><th>Dose due</th><th>Medication</th><th>Now</th><th>Reason</th><th>By</th></tr>\n"
        for change in changes {
            let by = change.origin.map { ($0.uid.map { "uid \($0)" } ?? "dosed") + " (\($0.channel.rawValue))" } ?? ""
            text += "<tr><td>\(esc(Presentation.localTime(change.recorded, zone: zone)))</td><td>\(esc(Presentation.localTime(change.dose.due, zone: zone)))</td>"
                + "<td>\(esc(name(change.dose.medication)))</td><td>\(esc(change.state.rawValue))</td><td>\(esc(change.reason ?? ""))</td><td>\(esc(by))</td></tr>\n"
        }
        return text + "</table>\n</section>\n"
    }

    func diary() -> String {
        var text = "<section class=\"notes\">\n<h2>Notes</h2>\n"
        guard !notes.isEmpty else { return text + "<p class=\"none\">No notes in the period.</p>\n</section>\n" }
        text += "<table>\n<tr><th>When</th><th>Note</th><th>Symptom</th><th>About the dose</th></tr>\n"
        for note in notes {
            let symptom = note.symptom.map { $0 + (note.severity.map { " \($0)/5" } ?? "") } ?? ""
            text += "<tr><td>\(esc(Presentation.localTime(note.at, zone: zone)))</td><td>\(esc(note.text))</td><td>\(esc(symptom))</td><td>\(esc(note.dose ?? ""))</td></tr>\n"
        }
        return text + "</table>\n</section>\n"
    }

    // MARK: - Words

    func name(_ id: String) -> String { config.medication(id)?.name ?? id }

    func percent(_ rate: Double?) -> String { rate.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }

    /// `Mon 2026-11-02`.
    func day(_ instant: Micros) -> String { String(Presentation.localTime(instant, zone: zone).prefix(14)) }

    /// `2 Nov`.
    func shortDay(_ instant: Micros) -> String {
        let wall = WallTime(local: instant + Micros(zone.offset(at: instant)) * Civil.second)
        return "\(wall.day) " + ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][wall.month - 1]
    }

    func esc(_ text: some StringProtocol) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
