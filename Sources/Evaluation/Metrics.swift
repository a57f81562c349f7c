import LookbookCore
/// The metrics of the field, on values. Every per-question metric is a mean of
/// per-question credits, so the bootstrap can resample questions.
public enum Metrics {
    /// FITB credit of one question: 1/k when the top score is shared by k candidates
    /// and the answer is among them, else 0. NaN scores never win.
    public static func fitbCredit(scores: [Double], answer: Int) -> Double {
        guard scores.indices.contains(answer) else { return 0 }
        let clean = scores.map { $0.isNaN ? -Double.infinity : $0 }
        guard let top = clean.max() else { return 0 }
        guard clean[answer] == top else { return 0 }
        return 1 / Double(clean.filter { $0 == top }.count)
    }

    /// ROC AUC as the Mann–Whitney statistic: the probability that a random positive
    /// scores above a random negative, ties counting 1/2. Nil without both classes.
    /// O(n log n): sort, give tied scores their mean rank.
    public static func auc(scores: [Double], labels: [Bool]) -> Double? {
        precondition(scores.count == labels.count, "one label per score")
        let positives = labels.filter { $0 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { a, b in
            let sa = scores[a].isNaN ? -Double.infinity : scores[a]
            let sb = scores[b].isNaN ? -Double.infinity : scores[b]
            return sa < sb
        }
        var rankSumPositive = 0.0
        var i = 0
        while i < order.count {
            var j = i
            let s = scores[order[i]].isNaN ? -Double.infinity : scores[order[i]]
            while j + 1 < order.count, (scores[order[j + 1]].isNaN ? -Double.infinity : scores[order[j + 1]]) == s { j += 1 }
            let meanRank = Double(i + j) / 2 + 1  // 1-based mean rank of the tie group
            for k in i...j where labels[order[k]] { rankSumPositive += meanRank }
            i = j + 1
        }
        let u = rankSumPositive - Double(positives) * Double(positives + 1) / 2
        return u / (Double(positives) * Double(negatives))
    }

    /// The 0-based positions the answer may occupy in `ranked`: its own position, or,
    /// with scores, every position of its tie group. Empty when it is not ranked.
    static func answerPositions(ranked: [String], scores: [Double]?, answer: String) -> ClosedRange<Int>? {
        guard let p = ranked.firstIndex(of: answer) else { return nil }
        guard let scores, scores.count == ranked.count else { return p...p }
        let s = scores[p]
        var lo = p, hi = p
        while lo > 0, scores[lo - 1] == s { lo -= 1 }
        while hi + 1 < scores.count, scores[hi + 1] == s { hi += 1 }
        return lo...hi
    }

    /// Recall@K of one question (1 when the answer is in the top K, else 0); with
    /// scores, the share of the answer's tie-group positions that fall in the top K.
    public static func recall(at k: Int, ranked: [String], scores: [Double]? = nil, answer: String) -> Double {
        guard let r = answerPositions(ranked: ranked, scores: scores, answer: answer) else { return 0 }
        let inTop = r.filter { $0 < k }.count
        return Double(inTop) / Double(r.count)
    }

    /// Reciprocal rank of one question (1/rank, 0 when unranked); with scores, the mean
    /// of 1/rank over the answer's tie-group positions.
    public static func reciprocalRank(ranked: [String], scores: [Double]? = nil, answer: String) -> Double {
        guard let r = answerPositions(ranked: ranked, scores: scores, answer: answer) else { return 0 }
        return r.reduce(0.0) { $0 + 1 / Double($1 + 1) } / Double(r.count)
    }

    public static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
    }
}

/// A metric with its 95 % bootstrap confidence interval.
public struct MetricEstimate: Codable, Sendable, Equatable {
    public var name: String
    public var value: Double
    /// 2.5th and 97.5th percentiles of the bootstrap distribution.
    public var low: Double
    public var high: Double
    /// Questions behind the value.
    public var count: Int

    public init(name: String, value: Double, low: Double, high: Double, count: Int) {
        self.name = name; self.value = value; self.low = low; self.high = high; self.count = count
    }
}

/// Percentile bootstrap over questions.
public struct Bootstrap: Sendable {
    public var resamples: Int
    public var seed: UInt64
    public init(resamples: Int = 1000, seed: UInt64 = 0) { self.resamples = resamples; self.seed = seed }

    /// CI of the mean of per-question credits.
    public func mean(_ name: String, _ credits: [Double]) -> MetricEstimate {
        let n = credits.count
        let value = Metrics.mean(credits)
        guard n > 0, resamples > 0 else { return MetricEstimate(name: name, value: value, low: value, high: value, count: n) }
        var rng = SplitMix64.stream(seed, "bootstrap:" + name)
        var stats = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var s = 0.0
            for _ in 0..<n { s += credits[rng.below(n)] }
            stats[r] = s / Double(n)
        }
        return estimate(name, value, stats, n)
    }

    /// CI of a statistic of the whole resampled set (AUC): `statistic` gets the drawn
    /// indices and returns nil when undefined on that resample (skipped).
    public func statistic(_ name: String, count n: Int, value: Double, _ statistic: ([Int]) -> Double?) -> MetricEstimate {
        guard n > 0, resamples > 0 else { return MetricEstimate(name: name, value: value, low: value, high: value, count: n) }
        var rng = SplitMix64.stream(seed, "bootstrap:" + name)
        var stats: [Double] = []
        stats.reserveCapacity(resamples)
        var idx = [Int](repeating: 0, count: n)
        for _ in 0..<resamples {
            for i in 0..<n { idx[i] = rng.below(n) }
            if let s = statistic(idx) { stats.append(s) }
        }
        return estimate(name, value, stats, n)
    }

    private func estimate(_ name: String, _ value: Double, _ stats: [Double], _ n: Int) -> MetricEstimate {
        guard !stats.isEmpty else { return MetricEstimate(name: name, value: value, low: value, high: value, count: n) }
        let sorted = stats.sorted()
        func q(_ p: Double) -> Double {
            let pos = p * Double(sorted.count - 1)
            let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
        }
        return MetricEstimate(name: name, value: value, low: q(0.025), high: q(0.975), count: n)
    }
}
