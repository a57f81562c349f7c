import Foundation
import TOMLKit

/// A nightly job, read from a TOML job file (see README "Job file reference").
///
/// Relative paths in the file are resolved against the job file's directory, so a
/// crontab line works from any working directory. Unknown keys are rejected: a typo
/// must not silently fall back to a default. Precedence is resolved in one place,
/// `JobConfig.applying(_:)`: command-line flag > job file > default.
public struct JobConfig: Sendable, Equatable {
    public var name: String = "nightly"
    /// A catalog (directory or archive) or a directory of catalog snapshots; the run
    /// takes the newest snapshot it has not processed yet.
    public var inbox: String = "catalogs"
    public var state: String = ".lookbook/state"
    public var out: String = ".lookbook/store"
    /// A model directory trained elsewhere, used as is (`[job] model`, `--model`).
    public var model: String?
    /// Whether and how the run trains its own StyleLM (`[model]`).
    public var modelTraining = ModelTrainingSettings()

    public var limits = IngestLimits()
    public var slotOverrides: [SlotRules.Override] = []
    public var compatibility = SlotCompatibility.default
    public var recommend = RecommendSettings()
    public var captioner = CaptionerSettings()
    /// Published stores kept, the current one included.
    public var keepStores: Int = 3
    /// Prometheus textfile-collector output; default `OUT/lookbook.prom`.
    public var metricsFile: String?

    public init() {}

    /// Command-line overrides of the job file (`lookbook run --catalog --state --out --model`).
    public struct Overrides: Sendable, Equatable {
        public var catalog: String?
        public var state: String?
        public var out: String?
        public var model: String?
        public init(catalog: String? = nil, state: String? = nil, out: String? = nil, model: String? = nil) {
            self.catalog = catalog; self.state = state; self.out = out; self.model = model
        }
    }

    /// flag > job file > default, the only place this is decided.
    public func applying(_ o: Overrides) -> JobConfig {
        var c = self
        if let v = o.catalog { c.inbox = v }
        if let v = o.state { c.state = v }
        if let v = o.out { c.out = v }
        if let v = o.model { c.model = v }
        return c
    }
}

/// Limits that protect a run from hostile or broken archives and feeds.
public struct IngestLimits: Sendable, Equatable {
    /// Total uncompressed bytes read from one catalog.
    public var maxTotalBytes: Int64 = 64 << 30
    /// Uncompressed bytes of any single entry.
    public var maxEntryBytes: Int64 = 2 << 30
    /// Uncompressed / compressed bytes over the whole archive, checked once 1 MiB was read.
    public var maxCompressionRatio: Double = 200
    /// Share of bad rows (of all rows of one file) above which the run fails.
    public var maxBadRowFraction: Double = 0.05
    /// Pixels an image header may declare.
    public var maxImagePixels: Int = 100_000_000
    public init() {}
}

/// Whether the nightly run trains its own StyleLM (`[model]`): when no model directory
/// is given and none was trained yet, the run trains one on the catalog's curated
/// outfits into `STATE/models/stylelm` and reranks with it; later runs reuse it.
public struct ModelTrainingSettings: Sendable, Equatable {
    /// Off unless the job file turns it on (the shipped `jobs/nightly.toml` does).
    public var train = false
    /// `tiny` is for smoke tests: it trains in seconds and knows little.
    public enum Size: String, Sendable, CaseIterable { case standard, small, tiny }
    public var size = Size.standard
    /// What the model's blank learns and scores with (`StyleLMRecipe.Head`): `sequence`,
    /// the paper's recipe, or `bag`, its distinct tokens at once (higher FITB and AUC on
    /// Polyvore, ~28× faster scoring, no generated descriptions).
    public enum Head: String, Sendable, CaseIterable { case sequence, bag }
    public var head = Head.sequence
    /// Training stops after this long; the next run continues from its checkpoint.
    public var timeBudgetSeconds: Double = 1800
    /// Override the recipe's passes (nil: the recipe's defaults).
    public var pretrainEpochs: Double?
    public var sftEpochs: Double?
    /// Whether a run refreshes the state's current StyleLM by one preference-tuning
    /// (DPO) round when its snapshot brings new outfits or feedback verdicts; the new
    /// version replaces the current one only if it passes the promotion gate.
    public var tune = false
    /// The refresh (mining, reference pass, training) stops after this long; the round's
    /// model is still gated.
    public var tuneTimeBudgetSeconds: Double = 600
    /// Model versions whose weights the registry keeps (the current one always among
    /// them); older ones keep their entry and figures, not their files.
    public var keepVersions = 5

