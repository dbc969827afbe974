import Foundation

/// Every `Replica` holds a shared claim on its file (an advisory `flock` on `<path>.lock`), so that a
/// snapshot is installed only by a process that has the file to itself. Installing renames a new file over
/// the replica; a process that still had the old one open would go on working on an unlinked file whose WAL
/// path the new one shares (SQLite's "How To Corrupt An SQLite Database File", §2.4). With the claim, the
/// installer takes it exclusively or does not install: a replica open elsewhere (`outpost serve`, a second
/// `Replica` instance) takes its first stream as records instead.
///
/// The lock file is never removed (removing it would let two processes lock two different files); it holds
/// no data. Claims end with the process, however it ends.
final class FileClaim: Sendable {
    private let descriptor: Int32

    /// Takes a shared claim, waiting while another process installs a snapshot (a rename: milliseconds).
    /// Returns nil where no lock file can be made (a replica on read-only media, which never installs).
    init?(path: String) {
        let descriptor = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        while flock(descriptor, LOCK_SH) != 0 {
            guard errno == EINTR else {
                close(descriptor)
                return nil
            }
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Runs `body` holding the claim exclusively, or returns nil at once if another holder exists.
    func exclusively<T>(_ body: () throws -> T) rethrows -> T? {
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return nil }
        defer { flock(descriptor, LOCK_SH) }
        return try body()
    }

    /// Whether this is the only holder right now (it may change the next moment; `exclusively` decides).
    var isAlone: Bool { exclusively { true } ?? false }
}
