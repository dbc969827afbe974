import OrderDomain

/// One field of a record as a live delta carries it: its position in the entity's field list and its full
/// sibling set (dots name sites by their index in the delta's `sites`).
public struct FieldChange: Hashable, Sendable {
    public var index: Int
    public var state: FieldState

    public init(index: Int, state: FieldState) {
        self.index = index
        self.state = state
    }
}

/// A record as a live delta carries it: only the fields whose state holds a dot the receiver lacks. A field left
/// out is one the receiver already holds at least as new (its vector covers every dot of the sender's state), so
/// merging without it is merging it (Replica.docc, "Merging a key").
public struct RowDelta: Hashable, Sendable {
    public var entity: Entity
    public var id: String
    public var fields: [FieldChange]

    public init(entity: Entity, id: String, fields: [FieldChange]) {
        self.entity = entity
        self.id = id
        self.fields = fields
    }
}

/// A live delta (Sync.docc, "Live sessions"): a complete stream of a few records, merged whole when it arrives.
public struct LiveDelta: Hashable, Sendable {
    /// Site ids (32 hex characters); a dot's `site` is an index into this list.
    public var sites: [String]
    public var rows: [RowDelta]
    /// The sender's vector and change sequence when it read the records.
    public var end: StreamEnd

    public init(sites: [String], rows: [RowDelta], end: StreamEnd) {
        self.sites = sites
        self.rows = rows
        self.end = end
    }
}

/// One record changed after a given change sequence, as it stands now.
public struct ChangedRecord: Hashable, Sendable {
    /// The record's change sequence (its position in this replica's change order).
    public var lseq: Int64
    /// The record with every field; dots name sites by their index in `RecentChanges.sites`.
    public var row: RowChange

    public init(lseq: Int64, row: RowChange) {
        self.lseq = lseq
        self.row = row
    }
}

/// The records a replica changed after a change sequence, read in one transaction: what a live session's
/// sender filters for its peer.
public struct RecentChanges: Hashable, Sendable {
    /// Site ids; a dot's `site` is an index into this list.
    public var sites: [String]
    /// The changed records in change order; empty when `complete` is false.
    public var records: [ChangedRecord]
    /// The replica's vector at the read (it covers every dot of `records`).
    public var vector: [String: UInt64]
    /// The replica's change sequence at the read.
    public var snapshotLseq: Int64
    /// False when more records changed than the reader's limit: it fell behind and should stream in batches.
    public var complete: Bool

    public init(
        sites: [String], records: [ChangedRecord], vector: [String: UInt64], snapshotLseq: Int64, complete: Bool
    ) {
        self.sites = sites
        self.records = records
        self.vector = vector
        self.snapshotLseq = snapshotLseq
        self.complete = complete
    }
}
