import Foundation
import GRDB
import OutpostCore

/// The copies a sender keeps so that a cut snapshot resumes (Replica.docc, "A new replica"): each is a stripped
/// copy of the replica, `<path>.snapshot-kept-<id>`, beside a JSON description (`…-<id>.json`: its
/// `SnapshotInfo`) that is written once the copy is complete and whose modification time says when the copy
/// was last served.
extension ReplicationLog {
    /// How long a copy is kept after it was last served: a receiver cut off for longer starts over.
    public static let keptSnapshotRetention: TimeInterval = 3600
    /// How long after it was made a copy is also served to a new receiver (instead of making another).
    public static let keptSnapshotReuse: TimeInterval = 300

    /// A kept copy.
    struct KeptSnapshot {
        let path: String
        let info: SnapshotInfo

        var descriptionPath: String { path + ".json" }

        /// Marks the copy as just served (its retention counts from now).
        func touch() {
            _ = utimes(descriptionPath, nil)
        }
    }

    /// The copy `resume` names when it is still kept; otherwise a copy recent enough to reuse, or a new one.
    func keptSnapshot(resuming resume: SnapshotResume?) throws -> KeptSnapshot {
        let kept = pruneKeptSnapshots()
        if let resume, let same = kept.first(where: { $0.info.id == resume.id }) { return same }
        let now = Date()
        if let recent = kept.first(where: { now.timeIntervalSince(Self.created($0.path)) < Self.keptSnapshotReuse }) {
            return recent
        }
        return try makeKeptSnapshot()
    }

    /// Makes a stripped copy of this replica, its digest and its description.
    private func makeKeptSnapshot() throws -> KeptSnapshot {
        let id = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let copyPath = path + ".snapshot-kept-\(id)"
        do {
            var info = try writeSnapshot(to: copyPath)
            let copy = try DatabaseQueue(path: copyPath)
            try copy.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA secure_delete = ON")
                try db.inTransaction {
                    for table in Self.peerPrivateTables { try db.execute(sql: "DELETE FROM \(table)") }
                    return .commit
                }
                try db.execute(sql: "PRAGMA journal_mode = DELETE")  // one file, nothing left in a WAL
            }
            try copy.close()
            info.bytes = (try FileManager.default.attributesOfItem(atPath: copyPath)[.size] as? Int) ?? 0
            info.id = id
            info.digest = try FileDigest.of(file: copyPath)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(Array(try encoder.encode(info)), to: copyPath + ".json", mode: 0o600)
            return KeptSnapshot(path: copyPath, info: info)
        } catch {
            Replica.removeDatabaseFiles(at: copyPath)
            throw error
        }
    }

    /// Removes copies not served within `keptSnapshotRetention` (and pieces a crash left behind) and returns
    /// the rest, newest first.
    @discardableResult
    func pruneKeptSnapshots(now: Date = Date()) -> [KeptSnapshot] {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + ".snapshot-kept-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var kept: [KeptSnapshot] = []
        for name in names where name.hasPrefix(prefix) && !name.hasSuffix(".json") && !name.contains(".writing-") {
            let copyPath = directory + "/" + name
            let description = copyPath + ".json"
            let info = (try? Data(contentsOf: URL(fileURLWithPath: description))).flatMap {
                try? JSONDecoder().decode(SnapshotInfo.self, from: $0)
            }
            // Without a description the copy is being made (or a crash cut its making): gone after the retention.
            let lastServed = info == nil ? Self.created(copyPath) : Self.modified(description)
            if now.timeIntervalSince(lastServed) > Self.keptSnapshotRetention {
                Replica.removeDatabaseFiles(at: copyPath)
                try? FileManager.default.removeItem(atPath: description)
                continue
            }
            if let info { kept.append(KeptSnapshot(path: copyPath, info: info)) }
        }
        return kept.sorted { Self.created($0.path) > Self.created($1.path) }
    }

    /// When a copy was made: it is written once, so its modification time.
    private static func created(_ path: String) -> Date { modified(path) }

    private static func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }
}