    public init() {}
}

/// Which captioner a run uses (`[captioner]`): the embedded one, or an
/// OpenAI-compatible vision endpoint with the embedded one as its fallback.
public struct CaptionerSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable { case embedded, remote }
    public var kind: Kind = .embedded
    /// Images captioned at once.
    public var concurrency: Int = 2
    /// `base_url`, e.g. `http://127.0.0.1:8000` (the path `/v1/chat/completions` is added).
    public var baseURL: String?
    public var model: String?
    /// The NAME of the environment variable holding the API key (never the key itself).
    public var apiKeyEnv: String?
    public var timeoutSeconds: Double = 30
    public var maxRetries: Int = 3
    /// Consecutive failures that open the circuit breaker (requests then go to the
    /// embedded captioner) and how long it stays open.
    public var breakerThreshold: Int = 5
    public var breakerCooldownSeconds: Double = 60
    public init() {}
}

/// The model that reranks the retrieved candidates when no StyleLM does (`[recommend]
/// reranker`).
public enum RerankerKind: String, Sendable, Equatable, CaseIterable {
    /// PPMI-SVD word vectors (cosine), the stronger model on held-out Polyvore outfits
    /// (FITB 44.3 % vs 34.2 %, AUC 0.703 vs 0.583); retrieval ranks in the same space.
    case ppmiSVD = "ppmi-svd"
    /// Mean PPMI between content features, the first model.
    case cooccurrence
}

/// Sizes of the precomputed lists and the rules applied to them (`[recommend]`).
public struct RecommendSettings: Sendable, Equatable, CustomStringConvertible {
    /// The reranker when no StyleLM is trained or given (`reranker`). The nightly run
    /// builds it; its version is part of the precompute's fingerprint, so this setting
    /// is not part of `description`.
    public var reranker: RerankerKind = .ppmiSVD
    /// With a StyleLM that scores by bag of words, rerank with it combined with PPMI-SVD
    /// word vectors trained on the catalog (`HybridReranker`, `combine_ppmi_svd`): the
    /// StyleLM alone ranks worse than PPMI-SVD alone. The reranker's version records the
    /// choice, so this setting is not part of `description`.
    public var combinePPMISVD: Bool = true
    /// With the PPMI-SVD reranker (`StructuredReranker`), and with a bag StyleLM combined
    /// with PPMI-SVD (`combine_ppmi_svd`: `HybridReranker` with a structure term), add the
    /// outfit-structure model trained on the catalog's outfits (`structure`): categories
    /// and price tiers outfits put together, in the units `lookbook eval` adds them. The
    /// reranker's version records the choice, so this setting is not part of `description`.
    public var structure: Bool = true
    /// Complementary items per anchor and target slot.
    public var complementaryK: Int = 20
    /// Candidates per outfit position.
    public var fitbK: Int = 10
    /// Recommend only in-stock products.
    public var onlyInStock: Bool = true
    /// Candidates the retrieval stage keeps per (anchor, target slot) and per (outfit,
    /// position) for the reranker (`retrieval_m`).
    public var retrievalM: Int = 100
    /// With a reranker that has a look-independent prior (StyleLM: its score of the item
    /// in an empty outfit), a second retrieval source: the best `retrievalPriorM` allowed
    /// candidates of each pool by that prior join the co-occurrence top M
    /// (`retrieval_prior_m`; 0: off). Ignored by the co-occurrence and PPMI-SVD rerankers.
    public var retrievalPriorM: Int = 400
    /// MMR trade-off between relevance (1) and diversity (0) (`mmr_lambda`).
    public var mmrLambda: Double = 0.7
    /// Largest allowed ratio between the dearer and the cheaper of anchor and candidate
    /// (`max_price_ratio`); nil: no price-band rule. Products without a price pass.
    public var maxPriceRatio: Double?
    /// Only recommend products of the anchor's brand (`same_brand_only`); products
    /// without a brand pass.
    public var sameBrandOnly: Bool = false
    /// Brand pairs never recommended together, either way round, case-insensitive
    /// (`exclude_brand_pairs = [["A", "B"]]`).
    public var excludeBrandPairs: [BrandPair] = []
    public init() {}

    public struct BrandPair: Sendable, Equatable {
        public var a: String
        public var b: String
        public init(_ a: String, _ b: String) { self.a = a; self.b = b }
    }

