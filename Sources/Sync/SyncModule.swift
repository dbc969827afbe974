import Replica
import SecureLine

/// The sync layer (issue 4) will stream `Replica` change batches over `SecureLine`. Until then this target
/// only names the versions it speaks, so the package graph is complete.
public enum SyncProtocol {
    /// The session protocol version carried in the prologue banner.
    public static let banner = "OUTPOST/1"
}
