import Foundation
import LookbookCore

/// The three tasks of `lookbook eval`.
public enum EvalTask: String, Codable, Sendable, CaseIterable {
    case fitb, compat, retrieval
}

public struct EvalOptions: Sendable {
    /// Resamples and seed of the confidence intervals.
    public var bootstrap = Bootstrap()
    /// K of recall@K.
    public var recallK = 10
    /// Ids per retrieval prediction line (the spec: up to 100).
    public var maxRanked = 100
    /// Product id → caption, joined to the content the model sees.
    public var captions: [String: String] = [:]
    public init(bootstrap: Bootstrap = Bootstrap(), recallK: Int = 10, maxRanked: Int = 100, captions: [String: String] = [:]) {
        self.bootstrap = bootstrap; self.recallK = recallK; self.maxRanked = maxRanked; self.captions = captions
    }
}

/// What one evaluation produced: counts, metrics (with a key) and timing. Codable so
/// runs can be collected into a report (`EvalReport`).
public struct EvalResult: Codable, Sendable, Equatable {
    public var model: String
    public var task: EvalTask
    /// Metrics with 95 % CIs; empty without a key.
    public var metrics: [MetricEstimate]
    /// Question lines read without error.
    public var questions: Int
    /// Questions that got a prediction.
    public var predicted: Int
    /// Questions set aside with a diagnostic (unknown product, empty list, malformed…).
    public var skipped: Int
    /// Key lines that could not be scored (no prediction, bad answer, malformed).
    public var unscoredKeys: Int
    /// Wall time of predicting, in seconds (set by the file-level runner).
    public var seconds: Double?
    /// The command and seeds that produced the run, for the report.
    public var command: String?
    /// Where the FITB negatives and the fake outfits' items came from, as the
    /// `split.json` beside the questions says; nil when no such file is there
    /// (questions made by hand) and in results written before the field.
    public var negativePool: QuestionMaker.NegativePool?
    /// FITB: the candidates of every question, when all questions have the same number.
    public var candidates: Int?

    public init(model: String, task: EvalTask, metrics: [MetricEstimate] = [], questions: Int = 0, predicted: Int = 0,
                skipped: Int = 0, unscoredKeys: Int = 0, seconds: Double? = nil, command: String? = nil) {
        self.model = model; self.task = task; self.metrics = metrics; self.questions = questions
        self.predicted = predicted; self.skipped = skipped; self.unscoredKeys = unscoredKeys
        self.seconds = seconds; self.command = command
    }

    public func metric(_ name: String) -> MetricEstimate? { metrics.first { $0.name == name } }

    /// Records what `split.json` says about the questions (FITB and compatibility: where
    /// negatives came from; retrieval pools are always the answer's category).
    public mutating func record(_ split: SplitRecord?) {
        negativePool = task == .retrieval ? nil : split?.pool
    }
}

/// Metric names, as they appear in results and reports.
public enum MetricName {
    public static let fitbAccuracy = "fitb_accuracy"
    public static let auc = "compat_auc"
    public static func recall(_ k: Int) -> String { "recall@\(k)" }
    public static let mrr = "mrr"
}

/// The catalog as the harness sees it: products by id and by category, and each
/// product's content encoded by the scorer at most once.
struct EvalIndex<S: Scorer> {
    let scorer: S
    let products: [Product]
    let byID: [String: Int]
    let byCategory: [String: [Int]]
    let contentKeys: [String]
    let captions: [String: String]
    private var encoded: [Int: S.Item] = [:]

    init(catalog: Catalog, scorer: S, captions: [String: String]) {
        self.scorer = scorer
        products = catalog.products
        var byID: [String: Int] = [:]
        var byCategory: [String: [Int]] = [:]
        for (i, p) in catalog.products.enumerated() where byID[p.id] == nil {
            byID[p.id] = i
            byCategory[p.category, default: []].append(i)
        }
        self.byID = byID
        self.byCategory = byCategory
        contentKeys = catalog.products.map { ContentView.sortKey(ContentView.of($0, caption: captions[$0.id])) }
        self.captions = captions
    }

    mutating func item(_ i: Int) -> S.Item {
        if let e = encoded[i] { return e }
        let e = scorer.encode(ContentView.of(products[i], caption: captions[products[i].id]))
        encoded[i] = e
        return e
    }

    /// Indices of `ids`, or the first unknown id.
    func resolve(_ ids: [String]) -> Result<[Int], UnknownID> {
        var out: [Int] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            guard let i = byID[id] else { return .failure(UnknownID(id: id)) }
            out.append(i)
        }
        return .success(out)
    }

    struct UnknownID: Error { let id: String }
}

/// Runs a scorer over question files and scores prediction files against keys.
///
/// Pure functions on values (`predict…`, `score…`) do the work; `run` and
/// `scoreFiles` add the file I/O. A bad line never stops a run: it becomes a
/// `Diagnostic` naming file and line, the question is skipped and counted.
public enum Evaluator {
    // MARK: Predict

