import Dispatch
import Synchronization
import TOMLKit

/// Reads and validates a configuration from its files' texts (SPEC 3); pure, no file access.
///
/// Every rule is checked and every error is collected, in every file, with its
/// `FILE:LINE:COLUMN`, so one run of `dosectl check` shows them all.
public enum ConfigDecoder {
    /// The medication and schedule id pattern, `[a-z0-9][a-z0-9_-]*`.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, isLowerAlnum(first) else { return false }
        return id.unicodeScalars.allSatisfy { isLowerAlnum($0) || $0 == "_" || $0 == "-" }
    }

    private static func isLowerAlnum(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("0"..."9").contains(c)
    }

    /// Decodes `dosed.toml` (optional) and the medication files: the whole configuration, or
    /// every error of every file.
    /// - Parameter zones: the zones the files may name, and the system's.
    public static func decode(
        main: SourceFile?, medications: [SourceFile], zones: ZoneDatabase
    ) -> Result<Configuration, ConfigErrors> {
        let load = load(main: main, medications: medications, zones: zones)
        return load.errors.isEmpty ? .success(load.configuration) : .failure(ConfigErrors(load.errors))
    }

    /// Decodes the files one by one, as systemd loads unit files (SPEC 5): every valid file is in
    /// force; an invalid one is reported and, if `previous` held a valid version of it, that
    /// version stays in force, else it is left out (for `dosed.toml`: the defaults).
    ///
    /// Medication files are read with the `[defaults]` of the `dosed.toml` in force, so a broken
    /// `dosed.toml` never changes how the medication files read.
    /// - Parameter now: when given, calendar schedules counted from `start` are also checked to
    ///   need at most ``DueTimes/stepBudget`` matches to reach a year from `now` (so no
    ///   configuration can hold the daemon up counting doses since 1970).
    public static func load(
        main: SourceFile?, medications: [SourceFile], zones: ZoneDatabase, previous: Configuration? = nil,
        now: Micros? = nil
    ) -> ConfigLoad {
        var config = Configuration(systemZone: zones.system)
        var load = ConfigLoad(configuration: config)
        if let main {
            var errors: [ConfigError] = []
            if let problem = main.problem {
                errors.append(ConfigError(file: main.path, line: 1, column: 1, message: problem))
            } else if var reader = Reader(main, zones: zones, errors: &errors) {
                reader.main(into: &config)
                errors += reader.errors
            }
            if !errors.isEmpty {
                load.refuse(main.path, errors)
                config = Configuration(systemZone: zones.system)
                if let previous {
                    config.timezone = previous.timezone
                    config.defaults = previous.defaults
                    config.hooks = previous.hooks
                    config.notify = previous.notify
                }
            }
        }
        // In medication id order (a file's stem is its id); each stem worked out once.
        let files = medications.map({ (stem: $0.stem, file: $0) }).sorted(by: { $0.stem < $1.stem }).map(\.file)
        let settings = config
        let results = parallelMap(files) { file in
            var decoded = medication(file, defaults: settings.defaults, zones: zones)
            if case .success(let medication) = decoded, let now {
                let errors = countingErrors(medication, file, config: settings, now: now)
                if !errors.isEmpty { decoded = .failure(ConfigErrors(errors)) }
            }
            return decoded
        }
        for (file, decoded) in zip(files, results) {
            switch decoded {
            case .success(let medication):
                config.medications.append(medication)
            case .failure(let errors):
                load.refuse(file.path, errors.errors)
                if let kept = previous?.medication(file.stem), isValidID(file.stem) {
                    config.medications.append(kept)
                    load.kept.append(file.path)
                }
            }
        }
        load.configuration = config
        load.errors.sort()
        return load
    }

    /// `transform` of each file, in order. Files are independent, so a large config dir (a
    /// thousand files and more) is decoded on every core; a small one on the calling thread.
    private static func parallelMap(
        _ files: [SourceFile], _ transform: @Sendable (SourceFile) -> Result<Medication, ConfigErrors>
    ) -> [Result<Medication, ConfigErrors>] {
        guard files.count >= 64 else { return files.map(transform) }
        let results = Mutex([Result<Medication, ConfigErrors>?](repeating: nil, count: files.count))
        withoutActuallyEscaping(transform) { transform in
            DispatchQueue.concurrentPerform(iterations: files.count) { index in
                let result = transform(files[index])
                results.withLock { $0[index] = result }
            }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// Calendar schedules whose doses are counted from `start` and would need more than
    /// ``DueTimes/stepBudget`` matches to be counted up to a year from `now`.
    static func countingErrors(_ medication: Medication, _ file: SourceFile, config: Configuration, now: Micros) -> [ConfigError] {
        var errors: [ConfigError] = []
        for (index, schedule) in medication.schedules.enumerated() {
            guard case .calendar = schedule.timing, schedule.start != nil else { continue }
            var times = DueTimes(schedule: schedule, zone: config.zone(for: schedule), after: now + 366 * Civil.day)
            _ = times.next()
            guard times.exhausted else { continue }
            let positions = TOMLPositions(scanning: file.text)
            let at = positions.key(["schedule", String(index), "start"]) ?? positions.best(["schedule", String(index)])
            errors.append(ConfigError(file: file.path, line: at.line, column: at.column, message:
                "counting the doses of schedule '\(schedule.id)' from 'start' (for 'count' or 'cycle') passes \(DueTimes.stepBudget) doses: move 'start' closer or make the calendar expression less frequent"))
        }
        return errors
    }

    /// One medication file, read with the `[defaults]` in force.
    public static func medication(
        _ file: SourceFile, defaults: Configuration.Defaults, zones: ZoneDatabase
    ) -> Result<Medication, ConfigErrors> {
        if let problem = file.problem {
            return .failure(ConfigErrors([ConfigError(file: file.path, line: 1, column: 1, message: problem)]))
        }
        guard isValidID(file.stem) else {
            return .failure(ConfigErrors([ConfigError(file: file.path, line: 1, column: 1, message:
                "'\(file.stem)' is not a valid medication id (the file name must match [a-z0-9][a-z0-9_-]*.toml)")]))
        }
        var errors: [ConfigError] = []
        guard var reader = Reader(file, zones: zones, errors: &errors) else { return .failure(ConfigErrors(errors)) }
        let medication = reader.medication(id: file.stem, defaults: defaults)
        errors += reader.errors
        guard errors.isEmpty, let medication else { return .failure(ConfigErrors(errors)) }
        return .success(medication)
    }
}

/// What loading a config dir file by file gave: the configuration in force and what was refused.
public struct ConfigLoad: Sendable {
    /// Every valid file, plus the previous version of each refused file that had one.
    public var configuration: Configuration
    /// Every error of every refused file, in file and position order.
    public var errors: [ConfigError] = []
    /// The refused files, in the order met.
    public var refused: [String] = []
    /// Refused medication files whose previous valid version stays in force.
    public var kept: [String] = []

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Whether every file was valid.
    public var isValid: Bool { errors.isEmpty }

    mutating func refuse(_ path: String, _ fileErrors: [ConfigError]) {
        errors += fileErrors
        if !refused.contains(path) { refused.append(path) }
    }

    /// One line naming the refused files, for a warning on stderr.
    public var warning: String? {
        guard !refused.isEmpty else { return nil }
        let names = refused.map { path in kept.contains(path) ? path + " (its previous version stays in force)" : path }
        return "warning: invalid configuration ignored: \(names.joined(separator: ", ")); run 'dosectl check' for details"
    }
}

// MARK: - Reading one file

private typealias Path = [String]

/// A TOML table and the keys it holds. Most keys a schedule may have are absent, and asking
/// toml++ for one costs a C string, a `std::string` and a map search each time; asking this short
/// list costs a few comparisons (start-up reads thousands of schedules).
private struct Table {
    let toml: TOMLTable
    /// In toml++'s order.
    let keys: [String]

    init(_ toml: TOMLTable) {
        self.toml = toml
        keys = toml.keys
    }

    subscript(key: String) -> TOMLValueConvertible? {
        keys.contains(key) ? toml[key] as TOMLValueConvertible? : nil
    }
}

private struct Reader {
    let file: SourceFile
    let root: Table
    /// The zones `timezone` and calendar expressions may name.
    let zones: ZoneDatabase
    /// Where each key and table stands, for error messages only: scanned at the first error, so
    /// a valid file (nearly every file, nearly every time) is read once, by toml++.
    private lazy var positions = TOMLPositions(scanning: file.text)
    var errors: [ConfigError] = []

    init?(_ file: SourceFile, zones: ZoneDatabase, errors: inout [ConfigError]) {
        self.file = file
        self.zones = zones
        // toml++ only ever sees well-formed TOML (see TOMLPrecheck): its own handling of some
        // malformed text is an assertion, not an error.
        if let problem = TOMLPrecheck.problem(in: file.text) {
            errors.append(ConfigError(file: file.path, line: problem.line, column: problem.column, message: problem.message))
            return nil
        }
        do {
            root = Table(try TOMLTable(string: file.text))
        } catch let error as TOMLParseError {
            errors.append(ConfigError(file: file.path, line: error.source.begin.line,
                                      column: error.source.begin.column, message: error.description))
            return nil
        } catch {
            errors.append(ConfigError(file: file.path, line: 1, column: 1, message: "\(error)"))
            return nil
        }
    }

    // MARK: Errors

    mutating func fail(_ path: Path, _ message: String, columnOffset: Int = 0) {
        let position = positions.best(path)
        errors.append(ConfigError(file: file.path, line: position.line, column: position.column + columnOffset, message: message))
    }

    mutating func failAtKey(_ path: Path, _ message: String) {
        let position = positions.key(path) ?? positions.best(path)
        errors.append(ConfigError(file: file.path, line: position.line, column: position.column, message: message))
    }

    static func name(_ path: Path) -> String {
        var text = ""
        for part in path {
            if let index = Int(part) { text += "[\(index)]" } else { text += text.isEmpty ? part : "." + part }
        }
        return "'\(text)'"
    }

    /// Reports keys of `table` that are not in `known`.
    mutating func checkKeys(_ table: Table, at path: Path, known: [String], context: String) {
        for key in table.keys where !known.contains(key) {
            failAtKey(path + [key], "unknown key '\(key)' in \(context) (known: \(known.joined(separator: ", ")))")
        }
    }

    // MARK: Typed values

    mutating func string(_ table: Table, _ key: String, at path: Path) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else {
            fail(path + [key], "\(Self.name(path + [key])) must be a string, not \(describe(value))")
            return nil
        }
        return text
    }

    mutating func integer(_ table: Table, _ key: String, at path: Path, minimum: Int, maximum: Int) -> Int? {
        guard let value = table[key] else { return nil }
        guard value.type == .int, let number = value.int else {
            fail(path + [key], "\(Self.name(path + [key])) must be an integer, not \(describe(value))")
            return nil
        }
        guard number >= minimum, number <= maximum else {
            fail(path + [key], Limits.message(Self.name(path + [key]), minimum...maximum, number))
            return nil
        }
        return number
    }

    mutating func bool(_ table: Table, _ key: String, at path: Path) -> Bool? {
        guard let value = table[key] else { return nil }
        guard value.type == .bool, let flag = value.bool else {
            fail(path + [key], "\(Self.name(path + [key])) must be true or false, not \(describe(value))")
            return nil
        }
        return flag
    }

    mutating func duration(_ table: Table, _ key: String, at path: Path, positive: Bool) -> Micros? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else {
            fail(path + [key], "\(Self.name(path + [key])) must be a duration string such as \"15m\" or \"1h30m\", not \(describe(value))")
            return nil
        }
        return duration(text, at: path + [key], positive: positive)
    }

    mutating func duration(_ text: String, at path: Path, positive: Bool) -> Micros? {
        switch DurationText.parse(text) {
        case .failure(let error):
            fail(path, "bad duration for \(Self.name(path)): \(error)")
            return nil
        case .success(let micros):
            if positive && micros == 0 {
                fail(path, "\(Self.name(path)) must be longer than zero")
                return nil
            }
            return micros
        }
    }

    /// A string or an array of strings.
    mutating func strings(_ table: Table, _ key: String, at path: Path) -> (values: [(String, Path)], array: Bool)? {
        guard let value = table[key] else { return nil }
        if let text = value.string { return ([(text, path + [key])], false) }
        guard let array = value.array else {
            fail(path + [key], "\(Self.name(path + [key])) must be a string or an array of strings, not \(describe(value))")
            return nil
        }
        var values: [(String, Path)] = []
        for index in 0..<array.count {
            let elementPath = path + [key, String(index)]
            guard let text = array[index].string else {
                fail(elementPath, "\(Self.name(elementPath)) must be a string, not \(describe(array[index]))")
                continue
            }
            values.append((text, elementPath))
        }
        return (values, true)
    }

    mutating func timePoint(_ table: Table, _ key: String, at path: Path) -> TimePoint? {
        guard let value = table[key] else { return nil }
        if let date = value.date, value.type == .date {
            let wall = WallTime(year: date.year, month: date.month, day: date.day)
            return inRange(wall, path + [key]) ? .date(wall) : nil
        }
        if let dateTime = value.dateTime, value.type == .dateTime {
            let wall = WallTime(
                year: dateTime.date.year, month: dateTime.date.month, day: dateTime.date.day,
                hour: dateTime.time.hour, minute: dateTime.time.minute,
                microsecond: dateTime.time.second * 1_000_000 + dateTime.time.nanoSecond / 1000)
            guard inRange(wall, path + [key]) else { return nil }
            if let offset = dateTime.offset {
                return .instant(wall.local - Micros(offset.offset) * Civil.minute)
            }
            return .local(wall)
        }
        fail(path + [key], "\(Self.name(path + [key])) must be a TOML date (2026-12-01) or date-time (2026-12-01T08:00:00), not \(describe(value))")
        return nil
    }

    private mutating func inRange(_ wall: WallTime, _ path: Path) -> Bool {
        guard (CalendarExpression.minYear...CalendarExpression.maxYear).contains(wall.year) else {
            fail(path, "\(Self.name(path)) must be between the years 1970 and 2199")
            return false
        }
        return true
    }

    mutating func zone(_ table: Table, _ key: String, at path: Path) -> String? {
        guard let name = string(table, key, at: path) else { return nil }
        guard zones.named(name) != nil else {
            fail(path + [key], "unknown time zone '\(name)' (use an IANA name such as Europe/London)")
            return nil
        }
        return name
    }

    func describe(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "a string"
        case .int: "an integer"
        case .double: "a number"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
    }

    mutating func subtable(_ table: Table, _ key: String, at path: Path) -> Table? {
        guard let value = table[key] else { return nil }
        guard let sub = value.table else {
            fail(path + [key], "\(Self.name(path + [key])) must be a table, not \(describe(value))")
            return nil
        }
        return Table(sub)
    }

    // MARK: dosed.toml

    mutating func main(into config: inout Configuration) {
        checkKeys(root, at: [], known: ["timezone", "defaults", "hooks", "notify", "report"], context: "dosed.toml")
        config.timezone = zone(root, "timezone", at: [])
        if let defaults = subtable(root, "defaults", at: []) {
            let path = ["defaults"]
            checkKeys(defaults, at: path, known: ["window", "repeat", "escalate", "before"], context: "[defaults]")
            if let window = duration(defaults, "window", at: path, positive: true) { config.defaults.window = window }
            if let value = duration(defaults, "repeat", at: path, positive: false) { config.defaults.repeatEvery = value }
            if let value = duration(defaults, "escalate", at: path, positive: false) { config.defaults.escalate = value }
            if let before = leadTimes(defaults, at: path) { config.defaults.before = before }
        }
        if let hooks = subtable(root, "hooks", at: []) {
            let path = ["hooks"]
            checkKeys(hooks, at: path, known: ["on_due", "on_missed", "on_low_stock"], context: "[hooks]")
            config.hooks.onDue = string(hooks, "on_due", at: path).flatMap { $0.isEmpty ? nil : $0 }
            config.hooks.onMissed = string(hooks, "on_missed", at: path).flatMap { $0.isEmpty ? nil : $0 }
            config.hooks.onLowStock = string(hooks, "on_low_stock", at: path).flatMap { $0.isEmpty ? nil : $0 }
        }
        if let notify = subtable(root, "notify", at: []) {
            let path = ["notify"]
            checkKeys(notify, at: path, known: ["desktop", "snooze"], context: "[notify]")
            config.notify.desktop = bool(notify, "desktop", at: path)
            if let span = duration(notify, "snooze", at: path, positive: true), let text = notify["snooze"]?.string {
                config.notify.snooze = span
                config.notify.snoozeText = text
            }
        }
        if let report = subtable(root, "report", at: []) {
            checkKeys(report, at: ["report"], known: ["patient"], context: "[report]")
            config.patient = string(report, "patient", at: ["report"]).flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    mutating func leadTimes(_ table: Table, at path: Path) -> [Micros]? {
        guard let (texts, _) = strings(table, "before", at: path) else { return nil }
        return texts.compactMap { duration($0.0, at: $0.1, positive: true) }
    }

    // MARK: Medication files

    mutating func medication(id: String, defaults: Configuration.Defaults) -> Medication? {
        checkKeys(root, at: [], known: ["name", "dose", "route", "sites", "stock", "refill_at", "refill_days", "notes", "schedule", "as_needed"],
                  context: "a medication file")
        let name = string(root, "name", at: [])
        if root["name"] == nil {
            errors.append(ConfigError(file: file.path, line: 1, column: 1, message: "missing required key 'name'"))
        }
        var medication = Medication(id: id, name: name ?? id)
        medication.dose = string(root, "dose", at: [])
        medication.route = string(root, "route", at: [])
        medication.notes = string(root, "notes", at: [])
        medication.stock = integer(root, "stock", at: [], minimum: 0, maximum: Limits.stock)
        medication.refillAt = integer(root, "refill_at", at: [], minimum: 0, maximum: Limits.stock)
        medication.refillDays = integer(root, "refill_days", at: [], minimum: 1, maximum: Limits.refillDays)
        if let (sites, array) = strings(root, "sites", at: []) {
            if !array { fail(["sites"], "'sites' must be an array of strings") }
            var seen: Set<String> = []
            for (site, path) in sites {
                if site.isEmpty { fail(path, "an injection site must not be empty") }
                if !seen.insert(site).inserted { fail(path, "injection site '\(site)' is listed twice") }
            }
            medication.sites = sites.map(\.0)
        }
        medication.asNeeded = asNeeded()
        if let value = root["schedule"] {
            guard let array = value.array, array.allSatisfy({ $0.table != nil }) else {
                fail(["schedule"], "'schedule' must be an array of tables ([[schedule]]), not \(describe(value))")
                return medication
            }
            var ids: Set<String> = []
            for index in 0..<array.count {
                let path = ["schedule", String(index)]
                let table = Table(array[index].table!)
                if let id = table["id"]?.string, !ids.insert(id).inserted {
                    fail(path + ["id"], "schedule id '\(id)' is used twice in this file")
                }
                guard let (schedule, text) = schedule(table, at: path, defaults: defaults) else { continue }
                medication.schedules.append(schedule)
                medication.scheduleTexts[schedule.id] = text
            }
        }
        return medication
    }

    // MARK: Schedules

    static let scheduleKeys = [
        "id", "on", "every", "first", "before", "window", "repeat", "escalate", "start", "end", "timezone",
        "cycle", "count", "anchor", "paused", "paused_until", "dose", "route",
    ]

    /// `[as_needed]` (SPEC 10): `min_interval` (required, above zero), `max = { doses, per }`
    /// (a limit that `min_interval` alone does not already guarantee), `reason`.
    mutating func asNeeded() -> AsNeeded? {
        guard let table = subtable(root, "as_needed", at: []) else { return nil }
        let path = ["as_needed"]
        checkKeys(table, at: path, known: ["min_interval", "max", "reason"], context: "[as_needed]")
        if table["min_interval"] == nil { failAtKey(path, "[as_needed] needs a 'min_interval' (the least time between two takes)") }
        let interval = duration(table, "min_interval", at: path, positive: true)
        let reason = string(table, "reason", at: path)
        var maximum: (doses: Int, per: Micros, text: String)?
        if let max = subtable(table, "max", at: path) {
            let maxPath = path + ["max"]
            checkKeys(max, at: maxPath, known: ["doses", "per"], context: "as_needed.max")
            if max["doses"] == nil || max["per"] == nil { failAtKey(maxPath, "'max' needs 'doses' and 'per', e.g. { doses = 4, per = \"24h\" }") }
            let doses = integer(max, "doses", at: maxPath, minimum: 1, maximum: Limits.asNeededDoses)
            let per = duration(max, "per", at: maxPath, positive: true)
            if let doses, let per, let text = max["per"]?.string {
                maximum = (doses, per, text)
                // With takes at least `interval` apart, the last `per` holds at most
                // ceil(per / interval) - 1 earlier takes: a max that high never refuses one.
                if let interval, (per + interval - 1) / interval <= Micros(doses) {
                    fail(maxPath + ["doses"], "'max' can never refuse a take: with min_interval \(table["min_interval"]?.string ?? "") " +
                         "there are at most \((per + interval - 1) / interval) takes in \(text) already; lower 'doses' or leave 'max' out")
                }
            }
        }
        guard let interval else { return nil }
        var rule = AsNeeded(minInterval: interval, minIntervalText: table["min_interval"]?.string ?? "")
        rule.reason = reason
        if let maximum {
            rule.maxDoses = maximum.doses
            rule.per = maximum.per
            rule.perText = maximum.text
        }
        return rule
    }

    mutating func schedule(_ table: Table, at path: Path, defaults: Configuration.Defaults) -> (Schedule, ScheduleText)? {
        let errorsBefore = errors.count
        checkKeys(table, at: path, known: Self.scheduleKeys, context: "[[schedule]]")
        let id = string(table, "id", at: path)
        if table["id"] == nil {
            failAtKey(path, "[[schedule]] needs an 'id'")
        } else if let id {
            if !ConfigDecoder.isValidID(id) {
                fail(path + ["id"], "schedule id '\(id)' must match [a-z0-9][a-z0-9_-]*")
            } else if id == DoseID.extra || id == DoseID.asNeeded {
                fail(path + ["id"], "schedule id '\(id)' is reserved for unscheduled and as-needed takes")
            }
        }

        let timezone = zone(table, "timezone", at: path)
        let on = strings(table, "on", at: path)
        let everyText = string(table, "every", at: path)
        let every = table["every"] == nil ? nil : everyText.flatMap { duration($0, at: path + ["every"], positive: true) }
        let first = timePoint(table, "first", at: path)
        let start = timePoint(table, "start", at: path)
        let end = timePoint(table, "end", at: path)
        let count = integer(table, "count", at: path, minimum: 1, maximum: Limits.count)
        let cycle = self.cycle(table, at: path)

        var timing: Schedule.Timing?
        var text: ScheduleText?
        switch (table["on"] != nil, table["every"] != nil) {
        case (true, true):
            failAtKey(path + ["every"], "a schedule has either 'on' or 'every', not both")
        case (false, false):
            failAtKey(path, "a schedule needs 'on' (calendar times) or 'every' (an interval)")
        case (true, false):
            if let (values, array) = on {
                if values.isEmpty { fail(path + ["on"], "'on' must name at least one calendar expression") }
                var expressions: [CalendarExpression] = []
                for (value, valuePath) in values {
                    do {
                        expressions.append(try CalendarExpression(parsing: value, zones: zones))
                    } catch {
                        fail(valuePath, "bad calendar expression '\(value)': \(error.message)", columnOffset: 1 + error.offset)
                    }
                }
                timing = .calendar(expressions)
                text = .on(values.map(\.0), array: array)
            }
            if table["first"] != nil { failAtKey(path + ["first"], "'first' belongs to 'every' schedules; use 'start' with 'on'") }
            if count != nil && table["start"] == nil {
                failAtKey(path + ["count"], "'count' on an 'on' schedule needs 'start', the day counting begins")
            }
            if table["cycle"] != nil && table["start"] == nil {
                failAtKey(path + ["cycle"], "'cycle' on an 'on' schedule needs 'start', the day the first course begins")
            }
        case (false, true):
            if table["first"] == nil {
                failAtKey(path + ["every"], "'every' needs 'first', the date-time of the first dose")
            } else if let every, let first {
                timing = .interval(every: every, first: first)
                text = .every(everyText ?? "")
            }
        }

        var anchor = Schedule.Anchor.schedule
        if let anchorText = string(table, "anchor", at: path) {
            if let value = Schedule.Anchor(rawValue: anchorText) {
                anchor = value
                if value == .taken {
                    if table["every"] == nil {
                        fail(path + ["anchor"], "anchor = \"taken\" needs an 'every' schedule")
                    } else if table["count"] != nil || table["cycle"] != nil {
                        fail(path + ["anchor"], "anchor = \"taken\" cannot be combined with 'count' or 'cycle'")
                    }
                }
            } else {
                fail(path + ["anchor"], "'anchor' must be \"schedule\" or \"taken\", not \"\(anchorText)\"")
            }
        }

        if let startPoint = start, let endPoint = end {
            let zone = ZoneRules.named(timezone ?? "UTC") ?? .utc
            if endPoint.lastInstant(in: zone) < startPoint.instant(in: zone) {
                fail(path + ["end"], "'end' (\(endPoint)) is before 'start' (\(startPoint))")
            }
        }

        let before = leadTimes(table, at: path) ?? defaults.before
        let window = duration(table, "window", at: path, positive: true) ?? defaults.window
        let repeatEvery = duration(table, "repeat", at: path, positive: false) ?? defaults.repeatEvery
        let escalate = duration(table, "escalate", at: path, positive: false) ?? defaults.escalate
        let paused = bool(table, "paused", at: path) ?? false
        let pausedUntil = timePoint(table, "paused_until", at: path)
        let dose = string(table, "dose", at: path)
        let route = string(table, "route", at: path)

        guard errors.count == errorsBefore, let id, let timing, let text else { return nil }
        var schedule = Schedule(id: id, timing: timing)
        schedule.before = before
        schedule.window = window
        schedule.repeatEvery = repeatEvery
        schedule.escalate = escalate
        schedule.start = start
        schedule.end = end
        schedule.timezone = timezone
        schedule.cycle = cycle
        schedule.count = count
        schedule.anchor = anchor
        schedule.paused = paused
        schedule.pausedUntil = pausedUntil
        schedule.dose = dose
        schedule.route = route
        return (schedule, text)
    }

    mutating func cycle(_ table: Table, at path: Path) -> Schedule.Cycle? {
        guard let cycle = subtable(table, "cycle", at: path) else { return nil }
        let cyclePath = path + ["cycle"]
        checkKeys(cycle, at: cyclePath, known: ["doses", "on", "off"], context: "'cycle'")
        let off = duration(cycle, "off", at: cyclePath, positive: true)
        if cycle["off"] == nil { failAtKey(cyclePath, "'cycle' needs 'off', the rest between courses") }
        switch (cycle["doses"] != nil, cycle["on"] != nil) {
        case (true, true):
            failAtKey(cyclePath + ["on"], "'cycle' has either 'doses' or 'on', not both")
        case (false, false):
            failAtKey(cyclePath, "'cycle' needs 'doses' (doses per course) or 'on' (length of each course)")
        case (true, false):
            if let doses = integer(cycle, "doses", at: cyclePath, minimum: 1, maximum: Limits.cycleDoses), let off { return .doses(doses, off: off) }
        case (false, true):
            if let on = duration(cycle, "on", at: cyclePath, positive: true), let off { return .periods(on: on, off: off) }
        }
        return nil
    }
}
