import DoseCore
import Foundation
import GRDB

/// The history database, `STATE_DIR/history.sqlite` (SPEC 2 and 5): every dose's answer and
/// reminder progress, stock, when the daemon was last alive, and when schedules were first seen.
///
/// One type owns the `DatabaseWriter`; migrations run in its init. Writes are committed with
/// `synchronous = FULL` in WAL mode, so a write that returned is on disk: the daemon acknowledges
/// an answer only after its write returned. `dosectl` and the daemon may use the file at once.
public final class HistoryStore: Sendable {
    private let writer: any DatabaseWriter
    /// Held for the store's life when it was opened to answer (``HistoryLock``).
    private let lock: HistoryLock?

    /// Why the history could not be opened.
    public struct OpenError: Error, CustomStringConvertible {
        public var description: String
        /// SQLite found the file damaged, or not a database at all.
        public var isDamaged = false
        /// Who holds the history's lock, when that is why (``HistoryLock``).
        public var heldBy: HistoryLock.Holder?
    }

    /// Opens (creating if needed) the history at `path`; creates its directory with `mode`.
    /// With `lock`, takes the ``HistoryLock`` for that holder first (before anything is read),
    /// and keeps it for the store's life.
    ///
    /// The file is created with the directory's mode less execute bits (0600 in user mode, 0640
    /// in system mode) whatever the umask, and SQLite gives its `-wal` and `-shm` files the same
    /// mode. A symbolic link at any of the three paths is refused, never followed.
    public init(path: String, directoryMode: Int = 0o700, lock holder: HistoryLock.Holder? = nil) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: directoryMode])
            }
            lock = try holder.map { try Self.lock(directory, for: $0, path: path) }
            try Self.prepareFile(path, mode: mode_t(directoryMode & 0o666))
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            // Reader connections stay open; `releaseMemory` empties their caches instead of
            // closing them (closing goes through a concurrent queue, which starts libdispatch's
            // once-a-second thread-pool monitor: an idle daemon would wake every second).
            configuration.persistentReadOnlyConnections = true
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // Checkpoint every 64 pages (256 KiB) and truncate the WAL back to that size, so
                // it never grows into megabytes on a small disk.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 64")
                try db.execute(sql: "PRAGMA journal_size_limit = 262144")
            }
            writer = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(writer)
        } catch let error as OpenError {
            throw error
        } catch let error as DatabaseError {
            throw OpenError(description: "cannot open the history \(path): \(error.message ?? "\(error)")",
                            isDamaged: Self.isDamage(error))
        } catch {
            throw OpenError(description: "cannot open the history \(path): \(error.localizedDescription)")
        }
    }

    private static func lock(_ directory: String, for holder: HistoryLock.Holder, path: String) throws(OpenError) -> HistoryLock {
        do {
            return try HistoryLock(directory: directory, for: holder)
        } catch {
            switch error {
            case .held(by: let other):
                let description = switch (holder, other) {
                case (.daemon, .daemon): "another dosed is already running on the history \(path)"
                case (_, .daemon): "the history \(path) is in use by a running dosed"
                case (_, .dosectl): "the history \(path) is in use by dosectl, answering without the daemon"
                }
                throw OpenError(description: description, heldBy: other)
            case .unavailable(let code):
                throw OpenError(description: "cannot open the state directory \(directory): \(String(cString: strerror(code)))")
            }
        }
    }

    /// Whether `error` says the history is damaged or not a database (and not that it cannot be
    /// reached: a permission, a full disk, a lock).
    public static func isDamage(_ error: any Error) -> Bool {
        switch error {
        case let error as OpenError: error.isDamaged
        case let error as DatabaseError: error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
        default: false
        }
    }

    /// Renames the history at `path`, with its `-wal` and `-shm` files, to
    /// `history.sqlite.damaged-20261204T061500Z` (the instant `now`, a number added if that name
    /// is taken), kept as it was for recovery (`sqlite3 FILE .recover`). Returns the new path.
    public static func setAside(_ path: String, now: Micros) throws -> String {
        let stamp = RFC3339.utc(now - now % Civil.second).filter { $0 != "-" && $0 != ":" }
        let suffixes = ["", "-wal", "-shm"]
        var kept = "\(path).damaged-\(stamp)"
        var number = 1
        while suffixes.contains(where: { access(kept + $0, F_OK) == 0 }) {
            number += 1
            kept = "\(path).damaged-\(stamp)-\(number)"
        }
        for suffix in suffixes where access(path + suffix, F_OK) == 0 {
            guard rename(path + suffix, kept + suffix) == 0 else {
                throw OpenError(description: "cannot keep the damaged history \(path) as \(kept): \(String(cString: strerror(errno)))")
            }
        }
        return kept
    }

    /// Refuses symbolic links at the history's paths and creates the file with `mode`.
    static func prepareFile(_ path: String, mode: mode_t) throws {
        for candidate in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            if lstat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
                throw OpenError(description: "cannot open the history \(path): \(candidate) is a symbolic link; dosed never follows one there (remove it)")
            }
        }
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode)
        if fd >= 0 {
            fchmod(fd, mode)
            close(fd)
        } else if errno != EEXIST {
            throw OpenError(description: "cannot create the history \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// An in-memory history, for tests.
    public init() throws {
        writer = try DatabaseQueue()
        lock = nil
        try Self.migrator.migrate(writer)
    }

    /// The default file name in a state dir.
    public static let fileName = "history.sqlite"

    // MARK: - Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "dose") { t in
                t.primaryKey("id", .text)
                t.column("medication", .text).notNull()
                t.column("schedule", .text).notNull()
                t.column("due", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("answeredAt", .integer)
                t.column("site", .text)
                t.column("note", .text)
                t.column("preReminders", .integer).notNull().defaults(to: 0)
                t.column("reminders", .integer).notNull().defaults(to: 0)
                t.column("lastReminder", .integer)
                t.column("escalated", .boolean).notNull().defaults(to: false)
                t.column("snoozedUntil", .integer)
                t.column("late", .boolean).notNull().defaults(to: false)
            }
            try db.create(index: "dose_due", on: "dose", columns: ["due"])
            try db.create(index: "dose_medication_due", on: "dose", columns: ["medication", "due"])
            try db.create(table: "stock") { t in
                t.primaryKey("medication", .text)
                t.column("value", .integer).notNull()
                t.column("configValue", .integer)
                t.column("alerted", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "scheduleSeen") { t in
                t.column("medication", .text).notNull()
                t.column("schedule", .text).notNull()
                t.column("firstSeen", .integer).notNull()
                t.primaryKey(["medication", "schedule"])
            }
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .integer).notNull()
            }
        }
        migrator.registerMigration("v2 notes and windows") { db in
            try db.alter(table: "dose") { t in t.add(column: "closes", .integer) }
            try db.create(table: "note") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .integer).notNull().indexed()
                t.column("text", .text).notNull()
                t.column("dose", .text)
                t.column("symptom", .text)
                t.column("severity", .integer)
            }
        }
        migrator.registerMigration("v3 daily tallies") { db in
            // Adherence over years of history sums one row per medication and day, kept up to date
            // by triggers; open (pending) doses are counted live, since they depend on the time.
            // Shipped migrations are frozen: their SQL is written out here, never built from
            // helpers that live code uses.
            try db.execute(sql: """
                CREATE TABLE doseDay (
                  medication TEXT NOT NULL, day INTEGER NOT NULL,
                  onTime INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0,
                  skipped INTEGER NOT NULL DEFAULT 0, missed INTEGER NOT NULL DEFAULT 0,
                  PRIMARY KEY (medication, day)) WITHOUT ROWID;
                CREATE INDEX dose_taken ON dose (medication, schedule, state, answeredAt);
                CREATE INDEX dose_pending ON dose (due) WHERE state = 'pending';
                INSERT INTO doseDay (medication, day, onTime, late, skipped, missed)
                  SELECT medication, due / 86400000000,
                  SUM(dose.state = 'taken' AND dose.answeredAt <= COALESCE(dose.closes, dose.due)),
                  SUM(dose.state = 'taken' AND dose.answeredAt > COALESCE(dose.closes, dose.due)),
                  SUM(dose.state = 'skipped'), SUM(dose.state = 'missed')
                  FROM dose WHERE schedule != 'extra' AND state != 'pending' GROUP BY medication, due / 86400000000;
                CREATE TRIGGER dose_day_insert AFTER INSERT ON dose
                WHEN NEW.schedule != 'extra' AND NEW.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (NEW.medication, NEW.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime + (NEW.state = 'taken' AND NEW.answeredAt <= COALESCE(NEW.closes, NEW.due)),
                  late = late + (NEW.state = 'taken' AND NEW.answeredAt > COALESCE(NEW.closes, NEW.due)),
                  skipped = skipped + (NEW.state = 'skipped'),
                  missed = missed + (NEW.state = 'missed')
                WHERE medication = NEW.medication AND day = NEW.due / 86400000000;
                END;
                CREATE TRIGGER dose_day_delete AFTER DELETE ON dose
                WHEN OLD.schedule != 'extra' AND OLD.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (OLD.medication, OLD.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime - (OLD.state = 'taken' AND OLD.answeredAt <= COALESCE(OLD.closes, OLD.due)),
                  late = late - (OLD.state = 'taken' AND OLD.answeredAt > COALESCE(OLD.closes, OLD.due)),
                  skipped = skipped - (OLD.state = 'skipped'),
                  missed = missed - (OLD.state = 'missed')
                WHERE medication = OLD.medication AND day = OLD.due / 86400000000;
                END;
                CREATE TRIGGER dose_day_update_old AFTER UPDATE ON dose
                WHEN OLD.schedule != 'extra' AND OLD.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (OLD.medication, OLD.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime - (OLD.state = 'taken' AND OLD.answeredAt <= COALESCE(OLD.closes, OLD.due)),
                  late = late - (OLD.state = 'taken' AND OLD.answeredAt > COALESCE(OLD.closes, OLD.due)),
                  skipped = skipped - (OLD.state = 'skipped'),
                  missed = missed - (OLD.state = 'missed')
                WHERE medication = OLD.medication AND day = OLD.due / 86400000000;
                END;
                CREATE TRIGGER dose_day_update_new AFTER UPDATE ON dose
                WHEN NEW.schedule != 'extra' AND NEW.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (NEW.medication, NEW.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime + (NEW.state = 'taken' AND NEW.answeredAt <= COALESCE(NEW.closes, NEW.due)),
                  late = late + (NEW.state = 'taken' AND NEW.answeredAt > COALESCE(NEW.closes, NEW.due)),
                  skipped = skipped + (NEW.state = 'skipped'),
                  missed = missed + (NEW.state = 'missed')
                WHERE medication = NEW.medication AND day = NEW.due / 86400000000;
                END;
                """)
        }
        migrator.registerMigration("v4 held doses") { db in
            // Held doses (SPEC 10) are tallied beside the counted ones, and as-needed takes are
            // never counted, like unscheduled ones. Neither existed before this version, so
            // there is nothing to back-fill.
            try db.execute(sql: """
                ALTER TABLE doseDay ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
                DROP TRIGGER dose_day_insert;
                DROP TRIGGER dose_day_delete;
                DROP TRIGGER dose_day_update_old;
                DROP TRIGGER dose_day_update_new;
                CREATE TRIGGER dose_day_insert AFTER INSERT ON dose
                WHEN NEW.schedule NOT IN ('extra', 'as-needed') AND NEW.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (NEW.medication, NEW.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime + (NEW.state = 'taken' AND NEW.answeredAt <= COALESCE(NEW.closes, NEW.due)),
                  late = late + (NEW.state = 'taken' AND NEW.answeredAt > COALESCE(NEW.closes, NEW.due)),
                  skipped = skipped + (NEW.state = 'skipped'),
                  missed = missed + (NEW.state = 'missed'),
                  held = held + (NEW.state = 'held')
                WHERE medication = NEW.medication AND day = NEW.due / 86400000000;
                END;
                CREATE TRIGGER dose_day_delete AFTER DELETE ON dose
                WHEN OLD.schedule NOT IN ('extra', 'as-needed') AND OLD.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (OLD.medication, OLD.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime - (OLD.state = 'taken' AND OLD.answeredAt <= COALESCE(OLD.closes, OLD.due)),
                  late = late - (OLD.state = 'taken' AND OLD.answeredAt > COALESCE(OLD.closes, OLD.due)),
                  skipped = skipped - (OLD.state = 'skipped'),
                  missed = missed - (OLD.state = 'missed'),
                  held = held - (OLD.state = 'held')
                WHERE medication = OLD.medication AND day = OLD.due / 86400000000;
                END;
                CREATE TRIGGER dose_day_update_old AFTER UPDATE ON dose
                WHEN OLD.schedule NOT IN ('extra', 'as-needed') AND OLD.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (OLD.medication, OLD.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime - (OLD.state = 'taken' AND OLD.answeredAt <= COALESCE(OLD.closes, OLD.due)),
                  late = late - (OLD.state = 'taken' AND OLD.answeredAt > COALESCE(OLD.closes, OLD.due)),
                  skipped = skipped - (OLD.state = 'skipped'),
                  missed = missed - (OLD.state = 'missed'),
                  held = held - (OLD.state = 'held')
                WHERE medication = OLD.medication AND day = OLD.due / 86400000000;
                END;
                CREATE TRIGGER dose_day_update_new AFTER UPDATE ON dose
                WHEN NEW.schedule NOT IN ('extra', 'as-needed') AND NEW.state != 'pending' BEGIN
                INSERT INTO doseDay (medication, day) VALUES (NEW.medication, NEW.due / 86400000000) ON CONFLICT DO NOTHING;
                UPDATE doseDay SET
                  onTime = onTime + (NEW.state = 'taken' AND NEW.answeredAt <= COALESCE(NEW.closes, NEW.due)),
                  late = late + (NEW.state = 'taken' AND NEW.answeredAt > COALESCE(NEW.closes, NEW.due)),
                  skipped = skipped + (NEW.state = 'skipped'),
                  missed = missed + (NEW.state = 'missed'),
                  held = held + (NEW.state = 'held')
                WHERE medication = NEW.medication AND day = NEW.due / 86400000000;
                END;
                """)
        }
        migrator.registerMigration("v5 audit trail") { db in
            // The history becomes append-only (SPEC 10): every answer and correction is a row of
            // `answer`, which refuses updates and deletes; `dose` keeps each dose's latest state.
            // Answers recorded before this version become one row each, with the time they were
            // answered as their recorded time, and no uid (nobody recorded it); a miss was the
            // daemon's.
            try db.execute(sql: """
                ALTER TABLE dose ADD COLUMN reason TEXT;
                ALTER TABLE dose ADD COLUMN corrected INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE answer (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  dose TEXT NOT NULL, medication TEXT NOT NULL, schedule TEXT NOT NULL, due INTEGER NOT NULL,
                  state TEXT NOT NULL, at INTEGER, site TEXT,
                  recorded INTEGER NOT NULL, uid INTEGER, channel TEXT, reason TEXT,
                  correction INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX answer_due ON answer (due);
                CREATE INDEX answer_dose ON answer (dose);
                CREATE INDEX answer_uid ON answer (uid, recorded);
                CREATE TRIGGER answer_no_update BEFORE UPDATE ON answer
                BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                CREATE TRIGGER answer_no_delete BEFORE DELETE ON answer
                BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                INSERT INTO answer (dose, medication, schedule, due, state, at, site, recorded, uid, channel, reason, correction)
                  SELECT id, medication, schedule, due, state,
                    CASE WHEN state = 'taken' THEN answeredAt END, CASE WHEN state = 'taken' THEN site END,
                    COALESCE(answeredAt, due), NULL, CASE WHEN state = 'missed' THEN 'daemon' END, NULL, 0
                  FROM dose WHERE state != 'pending' ORDER BY COALESCE(answeredAt, due), id;
                """)
        }
        return migrator
    }

    /// The five counts of the doses of `row` (aggregated): on time, late, skipped, missed, held.
    private static func counts(_ row: String) -> String {
        """
        SUM(\(row).state = 'taken' AND \(row).answeredAt <= COALESCE(\(row).closes, \(row).due)),
        SUM(\(row).state = 'taken' AND \(row).answeredAt > COALESCE(\(row).closes, \(row).due)),
        SUM(\(row).state = 'skipped'), SUM(\(row).state = 'missed'), SUM(\(row).state = 'held')
        """
    }

    // MARK: - Writes

    /// Inserts or replaces a dose's record.
    public func save(_ record: DoseRecord) throws {
        try writer.write { db in try DoseRow(record).upsert(db) }
    }

    /// Performs the machine's writes (records, audit trail, withdrawals, stock; its events are
    /// not the store's) in one transaction, and records that the daemon was alive at `alive`.
    /// - Parameter uid: the uid written for the daemon's own records (a dose found missed).
    public func apply(_ actions: [ReminderMachine.Action], alive: Micros? = nil, uid: UInt32 = getuid()) throws {
        guard alive != nil || actions.contains(where: { $0.event == nil }) else { return }
        try writer.write { db in
            for action in actions {
                switch action {
                case .save(let record): try DoseRow(record).upsert(db)
                case .log(let change): try AnswerRow(change, uid: uid).insert(db)
                case .withdraw(let id): _ = try DoseRow.deleteOne(db, key: id)
                case .saveStock(let medication, let value): try StockRow(medication: medication, value).upsert(db)
                case .remind, .emit: break
                }
            }
            if let alive { try MetaRow(key: MetaRow.lastAlive, value: alive).upsert(db) }
        }
    }

    /// Every record of the audit trail of the doses due in `[since, until)` (optionally of one
    /// medication), by dose, each dose's records in the order they were made.
    public func changes(since: Micros = .min, until: Micros = .max, medication: String? = nil) throws -> [DueDose: [Change]] {
        try writer.read { db in
            var request = AnswerRow.filter(AnswerRow.Columns.due >= since && AnswerRow.Columns.due < until)
            if let medication { request = request.filter(AnswerRow.Columns.medication == medication) }
            var result: [DueDose: [Change]] = [:]
            // The order of `answer_due` itself (a dose's records share its due time): no sort.
            try request.order(AnswerRow.Columns.due, AnswerRow.Columns.id).fetchCursor(db).forEach { row in
                result[row.change.dose, default: []].append(row.change)
            }
            return result
        }
    }

    /// The latest answer (not a correction, nor the daemon's) given by `uid` at or after `since`,
    /// and whether it is still the latest record of its dose: what `undo` takes back.
    public func lastAnswer(uid: UInt32, since: Micros) throws -> (answer: Change, isLatest: Bool)? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT \(AnswerRow.columns.joined(separator: ", ")), id, dose FROM answer INDEXED BY answer_uid
                WHERE uid = ? AND recorded >= ? AND correction = 0 AND channel != 'daemon' ORDER BY recorded DESC, id DESC LIMIT 1
                """, arguments: [Int64(uid), since]) else { return nil }
            let (id, dose): (Int64, String) = (row[AnswerRow.columns.count], row[AnswerRow.columns.count + 1])
            let latest = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM answer WHERE dose = ?", arguments: [dose])
            return (AnswerRow(row: row).change, latest == id)
        }
    }

    /// Records that the daemon was alive at `instant`.
    public func setLastAlive(_ instant: Micros) throws {
        try writer.write { db in try MetaRow(key: MetaRow.lastAlive, value: instant).upsert(db) }
    }

    /// Frees the memory SQLite holds for the history: the page caches of every connection (the
    /// connections stay open, see `persistentReadOnlyConnections`). Waits for the accesses under way.
    public func releaseMemory() {
        if let pool = writer as? DatabasePool {
            pool.releaseMemory()
        } else if let queue = writer as? DatabaseQueue {
            queue.releaseMemory()
        }
    }

    /// Records when each schedule of `config` was first seen (kept if already known).
    public func noteSchedulesSeen(of config: DoseCore.Configuration, at instant: Micros) throws {
        try writer.write { db in
            // One statement compiled once (a config of 10,000 schedules compiled it 10,000 times).
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO scheduleSeen (medication, schedule, firstSeen) VALUES (?, ?, ?)")
            for medication in config.medications {
                for schedule in medication.schedules {
                    try insert.execute(arguments: [medication.id, schedule.id, instant])
                }
            }
        }
    }

    // MARK: - Reads

    /// The record of a dose, if any.
    public func record(_ id: String) throws -> DoseRecord? {
        try writer.read { db in try DoseRow.fetchOne(db, key: id)?.record }
    }

    /// The stored record of dose `id` when `machine` no longer holds it (what `amend` and `undo`
    /// need beside the machine's own records); nil when the machine has it.
    public func record(_ id: String, ifForgottenBy machine: ReminderMachine) throws -> DoseRecord? {
        machine.record(id) == nil ? try record(id) : nil
    }

    /// Records of doses due in `[since, until)`, optionally of one medication, in due order (doses
    /// due at the same instant in no set order).
    /// - Parameter answeredAhead: also doses due up to this long after `until` that were answered
    ///   before it (taken early): a period shows the doses answered in it.
    public func records(since: Micros = .min, until: Micros = .max, medication: String? = nil,
                        answeredAhead: Micros = 0) throws -> [DoseRecord] {
        try writer.read { db in
            let (end, overflow) = until.addingReportingOverflow(answeredAhead)
            // One range of `dose_due` (an OR of two ranges would scan the index twice).
            var request = DoseRow.filter(DoseRow.Columns.due >= since && DoseRow.Columns.due < (overflow ? Micros.max : end)
                && (DoseRow.Columns.due < until || DoseRow.Columns.answeredAt < until))
            if let medication { request = request.filter(DoseRow.Columns.medication == medication) }
            // The order of the index itself: sorting ties by id as well took SQLite a temporary b-tree.
            return try Array(request.order(DoseRow.Columns.due).fetchCursor(db).map(\.record))
        }
    }

    /// What the reminder machine needs at start: recent and future records, stock, site use,
    /// last takes, and when the daemon was last alive.
    /// - Parameter takesSince: takes from this instant on are loaded for `[as_needed]` limits.
    public func snapshot(longestWindow: Micros, takesSince: Micros? = nil) throws -> ReminderMachine.Snapshot {
        try writer.read { db in
            let lastAlive = try MetaRow.fetchOne(db, key: MetaRow.lastAlive)?.value
            let since = lastAlive.map { $0 - longestWindow - Civil.day } ?? .min
            let records = try DoseRow.filter(DoseRow.Columns.due >= since || DoseRow.Columns.state == "pending")
                .fetchAll(db).map(\.record)
            var stock: [String: ReminderMachine.Stock] = [:]
            for row in try StockRow.fetchAll(db) { stock[row.medication] = row.stock }
            var siteUse: [String: [String: Micros]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT medication, site, MAX(answeredAt) AS used FROM dose
                WHERE state = 'taken' AND site IS NOT NULL GROUP BY medication, site
                """) {
                siteUse[row["medication"], default: [:]][row["site"]] = row["used"]
            }
            let lastTaken = try Self.lastTakes(db)
            let takes = try takesSince.map { try Self.takes(db, since: $0) } ?? [:]
            return ReminderMachine.Snapshot(records: records, lastAlive: lastAlive, stock: stock, siteUse: siteUse,
                                            lastTaken: lastTaken, takes: takes)
        }
    }

    /// Per medication, the times of its takes (of any kind) at or after `since`, oldest first.
    public func takes(since: Micros) throws -> [String: [Micros]] {
        try writer.read { db in try Self.takes(db, since: since) }
    }

    static func takes(_ db: Database, since: Micros) throws -> [String: [Micros]] {
        var takes: [String: [Micros]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT medication, answeredAt FROM dose WHERE state = 'taken' AND answeredAt >= ? ORDER BY answeredAt
            """, arguments: [since]) {
            takes[row[0], default: []].append(row[1])
        }
        return takes
    }

    /// Per schedule (`medication/schedule`), when a dose of it was last taken.
    public func lastTakes() throws -> [String: Micros] {
        try writer.read(Self.lastTakes)
    }

    /// When a dose of each `anchor = "taken"` schedule of `config` was last taken, by
    /// `medication/schedule`: what their due times count from (an index look-up each).
    public func lastTakes(anchoredIn config: DoseCore.Configuration) throws -> [String: Micros] {
        let keys = config.medications.flatMap { m in m.schedules.filter { $0.anchor == .taken }.map { (m.id, $0.id) } }
        guard !keys.isEmpty else { return [:] }
        return try writer.read { db in
            var result: [String: Micros] = [:]
            for (medication, schedule) in keys {
                result[medication + "/" + schedule] = try Micros.fetchOne(db, sql: """
                    SELECT MAX(answeredAt) FROM dose WHERE medication = ? AND schedule = ? AND state = 'taken'
                    """, arguments: [medication, schedule])
            }
            return result
        }
    }

    private static func lastTakes(_ db: Database) throws -> [String: Micros] {
        var lastTaken: [String: Micros] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT medication, schedule, MAX(answeredAt) AS taken FROM dose
            WHERE state = 'taken' AND schedule != 'extra' GROUP BY medication, schedule
            """) {
            lastTaken[(row["medication"] as String) + "/" + (row["schedule"] as String)] = row["taken"]
        }
        return lastTaken
    }

    /// Per schedule (`medication/schedule`), when dosed or dosectl first saw it.
    public func firstSeen() throws -> [String: Micros] {
        try writer.read { db in
            var seen: [String: Micros] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT medication, schedule, firstSeen FROM scheduleSeen") {
                seen[(row["medication"] as String) + "/" + (row["schedule"] as String)] = row["firstSeen"]
            }
            return seen
        }
    }

    /// Adherence counts per medication of the stored scheduled doses due in `[since, until)`, by SQL
    /// aggregation: whole days from the daily tallies, the two partial days from the dose rows, and
    /// the open (pending) doses live, counted as missed once their window has closed at `now`.
    public func tallies(since: Micros, until: Micros, medication: String? = nil, now: Micros) throws -> [String: Tally] {
        try writer.read { db in
            var tallies: [String: Tally] = [:]
            let filter = medication == nil ? "" : " AND medication = :medication"
            var arguments: [String: (any DatabaseValueConvertible)?] = ["now": now, "medication": medication]
            func add(_ sql: String, _ extra: [String: (any DatabaseValueConvertible)?]) throws {
                for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments.merging(extra) { $1 })) {
                    let tally = Tally(onTime: row[1] ?? 0, late: row[2] ?? 0, skipped: row[3] ?? 0, missed: row[4] ?? 0,
                                      held: row[5] ?? 0)
                    tallies[row[0], default: Tally()] = tallies[row[0], default: Tally()]
                        + Tally(counted: tally.onTime + tally.late + tally.skipped + tally.missed, onTime: tally.onTime,
                                late: tally.late, skipped: tally.skipped, missed: tally.missed, held: tally.held)
                }
            }
            let rows = """
                SELECT medication, \(Self.counts("dose")) FROM dose
                WHERE due >= :from AND due < :to AND schedule NOT IN ('extra', 'as-needed') AND state != 'pending'\(filter) GROUP BY medication
                """
            let day = Civil.day
            let firstDay = since <= 0 ? 0 : (since + day - 1) / day
            let lastDay = until / day
            if firstDay < lastDay {
                try add("""
                    SELECT medication, SUM(onTime), SUM(late), SUM(skipped), SUM(missed), SUM(held) FROM doseDay
                    WHERE day >= :first AND day < :last\(filter) GROUP BY medication
                    """, ["first": firstDay, "last": lastDay])
                try add(rows, ["from": since, "to": firstDay * day])
                try add(rows, ["from": lastDay * day, "to": until])
            } else {
                try add(rows, ["from": since, "to": until])
            }
            arguments["since"] = since
            arguments["until"] = until
            try add("""
                SELECT medication, 0, 0, 0, SUM(COALESCE(closes, due) <= :now), 0 FROM dose INDEXED BY dose_pending
                WHERE state = 'pending' AND due >= :since AND due < :until AND schedule != 'extra'\(filter) GROUP BY medication
                """, [:])
            return tallies.filter { $0.value.counted > 0 || $0.value.held > 0 }
        }
    }

    // MARK: - Notes

    /// Adds a diary entry.
    public func addNote(_ note: Note) throws {
        try writer.write { db in
            try db.execute(
                sql: "INSERT INTO note (at, text, dose, symptom, severity) VALUES (?, ?, ?, ?, ?)",
                arguments: [note.at, note.text, note.dose, note.symptom, note.severity])
        }
    }

    /// Diary entries made in `[since, until)`, in time order.
    public func notes(since: Micros = .min, until: Micros = .max) throws -> [Note] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM note WHERE at >= ? AND at < ? ORDER BY at, id", arguments: [since, until]).map {
                Note(at: $0["at"], text: $0["text"], dose: $0["dose"], symptom: $0["symptom"], severity: $0["severity"])
            }
        }
    }

    /// The earliest due time of a dose or time of a note: where "the whole history" begins (two
    /// index look-ups, not a read of every row).
    public func earliest() throws -> Micros? {
        try writer.read { db in
            [try Micros.fetchOne(db, sql: "SELECT MIN(due) FROM dose"), try Micros.fetchOne(db, sql: "SELECT MIN(at) FROM note")]
                .compactMap { $0 }.min()
        }
    }

    /// When the daemon was last alive.
    public func lastAlive() throws -> Micros? {
        try writer.read { db in try MetaRow.fetchOne(db, key: MetaRow.lastAlive)?.value }
    }

    /// The stock of every medication with one.
    public func stock() throws -> [String: ReminderMachine.Stock] {
        try writer.read { db in
            Dictionary(uniqueKeysWithValues: try StockRow.fetchAll(db).map { ($0.medication, $0.stock) })
        }
    }
}

