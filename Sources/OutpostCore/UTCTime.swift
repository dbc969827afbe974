import Foundation

/// Times as people and other programs read them: RFC 3339 in UTC with milliseconds, from Unix milliseconds.
public enum UTCTime {
    /// `2026-11-30T09:15:00.000Z` for `milliseconds` since 1970 (UTC).
    public static func rfc3339(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// The UTC day of `milliseconds`: `2026-11-30`.
    public static func day(_ milliseconds: Int64) -> String { String(rfc3339(milliseconds).prefix(10)) }
}