    public static func predictFITB<S: Scorer>(
        _ questions: [Numbered<FITBQuestion>], file: String, catalog: Catalog, scorer: S, options: EvalOptions = EvalOptions()
    ) -> (predictions: [FITBPrediction], diagnostics: [Diagnostic]) {
        var index = EvalIndex(catalog: catalog, scorer: scorer, captions: options.captions)
        var out: [FITBPrediction] = []
        var diags: [Diagnostic] = []
        var seen = Set<String>()
        for q in questions {
            let v = q.value
            guard seen.insert(v.id).inserted else {
                diags.append(duplicate(v.id, file, q.line)); continue
            }
            guard !v.candidates.isEmpty else {
                diags.append(Diagnostic(.error, code: EvalDiagnostic.emptyCandidates, file: file, line: q.line,
                                        reason: "question \(v.id) has no candidates; give at least one; question skipped"))
                continue
            }
            let context: [Int], candidates: [Int]
            switch (index.resolve(v.context), index.resolve(v.candidates)) {
            case (.success(let c), .success(let d)): context = c; candidates = d
            case (.failure(let e), _), (_, .failure(let e)):
                diags.append(unknown(e.id, v.id, file, q.line)); continue
            }
            let ctx = context.map { index.item($0) }
            let cands = candidates.map { index.item($0) }
            out.append(FITBPrediction(id: v.id, scores: scorer.scores(context: ctx, candidates: cands)))
        }
        return (out, diags)
    }

    public static func predictCompat<S: Scorer>(
        _ questions: [Numbered<CompatQuestion>], file: String, catalog: Catalog, scorer: S, options: EvalOptions = EvalOptions()
    ) -> (predictions: [CompatPrediction], diagnostics: [Diagnostic]) {
        var index = EvalIndex(catalog: catalog, scorer: scorer, captions: options.captions)
        var out: [CompatPrediction] = []
        var diags: [Diagnostic] = []
        var seen = Set<String>()
        for q in questions {
            let v = q.value
            guard seen.insert(v.id).inserted else { diags.append(duplicate(v.id, file, q.line)); continue }
            guard !v.items.isEmpty else {
                diags.append(Diagnostic(.error, code: EvalDiagnostic.emptyCandidates, file: file, line: q.line,
                                        reason: "question \(v.id) has no items; give the outfit's product ids; question skipped"))
                continue
            }
            switch index.resolve(v.items) {
            case .failure(let e): diags.append(unknown(e.id, v.id, file, q.line))
            case .success(let items):
                out.append(CompatPrediction(id: v.id, score: scorer.compatibility(items.map { index.item($0) })))
            }
        }
        return (out, diags)
    }

    public static func predictRetrieval<S: Scorer>(
        _ questions: [Numbered<RetrievalQuestion>], file: String, catalog: Catalog, scorer: S, options: EvalOptions = EvalOptions()
    ) -> (predictions: [RetrievalPrediction], diagnostics: [Diagnostic]) {
        var index = EvalIndex(catalog: catalog, scorer: scorer, captions: options.captions)
        var out: [RetrievalPrediction] = []
        var diags: [Diagnostic] = []
        var seen = Set<String>()
        for q in questions {
            let v = q.value
            guard seen.insert(v.id).inserted else { diags.append(duplicate(v.id, file, q.line)); continue }
            let context: [Int]
            switch index.resolve(v.context) {
            case .failure(let e): diags.append(unknown(e.id, v.id, file, q.line)); continue
            case .success(let c): context = c
            }
            let excluded = Set(context)
            let pool = (index.byCategory[v.category] ?? []).filter { !excluded.contains($0) }
            guard !pool.isEmpty else {
                diags.append(Diagnostic(.error, code: EvalDiagnostic.emptyPool, file: file, line: q.line,
                                        reason: "question \(v.id): no product of category \"\(v.category)\" outside the context; use a category of the catalog; question skipped"))
                continue
            }
            let ctx = context.map { index.item($0) }
            let cands = pool.map { index.item($0) }
            let s = scorer.scores(context: ctx, candidates: cands)
            // Best first; equal scores ordered by content, then catalog order, so only
            // products of identical content depend on row order (and the scores
            // written beside them let the metric share their credit).
            let order = pool.indices.sorted { a, b in
                let sa = s[a].isNaN ? -Double.infinity : s[a], sb = s[b].isNaN ? -Double.infinity : s[b]
                if sa != sb { return sa > sb }
                let ka = index.contentKeys[pool[a]], kb = index.contentKeys[pool[b]]
                if ka != kb { return ka < kb }
                return pool[a] < pool[b]
            }.prefix(options.maxRanked)
            out.append(RetrievalPrediction(id: v.id, ranked: order.map { index.products[pool[$0]].id },
                                           scores: order.map { s[$0] }))
        }
        return (out, diags)
    }

    // MARK: Score

