/// What happened, as one journal entry and one socket notification (SPEC 5).
public struct Event: Sendable, Equatable {
    /// `DOSED_EVENT` values.
    public enum Kind: String, Sendable, CaseIterable {
        case reminder
        case preReminder = "pre-reminder"
        case escalated
        case missed
        case taken
        case skipped
        case snoozed
        case lowStock = "low-stock"
        case configLoaded = "config-loaded"
        case configError = "config-error"
        case held
        case limitExceeded = "limit-exceeded"
        case amended

        /// The journal `PRIORITY` (syslog level).
        public var priority: Int {
            switch self {
            case .reminder, .amended: 5
            case .preReminder, .taken, .skipped, .snoozed, .configLoaded, .held: 6
            case .escalated, .missed, .lowStock, .limitExceeded: 4
            case .configError: 3
            }
        }

        /// The journal `MESSAGE_ID`, explained in `systemd/dosed.catalog`.
        public var messageID: String {
            switch self {
            case .reminder: "bd28bae5fb69416394bb0bf6160bde60"
            case .preReminder: "c5e9afc4d461490287817fd51853ebcb"
            case .escalated: "b2418a34bd3744ba990eda8fbf282bd6"
            case .missed: "303728bad5f04070a6ebedaa5f4fafcf"
            case .taken: "4617bed63ffc4f42be3e2009611185a0"
            case .skipped: "bd68741bfa4a42519cfd8113c0b9d589"
            case .snoozed: "b24599eff33446a9a8b889ec4be1314c"
            case .lowStock: "76dd7c32a74c4b67bbfa2d4ac69a2848"
            case .configLoaded: "417139632c9944b8ae2e7e8a167d1d40"
            case .configError: "e7acdaa8dec14f3cbc3ea598302bf9d2"
            case .held: "dbc2592fa16745e18204292309d2a7b4"
            case .limitExceeded: "0432bc450a8944cca2ed11de6c179de1"
            case .amended: "6e16f8ecf1ee44a6b30b580f077f3ee6"
            }
        }
    }

    public var kind: Kind
    /// The dose the event is about, with its state after the event.
    public var dose: DoseRecord?
    /// A reminder that fires after its time (catch-up): `DOSED_LATE=1`.
    public var late = false
    /// A reminder from `escalate` on: a warning (PRIORITY 4).
    public var warning = false
    /// The first reminder of a dose: the one `on_due` runs for.
    public var first = false
    /// Doses on hand, for `low-stock` and `taken`.
    public var stock: Int?
    /// The medication, for events without a dose (`low-stock`).
    public var medication: String?
    /// `config-error` text (FILE:LINE:COLUMN: message) or `config-loaded` summary.
    public var error: String?
    public var summary: String?
    /// For `amended`: the dose's new state (`DOSED_STATE`) and why (`DOSED_REASON`).
    public var state: Change.State?
    public var reason: String?

    public init(kind: Kind, dose: DoseRecord? = nil) {
        self.kind = kind
        self.dose = dose
    }

    /// The journal PRIORITY of this entry: a repeat reminder escalated is a warning.
    public var priority: Int { kind == .reminder && warning ? 4 : kind.priority }
}
