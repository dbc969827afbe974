import Foundation

/// One figure of the benchmark: the runs, their median, min and max, and the target.
struct Figure: Sendable {
    var key: String
    var unit: String
    var target: String
    var runs: [Double]
    /// Whether the median meets the target (nil: reported only).
    var passes: (@Sendable (Double) -> Bool)?

    var sorted: [Double] { runs.sorted() }
    var median: Double {
        let values = sorted
        guard !values.isEmpty else { return .nan }
        return values.count % 2 == 1
            ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
    }
    var min: Double { sorted.first ?? .nan }
    var max: Double { sorted.last ?? .nan }
    var verdict: String { passes.map { $0(median) ? "pass" : "FAIL" } ?? "report" }

    var json: [String: Any] {
        // JSON has no NaN: a figure that could not be measured is null.
        func number(_ value: Double) -> Any { value.isNaN ? NSNull() : value }
        return [
            "median": number(median), "min": number(min), "max": number(max), "unit": unit, "target": target,
            "runs": runs.map(number),
        ]
    }
}

enum Clock {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// CPU time this process has used (all threads), in seconds.
    static func processCPU() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Peak resident set size of this process in MB (VmHWM).
    static func peakRSSMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return .nan }
        let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
        return kilobytes / 1024
    }
}

/// A deterministic generator (SplitMix64) for datasets.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