// MARK: - Records

/// A row of `dose`: a dose's record. Its `id` column is written, never read: the dose is its
/// medication, schedule and due time, and the id is made from them when it is shown.
struct DoseRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "dose"

    enum Columns {
        static let medication = Column("medication")
        static let due = Column("due")
        static let state = Column("state")
        static let answeredAt = Column("answeredAt")
    }

    /// The columns read, in the order ``init(row:)`` reads them by position: decoding by name
    /// (Codable) costs more than the query itself in a long listing.
    static let columns = ["medication", "schedule", "due", "state", "answeredAt", "site", "note", "preReminders",
                          "reminders", "lastReminder", "escalated", "snoozedUntil", "late", "closes", "reason", "corrected"]
    static var databaseSelection: [any SQLSelectable] { columns.map { Column($0) } }

    var record: DoseRecord

    init(_ record: DoseRecord) {
        self.record = record
    }

    init(row: Row) {
        assert(Array(row.columnNames) == Self.columns, "DoseRow is read by position")
        var r = DoseRecord(dose: DueDose(medication: row[0], schedule: row[1], due: row[2]))
        r.state = DoseRecord.State(rawValue: row[3]) ?? .pending
        r.answeredAt = row[4]; r.site = row[5]; r.note = row[6]; r.preReminders = row[7]; r.reminders = row[8]
        r.lastReminder = row[9]; r.escalated = row[10]; r.snoozedUntil = row[11]; r.late = row[12]; r.closes = row[13]
        r.reason = row[14]; r.corrected = row[15]
        record = r
    }

    func encode(to container: inout PersistenceContainer) {
        let r = record
        container["id"] = r.id
        container["medication"] = r.dose.medication
        container["schedule"] = r.dose.schedule
        container["due"] = r.dose.due
        container["state"] = r.state.rawValue
        container["answeredAt"] = r.answeredAt
        container["site"] = r.site
        container["note"] = r.note
        container["preReminders"] = r.preReminders
        container["reminders"] = r.reminders
        container["lastReminder"] = r.lastReminder
        container["escalated"] = r.escalated
        container["snoozedUntil"] = r.snoozedUntil
        container["late"] = r.late
        container["closes"] = r.closes
        container["reason"] = r.reason
        container["corrected"] = r.corrected
    }
}

