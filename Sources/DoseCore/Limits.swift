/// The ranges of the numbers a user gives (config, CLI, socket). Every number is checked against
/// these before any arithmetic: Swift traps on overflow, and a trap is a dead daemon.
public enum Limits {
    /// Stock on hand, `stock`, `refill_at`, `--set` and `--add`: at most a million doses.
    public static let stock = 1_000_000
    /// `[as_needed] max.doses`.
    public static let asNeededDoses = 1000
    /// `refill_days`: at most ten years, as durations.
    public static let refillDays = 3650
    /// `count` of a schedule.
    public static let count = 100_000
    /// `cycle.doses`.
    public static let cycleDoses = 10_000
    /// `next -n` and `upcoming` in dosectl: the most doses one listing shows.
    public static let listing = 100_000

    /// "must be 0 to 1000000": the message for a number out of `range`.
    public static func message(_ name: String, _ range: ClosedRange<Int>, _ value: Int) -> String {
        "\(name) must be \(range.lowerBound) to \(range.upperBound), not \(value)"
    }
}
