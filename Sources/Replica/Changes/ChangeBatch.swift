import OrderDomain

/// Where a change stream stands: after the record at `lseq` (the sender's local change sequence) of the
/// entity with wire code `entity`. Streams visit entities in code order, records in `lseq` order.
public struct StreamPosition: Hashable, Sendable, Comparable {
    public var entity: UInt8
    public var lseq: Int64

    public init(entity: UInt8, lseq: Int64) {
        self.entity = entity
        self.lseq = lseq
    }

    public static func < (lhs: StreamPosition, rhs: StreamPosition) -> Bool {
        (lhs.entity, lhs.lseq) < (rhs.entity, rhs.lseq)
    }
}

/// One replicated record as it travels: every field's full sibling set. Dots name sites by their index in
/// the enclosing batch's `sites`.
public struct RowChange: Hashable, Sendable {
    public var entity: Entity
    public var id: String
    public var fields: [FieldState]

    public init(entity: Entity, id: String, fields: [FieldState]) {
        self.entity = entity
        self.id = id
        self.fields = fields
    }
}

/// A bounded slice of a change stream.
public struct ChangeBatch: Hashable, Sendable {
    /// Site ids (32 hex characters); a dot's `site` is an index into this list.
    public var sites: [String]
    public var rows: [RowChange]
    /// The position after this batch's last record.
    public var position: StreamPosition
    /// The sender's local change sequence when its read snapshot was taken.
    public var snapshotLseq: Int64

    public init(sites: [String], rows: [RowChange], position: StreamPosition, snapshotLseq: Int64) {
        self.sites = sites
        self.rows = rows
        self.position = position
        self.snapshotLseq = snapshotLseq
    }

    /// Field states carried (each field of each record counts once).
    public var fieldCount: Int { rows.reduce(0) { $0 + $1.fields.count } }
}

/// The end of a change stream: the sender's version vector at its snapshot, which the receiver joins into its
/// own once the whole stream is merged.
public struct StreamEnd: Hashable, Sendable {
    /// The sender's site id.
    public var sender: String
    /// Site id → counter.
    public var vector: [String: UInt64]
    /// The sender's local change sequence at its snapshot: the receiver's next cursor for this sender.
    public var snapshotLseq: Int64

    public init(sender: String, vector: [String: UInt64], snapshotLseq: Int64) {
        self.sender = sender
        self.vector = vector
        self.snapshotLseq = snapshotLseq
    }
}

/// What a receiver asks a sender for (the receiver's half of a sync hello).
public struct StreamRequest: Hashable, Sendable {
    /// The receiver's version vector, site id → counter.
    public var vector: [String: UInt64]
    /// The sender's `lseq` up to which the receiver already merged a complete stream (0: none). Records at or
    /// below it are known to be covered by `vector`, so the sender need not look at them.
    public var cursor: Int64
    /// Set when the receiver holds a cut stream from this sender, staged.
    public var resume: Resume?

    /// A staged, unfinished stream to continue.
    public struct Resume: Hashable, Sendable {
        /// The position after the last staged record.
        public var position: StreamPosition
        /// The original stream's snapshot `lseq`: staged records changed after it are sent again.
        public var snapshotLseq: Int64
        public init(position: StreamPosition, snapshotLseq: Int64) {
            self.position = position
            self.snapshotLseq = snapshotLseq
        }
    }

    /// The requester is empty and would rather start from a copy of the sender's file
    /// (`Replica.writeSnapshot`) than from a record stream.
    public var snapshot: Bool

    /// With `snapshot`: the kept part of a cut copy from this sender, to continue rather than start over.
    public var snapshotResume: SnapshotResume?

    public init(
        vector: [String: UInt64], cursor: Int64 = 0, resume: Resume? = nil, snapshot: Bool = false,
        snapshotResume: SnapshotResume? = nil
    ) {
        self.vector = vector
        self.cursor = cursor
        self.resume = resume
        self.snapshot = snapshot
        self.snapshotResume = snapshotResume
    }
}

/// What merging a complete stream did.
public struct MergeSummary: Hashable, Sendable {
    /// Records in the stream.
    public var rows: Int = 0
    /// Field states received.
    public var fieldsReceived: Int = 0
    /// Fields whose state changed.
    public var fieldsChanged: Int = 0
    /// Fields that now hold concurrent values and did not before.
    public var conflictsDetected: Int = 0
    /// Orders whose derived view changed.
    public var ordersTouched: Int = 0

    public init() {}
}
