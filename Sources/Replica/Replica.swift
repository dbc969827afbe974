import CSQLiteSetup
import CSodium
import Foundation
import GRDB
import OrderDomain
import Synchronization

/// Who a replica is: its random site id, its human name, and the prefix of the order numbers it issues.
public struct ReplicaIdentity: Hashable, Sendable {
    /// 128 random bits as 32 lower-case hex characters.
    public var siteID: String
    /// A human name such as `popup-1`.
    public var name: String
    /// The prefix of order numbers this device issues (e.g. `K3QZ` → `K3QZ-1`).
    public var numberPrefix: String

    /// An identity for a store other than a replica file (which makes its own when created).
    public init(siteID: String, name: String, numberPrefix: String) {
        self.siteID = siteID
        self.name = name
        self.numberPrefix = numberPrefix
    }
}

/// A local replica of orders in one SQLite file (WAL mode).
///
/// Every command is one transaction, validated by `OrderDomain`, recorded with one dot; a refused command
/// changes nothing and throws a `DomainError` saying why.
///
/// ```swift
/// let replica = try Replica.create(at: "/tmp/shop.sqlite", name: "popup-1")
/// try await replica.commands.receive(sku: "TEE-M", units: 10)
/// let order = try await replica.commands.createOrder(
///     customerEmail: "ana@example.com", lines: [LineSpec(sku: "TEE-M", quantity: 2, unitPrice: "19.90")])
/// try await replica.commands.pay(order: order.orderNumber, amount: "39.80")
/// ```
public final class Replica: Sendable {
    /// The file this replica lives in.
    public let path: String
    /// Who this replica is.
    public let identity: ReplicaIdentity
    /// The connection pool. It is replaced once at most: when an empty replica takes a peer's snapshot by
    /// swapping files (`installSnapshot`).
    /// Writes go through `writeQueued`, `writeBlocking` or `writeIfFree`, which count them (`writesInFlight`).
    var pool: DatabasePool { pools.withLock { $0 } }
    private let pools: Mutex<DatabasePool>
    /// This instance's writes queued for the pool's writer or holding it: a command takes the writer on its own
    /// thread only when there are none (`writeIfFree`).
    let writesInFlight = Atomic<Int>(0)
    /// Where `transaction` holds the writer and runs a basket's commands: a serial dispatch queue, whose threads
    /// the system keeps between transactions (a thread of its own per basket cost a thread's creation each).
    let transactionQueue = DispatchQueue(label: "outpost.transaction")
    /// Since when commands taken on their callers' threads have run back to back without letting other tasks
    /// run, and when the last of them ended (`DispatchTime` nanoseconds).
    private let runStart = Atomic<UInt64>(0)
    private let lastEnd = Atomic<UInt64>(0)
    /// How long commands taken on their callers' threads may run back to back before one yields: 2 ms.
    private static let yieldEvery: UInt64 = 2_000_000
    /// The writer's page cache in MB (0: SQLite's default).
    let cacheMegabytes: Int
    /// The wall clock this replica reads (Unix milliseconds, UTC): the system clock unless a test gave another.
    public let now: @Sendable () -> Int64
    let random: @Sendable () -> UInt64
    private let observers = Mutex<[UUID: AsyncStream<Set<String>>.Continuation]>([:])
    /// Observers of every commit of replicated records (`commits()`).
    private let commitObservers = Mutex<[UUID: AsyncStream<Int64>.Continuation]>([:])
    /// Observers of either kind: the watcher of other connections' commits runs while there are any.
    private let observerCount = Mutex(0)
    /// The change sequence up to which the watcher has looked for other connections' commits.
    private let notified = Mutex<Int64>(0)
    /// Change sequences this instance's own transactions wrote (already reported), until the watcher passes them.
    private let own = Mutex<[ClosedRange<Int64>]>([])
    /// Watches for other connections' commits while anyone observes.
    private let watcher = Mutex<Task<Void, Never>?>(nil)
    /// Site ordinals of this file, by site id, as committed (a live merge looks each of its vector's sites up).
    let siteOrdinals = Mutex<[String: UInt32]>([:])
    /// Peer names and keys this instance has already stored (`notePeer`).
    let notedPeers = Mutex<[String: (name: String, key: [UInt8])]>([:])
    /// This instance's claim on the file (nil on read-only media): a snapshot is installed only alone.
    let claim: FileClaim?
    /// Copies the write-ahead log into the file off the writer's commits (nil on read-only media).
    let checkpointer: Checkpointer?

