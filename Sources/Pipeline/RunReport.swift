import LookbookCore
import Recommender

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
    /// Where the reranking model came from: the job's model directory, one this run
    /// trained, an earlier run's, or the co-occurrence model.
    public var modelSource: String?
    /// The model registry's decision: which version reranks, and the promotion gate's
    /// verdict with both models' figures when a new version was trained.
    public var modelDecision: ModelDecision?
    /// Which model reranked the lists: `stylelm`, `stylelm+ppmi-svd+structure` (a bag
    /// StyleLM with PPMI-SVD and the outfit-structure model, as `lookbook eval` scores a
    /// `lookbook train` directory), `stylelm+ppmi-svd` (without the structure model:
    /// `[recommend] structure = false`, or outfits that gave it no spread),
    /// `ppmi-svd+structure` (PPMI-SVD with the outfit-structure model, `[recommend]
    /// structure`), `ppmi-svd` or `cooccurrence` (the job's `[recommend] reranker` unless a
    /// StyleLM took over).
    public var reranker: String?
    /// Where the retrieval stage ranked the pools: `cooccurrence` or `ppmi-svd word vectors`.
    public var retrieval: String?
    public var captioner: String?
    /// What the recommend stage recomputed and why, and where its time went.
    public var precompute: Precompute?

    /// The recommend stage in numbers.
    public struct Precompute: Codable, Sendable, Equatable {
        /// `full` or `incremental`.
        public var mode: String
        /// Why everything was recomputed (no previous results, a new model version…).
        public var fullReason: String?
        public var anchors: Int
        public var anchorsRecomputed: Int
        /// Recomputed anchors by reason ("new product", "changed product", "feedback
        /// changed", "a changed product reaches the top 100", …).
        public var anchorReasons: [String: Int]
        public var outfits: Int
        public var outfitsRecomputed: Int
        public var outfitReasons: [String: Int]
        /// Unchanged anchors and outfits whose lists a changed product reached, patched in place.
        public var anchorsPatched: Int
        public var outfitsPatched: Int
        /// Lists patched in all, those whose top M changed (newcomers reranked, rules run
        /// again), and those that lost more than their reserve and walked their pool again.
        public var listsPatched: Int
        public var listsRescored: Int
        public var listsRewalked: Int
        public var retrievalScored: Int
        public var reranked: Int
        /// Thread-seconds per stage (summed over workers); `detect` is wall seconds.
        public var seconds: [String: Double]
        public var retrievalM: Int

        public init(_ s: PrecomputeStats, retrievalM: Int) {
            mode = s.full ? "full" : "incremental"
            fullReason = s.fullReason
            anchors = s.anchors; anchorsRecomputed = s.anchorsRecomputed; anchorReasons = s.anchorReasons
            outfits = s.outfits; outfitsRecomputed = s.outfitsRecomputed; outfitReasons = s.outfitReasons
            anchorsPatched = s.anchorsPatched; outfitsPatched = s.outfitsPatched
            listsPatched = s.patch.lists; listsRescored = s.patch.rescored; listsRewalked = s.patch.rewalked
            retrievalScored = s.retrievalScored; reranked = s.reranked
            seconds = ["detect": s.seconds.detect, "retrieval": s.seconds.retrieval, "rerank": s.seconds.rerank, "rules": s.seconds.rules]
            self.retrievalM = retrievalM
        }

        enum CodingKeys: String, CodingKey {
            case mode
            case fullReason = "full_reason"
            case anchors
            case anchorsRecomputed = "anchors_recomputed"
            case anchorReasons = "anchor_reasons"
            case outfits
            case outfitsRecomputed = "outfits_recomputed"
            case outfitReasons = "outfit_reasons"
            case anchorsPatched = "anchors_patched"
            case outfitsPatched = "outfits_patched"
            case listsPatched = "lists_patched"
            case listsRescored = "lists_rescored"
            case listsRewalked = "lists_rewalked"
            case retrievalScored = "retrieval_scored"
            case reranked, seconds
            case retrievalM = "retrieval_m"
        }
    }

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
        /// Images the fallback captioner captioned because the active one failed.
        public var captionFallbacks = 0
        /// A remote captioner's retried attempts and circuit-breaker openings.
        public var captionRetries = 0
        public var breakerOpenings = 0
        public init() {}
        enum CodingKeys: String, CodingKey {
            case products, outfits, feedback, images, captioned
            case captionsFromCache = "captions_from_cache"
            case captionFallbacks = "caption_fallbacks"
            case captionRetries = "caption_retries"
            case breakerOpenings = "breaker_openings"
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
        case store, model, captioner, precompute, reranker, retrieval
        case modelSource = "model_source"
        case modelDecision = "model_decision"
    }
}
