import Foundation
import LookbookCore

/// A product as the precompute sees it: the product, its features in the retrieval
/// space and the keys the rules compare, computed once per run.
struct Item: Sendable {
    let product: Product
    let features: CooccurrenceModel.FeatureSet
    /// Known feature ids, sorted and unique: the MMR similarity's sets.
    let featureIDs: [Int32]
    let gender: Gender
    /// Lower-cased, trimmed; nil when absent.
    let brand: String?
    /// Brand and the sorted set of title words: equal keys are near-duplicates.
    let titleKey: String
    /// FNV-1a of `titleKey`, compared first.
    let titleHash: UInt64
    /// SHA-256 of the primary image, when known.
    let imageHash: String?

    init(_ product: Product, model: CooccurrenceModel, caption: String?, imageHash: String?) {
        self.product = product
        features = model.featureSet(of: product, caption: caption)
        featureIDs = Array(Set(features.ids)).sorted()
        gender = product.normalizedGender
        let b = product.brand?.lowercased().trimmingCharacters(in: .whitespaces) ?? ""
        brand = b.isEmpty ? nil : b
        let words = Set(Words.tokens(product.title)).sorted().joined(separator: " ")
        titleKey = words.isEmpty ? "" : (brand ?? "") + "|" + words
        titleHash = StableHash.fnv1a(titleKey)
        self.imageHash = imageHash
    }
}

/// The rules of the precompute.
///
/// Pair rules (`allows`) decide whether a candidate may appear with an anchor at all:
/// in stock (when the settings ask), not the anchor itself, gender compatible (unisex
/// and unspecified go with all), not rejected by a merchandiser, and the job file's
/// brand and price-band rules. They are cheap, so they are applied while the retrieval
/// stage walks the pool: the M candidates it keeps are all eligible.
///
/// List rules (`select`) run after the rerank: merchandiser-approved items lead; no
/// near-duplicates of the anchor or of each other (same primary-image SHA-256, or same
/// brand and same set of title words: "Navy Linen Shirt" and "Linen Shirt, navy" of
/// one brand are one look); then maximal marginal relevance picks the rest:
/// `λ·rel(c) − (1−λ)·max_{s chosen} sim(c, s)`, with `rel` the rerank score scaled to
/// 0…1 over the list's candidates and `sim` the Jaccard overlap of the two products'
/// retrieval features (slot, category and title words, attributes). λ = 1 is plain
/// score order.
struct Rules: Sendable {
    let settings: RecommendSettings
    /// "a|b" for every excluded pair, both ways round.
    let excluded: Set<String>

    init(settings: RecommendSettings) {
        self.settings = settings
        var e = Set<String>()
        for p in settings.excludeBrandPairs {
            let a = p.a.lowercased().trimmingCharacters(in: .whitespaces)
            let b = p.b.lowercased().trimmingCharacters(in: .whitespaces)
            e.insert(a + "|" + b); e.insert(b + "|" + a)
        }
        excluded = e
    }

    /// Whether the job sets brand or price rules (the rest is checked on flat arrays in
    /// the retrieval stage's walk).
    var hasPairRules: Bool { settings.sameBrandOnly || !excluded.isEmpty || settings.maxPriceRatio != nil }

    /// Whether `candidate` may be recommended with `anchor` (complementary lists).
    func allows(anchor: Item, candidate: Item, verdict: Feedback.Verdict?) -> Bool {
        if settings.onlyInStock && !candidate.product.inStock { return false }
        guard verdict != .reject, anchor.gender.goes(with: candidate.gender) else { return false }
        guard candidate.product.id != anchor.product.id else { return false }
        if settings.sameBrandOnly || !excluded.isEmpty, let a = anchor.brand, let c = candidate.brand {
            if settings.sameBrandOnly && a != c { return false }
            if !excluded.isEmpty && excluded.contains(a + "|" + c) { return false }
        }
        if let ratio = settings.maxPriceRatio, let pa = anchor.product.price, let pc = candidate.product.price, pa > 0, pc > 0 {
            if max(pa, pc) / min(pa, pc) > ratio { return false }
        }
        return true
    }