    public static func scoreFITB(
        predictions: [Numbered<FITBPrediction>], predictionsFile: String,
        keys: [Numbered<FITBKey>], keysFile: String, options: EvalOptions = EvalOptions()
    ) -> (metrics: [MetricEstimate], unscored: Int, diagnostics: [Diagnostic]) {
        var diags: [Diagnostic] = []
        let byID = predictionMap(predictions, \.id, predictionsFile, &diags)
        var credits: [Double] = []
        var unscored = 0
        for k in keys {
            guard let p = byID[k.value.id] else {
                diags.append(missing(k.value.id, keysFile, k.line, predictionsFile)); unscored += 1; continue
            }
            guard p.scores.indices.contains(k.value.answer) else {
                diags.append(Diagnostic(.error, code: EvalDiagnostic.badKey, file: keysFile, line: k.line,
                                        reason: "answer \(k.value.answer) of \(k.value.id) is not an index of its \(p.scores.count) scores; question not scored"))
                unscored += 1; continue
            }
            credits.append(Metrics.fitbCredit(scores: p.scores, answer: k.value.answer))
        }
        return ([options.bootstrap.mean(MetricName.fitbAccuracy, credits)], unscored, diags)
    }

    public static func scoreCompat(
        predictions: [Numbered<CompatPrediction>], predictionsFile: String,
        keys: [Numbered<CompatKey>], keysFile: String, options: EvalOptions = EvalOptions()
    ) -> (metrics: [MetricEstimate], unscored: Int, diagnostics: [Diagnostic]) {
        var diags: [Diagnostic] = []
        let byID = predictionMap(predictions, \.id, predictionsFile, &diags)
        var scores: [Double] = [], labels: [Bool] = []
        var unscored = 0
        for k in keys {
            guard k.value.label == 0 || k.value.label == 1 else {
                diags.append(Diagnostic(.error, code: EvalDiagnostic.badKey, file: keysFile, line: k.line,
                                        reason: "label of \(k.value.id) must be 0 or 1, got \(k.value.label); question not scored"))
                unscored += 1; continue
            }
            guard let p = byID[k.value.id] else {
                diags.append(missing(k.value.id, keysFile, k.line, predictionsFile)); unscored += 1; continue
            }
            scores.append(p.score); labels.append(k.value.label == 1)
        }
        let value = Metrics.auc(scores: scores, labels: labels) ?? .nan
        let estimate = options.bootstrap.statistic(MetricName.auc, count: scores.count, value: value) { idx in
            Metrics.auc(scores: idx.map { scores[$0] }, labels: idx.map { labels[$0] })
        }
        return ([estimate], unscored, diags)
    }

    public static func scoreRetrieval(
        predictions: [Numbered<RetrievalPrediction>], predictionsFile: String,
        keys: [Numbered<RetrievalKey>], keysFile: String, options: EvalOptions = EvalOptions()
    ) -> (metrics: [MetricEstimate], unscored: Int, diagnostics: [Diagnostic]) {
        var diags: [Diagnostic] = []
        let byID = predictionMap(predictions, \.id, predictionsFile, &diags)
        var recalls: [Double] = [], rrs: [Double] = []
        var unscored = 0
        for k in keys {
            guard let p = byID[k.value.id] else {
                diags.append(missing(k.value.id, keysFile, k.line, predictionsFile)); unscored += 1; continue
            }
            let scores = (p.scores?.count == p.ranked.count) ? p.scores : nil
            recalls.append(Metrics.recall(at: options.recallK, ranked: p.ranked, scores: scores, answer: k.value.answer))
            rrs.append(Metrics.reciprocalRank(ranked: p.ranked, scores: scores, answer: k.value.answer))
        }
        return ([options.bootstrap.mean(MetricName.recall(options.recallK), recalls),
                 options.bootstrap.mean(MetricName.mrr, rrs)], unscored, diags)
    }

    // MARK: Helpers

    static func predictionMap<P>(_ predictions: [Numbered<P>], _ id: KeyPath<P, String>, _ file: String,
                                 _ diags: inout [Diagnostic]) -> [String: P] {
        var map: [String: P] = [:]
        for p in predictions {
            if map[p.value[keyPath: id]] != nil { diags.append(duplicate(p.value[keyPath: id], file, p.line)); continue }
            map[p.value[keyPath: id]] = p.value
        }
        return map
    }

    static func duplicate(_ id: String, _ file: String, _ line: Int) -> Diagnostic {
        Diagnostic(.error, code: EvalDiagnostic.duplicateID, file: file, line: line,
                   reason: "id \(id) appears again; ids must be unique; the later line is skipped")
    }

    static func unknown(_ product: String, _ question: String, _ file: String, _ line: Int) -> Diagnostic {
        Diagnostic(.error, code: EvalDiagnostic.unknownProduct, file: file, line: line,
                   reason: "question \(question) names product \(product), which is not in the catalog; use the catalog the questions were made from; question skipped")
    }

    static func missing(_ id: String, _ keysFile: String, _ line: Int, _ predictionsFile: String) -> Diagnostic {
        Diagnostic(.error, code: EvalDiagnostic.missingPrediction, file: keysFile, line: line,
                   reason: "no prediction for question \(id) in \(predictionsFile); question not scored")
    }
}
