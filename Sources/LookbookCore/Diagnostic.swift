/// A recoverable problem with the input: a bad row, a bad image, an ignored file.
///
/// Diagnostics never stop a run by themselves; the runner counts them against the
/// job's limits and writes them to the quarantine report. Fatal problems are thrown
/// as `LookbookError`.
public struct Diagnostic: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Severity: String, Codable, Sendable { case warning, error }

    public var severity: Severity
    /// A stable machine-readable code, e.g. `duplicate-id`, `unknown-product`.
    public var code: String
    /// The file inside the catalog (`products.jsonl`, `images/a.jpg`).
    public var file: String
    /// 1-based line number where the problem is a row.
    public var line: Int?
    /// What is wrong and what to fix.
    public var reason: String
    /// The offending row or entry, truncated, so the quarantine report keeps the data.
    public var content: String?

    public init(_ severity: Severity, code: String, file: String, line: Int? = nil, reason: String, content: String? = nil) {
        self.severity = severity; self.code = code; self.file = file; self.line = line
        self.reason = reason
        self.content = content.map { $0.count > 2000 ? String($0.prefix(2000)) + "…" : $0 }
    }

    /// `file:line: reason` — the one-line form printed to stderr.
    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}

/// A fatal error: the run cannot go on. Each case says what to fix.
public struct LookbookError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unreadableCatalog = "unreadable-catalog"
        case unsupportedCatalog = "unsupported-catalog"
        case limitExceeded = "limit-exceeded"
        case tooManyBadRows = "too-many-bad-rows"
        case emptyCatalog = "empty-catalog"
        case badJobFile = "bad-job-file"
        case locked = "locked"
        case store = "store"
        case state = "state"
        case io = "io"
        case usage = "usage"
        case model = "model"
    }

    public var code: Code
    public var message: String
    /// The underlying library's code and message (libarchive, SQLite, errno), if any.
    public var underlying: String?
    /// The problems found before giving up (the bad rows of a catalog refused for having
    /// too many), so the runner can still write them to the quarantine report.
    public var diagnostics: [Diagnostic]

    public init(_ code: Code, _ message: String, underlying: String? = nil, diagnostics: [Diagnostic] = []) {
        self.code = code; self.message = message; self.underlying = underlying; self.diagnostics = diagnostics
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}