    /// Whether `candidate` may fill a blank of an outfit whose other items are
    /// `context` and whose item ids are `outfitItems`: in stock, not in the outfit,
    /// gender compatible with every item. (Brand and price rules are about pairs with
    /// an anchor and do not apply to outfits.)
    func allowsInOutfit(context: [Item], outfitItems: Set<String>, candidate: Item) -> Bool {
        guard !outfitItems.contains(candidate.product.id) else { return false }
        if settings.onlyInStock && !candidate.product.inStock { return false }
        return context.allSatisfy { $0.gender.goes(with: candidate.gender) }
    }

    static func nearDuplicates(_ a: Item, _ b: Item) -> Bool {
        if let x = a.imageHash, let y = b.imageHash, x == y { return true }
        return a.titleHash == b.titleHash && !a.titleKey.isEmpty && a.titleKey == b.titleKey
    }

    /// Jaccard overlap of two sorted unique id lists.
    static func similarity(_ a: [Int32], _ b: [Int32]) -> Double {
        if a.isEmpty && b.isEmpty { return 0 }
        var i = 0, j = 0, common = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { common += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return Double(common) / Double(a.count + b.count - common)
    }

    /// The final list: indices into `candidates` in the order shown.
    ///
    /// - Parameters:
    ///   - candidates: reranked candidates, with `approved` marking merchandiser approvals.
    ///   - scores: rerank scores, parallel to `candidates`.
    ///   - context: the anchor (or the outfit's other items): candidates that duplicate it are dropped.
    func select(_ k: Int, candidates ids: [Int], in items: [Item], approved: [Bool], scores: [Double], context: [Item]) -> [Int] {
        // Items are read in place (copying a product costs reference counting).
        return items.withUnsafeBufferPointer { all in
            select(k, candidates: CandidateView(ids: ids, items: all), approved: approved, scores: scores, context: context)
        }
    }

    private struct CandidateView {
        let ids: [Int]
        let items: UnsafeBufferPointer<Item>
        var indices: Range<Int> { ids.indices }
        subscript(_ c: Int) -> Item { _read { yield items[ids[c]] } }
    }

    private func select(_ k: Int, candidates: CandidateView, approved: [Bool], scores: [Double], context: [Item]) -> [Int] {
        // Best first by score, then id: the order every tie falls back to.
        let order = candidates.indices.sorted {
            scores[$0] != scores[$1] ? scores[$0] > scores[$1] : candidates[$0].product.id < candidates[$1].product.id
        }
        var chosen: [Int] = []
        for c in order where approved[c] && chosen.count < k { chosen.append(c) }
        var rest = order.filter { c in
            !approved[c] && !context.contains { Self.nearDuplicates($0, candidates[c]) }
                && !chosen.contains { Self.nearDuplicates(candidates[$0], candidates[c]) }
        }
        guard !rest.isEmpty, chosen.count < k else { return chosen }
        let lo = rest.map { scores[$0] }.min()!, hi = rest.map { scores[$0] }.max()!
        let relevance = { (c: Int) in hi > lo ? (scores[c] - lo) / (hi - lo) : 1 }
        let lambda = settings.mmrLambda
        // Highest similarity of each remaining candidate to anything chosen so far.
        var maxSim = rest.map { c in chosen.map { Self.similarity(candidates[$0].featureIDs, candidates[c].featureIDs) }.max() ?? 0 }
        while chosen.count < k && !rest.isEmpty {
            var best = 0
            var bestValue = -Double.infinity
            for (r, c) in rest.enumerated() {
                let v = lambda * relevance(c) - (1 - lambda) * maxSim[r]
                if v > bestValue { bestValue = v; best = r }
            }
            let pick = rest[best]
            chosen.append(pick)
            rest.remove(at: best); maxSim.remove(at: best)
            // Drop near-duplicates of the pick, then update similarities.
            var r = 0
            while r < rest.count {
                if Self.nearDuplicates(candidates[pick], candidates[rest[r]]) {
                    rest.remove(at: r); maxSim.remove(at: r)
                } else {
                    if lambda < 1 {
                        maxSim[r] = max(maxSim[r], Self.similarity(candidates[pick].featureIDs, candidates[rest[r]].featureIDs))
                    }
                    r += 1
                }
            }
        }
        return chosen
    }
}
