import Dispatch
import LookbookCore

/// How much of the reranker's own top k the retrieval stage keeps.
public struct RetrievalRecall: Sendable, Equatable, Codable {
    /// Anchors sampled and (anchor, target slot) lists measured.
    public var anchors: Int
    public var lists: Int
    public var k: Int
    public var m: Int
    /// Σ |top k after retrieval(M) + rerank ∩ top k of an exhaustive rerank| / Σ |exhaustive top k|.
    public var recall: Double
    /// The prior source's depth (0: off, see `PriorReranker`).
    public var priorM: Int = 0
    /// The same at other retrieval depths (`alsoAt`), by M (the prior source's depth as run).
    public var recallAt: [Int: Double] = [:]
    /// The same at other pairs of depths (`grid`): co-occurrence M, prior M.
    public var recallGrid: [Depth: Double] = [:]
    public struct Depth: Sendable, Hashable, Codable, Comparable {
        public var m: Int
        public var prior: Int
        public init(m: Int, prior: Int) { self.m = m; self.prior = prior }
        public static func < (a: Self, b: Self) -> Bool { (a.m, a.prior) < (b.m, b.prior) }
    }
    /// Candidates the exhaustive rerank scored (the cost of measuring).
    public var exhaustiveScored: Int
    /// A cascade in front of the reranker (`cascade`): the as-run retrieved candidates
    /// ranked by a proxy, only the top R reranked; the recall by R.
    public var recallCascade: [Int: Double] = [:]
    /// Candidates the as-run retrieval handed the reranker (what a cascade cuts down to R per list).
    public var retrieved: Int = 0
    /// With `cascadeTiming`: thread-seconds of the cascade proxy's batched scores of the
    /// as-run candidates, and of the reranker's scores of the same candidates (what a
    /// run without the cascade spends on those lists).
    public var cascadeProxySeconds: Double = 0
    public var asRunRerankSeconds: Double = 0
}

/// A second retrieval space to measure against the co-occurrence one: per look, a
/// cheap scorer of candidates (higher better).
public protocol RetrievalProxy: Sendable {
    var name: String { get }
    func scorer(context: [Product], slot: Slot) -> @Sendable (Product) -> Double
    /// The scorer's scores of `candidates`, batched when the proxy can.
    func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double]
}

extension RetrievalProxy {
    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        let score = scorer(context: context, slot: slot)
        return candidates.map(score)
    }
}