/// A row of `answer`, the audit trail: never updated, never deleted. Its `id` (the order records
/// were made in) and `dose` (the dose's id) columns are written, and read only where named: the
/// dose is its medication, schedule and due time.
struct AnswerRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "answer"

    enum Columns {
        static let id = Column("id")
        static let medication = Column("medication")
        static let due = Column("due")
    }

    /// The columns read, in the order ``init(row:)`` reads them by position (a query may add
    /// others after them).
    static let columns = ["medication", "schedule", "due", "state", "at", "site", "recorded", "uid", "channel", "reason",
                          "correction"]
    static var databaseSelection: [any SQLSelectable] { columns.map { Column($0) } }

    var change: Change
    /// The uid written for a record without one: the daemon's own records.
    private var daemonUID: UInt32 = 0

    init(_ change: Change, uid daemonUID: UInt32) {
        self.change = change
        self.daemonUID = daemonUID
    }

    /// Rows from before the trail existed have no uid and (unless a miss) no channel.
    init(row: Row) {
        assert(Array(row.columnNames.prefix(Self.columns.count)) == Self.columns, "AnswerRow is read by position")
        let uid: Int64? = row[7]
        let channel: String? = row[8]
        change = Change(dose: DueDose(medication: row[0], schedule: row[1], due: row[2]),
                        state: Change.State(rawValue: row[3]) ?? .open, at: row[4], site: row[5], recorded: row[6],
                        origin: channel.flatMap(Origin.Channel.init(rawValue:))
                            .map { Origin(uid: uid.flatMap(UInt32.init(exactly:)), channel: $0) },
                        reason: row[9], isCorrection: row[10])
    }

    func encode(to container: inout PersistenceContainer) {
        container["dose"] = change.dose.id
        container["medication"] = change.dose.medication
        container["schedule"] = change.dose.schedule
        container["due"] = change.dose.due
        container["state"] = change.state.rawValue
        container["at"] = change.at
        container["site"] = change.site
        container["recorded"] = change.recorded
        container["uid"] = change.origin.map { Int64($0.uid ?? daemonUID) }
        container["channel"] = change.origin?.channel.rawValue
        container["reason"] = change.reason
        container["correction"] = change.isCorrection
    }
}

/// A row of `stock`.
struct StockRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "stock"
    var medication: String
    var value: Int
    var configValue: Int?
    var alerted: Bool

    init(medication: String, _ stock: ReminderMachine.Stock) {
        self.medication = medication
        value = stock.value
        configValue = stock.configValue
        alerted = stock.alerted
    }

    var stock: ReminderMachine.Stock { .init(value: value, configValue: configValue, alerted: alerted) }
}

/// A row of `meta`.
struct MetaRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "meta"
    static let lastAlive = "lastAlive"
    var key: String
    var value: Int64
}
