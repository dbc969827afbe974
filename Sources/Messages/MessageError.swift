import OutpostCore

/// The failures of sending customer messages.
public enum MessageFailures: FailureDomain {}

/// A failure of sending customer messages.
public typealias MessageError = Failure<MessageFailures>

extension Failure<MessageFailures>.Code {
    /// This device is not the one that sends (`messages.sender` names another, or nobody).
    public static var notSender: Self { Self("not_sender", exitStatus: .configuration) }
    /// Neither a mail command nor a spool directory is set on this device.
    public static var noDelivery: Self { Self("no_delivery", exitStatus: .configuration) }
    /// The lock that keeps sending passes apart cannot be taken (its file cannot be opened).
    public static var cannotLock: Self { Self("cannot_lock", exitStatus: .ioError) }
    /// A template does not parse.
    public static var badTemplate: Self { Self("bad_template", exitStatus: .dataError) }
}
