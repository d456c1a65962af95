@testable import DoseStore
import Foundation
import Testing

/// One running dosed, or dosectl without it, answers in a history (``HistoryLock``). `flock`
/// locks belong to an open file description, so two locks taken in this one process conflict as
/// two processes' would.
@Suite("History lock")
struct HistoryLockTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dosed-lock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func failure(_ take: () throws(HistoryLock.Failure) -> HistoryLock) -> HistoryLock.Failure? {
        do {
            _ = try take()
            return nil
        } catch {
            return error
        }
    }

    @Test("a dosed holds it alone: dosectl and a second dosed learn that a dosed holds it; released, it can be taken again")
    func daemonExcludes() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try withExtendedLifetime(HistoryLock(directory: directory, for: .daemon)) {
            #expect(Self.failure { () throws(HistoryLock.Failure) in try HistoryLock(directory: directory, for: .dosectl) } == .held(by: .daemon))
            #expect(Self.failure { () throws(HistoryLock.Failure) in try HistoryLock(directory: directory, for: .daemon) } == .held(by: .daemon))
        }
        // The holder ended.
        #expect(Self.failure { () throws(HistoryLock.Failure) in try HistoryLock(directory: directory, for: .daemon) } == nil)
    }

    @Test("dosectls share it; a dosed then learns that dosectl holds it, and takes it once they are done")
    func dosectlsShare() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try withExtendedLifetime(HistoryLock(directory: directory, for: .dosectl)) {
            try withExtendedLifetime(HistoryLock(directory: directory, for: .dosectl)) {
                #expect(Self.failure { () throws(HistoryLock.Failure) in try HistoryLock(directory: directory, for: .daemon) } == .held(by: .dosectl))
            }
            // One dosectl done, the other still answering.
            #expect(Self.failure { () throws(HistoryLock.Failure) in try HistoryLock(directory: directory, for: .daemon) } == .held(by: .dosectl))
        }
        #expect(Self.failure { () throws(HistoryLock.Failure) in try HistoryLock(directory: directory, for: .daemon) } == nil)
    }

    @Test("a state dir that cannot be opened is said with its errno, not taken for a lock held")
    func unavailable() {
        #expect(Self.failure { () throws(HistoryLock.Failure) in try HistoryLock(directory: "/nonexistent/dosed", for: .daemon) } == .unavailable(ENOENT))
    }
}
