/// What happened, as one journal entry and one socket notification (SPEC 5): each case carries
/// exactly what its entry says.
public enum Event: Sendable, Equatable {
    /// A dose's pre-reminder (`before`).
    case preReminder(DoseRecord)
    /// A dose's reminder: its first (the one `on_due` runs for), late (a catch-up after its
    /// time), a warning (from `escalate` on: PRIORITY 4).
    case reminder(DoseRecord, first: Bool, late: Bool, warning: Bool)
    case escalated(DoseRecord)
    case missed(DoseRecord)
    /// A take, and the stock on hand after it (nil for a medication without stock).
    case taken(DoseRecord, stock: Int?)
    case skipped(DoseRecord)
    case snoozed(DoseRecord)
    case held(DoseRecord)
    /// A take recorded beyond its as-needed limits, and the refusal it overrode (SPEC 10).
    case limitExceeded(DoseRecord, refusal: String)
    /// A correction: the dose's new state (`DOSED_STATE`), why (`DOSED_REASON`), and the stock
    /// when the correction moved it (SPEC 10).
    case amended(DoseRecord, state: Change.State, reason: String, stock: Int?)
    /// A medication's stock came to `refill_at` or to run out within `refill_days`.
    case lowStock(medication: String, stock: Int)
    /// The configuration in force: a summary of what it holds.
    case configLoaded(summary: String)
    /// A refused file: its errors as FILE:LINE:COLUMN lines, and what stays in force.
    case configError(String)

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

    public var kind: Kind {
        switch self {
        case .preReminder: .preReminder
        case .reminder: .reminder
        case .escalated: .escalated
        case .missed: .missed
        case .taken: .taken
        case .skipped: .skipped
        case .snoozed: .snoozed
        case .held: .held
        case .limitExceeded: .limitExceeded
        case .amended: .amended
        case .lowStock: .lowStock
        case .configLoaded: .configLoaded
        case .configError: .configError
        }
    }

    /// The dose the event is about, with its state after the event.
    public var dose: DoseRecord? {
        switch self {
        case .preReminder(let r), .reminder(let r, _, _, _), .escalated(let r), .missed(let r), .taken(let r, _),
             .skipped(let r), .snoozed(let r), .held(let r), .limitExceeded(let r, _), .amended(let r, _, _, _): r
        case .lowStock, .configLoaded, .configError: nil
        }
    }

    /// The first reminder of a dose: the one `on_due` runs for.
    public var first: Bool { if case .reminder(_, let first, _, _) = self { first } else { false } }
    /// A reminder that fires after its time (catch-up): `DOSED_LATE=1`.
    public var late: Bool { if case .reminder(_, _, let late, _) = self { late } else { false } }
    /// A reminder from `escalate` on.
    public var warning: Bool { if case .reminder(_, _, _, let warning) = self { warning } else { false } }

    /// Doses on hand (`DOSED_STOCK`), for `low-stock`, and for `taken` and `amended` when they moved it.
    public var stock: Int? {
        switch self {
        case .taken(_, let stock), .amended(_, _, _, let stock): stock
        case .lowStock(_, let stock): stock
        default: nil
        }
    }

    /// The medication of an event without a dose (`low-stock`).
    public var medication: String? { if case .lowStock(let medication, _) = self { medication } else { nil } }

    /// `DOSED_ERROR`: a refused file's errors, or the refusal a `limit-exceeded` take overrode.
    public var error: String? {
        switch self {
        case .configError(let text), .limitExceeded(_, let text): text
        default: nil
        }
    }

    /// What a `config-loaded` configuration holds.
    public var summary: String? { if case .configLoaded(let summary) = self { summary } else { nil } }

    /// For `amended`: the dose's new state (`DOSED_STATE`) and why (`DOSED_REASON`).
    public var state: Change.State? { if case .amended(_, let state, _, _) = self { state } else { nil } }
    public var reason: String? { if case .amended(_, _, let reason, _) = self { reason } else { nil } }

    /// The journal PRIORITY of this entry: a repeat reminder escalated is a warning.
    public var priority: Int { warning ? 4 : kind.priority }
}
