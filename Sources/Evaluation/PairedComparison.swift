import Foundation
import LookbookCore

/// Two models' predictions on the same questions, compared question by question: each
/// metric of both, and the candidate's difference from the baseline with a paired
/// percentile bootstrap (the same resampled questions for both), which is far narrower
/// than two separate intervals when the models agree on most questions. How every
/// "+3.0 [−0.7, +6.7] paired" figure in the README is computed.
public struct PairedComparison: Sendable, Equatable {
    public struct Metric: Sendable, Equatable {
        public var name: String
        public var baseline: Double
        public var candidate: Double
        /// candidate − baseline, with its paired interval.
        public var difference: MetricEstimate
    }

    public var task: EvalTask
    public var metrics: [Metric]
    /// Keys scored by both files; keys either file lacks are left out and counted.
    public var questions: Int
    public var skipped: Int

    /// Compares the prediction files `baseline` and `candidate` on the key file `answers`.
    public static func compare(_ task: EvalTask, baseline: String, candidate: String, answers: String,
                               options: EvalOptions = EvalOptions()) throws -> (comparison: PairedComparison, diagnostics: [Diagnostic]) {
        let kFile = (answers as NSString).lastPathComponent
        let keys = try Data(contentsOfPath: answers)
        let a = try Data(contentsOfPath: baseline), b = try Data(contentsOfPath: candidate)
        let aFile = (baseline as NSString).lastPathComponent, bFile = (candidate as NSString).lastPathComponent
        var diagnostics: [Diagnostic] = []

        /// Per key scored by both: the two predictions, in key order.
        func pairs<P: Decodable & Sendable, K: Decodable & Sendable>(_: P.Type, _: K.Type, id: KeyPath<P, String>,
                                                                    keyID: KeyPath<K, String>) -> (keys: [K], a: [P], b: [P], skipped: Int) {
            let ks = JSONLines.decode(K.self, from: keys, file: kFile)
            let pa = JSONLines.decode(P.self, from: a, file: aFile), pb = JSONLines.decode(P.self, from: b, file: bFile)
            diagnostics += ks.diagnostics + pa.diagnostics + pb.diagnostics
            let mapA = Evaluator.predictionMap(pa.values, id, aFile, &diagnostics)
            let mapB = Evaluator.predictionMap(pb.values, id, bFile, &diagnostics)
            var out: ([K], [P], [P], Int) = ([], [], [], 0)
            for k in ks.values {
                let key = k.value[keyPath: keyID]
                guard let x = mapA[key], let y = mapB[key] else { out.3 += 1; continue }
                out.0.append(k.value); out.1.append(x); out.2.append(y)
            }
            return out
        }
        /// Both models' per-question values and the paired interval of their mean difference.
        func mean(_ name: String, _ x: [Double], _ y: [Double]) -> Metric {
            Metric(name: name, baseline: Metrics.mean(x), candidate: Metrics.mean(y),
                   difference: options.bootstrap.mean(name, zip(y, x).map { $0 - $1 }))
        }

        let comparison: PairedComparison
        switch task {
        case .fitb:
            let p = pairs(FITBPrediction.self, FITBKey.self, id: \.id, keyID: \.id)
            var x: [Double] = [], y: [Double] = [], skipped = p.skipped
            for (k, (pa, pb)) in zip(p.keys, zip(p.a, p.b)) {
                guard pa.scores.indices.contains(k.answer), pb.scores.indices.contains(k.answer) else { skipped += 1; continue }
                x.append(Metrics.fitbCredit(scores: pa.scores, answer: k.answer))
                y.append(Metrics.fitbCredit(scores: pb.scores, answer: k.answer))
            }
            comparison = PairedComparison(task: task, metrics: [mean(MetricName.fitbAccuracy, x, y)], questions: x.count, skipped: skipped)
        case .compat:
            let p = pairs(CompatPrediction.self, CompatKey.self, id: \.id, keyID: \.id)
            var x: [Double] = [], y: [Double] = [], labels: [Bool] = [], skipped = p.skipped
            for (k, (pa, pb)) in zip(p.keys, zip(p.a, p.b)) {
                guard k.label == 0 || k.label == 1 else { skipped += 1; continue }
                x.append(pa.score); y.append(pb.score); labels.append(k.label == 1)
            }
            let auc = { (s: [Double], idx: [Int]) in Metrics.auc(scores: idx.map { s[$0] }, labels: idx.map { labels[$0] }) }
            let all = Array(labels.indices)
            let (ax, ay) = (auc(x, all) ?? .nan, auc(y, all) ?? .nan)
            let difference = options.bootstrap.statistic(MetricName.auc, count: labels.count, value: ay - ax) { idx in
                guard let u = auc(x, idx), let v = auc(y, idx) else { return nil }
                return v - u
            }
            comparison = PairedComparison(task: task, metrics: [Metric(name: MetricName.auc, baseline: ax, candidate: ay, difference: difference)],
                                          questions: labels.count, skipped: skipped)
        case .retrieval:
            let p = pairs(RetrievalPrediction.self, RetrievalKey.self, id: \.id, keyID: \.id)
            func values(_ ps: [RetrievalPrediction]) -> (recall: [Double], rr: [Double]) {
                var recall: [Double] = [], rr: [Double] = []
                for (k, q) in zip(p.keys, ps) {
                    let scores = q.scores?.count == q.ranked.count ? q.scores : nil
                    recall.append(Metrics.recall(at: options.recallK, ranked: q.ranked, scores: scores, answer: k.answer))
                    rr.append(Metrics.reciprocalRank(ranked: q.ranked, scores: scores, answer: k.answer))
                }
                return (recall, rr)
            }
            let (x, y) = (values(p.a), values(p.b))
            comparison = PairedComparison(task: task, metrics: [mean(MetricName.recall(options.recallK), x.recall, y.recall),
                                                                mean(MetricName.mrr, x.rr, y.rr)],
                                          questions: p.keys.count, skipped: p.skipped)
        }
        return (comparison, diagnostics)
    }

    /// One line per metric: both values, the difference and its interval.
    public var text: String {
        var lines = metrics.map { m in
            String(format: "%@\tbaseline %.4f\tcandidate %.4f\tdifference %+.4f\t95%% paired CI [%+.4f, %+.4f]\tn=%d",
                   m.name, m.baseline, m.candidate, m.difference.value, m.difference.low, m.difference.high, questions)
        }
        if skipped > 0 { lines.append("\(skipped) keys left out: not scored by both files") }
        return lines.joined(separator: "\n")
    }
}
