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
    /// Candidates the exhaustive rerank scored (the cost of measuring).
    public var exhaustiveScored: Int
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
    public func retrievalRecall(products: [Product], sample: Int = 200, k: Int = 10, seed: UInt64 = 1,
                                progress: (@Sendable (Int, Int) -> Void)? = nil) -> RetrievalRecall {
        let ctx = RunContext(self, products: products)
        var anchors = products.indices.filter { !compatibility.targets(for: products[$0].slot).isEmpty }
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&anchors)
        let sampled = Array(anchors.prefix(sample))
        let m = settings.retrievalM
        let perAnchor = parallelMap(count: sampled.count, progress: { progress?($0, sampled.count) }) { n -> (lists: Int, hit: Int, total: Int, scored: Int) in
            let i = sampled[n]
            let anchor = ctx.items[i]
            let weights = ctx.model.query([anchor.features]).weights
            let filter = ctx.anchorFilter(i)
            var lists = 0, hit = 0, total = 0, scored = 0
            for slot in compatibility.targets(for: anchor.product.slot) {
                guard let pool = ctx.bySlot[slot] else { continue }
                // Approved candidates reach the reranker either way: left out of both sides.
                let allowed = pool.filter { j in ctx.filter(j, filter) }
                guard !allowed.isEmpty else { continue }
                let retrieved = ctx.walk(pool: allowed, weights: weights, filter: filter).ranked.prefix(m).map(\.0)
                func best(_ candidates: [Int]) -> Set<Int> {
                    let s = ctx.reranker.scores(context: [anchor.product], slot: slot, candidates: candidates.map { ctx.items[$0].product })
                    var heap = RankHeap(capacity: k, rank: ctx.index.rank)
                    for (c, v) in zip(candidates, s) { heap.offer(c, v) }
                    return Set(heap.sorted().map(\.0))
                }
                let exhaustive = best(allowed)
                hit += exhaustive.intersection(best(retrieved)).count
                total += exhaustive.count
                scored += allowed.count
                lists += 1
            }
            return (lists, hit, total, scored)
        }
        let hit = perAnchor.reduce(0) { $0 + $1.hit }, total = perAnchor.reduce(0) { $0 + $1.total }
        return RetrievalRecall(anchors: sampled.count, lists: perAnchor.reduce(0) { $0 + $1.lists }, k: k, m: m,
                               recall: total == 0 ? 1 : Double(hit) / Double(total),
                               exhaustiveScored: perAnchor.reduce(0) { $0 + $1.scored })
    }
}

extension RunContext {
    /// Allowed and not approved.
    func filter(_ j: Int, _ f: Filter) -> Bool {
        guard let verdict = f.allows(j) else { return false }
        return verdict != .approve
    }
}
