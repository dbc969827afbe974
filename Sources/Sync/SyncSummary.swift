import Replica

/// What one sync session did.
public struct SyncSummary: Hashable, Sendable {
    /// The peer's site id and name.
    public var peerSite = ""
    public var peerName = ""
    public var batchesSent = 0
    public var batchesReceived = 0
    /// Records sent and received.
    public var rowsSent = 0
    public var rowsReceived = 0
    /// Field states sent and received (each field of each record counts once).
    public var changesSent = 0
    public var changesReceived = 0
    /// Fields whose state the received stream changed here.
    public var changesApplied = 0
    /// Fields that became conflicts here.
    public var conflicts = 0
    /// Bytes on the wire, both ways, handshake included.
    public var bytesSent = 0
    public var bytesReceived = 0
    public var duration: Duration = .zero
    /// The snapshot of the stream this side sent (its `lseq`).
    public var snapshotLseq: Int64 = 0
    /// Bytes of a file snapshot this side sent or received instead of a record stream (a new replica's
    /// bootstrap); 0 otherwise.
    public var snapshotBytesSent = 0
    public var snapshotBytesReceived = 0
    /// The byte a received snapshot continued at (0 when it started from the beginning).
    public var snapshotResumedAt = 0
    /// Set when this replica's vector claimed more of the peer's writes than the peer made (a poisoned
    /// vector), and was lowered so that the peer sent them again.
    public var claimRepair: ClaimRepair?
    /// How the live phase ended, when the session went live (protocol/SPEC.md §15).
    var liveEnding: LiveLink.Ending?
    /// Whether the session stayed open as a live session after its exchange.
    public var wentLive: Bool { liveEnding != nil }

    public init() {}
}

/// Progress of a session, for progress bars.
public struct SyncProgress: Hashable, Sendable {
    public enum Direction: String, Sendable { case sending, receiving }
    /// What `done` and `total` count.
    public enum Unit: String, Sendable { case records, bytes }
    public var direction: Direction
    /// Records (or snapshot bytes) done so far in this direction.
    public var done: Int
    /// An upper bound of what this direction will carry (0 while unknown).
    public var total: Int
    public var unit: Unit

    public init(direction: Direction, done: Int, total: Int, unit: Unit = .records) {
        self.direction = direction
        self.done = done
        self.total = total
        self.unit = unit
    }
}
