#if canImport(Glibc)
    import Glibc
#endif

/// Writes a small file so that a crash or a full disk leaves either the old file or the new one, never half
/// of either: the bytes go to a temporary file beside it, are flushed to disk, and the temporary file is renamed
/// over the path (and the directory flushed, so that the rename itself survives a power cut).
public enum AtomicFile {
    /// Writes `bytes` to `path` with permissions `mode`.
    /// - Throws: a `Failure` of the `files` domain: exit 74 for a full disk or any other I/O error, 73 when the
    ///   temporary file cannot be created.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(FileError) {
        let temporary = path + ".writing-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw FileError(
                .cannotCreate, "cannot create \(temporary): \(reason())", hint: "check the directory's permissions")
        }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                let why = reason()
                close(descriptor)
                unlink(temporary)
                throw FileError(.io, "cannot write \(path): \(why)", hint: "free some space and try again")
            }
            written += count
        }
        guard fsync(descriptor) == 0, close(descriptor) == 0 else {
            let why = reason()
            unlink(temporary)
            throw FileError(.io, "cannot write \(path): \(why)", hint: "free some space and try again")
        }
        guard rename(temporary, path) == 0 else {
            let why = reason()
            unlink(temporary)
            throw FileError(.io, "cannot replace \(path): \(why)", hint: "check the directory's permissions")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let directoryDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}

/// Failures writing the files beside a replica (see ``FileError``).
public enum FileFailures: FailureDomain {}

/// A file could not be written.
public typealias FileError = Failure<FileFailures>

extension Failure<FileFailures>.Code {
    /// The file cannot be created where it should be.
    public static var cannotCreate: Self { Self("cannot_create", exitStatus: .cannotCreate) }
    /// Writing failed: a full disk, a read-only file system, an I/O error.
    public static var io: Self { Self("io_error", exitStatus: .ioError) }
}
