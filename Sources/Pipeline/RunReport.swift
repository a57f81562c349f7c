import LookbookCore

/// The JSON run report written after every run, succeeded or not
/// (`STATE/reports/run-ID.json`), and summarised on stderr.
public struct RunReport: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// A new store was published.
        case succeeded
        /// Nothing new: the snapshot was already processed, or nothing changed.
        case unchanged
        case failed
    }

    public var runID: Int?
    public var job: String
    public var status: Status
    public var message: String
    public var startedAt: String
    public var finishedAt: String
    public var catalog: String?
    public var retailer: String?
    public var snapshot: String?
    public var diff: DiffSummary?
    public var counts: Counts
    /// Seconds per stage, in run order.
    public var stages: [Stage]
    public var quarantined: Int
    public var quarantineReport: String?
    public var store: StoreInfo?
    public var model: String?
    public var captioner: String?

    /// Counts of the snapshot diff, with the first ids of each kind as examples (the
    /// full lists live in the state database, and can be 100,000 long).
    public struct DiffSummary: Codable, Sendable, Equatable {
        public var new: Int
        public var changed: Int
        public var removed: Int
        public var unchanged: Int
        public var examples: [String: [String]]

        public init(_ d: SnapshotDiff, examples n: Int = 10) {
            new = d.new.count; changed = d.changed.count; removed = d.removed.count; unchanged = d.unchanged
            examples = ["new": Array(d.new.prefix(n)), "changed": Array(d.changed.prefix(n)), "removed": Array(d.removed.prefix(n))]
        }
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var products = 0
        public var outfits = 0
        public var feedback = 0
        public var images = 0
        public var complementaryRows = 0
        public var fitbRows = 0
        public var captioned = 0
        public var captionsFromCache = 0
        public init() {}
        enum CodingKeys: String, CodingKey {
            case products, outfits, feedback, images, captioned
            case captionsFromCache = "captions_from_cache"
            case complementaryRows = "complementary_rows"
            case fitbRows = "fitb_rows"
        }
    }

    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        public var seconds: Double
        public init(name: String, seconds: Double) { self.name = name; self.seconds = seconds }
    }

    public struct StoreInfo: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var bytes: Int
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case job, status, message
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case catalog, retailer, snapshot, diff, counts, stages, quarantined
        case quarantineReport = "quarantine_report"
        case store, model, captioner
    }
}
