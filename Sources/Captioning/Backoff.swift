import Foundation

/// Exponential backoff with full jitter: before retry `n` (1-based) wait a uniformly
/// random time in `[0, min(max, base · 2^(n-1))]`, so many clients that failed together
/// do not retry together. A server's `Retry-After` is a floor: the wait is never
/// shorter than what the server asked for.
public struct Backoff: Sendable, Equatable {
    /// Seconds of the first retry's ceiling.
    public var baseSeconds: Double
    /// Seconds no jittered wait exceeds (a `Retry-After` may still ask for longer).
    public var maxSeconds: Double

    public init(baseSeconds: Double = 0.5, maxSeconds: Double = 30) {
        self.baseSeconds = baseSeconds; self.maxSeconds = maxSeconds
    }

    /// The wait before retry `retry` (1-based); `unit` is a uniform random number in [0, 1).
    public func delay(beforeRetry retry: Int, unit: Double, retryAfter: Duration? = nil) -> Duration {
        let exponent = Double(min(max(retry - 1, 0), 62))
        let ceiling = min(maxSeconds, baseSeconds * pow(2, exponent))
        let jittered = Duration.seconds(max(0, min(unit, 1)) * max(ceiling, 0))
        guard let retryAfter else { return jittered }
        return max(jittered, retryAfter)
    }
}

/// The `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
public enum RetryAfter {
    /// The wait `value` asks for, measured from `now`; nil when it is neither a
    /// non-negative number of seconds nor a date. A date in the past means "now" (zero).
    public static func parse(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite, seconds >= 0, text.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .seconds(seconds)
        }
        for format in httpDateFormats {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "GMT")
            f.dateFormat = format
            if let date = f.date(from: text) {
                return .seconds(max(0, date.timeIntervalSince(now)))
            }
        }
        return nil
    }

    /// IMF-fixdate, then the obsolete RFC 850 and asctime forms that recipients must accept.
    private static let httpDateFormats = [
        "EEE, dd MMM yyyy HH:mm:ss zzz",
        "EEEE, dd-MMM-yy HH:mm:ss zzz",
        "EEE MMM d HH:mm:ss yyyy",
    ]
}