    /// The schema version of replicated records; peers must agree on it to sync.
    public static let schemaVersion = Schema.version

    /// The wall clock used by default: Unix milliseconds (UTC).
    public static let systemClock: @Sendable () -> Int64 = {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// The default source of random bits for ids: the system's CSPRNG, read 512 bytes at a time (a command
    /// makes several ids; one `getrandom` call each would cost more than the id).
    public static let systemRandom: @Sendable () -> UInt64 = { RandomBuffer.shared.withLock { $0.next() } }

    private init(
        path: String, pool: DatabasePool, identity: ReplicaIdentity, now: @escaping @Sendable () -> Int64,
        random: @escaping @Sendable () -> UInt64, cacheMegabytes: Int, checkpointer: Checkpointer?
    ) {
        self.checkpointer = checkpointer
        self.path = path
        self.pools = Mutex(pool)
        self.cacheMegabytes = cacheMegabytes
        self.identity = identity
        self.now = now
        self.random = random
        self.claim = FileClaim(path: path)
    }

    /// How long a write waits for another connection (another process, another `Replica` on the file) to let go
    /// of the file before it fails with SQLite's busy error.
    static let busyTimeout: TimeInterval = 5

    deinit {
        // A checkpoint already running ends on its own; none starts on a file nobody here has open any more.
        checkpointer?.stop()
    }

    /// SQLite's process-wide settings, made once before this process opens its first connection: memory
    /// statistics off, so that none of SQLite's allocations (several per statement a replica runs) takes a global
    /// mutex. Nothing here reads those statistics. In a program that opened SQLite before its first replica the
    /// setting is refused (this is false) and SQLite keeps its default: a replica works the same, a little slower.
    static let sqliteConfigured: Bool = outpost_sqlite_memory_statistics(0) == 0

    static func makePool(
        _ path: String, cacheMegabytes: Int, readonly: Bool = false, checkpointer: Checkpointer? = nil
    ) throws -> DatabasePool {
        _ = sqliteConfigured
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.readonly = readonly
        configuration.prepareDatabase { db in
            // WAL + NORMAL: durable across application crashes; the benchmark's plain-SQLite baseline uses the same.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Deleted rows are zeroed, not just freed: a peer's staged stream, once merged or discarded, leaves
            // no bytes behind for a file copy (a snapshot, a backup) to carry.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            if !db.configuration.readonly { checkpointer?.attach(to: db) }
            if !db.configuration.readonly && cacheMegabytes > 0 {
                try db.execute(sql: "PRAGMA cache_size = -\(cacheMegabytes * 1024)")
            }
        }
        return try DatabasePool(path: path, configuration: configuration)
    }

    /// Creates a new replica file with a fresh random site id.
    ///
    /// - Parameters:
    ///   - path: where to create the SQLite file; nothing may exist there yet. The file is built beside it
    ///     (`<path>.creating`) and renamed into place when complete.
    ///   - name: a human name for this device, shown to peers.
    ///   - now: the wall clock (Unix milliseconds, UTC); tests pass a fake one.
    ///   - random: random bits for the site id and record ids; simulations pass a seeded source to replay.
    ///   - cacheMegabytes: the writer's page cache (SQLite's default, 2 MB, when 0). A hub holding a million
    ///     orders writes several times faster with 64–256 MB; a terminal does well with the default.
    /// - Throws: `ReplicaError(.cannotCreate)` when the path exists; SQLite's error when the file cannot be
    ///   written (a full disk), with nothing left behind.
    public static func create(
        at path: String, name: String, now: @escaping @Sendable () -> Int64 = Replica.systemClock,
        random: @escaping @Sendable () -> UInt64 = Replica.systemRandom, cacheMegabytes: Int = 0
    ) throws -> Replica {
        if FileManager.default.fileExists(atPath: path) {
            throw ReplicaError(
                .cannotCreate, "\(path) already exists", hint: "choose another path, or open the replica that is there")
        }
        let high = random()
        let low = random()
        let siteID = String(format: "%016llx%016llx", high, low)
        let identity = ReplicaIdentity(siteID: siteID, name: name, numberPrefix: OrderNumber.prefix(fromSiteBits: high))
        // Built beside the path and renamed into place once complete: a failure (a full disk) leaves nothing
        // behind, and the path never holds half a replica.
        let building = path + ".creating"
        removeDatabaseFiles(at: building)
        do {
            let pool = try makePool(building, cacheMegabytes: cacheMegabytes)
            try Migrations.migrator.migrate(pool)
            try pool.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO replica_info (singleton, site_id, site_name, number_prefix, schema_version, state, created_at, bootstrap_peer, file_identity) VALUES (1, ?, ?, ?, ?, 'ready', ?, NULL, ?)",
                    // The rename below keeps the file (and its identity).
                    arguments: [siteID, name, identity.numberPrefix, Schema.version, now(), FileIdentity.of(building)])
                try db.execute(sql: "INSERT INTO replica_clock VALUES (1, 0, 0, 0, 0)")
                try db.execute(
                    sql: "INSERT INTO sites (ordinal, site_id, name) VALUES (?, ?, ?)",
                    arguments: [Int64(createdLocalSite), siteID, name])
            }
            try pool.close()
            guard Glibc.rename(building, path) == 0 else {
                throw ReplicaError(
                    .cannotCreate, "cannot create \(path): \(String(cString: strerror(errno)))",
                    hint: "check the directory's permissions")
            }
            syncDirectory(of: path)
        } catch {
            removeDatabaseFiles(at: building)
            throw error
        }
        let checkpointer = Checkpointer(path: path)
        let pool = try makePool(path, cacheMegabytes: cacheMegabytes, checkpointer: checkpointer)
        return Replica(
            path: path, pool: pool, identity: identity, now: now, random: random, cacheMegabytes: cacheMegabytes,
            checkpointer: checkpointer)
    }

    /// Opens an existing replica file.
    /// - Throws: `ReplicaError.Code.incompatible` when the file is not an Outpost replica of this schema.
    /// - Parameters:
    ///   - path: the replica's SQLite file.
    ///   - now: the wall clock (Unix milliseconds, UTC), as for `create`.
    ///   - random: random bits for record ids, as for `create`.
    ///   - cacheMegabytes: the writer's page cache, as for `create`.
    public static func open(
        at path: String, now: @escaping @Sendable () -> Int64 = Replica.systemClock,
        random: @escaping @Sendable () -> UInt64 = Replica.systemRandom,
        cacheMegabytes: Int = 0
    ) throws -> Replica {
        try checkReplicaFile(at: path)
        // A replica on read-only media, or in a directory this user may not write, opens for reading: every
        // query works, and a command fails with SQLite's read-only error.
        let directory = (path as NSString).deletingLastPathComponent
        let writable = access(path, W_OK) == 0 && access(directory.isEmpty ? "." : directory, W_OK) == 0
        // SQLite cannot read a WAL database it may not write its shared-memory file beside, unless told the file
        // is immutable (a URI parameter; Debian's SQLite reads URIs): then it reads the file as it is.
        let escaped = path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3f")
            .replacingOccurrences(of: "#", with: "%23")
        let checkpointer = writable ? Checkpointer(path: path) : nil
        let pool =
            writable
            ? try makePool(path, cacheMegabytes: cacheMegabytes, checkpointer: checkpointer)
            : try makePool("file:\(escaped)?immutable=1", cacheMegabytes: cacheMegabytes, readonly: true)
        let readIdentity = { (db: Database) throws -> (ReplicaIdentity, Int) in
            guard try db.tableExists("replica_info"),
                let row = try Row.fetchOne(
                    db, sql: "SELECT site_id, site_name, number_prefix, schema_version FROM replica_info")
            else {
                throw ReplicaError(.incompatible, "\(path) is not an Outpost replica")
            }
            return (
                ReplicaIdentity(siteID: row["site_id"], name: row["site_name"], numberPrefix: row["number_prefix"]),
                row["schema_version"]
            )
        }
        var (identity, version) = try pool.read(readIdentity)
        guard version <= Schema.version else {
            throw ReplicaError(
                .incompatible,
                "\(path) was written by a newer Outpost (replicated schema \(version)); this build reads \(Schema.version)",
                hint: "upgrade Outpost on this device")
        }
        guard version == Schema.version || writable else {
            throw ReplicaError(
                .incompatible,
                "\(path) has replicated schema \(version) and is read-only here, so it cannot be upgraded to \(Schema.version)",
                hint: "open it once where it can be written (this upgrades it in place), or copy it somewhere writable")
        }
        // Files written by an earlier build gain the later additions: local tables, and the entities of a newer
        // replicated schema (empty until written or synced; peers of the older schema no longer sync with it).
        if writable {
            try Migrations.migrator.migrate(pool)
            (identity, version) = try pool.read(readIdentity)
            guard version == Schema.version else {
                throw ReplicaError.corrupt("\(path) still has replicated schema \(version) after its upgrade")
            }
            // Orders whose derived columns a migration cleared (a rule of derivation changed) are derived again;
            // a replica loading its first stream derives everything when that stream completes. A read decides,
            // so that opening never waits for a writer when there is nothing to do.
            let underived = { (db: Database) throws -> Bool in
                try ReplicationLog.bootstrapPeer(db) == nil
                    && Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM orders WHERE status IS NULL)") == true
            }
            if try pool.read(underived) {
                try pool.write { db in
                    if try underived(db) { _ = try OrderRecords.refreshUnderived(db, now: now()) }
                }
            }
            try noteFileIdentity(pool, path: path)
        }
        let replica = Replica(
            path: path, pool: pool, identity: identity, now: now, random: random, cacheMegabytes: cacheMegabytes,
            checkpointer: checkpointer)
        // Snapshot copies kept for receivers that have not come back within the retention go.
        if writable { replica.replication.pruneKeptSnapshots() }
        return replica
    }

    /// Refuses, without changing it, a path that cannot be an Outpost replica: a missing path, a directory, an
    /// empty file, a file that is not SQLite, or another program's SQLite database. A database not in WAL mode
    /// is first looked at through a read-only connection (the pool would switch it to WAL); one in WAL mode
    /// is checked by `open` before anything is written.
    static func checkReplicaFile(at path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReplicaError(.notFound, "no replica at \(path)", hint: "create one with `outpost init`")
        }
        let notReplica = { (why: String) in
            ReplicaError(
                .incompatible, "\(path) is not an Outpost replica: \(why)",
                hint: "check the path (--db or $OUTPOST_DB); Outpost leaves the file as it is")
        }
        if isDirectory.boolValue { throw notReplica("it is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ReplicaError(
                .unreadable, "cannot read \(path): permission denied", hint: "check the file's permissions")
        }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 100)) ?? Data())
        if header.isEmpty { throw notReplica("the file is empty") }
        guard header.count == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw notReplica("it is not an SQLite database")
        }
        // Bytes 18 and 19: the file format's write and read versions, 2 in WAL mode.
        if header[18] != 2 || header[19] != 2 {
            _ = sqliteConfigured
            var configuration = Configuration()
            configuration.readonly = true
            let isReplica = try? DatabaseQueue(path: path, configuration: configuration).read { db in
                try db.tableExists("replica_info")
            }
            guard isReplica == true else { throw notReplica("it is an SQLite database of another program") }
        }
    }

    /// Replaces this replica's file with the complete, synced SQLite file at `prepared` (same directory): the
    /// pool is closed, the file renamed over this one (atomic: a crash leaves the old file or the new one),
    /// and a new pool opened. Other accesses wait meanwhile.
    ///
    /// - Throws: `ReplicaError(.unavailable)` when another process or instance has the replica open
    ///   (`FileClaim`); nothing is replaced then.
    func replaceFile(with prepared: String) throws {
        let replaced: Void? = try claim?.exclusively { try swapFile(with: prepared) }
        guard replaced != nil else {
            throw ReplicaError(
                .unavailable, "another process has \(path) open, so its file cannot be replaced by the snapshot",
                hint: "run the sync again: it loads the first stream as records while the replica is open elsewhere")
        }
    }

    private func swapFile(with prepared: String) throws {
        // The checkpointer's connection goes too, and comes back on the new file.
        checkpointer?.pause()
        defer { checkpointer?.resume() }
        try pools.withLock { pool in
            try pool.close()
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            guard Glibc.rename(prepared, path) == 0 else {
                let reason = String(cString: strerror(errno))
                pool = try Self.makePool(path, cacheMegabytes: cacheMegabytes, checkpointer: checkpointer)
                throw ReplicaError(
                    .unavailable, "cannot move the snapshot into place: \(reason)",
                    hint: "check the directory's permissions and free space")
            }
            Self.syncDirectory(of: path)
            pool = try Self.makePool(path, cacheMegabytes: cacheMegabytes, checkpointer: checkpointer)
        }
    }

    /// Removes an SQLite file and its side files (WAL, shared memory, rollback journal), whatever exists.
    /// Only for files no connection has open.
    public static func removeDatabaseFiles(at path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Flushes a directory entry change (a rename) to disk.
    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY)
        guard descriptor >= 0 else { return }
        Glibc.fsync(descriptor)
        Glibc.close(descriptor)
    }

    /// Runs `body` as one write transaction: allocates at most one dot, refreshes the derived view of every
    /// order it touched, persists the clock, commits, then tells observers which orders changed.
    ///
    /// - Parameter bulk: the transaction is long (an import of many orders): it always runs on the writer's
    ///   thread, never on the caller's, which may be one of the few threads every task shares.
    func write<T: Sendable>(bulk: Bool = false, _ body: @escaping @Sendable (WriteContext) throws -> T) async throws
        -> T
    {
        // Inside `transaction`: the command joins it, on the thread that holds it.
        if let basket = Basket.current, basket.replica === self, basket.isServing { return try basket.perform(body) }
        let wall = now()
        let random = self.random
        let work: @Sendable (Database) throws -> (T, Set<String>, ClosedRange<Int64>) = { db in
            let context = try WriteContext(db, wallMilliseconds: wall, random: random)
            let result = try body(context)
            for id in context.touchedOrders.sorted() {
                try OrderRecords.refresh(db, id: id, schedules: try context.dueSchedules())
            }
            try context.finish()
            return (
                result, context.touchedOrders.union(context.refreshedOrders), context.startLseq...context.currentLseq
            )
        }
        // A free writer is taken on this thread: handing the command to the writer's queue and back costs two
        // thread wake-ups, as much as the command itself. Otherwise it waits in the queue, off this thread.
        let began = DispatchTime.now().uptimeNanoseconds
        if !bulk, let (result, touched, lseqs) = try writeIfFree(work) {
            notify(touched, wrote: lseqs)
            // The command never suspended: a loop of them would keep this thread from every other task. Every few
            // milliseconds of them, the task lets the others run (a yield costs a thread wake-up, about a third
            // of a command, so not after each). A command after a pause (a till's sale, a live edit) starts a new
            // run, and returns at once unless it ran that long itself.
            let ended = DispatchTime.now().uptimeNanoseconds
            if began > lastEnd.exchange(ended, ordering: .relaxed) &+ Self.yieldEvery {
                runStart.store(began, ordering: .relaxed)
            }
            if ended &- runStart.load(ordering: .relaxed) > Self.yieldEvery {
                runStart.store(ended, ordering: .relaxed)
                await Task.yield()
            }
            return result
        }
        let (result, touched, lseqs) = try await writeQueued(work)
        notify(touched, wrote: lseqs)
        return result
    }

    /// Copies the write-ahead log into the database file now, and returns when it is done.
    ///
    /// A replica's commits go to SQLite's write-ahead log (`<file>-wal`) first; a checkpointer copies the log
    /// into the file on a thread of its own as it grows. Call this before copying the file with a tool that
    /// does not read the log (`cp`, a backup of the file alone), or to have the file complete at a point you
    /// choose. Writes that commit while it runs may stay in the log. A replica opened read-only has nothing to
    /// copy, and this returns at once.
    ///
    /// - Throws: SQLite's busy error when another process is copying the log at that moment (try again).
    public func checkpoint() async throws {
        guard let checkpointer else { return }
        // File writes and flushes block: off Swift's cooperative threads.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try checkpointer.checkpointNow() }) }
        }
    }

    /// The replica's change sequence: every committed change of a replicated record raises it.
    static func changeSequence(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT lseq FROM replica_clock")) ?? 0
    }

    /// Tells observers which orders a transaction of this instance changed. `lseqs` runs from the change
    /// sequence before it to the one it committed: the watcher of other connections' commits skips records in
    /// it, which this report already covers.
    func notify(_ orders: Set<String>, wrote lseqs: ClosedRange<Int64>) {
        if lseqs.upperBound > lseqs.lowerBound {
            own.withLock { $0.append(lseqs) }
            yieldCommit(lseqs.upperBound)
        }
        yield(orders)
    }

    private func yieldCommit(_ lseq: Int64) {
        for continuation in commitObservers.withLock({ Array($0.values) }) { continuation.yield(lseq) }
    }

    private func yield(_ orders: Set<String>) {
        guard !orders.isEmpty else { return }
        for continuation in observers.withLock({ Array($0.values) }) { continuation.yield(orders) }
    }

    /// Reports the orders changed by commits of other connections (another process, another `Replica` on the
    /// file) since the last look: records whose change sequence is above what was looked at, less those this
    /// instance wrote.
    func reportOtherChanges() async throws {
        let since = notified.withLock { $0 }
        let current = try await pool.read(Self.changeSequence)
        guard current > since else { return }
        let mine = own.withLock { ranges in
            defer { ranges.removeAll { $0.upperBound <= current } }
            return ranges
        }
        notified.withLock { $0 = max($0, current) }
        // Commits of this instance were reported when they were made: when they account for everything in
        // (since, current], there is nothing to look up.
        var reached = since
        for range in mine.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.lowerBound <= reached {
            reached = max(reached, range.upperBound)
        }
        guard reached < current else { return }
        yieldCommit(current)
        guard !observers.withLock({ $0.isEmpty }) else { return }
        let changed = try await pool.read { db -> [(String, Int64)] in
            var changed = try Row.fetchAll(db, sql: "SELECT id, lseq FROM orders WHERE lseq > ?", arguments: [since])
                .map { ($0["id"] as String, $0["lseq"] as Int64) }
            for entity in Entity.allCases where entity.belongsToOrder {
                changed += try Row.fetchAll(
                    db,
                    sql: "SELECT order_id, lseq FROM \(entity.rawValue) WHERE lseq > ? AND order_id IS NOT NULL",
                    arguments: [since]
                ).map { ($0["order_id"] as String, $0["lseq"] as Int64) }
            }
            return changed
        }
        yield(
            Set(changed.filter { _, lseq in !mine.contains { $0.lowerBound < lseq && lseq <= $0.upperBound } }.map(\.0))
        )
    }

    /// The ids of orders changed by each committed transaction of this `Replica` instance (local commands
    /// and merged syncs) and, within a tenth of a second, by other processes or instances on the same file (an
    /// `outpost serve` merging a peer's push, a CLI command), as an `AsyncSequence`. Values may coalesce if the
    /// consumer is slow.
    ///
    /// ```swift
    /// for await ids in replica.changedOrders() { refreshScreen(ids) }
    /// ```
    public func changedOrders() -> AsyncStream<Set<String>> {
        let key = UUID()
        let (stream, continuation) = AsyncStream<Set<String>>.makeStream(bufferingPolicy: .bufferingNewest(64))
        continuation.onTermination = { [weak self] _ in
            self?.observers.withLock { _ = $0.removeValue(forKey: key) }
            self?.observerLeft()
        }
        observers.withLock { $0[key] = continuation }
        observerCame()
        return stream
    }

    /// The change sequence after each commit that changed replicated records: this instance's commands and
    /// merges at once, commits of other processes or instances on the same file within a few tens of
    /// milliseconds. What a live sync session waits on (`ReplicationStore.commits()`). Values may coalesce if
    /// the consumer is slow; each is the newest change sequence known.
    public func commits() -> AsyncStream<Int64> {
        let key = UUID()
        let (stream, continuation) = AsyncStream<Int64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.onTermination = { [weak self] _ in
            self?.commitObservers.withLock { _ = $0.removeValue(forKey: key) }
            self?.observerLeft()
        }
        commitObservers.withLock { $0[key] = continuation }
        observerCame()
        return stream
    }

    /// One more observer of either kind: the first starts the watcher of other connections' commits.
    private func observerCame() {
        let first = observerCount.withLock {
            $0 += 1
            return $0 == 1
        }
        if first { startWatching() }
    }

    /// One observer fewer: the last stops the watcher.
    private func observerLeft() {
        let none = observerCount.withLock {
            $0 -= 1
            return $0 == 0
        }
        if none {
            watcher.withLock {
                $0?.cancel()
                $0 = nil
            }
        }
    }

    /// How often the watcher looks: every 25 ms while a live session waits on `commits()`, ten times a second
    /// for `changedOrders()` alone.
    private var watchInterval: Duration {
        commitObservers.withLock { $0.isEmpty } ? .milliseconds(100) : .milliseconds(25)
    }

    /// While anyone observes, looks ten times a second for commits of other connections (SQLite tells readers
    /// nothing; a read of one row is cheap) and reports the orders they changed.
    private func startWatching() {
        // Changes committed before the first observer are not news (read now, so that a commit right after
        // subscribing is reported).
        if let current = try? pool.read(Self.changeSequence) { notified.withLock { $0 = max($0, current) } }
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                guard let interval = self?.watchInterval else { return }
                try? await Task.sleep(for: interval)
                guard let self else { return }
                try? await self.reportOtherChanges()
            }
        }
        watcher.withLock {
            $0?.cancel()
            $0 = task
        }
    }
}

/// Random words from the system's CSPRNG (libsodium's `randombytes_buf`, which reads `getrandom`), fetched in
/// blocks of 512 bytes.
struct RandomBuffer: ~Copyable {
    static let shared = Mutex(RandomBuffer())
    private static let ready: Bool = sodium_init() >= 0
    private var words = [UInt64](repeating: 0, count: 64)
    private var used = 64

    mutating func next() -> UInt64 {
        if used == words.count {
            if Self.ready {
                words.withUnsafeMutableBytes { buffer in
                    if let base = buffer.baseAddress { randombytes_buf(base, buffer.count) }
                }
            } else {
                // libsodium did not start (it cannot, on a Linux that runs Swift): the standard generator decides.
                var generator = SystemRandomNumberGenerator()
                for index in words.indices { words[index] = generator.next() }
            }
            used = 0
        }
        defer { used += 1 }
        return words[used]
    }
}
