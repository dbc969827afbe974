import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which file a replica is: the machine's id (`/etc/machine-id`), the file system's device number and the
/// file's inode. A copy (`cp`, a backup restored, a file synced to another machine) is another file; a rename
/// within one file system is the same file. A replica records its identity when it is made and checks it each
/// time it is opened for writing (Replica.docc, "One site id, one file").
enum FileIdentity {
    /// The identity of the file at `path`; nil when it cannot be read.
    static func of(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(machineID):\(UInt64(info.st_dev)):\(UInt64(info.st_ino))"
    }

    /// This machine's id, or "unknown" on a system without one.
    static let machineID: String = {
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !id.isEmpty { return id }
            }
        }
        return "unknown"
    }()
}