    /// Every setting, in a fixed order: a change of this text forces a full recompute.
    public var description: String {
        let pairs = excludeBrandPairs.map { "\($0.a.lowercased())|\($0.b.lowercased())" }.joined(separator: ",")
        return "k=\(complementaryK) fitb=\(fitbK) stock=\(onlyInStock) m=\(retrievalM) lambda=\(mmrLambda) "
            + "price=\(maxPriceRatio.map { "\($0)" } ?? "-") same_brand=\(sameBrandOnly) exclude=[\(pairs)]"
    }
}

extension JobConfig {
    /// Reads a job file. Throws `LookbookError(.badJobFile)` naming the key or line to fix.
    public static func load(path: String) throws -> JobConfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw LookbookError(.badJobFile, "cannot read job file \(path): \(error.localizedDescription)")
        }
        var config = try parse(text, file: path)
        config.resolvePaths(relativeTo: url.deletingLastPathComponent().path)
        return config
    }

    /// Parses job-file text; paths stay as written.
    public static func parse(_ text: String, file: String = "job file") throws -> JobConfig {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw LookbookError(.badJobFile, "\(file):\(e.source.begin.line): \(e.description)")
        }
        let reader = TableReader(table: root, path: "", file: file)
        var c = JobConfig()
        try reader.allowOnly(["job", "limits", "slots", "recommend", "publish", "report", "captioner", "model"])

        if let job = try reader.table("job") {
            try job.allowOnly(["name", "inbox", "state", "out", "model"])
            c.name = try job.string("name") ?? c.name
            c.inbox = try job.string("inbox") ?? c.inbox
            c.state = try job.string("state") ?? c.state
            c.out = try job.string("out") ?? c.out
            c.model = try job.string("model").flatMap { $0.isEmpty ? nil : $0 }
        }
        if let l = try reader.table("limits") {
            try l.allowOnly(["max_total_bytes", "max_entry_bytes", "max_compression_ratio",
                             "max_bad_row_fraction", "max_image_pixels"])
            c.limits.maxTotalBytes = try l.int("max_total_bytes", min: 1).map(Int64.init) ?? c.limits.maxTotalBytes
            c.limits.maxEntryBytes = try l.int("max_entry_bytes", min: 1).map(Int64.init) ?? c.limits.maxEntryBytes
            c.limits.maxCompressionRatio = try l.double("max_compression_ratio", min: 1) ?? c.limits.maxCompressionRatio
            c.limits.maxBadRowFraction = try l.double("max_bad_row_fraction", min: 0, max: 1) ?? c.limits.maxBadRowFraction
            c.limits.maxImagePixels = try l.int("max_image_pixels", min: 1) ?? c.limits.maxImagePixels
        }
        if let s = try reader.table("slots") {
            try s.allowOnly(["overrides", "compatible"])
            if let o = try s.table("overrides") {
                for key in o.table.keys.sorted() {
                    guard let value = o.table[key]?.string, let slot = Slot(rawValue: value) else {
                        throw o.error("slots.overrides.\"\(key)\" must be one of \(Slot.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    c.slotOverrides.append(.init(pattern: key, slot: slot))
                }
            }
            if let comp = try s.table("compatible") {
                for key in comp.table.keys.sorted() {
                    guard let anchor = Slot(rawValue: key) else {
                        throw comp.error("slots.compatible.\(key): unknown slot; use one of \(Slot.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    let values = try comp.stringArray(key) ?? []
                    var targets: [Slot] = []
                    for v in values {
                        guard let t = Slot(rawValue: v) else {
                            throw comp.error("slots.compatible.\(key): unknown slot \"\(v)\"")
                        }
                        targets.append(t)
                    }
                    c.compatibility.set(anchor, targets: targets)
                }
            }
        }
        if let r = try reader.table("recommend") {
            try r.allowOnly(["complementary_k", "fitb_k", "only_in_stock", "retrieval_m", "mmr_lambda", "max_price_ratio",
                             "same_brand_only", "exclude_brand_pairs", "retrieval_prior_m", "reranker", "combine_ppmi_svd",
                             "structure"])
            if let name = try r.string("reranker") {
                guard let kind = RerankerKind(rawValue: name) else {
                    throw r.error("recommend.reranker must be one of \(RerankerKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(name)\"")
                }
                c.recommend.reranker = kind
            }
            c.recommend.combinePPMISVD = try r.bool("combine_ppmi_svd") ?? c.recommend.combinePPMISVD
            c.recommend.structure = try r.bool("structure") ?? c.recommend.structure
            c.recommend.complementaryK = try r.int("complementary_k", min: 1, max: 1000) ?? c.recommend.complementaryK
            c.recommend.fitbK = try r.int("fitb_k", min: 1, max: 1000) ?? c.recommend.fitbK
            c.recommend.onlyInStock = try r.bool("only_in_stock") ?? c.recommend.onlyInStock
            c.recommend.retrievalM = try r.int("retrieval_m", min: 1, max: 100_000) ?? c.recommend.retrievalM
            c.recommend.retrievalPriorM = try r.int("retrieval_prior_m", min: 0, max: 100_000) ?? c.recommend.retrievalPriorM
            c.recommend.mmrLambda = try r.double("mmr_lambda", min: 0, max: 1) ?? c.recommend.mmrLambda
            c.recommend.maxPriceRatio = try r.double("max_price_ratio", min: 1) ?? c.recommend.maxPriceRatio
            c.recommend.sameBrandOnly = try r.bool("same_brand_only") ?? c.recommend.sameBrandOnly
            if let pairs = try r.stringArrays("exclude_brand_pairs") {
                for pair in pairs {
                    guard pair.count == 2 else {
                        throw r.error("recommend.exclude_brand_pairs: each entry must be two brands, like [\"Acme\", \"Globex\"]; got \(pair)")
                    }
                    c.recommend.excludeBrandPairs.append(.init(pair[0], pair[1]))
                }
            }
            if c.recommend.retrievalM < max(c.recommend.complementaryK, c.recommend.fitbK) {
                throw r.error("recommend.retrieval_m (\(c.recommend.retrievalM)) must be at least complementary_k and fitb_k")
            }
        }
        if let k = try reader.table("captioner") {
            try k.allowOnly(["kind", "concurrency", "base_url", "model", "api_key_env", "timeout_seconds", "max_retries",
                             "breaker_threshold", "breaker_cooldown_seconds"])
            if let kind = try k.string("kind") {
                guard let v = CaptionerSettings.Kind(rawValue: kind) else {
                    throw k.error("captioner.kind must be embedded or remote, got \"\(kind)\"")
                }
                c.captioner.kind = v
            }
            c.captioner.concurrency = try k.int("concurrency", min: 1, max: 256) ?? c.captioner.concurrency
            c.captioner.baseURL = try k.string("base_url")
            c.captioner.model = try k.string("model")
            c.captioner.apiKeyEnv = try k.string("api_key_env")
            c.captioner.timeoutSeconds = try k.double("timeout_seconds", min: 0.1, max: 3600) ?? c.captioner.timeoutSeconds
            c.captioner.maxRetries = try k.int("max_retries", min: 0, max: 20) ?? c.captioner.maxRetries
            c.captioner.breakerThreshold = try k.int("breaker_threshold", min: 1, max: 1000) ?? c.captioner.breakerThreshold
            c.captioner.breakerCooldownSeconds = try k.double("breaker_cooldown_seconds", min: 0, max: 86400) ?? c.captioner.breakerCooldownSeconds
            if c.captioner.kind == .remote, c.captioner.baseURL == nil || c.captioner.model == nil {
                throw k.error("captioner.kind = \"remote\" needs base_url and model")
            }
        }
        if let m = try reader.table("model") {
            try m.allowOnly(["train", "size", "head", "time_budget_seconds", "pretrain_epochs", "sft_epochs", "tune", "tune_time_budget_seconds",
                            "keep_versions"])
            c.modelTraining.train = try m.bool("train") ?? c.modelTraining.train
            if let size = try m.string("size") {
                guard let v = ModelTrainingSettings.Size(rawValue: size) else {
                    throw m.error("model.size must be one of \(ModelTrainingSettings.Size.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(size)\"")
                }
                c.modelTraining.size = v
            }
            if let head = try m.string("head") {
                guard let v = ModelTrainingSettings.Head(rawValue: head) else {
                    throw m.error("model.head must be one of \(ModelTrainingSettings.Head.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(head)\"")
                }
                c.modelTraining.head = v
            }
            c.modelTraining.timeBudgetSeconds = try m.double("time_budget_seconds", min: 1, max: 7 * 86400) ?? c.modelTraining.timeBudgetSeconds
            c.modelTraining.pretrainEpochs = try m.double("pretrain_epochs", min: 0, max: 1000) ?? c.modelTraining.pretrainEpochs
            c.modelTraining.sftEpochs = try m.double("sft_epochs", min: 0, max: 1000) ?? c.modelTraining.sftEpochs
            c.modelTraining.tune = try m.bool("tune") ?? c.modelTraining.tune
            c.modelTraining.tuneTimeBudgetSeconds = try m.double("tune_time_budget_seconds", min: 1, max: 7 * 86400)
                ?? c.modelTraining.tuneTimeBudgetSeconds
            c.modelTraining.keepVersions = try m.int("keep_versions", min: 1, max: 10_000) ?? c.modelTraining.keepVersions
            if c.modelTraining.tune && !c.modelTraining.train {
                throw m.error("model.tune = true refreshes the StyleLM this state trained, so it needs model.train = true")
            }
        }
        if let p = try reader.table("publish") {
            try p.allowOnly(["keep"])
            c.keepStores = try p.int("keep", min: 1, max: 100) ?? c.keepStores
        }
        if let r = try reader.table("report") {
            try r.allowOnly(["metrics_file"])
            c.metricsFile = try r.string("metrics_file").flatMap { $0.isEmpty ? nil : $0 }
        }
        return c
    }

    /// Makes relative paths absolute against `base` (the job file's directory).
    public mutating func resolvePaths(relativeTo base: String) {
        func abs(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: base).appendingPathComponent(p).standardizedFileURL.path
        }
        inbox = abs(inbox); state = abs(state); out = abs(out)
        model = model.map(abs); metricsFile = metricsFile.map(abs)
    }
}

/// Typed access to one TOML table with key paths in error messages.
private struct TableReader {
    let table: TOMLTable
    let path: String
    let file: String

    func error(_ message: String) -> LookbookError { LookbookError(.badJobFile, "\(file): \(message)") }
    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func allowOnly(_ keys: Set<String>) throws {
        for key in table.keys where !keys.contains(key) {
            throw error("unknown key \"\(name(key))\"; allowed here: \(keys.sorted().joined(separator: ", "))")
        }
    }
    func table(_ key: String) throws -> TableReader? {
        guard let v = table[key] else { return nil }
        guard let t = v.table else { throw error("\"\(name(key))\" must be a table") }
        return TableReader(table: t, path: name(key), file: file)
    }
    func string(_ key: String) throws -> String? {
        guard let v = table[key] else { return nil }
        guard let s = v.string else { throw error("\"\(name(key))\" must be a string") }
        return s
    }
    func bool(_ key: String) throws -> Bool? {
        guard let v = table[key] else { return nil }
        guard let b = v.bool else { throw error("\"\(name(key))\" must be true or false") }
        return b
    }
    func int(_ key: String, min: Int = .min, max: Int = .max) throws -> Int? {
        guard let v = table[key] else { return nil }
        guard let i = v.int else { throw error("\"\(name(key))\" must be an integer") }
        guard i >= min, i <= max else { throw error("\"\(name(key))\" must be between \(min) and \(max), got \(i)") }
        return i
    }
    func double(_ key: String, min: Double = -.infinity, max: Double = .infinity) throws -> Double? {
        guard let v = table[key] else { return nil }
        guard let d = v.double ?? v.int.map(Double.init) else { throw error("\"\(name(key))\" must be a number") }
        guard d >= min, d <= max else { throw error("\"\(name(key))\" must be between \(min) and \(max), got \(d)") }
        return d
    }
    func stringArrays(_ key: String) throws -> [[String]]? {
        guard let v = table[key] else { return nil }
        guard let a = v.array else { throw error("\"\(name(key))\" must be an array of arrays of strings") }
        var out: [[String]] = []
        for e in a {
            guard let inner = e.array else { throw error("\"\(name(key))\" must be an array of arrays of strings") }
            var row: [String] = []
            for x in inner {
                guard let s = x.string else { throw error("\"\(name(key))\" must be an array of arrays of strings") }
                row.append(s)
            }
            out.append(row)
        }
        return out
    }
    func stringArray(_ key: String) throws -> [String]? {
        guard let v = table[key] else { return nil }
        guard let a = v.array else { throw error("\"\(name(key))\" must be an array of strings") }
        var out: [String] = []
        for e in a {
            guard let s = e.string else { throw error("\"\(name(key))\" must be an array of strings") }
            out.append(s)
        }
        return out
    }
}
