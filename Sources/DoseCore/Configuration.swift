/// The whole configuration of a config dir: `dosed.toml` and `medications/*.toml` (SPEC 3).
public struct Configuration: Sendable {
    /// Reminder policy for schedules that do not set their own.
    public struct Defaults: Sendable, Equatable {
        public var window: Micros = 2 * Civil.hour
        public var repeatEvery: Micros = 15 * Civil.minute
        public var escalate: Micros = Civil.hour
        public var before: [Micros] = []
        public init() {}
    }

    /// Shell commands run on events, with the `DOSED_*` fields as environment.
    public struct Hooks: Sendable, Equatable {
        public var onDue: String?
        public var onMissed: String?
        public var onLowStock: String?
        public init() {}
    }

    /// Desktop notifications (`[notify]`, SPEC 9).
    public struct Notify: Sendable, Equatable {
        /// `desktop`: nil when not set (on in user mode, off in system mode).
        public var desktop: Bool?
        /// What the notification's Snooze button asks for, as written and as a span.
        public var snoozeText = "15m"
        public var snooze: Micros = 15 * Civil.minute
        public init() {}

        /// Whether reminders go to the desktop: `desktop` if set, else on in user mode only.
        public func desktop(system: Bool) -> Bool { desktop ?? !system }
    }

    /// `timezone` of `dosed.toml`, if set.
    public var timezone: String? {
        didSet { namedZone = timezone.flatMap(ZoneRules.named) }
    }
    /// The rules of `timezone`, looked up once: every dose shown asks for its zone.
    private var namedZone: ZoneRules?
    public var defaults = Defaults()
    public var hooks = Hooks()
    public var notify = Notify()
    /// `[report] patient`: the name on reports and FHIR exports (SPEC 11).
    public var patient: String?
    /// Medications in id order.
    public var medications: [Medication] = []
    /// The zone used when neither a schedule nor `dosed.toml` names one.
    public var systemZone: ZoneRules

    public init(systemZone: ZoneRules) {
        self.systemZone = systemZone
    }

    /// The zone of `dosed.toml`, else the system's.
    public var zone: ZoneRules {
        namedZone ?? systemZone
    }

    /// The zone a schedule's wall times are read in: its own, else `dosed.toml`'s, else the system's.
    public func zone(for schedule: Schedule) -> ZoneRules {
        schedule.timezone.flatMap(ZoneRules.named) ?? zone
    }

    /// The medication with this id.
    public func medication(_ id: String) -> Medication? {
        medications.first { $0.id == id }
    }

    /// What a dose shows of its medication and schedule (SPEC 6 `Dose`).
    public struct Shown: Sendable {
        /// The medication's name (its id when it is no longer configured).
        public var name: String
        /// The schedule's dose and route, else the medication's.
        public var dose: String?
        public var route: String?
        /// The zone of its wall times.
        public var zone: ZoneRules
        /// Its schedule's window; nil for a schedule no longer configured.
        public var window: Micros?

        public init(name: String, dose: String?, route: String?, zone: ZoneRules, window: Micros? = nil) {
            self.name = name
            self.dose = dose
            self.route = route
            self.zone = zone
            self.window = window
        }
    }

    /// Where `dose`'s medication and schedule stand in ``medications``, found without copying
    /// either (a listing shows thousands of doses and every tick looks up each open one; copying
    /// a medication for each costs more than the rest). Nil when the medication is gone.
    func position(of dose: DueDose) -> (medication: Int, schedule: Int?)? {
        guard let m = medications.firstIndex(where: { $0.id == dose.medication }) else { return nil }
        return (m, medications[m].schedules.firstIndex(where: { $0.id == dose.schedule }))
    }

    /// What `dose` shows of its medication and schedule, read in place.
    public func shown(_ dose: DueDose) -> Shown {
        guard let (m, schedule) = position(of: dose) else {
            return Shown(name: dose.medication, dose: nil, route: nil, zone: zone, window: nil)
        }
        guard let s = schedule else {
            return Shown(name: medications[m].name, dose: medications[m].dose, route: medications[m].route, zone: zone, window: nil)
        }
        return Shown(name: medications[m].name, dose: medications[m].schedules[s].dose ?? medications[m].dose,
                     route: medications[m].schedules[s].route ?? medications[m].route,
                     zone: medications[m].schedules[s].timezone.flatMap(ZoneRules.named) ?? zone,
                     window: medications[m].schedules[s].window)
    }

    /// The longest `window` of any schedule (zero without schedules).
    public var longestWindow: Micros {
        medications.lazy.flatMap(\.schedules).map(\.window).max() ?? 0
    }

    /// How far back takes count for any `[as_needed]` limit (nil: no medication has one).
    public var asNeededLookback: Micros? {
        medications.compactMap { $0.asNeeded?.lookback }.max()
    }

    /// The number of schedules of all medications.
    public var scheduleCount: Int {
        medications.reduce(0) { $0 + $1.schedules.count }
    }
}

/// One medication file, `medications/<id>.toml`.
public struct Medication: Sendable, Equatable {
    /// The file's stem, e.g. `interferon`.
    public var id: String
    public var name: String
    public var dose: String?
    public var route: String?
    /// Injection sites in rotation order.
    public var sites: [String] = []
    /// Doses on hand when the file was written.
    public var stock: Int?
    public var refillAt: Int?
    /// A low-stock alert also when the stock runs out within this many days (SPEC 10).
    public var refillDays: Int?
    /// `[as_needed]`: taken when needed, within safe limits (SPEC 10).
    public var asNeeded: AsNeeded?
    public var notes: String?
    public var schedules: [Schedule] = []
    /// How each schedule was written, for display: `on` expressions or the `every` duration.
    public var scheduleTexts: [String: ScheduleText] = [:]

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }

    public func schedule(_ id: String) -> Schedule? {
        schedules.first { $0.id == id }
    }

    /// The dose of the schedule's doses: its own `dose`, else the medication's (SPEC 10).
    public func dose(for schedule: String) -> String? {
        self.schedule(schedule)?.dose ?? dose
    }

    /// The route of the schedule's doses: its own `route`, else the medication's.
    public func route(for schedule: String) -> String? {
        self.schedule(schedule)?.route ?? route
    }
}

/// How a schedule's timing was written in its file.
public enum ScheduleText: Sendable, Equatable {
    case on([String], array: Bool)
    case every(String)
}

/// One error in the configuration, with its place: `FILE:LINE:COLUMN: message`.
public struct ConfigError: Error, Sendable, Equatable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }

    public static func < (a: ConfigError, b: ConfigError) -> Bool {
        (a.file, a.line, a.column, a.message) < (b.file, b.line, b.column, b.message)
    }
}

/// Every error found in a configuration, in file and position order.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors.sorted() }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// A config file's path, as messages name it, and its text.
public struct SourceFile: Sendable {
    public var path: String
    public var text: String
    /// Why the file could not be read (unreadable, not UTF-8); its text is empty then.
    public var problem: String?

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }

    /// A file that could not be read, and why.
    public init(path: String, problem: String) {
        self.path = path
        self.text = ""
        self.problem = problem
    }

    /// The file name without directory and `.toml`.
    public var stem: String {
        // By bytes: Character-wise, this was 3 % of loading 5,000 files.
        let bytes = path.utf8
        let start = bytes.lastIndex(of: UInt8(ascii: "/")).map(bytes.index(after:)) ?? bytes.startIndex
        var name = bytes[start...]
        if name.count >= 5, name.suffix(5).elementsEqual(".toml".utf8) { name = name.dropLast(5) }
        return String(Substring(name))
    }
}
