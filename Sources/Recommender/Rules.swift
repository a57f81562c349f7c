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
        // What the rules compare, read once per candidate in place (copying an Item
        // retains every string of its product).
        let n = ids.count
        var keys: [String] = [], hashes: [UInt64] = [], images: [String?] = [], names: [String] = []
        keys.reserveCapacity(n); hashes.reserveCapacity(n); images.reserveCapacity(n); names.reserveCapacity(n)
        var duplicatesContext = [Bool](repeating: false, count: n)
        let features = items.withUnsafeBufferPointer { all in FeatureBits(ids.map { all[$0].featureIDs }) }
        items.withUnsafeBufferPointer { all in
            for (c, j) in ids.enumerated() {
                keys.append(all[j].titleKey)
                hashes.append(all[j].titleHash)
                images.append(all[j].imageHash)
                names.append(all[j].product.id)
                duplicatesContext[c] = context.contains { Self.nearDuplicates($0, all[j]) }
            }
        }
        func duplicates(_ a: Int, _ b: Int) -> Bool {
            if let x = images[a], let y = images[b], x == y { return true }
            return hashes[a] == hashes[b] && !keys[a].isEmpty && keys[a] == keys[b]
        }

        // Best first by score, then id: the order every tie falls back to.
        let order = (0..<n).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : names[$0] < names[$1] }
        var chosen: [Int] = []
        for c in order where approved[c] && chosen.count < k { chosen.append(c) }
        let rest = order.filter { c in
            !approved[c] && !duplicatesContext[c] && !chosen.contains { duplicates($0, c) }
        }
        guard !rest.isEmpty, chosen.count < k else { return chosen }
        let lo = rest.map { scores[$0] }.min()!, hi = rest.map { scores[$0] }.max()!
        let lambda = settings.mmrLambda
        let relevance = rest.map { c in hi > lo ? (scores[c] - lo) / (hi - lo) : 1 }
        var live = [Bool](repeating: true, count: rest.count)
        // Highest similarity of each remaining candidate to anything chosen so far.
        var maxSim = rest.map { c in chosen.map { features.similarity($0, c) }.max() ?? 0 }
        var left = rest.count
        while chosen.count < k && left > 0 {
            var best = -1
            var bestValue = -Double.infinity
            for r in rest.indices where live[r] {
                let v = lambda * relevance[r] - (1 - lambda) * maxSim[r]
                if v > bestValue || best < 0 { bestValue = v; best = r }
            }
            let pick = rest[best]
            chosen.append(pick)
            live[best] = false; left -= 1
            // Drop near-duplicates of the pick, then update similarities.
            for r in rest.indices where live[r] {
                if duplicates(pick, rest[r]) {
                    live[r] = false; left -= 1
                } else if lambda < 1 {
                    maxSim[r] = max(maxSim[r], features.similarity(pick, rest[r]))
                }
            }
        }
        return chosen
    }
}

/// The feature sets of one list's candidates as bit sets over the features they use,
/// so a Jaccard overlap is a few AND and popcount instructions. Equal to
/// `Rules.similarity` on the sorted id lists (same integer counts).
struct FeatureBits {
    let words: Int
    let bits: [UInt64]
    let counts: [Int]

    init(_ sets: [[Int32]]) {
        var local: [Int32: Int] = [:]
        for set in sets { for f in set where local[f] == nil { local[f] = local.count } }
        words = max(1, (local.count + 63) / 64)
        var bits = [UInt64](repeating: 0, count: sets.count * words)
        for (c, set) in sets.enumerated() {
            for f in set { let b = local[f]!; bits[c * words + b / 64] |= 1 << UInt64(b % 64) }
        }
        self.bits = bits
        counts = sets.map(\.count)
    }

    func similarity(_ a: Int, _ b: Int) -> Double {
        if counts[a] == 0 && counts[b] == 0 { return 0 }
        var common = 0
        bits.withUnsafeBufferPointer { p in
            for w in 0..<words { common += (p[a * words + w] & p[b * words + w]).nonzeroBitCount }
        }
        return Double(common) / Double(counts[a] + counts[b] - common)
    }
}