extension Precomputer {
    /// Recall@k of the retrieval stage on a sample of anchors: for each sampled anchor
    /// and target slot, the top k of the reranker over the retrieval stage's M
    /// candidates against the top k of the reranker over the whole allowed pool (both
    /// before the list rules, which act the same on either). 1 means retrieval loses
    /// nothing the reranker would have put in its top k.
    ///
    /// Anchors are drawn with a seeded shuffle among products that have a compatible
    /// slot, so the figure is reproducible. `progress` gets (anchors done, sampled).
    ///
    /// The exhaustive rerank scores each allowed candidate once; the retrieved side reads
    /// the same scores (a reranker's score of a candidate depends only on the look and
    /// the candidate, see `Reranker`), so `alsoAt` depths cost nothing more.
    ///
    /// With the prior source on (`PriorReranker`), the retrieved candidates are those the
    /// precompute reranks: the co-occurrence top M and the prior's top `priorM`; `grid`
    /// measures other pairs of depths (a prior depth needs the source on).
    ///
    /// With `proxy`, the retrieved M are a union: the proxy's best `proxyShare · M`, then
    /// the retrieval order fills the rest.
    ///
    /// The retrieval order is the precompute's (`retrievalSpace`): with the PPMI-SVD
    /// reranker it is the reranker's own, and the recall is 1; set `retrieval` to
    /// `.cooccurrence` to measure co-occurrence retrieval in front of it.
    public func retrievalRecall(products: [Product], sample: Int = 200, k: Int = 10, seed: UInt64 = 1, alsoAt: [Int] = [],
                                grid: [RetrievalRecall.Depth] = [],
                                proxy: (any RetrievalProxy)? = nil, proxyShare: Double = 0.5,
                                cascade: (any RetrievalProxy)? = nil, cascadeR: [Int] = [], cascadeTiming: Bool = false,
                                progress: (@Sendable (Int, Int) -> Void)? = nil) -> RetrievalRecall {
        let ctx = RunContext(self, products: products)
        var anchors = products.indices.filter { !compatibility.targets(for: products[$0].slot).isEmpty }
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&anchors)
        let sampled = Array(anchors.prefix(sample))
        let m = settings.retrievalM
        let p = ctx.priorM
        let usePrior = p > 0 && proxy == nil
        let pairs = [RetrievalRecall.Depth(m: m, prior: usePrior ? p : 0)] + alsoAt.filter { $0 != m }.map { .init(m: $0, prior: usePrior ? p : 0) }
            + (proxy == nil ? grid.filter { $0.prior == 0 || ctx.priorM > 0 } : [])
        let depths = pairs.map(\.m)
        let rs = cascade == nil ? [] : cascadeR
        let perAnchor = parallelMap(count: sampled.count, progress: { progress?($0, sampled.count) }) { n -> (lists: Int, hit: [Int], total: Int, scored: Int, cascadeHit: [Int], retrieved: Int, proxyTime: Double, rerankTime: Double) in
            let i = sampled[n]
            let anchor = ctx.items[i]
            let filter = ctx.anchorFilter(i)
            var lists = 0, total = 0, scored = 0, retrievedCount = 0
            var hit = [Int](repeating: 0, count: depths.count)
            var cascadeHit = [Int](repeating: 0, count: rs.count)
            var proxyTime = 0.0, rerankTime = 0.0
            for slot in compatibility.targets(for: anchor.product.slot) {
                guard let pool = ctx.bySlot[slot] else { continue }
                let weights = ctx.query([i], slot: slot)
                // Approved candidates reach the reranker either way: left out of both sides.
                let allowed = pool.filter { j in ctx.filter(j, filter) }
                guard !allowed.isEmpty else { continue }
                // The retrieval order of the whole allowed pool.
                var order = RankHeap(capacity: allowed.count, rank: ctx.index.rank)
                weights.withUnsafeBufferPointer { w in for j in allowed { order.offer(j, ctx.retrievalScore(w, j)) } }
                let ranked = order.sorted().map(\.0)
                var proxyRanked: [Int] = []
                if let proxy {
                    let score = proxy.scorer(context: [anchor.product], slot: slot)
                    var heap = RankHeap(capacity: allowed.count, rank: ctx.index.rank)
                    for j in allowed { heap.offer(j, score(ctx.items[j].product)) }
                    proxyRanked = heap.sorted().map(\.0)
                }
                var priorRanked: [Int] = []
                if ctx.priorM > 0 && proxy == nil {
                    var heap = RankHeap(capacity: allowed.count, rank: ctx.index.rank)
                    for j in allowed { heap.offer(j, ctx.prior[j]) }
                    priorRanked = heap.sorted().map(\.0)
                }
                func retrieved(_ d: Int) -> ArraySlice<Int> {
                    let depth = depths[d]
                    guard proxy != nil else {
                        let top = ranked.prefix(depth)
                        guard pairs[d].prior > 0 else { return top }
                        let inTop = Set(top)
                        return (Array(top) + priorRanked.prefix(pairs[d].prior).filter { !inTop.contains($0) })[...]
                    }
                    var out = Array(proxyRanked.prefix(Int(Double(depth) * proxyShare)))
                    var seen = Set(out)
                    for j in ranked where out.count < depth && seen.insert(j).inserted { out.append(j) }
                    return out[...]
                }
                let s = ctx.reranker.scores(context: [anchor.product], slot: slot, candidates: allowed.map { ctx.items[$0].product })
                let byIndex = Dictionary(uniqueKeysWithValues: zip(allowed, s))
                func best(_ candidates: ArraySlice<Int>) -> Set<Int> {
                    var heap = RankHeap(capacity: k, rank: ctx.index.rank)
                    for c in candidates { heap.offer(c, byIndex[c]!) }
                    return Set(heap.sorted().map(\.0))
                }
                let exhaustive = best(ranked[...])
                for d in depths.indices { hit[d] += exhaustive.intersection(best(retrieved(d))).count }
                let asRun = retrieved(0)
                retrievedCount += asRun.count
                if let cascade, !rs.isEmpty {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let proxyScores = cascade.scores(context: [anchor.product], slot: slot, candidates: asRun.map { ctx.items[$0].product })
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    if cascadeTiming {
                        _ = ctx.reranker.scores(context: [anchor.product], slot: slot, candidates: asRun.map { ctx.items[$0].product })
                        rerankTime += Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
                    }
                    proxyTime += Double(t1 - t0) / 1e9
                    var heap = RankHeap(capacity: asRun.count, rank: ctx.index.rank)
                    for (j, v) in zip(asRun, proxyScores) { heap.offer(j, v) }
                    let byProxy = heap.sorted().map(\.0)
                    for (r, depth) in rs.enumerated() { cascadeHit[r] += exhaustive.intersection(best(byProxy.prefix(depth))).count }
                }
                total += exhaustive.count
                scored += allowed.count
                lists += 1
            }
            return (lists, hit, total, scored, cascadeHit, retrievedCount, proxyTime, rerankTime)
        }
        let total = perAnchor.reduce(0) { $0 + $1.total }
        func recall(_ d: Int) -> Double { total == 0 ? 1 : Double(perAnchor.reduce(0) { $0 + $1.hit[d] }) / Double(total) }
        var at: [Int: Double] = [:]
        let extra = alsoAt.filter { $0 != m }.count
        for d in depths.indices where d > 0 && d <= extra { at[depths[d]] = recall(d) }
        var gridOut: [RetrievalRecall.Depth: Double] = [:]
        for d in depths.indices where d > extra { gridOut[pairs[d]] = recall(d) }
        var byR: [Int: Double] = [:]
        for (r, depth) in rs.enumerated() {
            byR[depth] = total == 0 ? 1 : Double(perAnchor.reduce(0) { $0 + $1.cascadeHit[r] }) / Double(total)
        }
        return RetrievalRecall(anchors: sampled.count, lists: perAnchor.reduce(0) { $0 + $1.lists }, k: k, m: m,
                               recall: recall(0), priorM: usePrior ? p : 0, recallAt: at, recallGrid: gridOut,
                               exhaustiveScored: perAnchor.reduce(0) { $0 + $1.scored },
                               recallCascade: byR, retrieved: perAnchor.reduce(0) { $0 + $1.retrieved },
                               cascadeProxySeconds: perAnchor.reduce(0) { $0 + $1.proxyTime },
                               asRunRerankSeconds: perAnchor.reduce(0) { $0 + $1.rerankTime })
    }

    /// The reranker's prior of each product (the prior source's scores), for benchmarks:
    /// what every run computes once when the source is on.
    public static func priors(_ reranker: any PriorReranker, products: [Product]) -> [Double] {
        RunContext.priors(reranker, products)
    }

    /// Precomputes the complementary lists of `anchors` (product ids) alone, for
    /// benchmarks and capacity planning with an expensive reranker: the stage times and
    /// counts of that sample (the lists themselves are dropped).
    public func sampleStats(products: [Product], anchors: [String], progress: Progress? = nil) -> PrecomputeStats {
        let ctx = RunContext(self, products: products)
        let chosen = anchors.compactMap { ctx.position[$0] }
        let clock = StageClock()
        let lists = parallelMap(count: chosen.count, progress: { progress?("complementary", $0, chosen.count) }) { n in
            ctx.complementary(for: chosen[n], clock: clock).lists.count
        }
        var stats = PrecomputeStats()
        stats.anchors = chosen.count
        stats.anchorsRecomputed = chosen.count
        stats.full = true
        stats.fullReason = "sample of \(chosen.count) anchors, \(lists.reduce(0, +)) lists"
        clock.read(into: &stats)
        return stats
    }
}

extension RunContext {
    /// Allowed and not approved.
    func filter(_ j: Int, _ f: Filter) -> Bool {
        guard let verdict = f.allows(j) else { return false }
        return verdict != .approve
    }
}
