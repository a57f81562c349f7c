import Foundation
import LookbookCore

/// Item-to-item compatibility learned from curated outfits: positive pointwise mutual
/// information (PPMI) between the content features of items that appear in the same
/// outfit (Levy & Goldberg's word–context PPMI, with items' features as words).
///
/// For two products a and b with feature sets F(a), F(b) the score is the mean PPMI
/// over feature pairs, `Σ_{f∈F(a), g∈F(b)} PPMI(f, g) / (|F(a)|·|F(b)|)`. The slot
/// feature makes slot-pair affinity part of it; title and category words carry style,
/// colour and material. It is symmetric, cheap, and serves later as the retrieval stage
/// in front of the language model.
///
/// Scoring many candidates against one anchor goes through a `Query`: the anchor's
/// PPMI row sum is built once in a dense vector, then each candidate costs one
/// lookup per feature.
public struct CooccurrenceModel: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Context-distribution smoothing exponent (0.75 in word2vec/Levy et al.).
        public var smoothing: Double = 0.75
        /// Feature pairs seen fewer times than this get no PMI (too noisy).
        public var minPairCount: Double = 1
        /// Weight an outfit by `1 + log(1 + likes) / 4` when it has likes.
        public var weightByLikes: Bool = true
        public init() {}
    }

    /// Feature string → dense id.
    public let vocabulary: [String: Int32]
    /// Sparse PPMI rows: for feature f, `(g, ppmi)` with ppmi > 0, sorted by g.
    let rows: [[(Int32, Float)]]
    /// Feature ids by string id for reasons.
    let names: [String]
    public let settings: Settings
    /// Outfits and items the model was trained on.
    public let trainedOutfits: Int
    /// `cooccurrence-ppmi@3:` and a 64-bit FNV-1a hash of the training data (settings,
    /// and each used outfit's weight and its items' feature strings, outfits in id order). Two models with
    /// the same version give bit-identical scores: training is deterministic (pair
    /// counts are summed in key order), and features that occur only in the catalog
    /// have no PPMI. Incremental runs rely on this.
    public let version: String

    public var featureCount: Int { names.count }

    /// Trains on curated outfits. `text` supplies extra text for a product (its caption).
    public static func train(
        products: [Product], outfits: [Outfit], captions: [String: String] = [:], settings: Settings = Settings()
    ) -> CooccurrenceModel {
        var vocabulary: [String: Int32] = [:]
        var names: [String] = []
        func id(_ f: String) -> Int32 {
            if let i = vocabulary[f] { return i }
            let i = Int32(names.count)
            vocabulary[f] = i; names.append(f)
            return i
        }
        let byID = Dictionary(products.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var pairCounts: [UInt64: Double] = [:]
        var used = 0
        var hash = FNV1a()
        hash.add("\(settings.smoothing)|\(settings.minPairCount)|\(settings.weightByLikes)")
        // Outfits in id order: the same outfits listed in another order train the same
        // model (same version, same bits), so a reordered feed does not recompute all.
        for outfit in outfits.sorted(by: { $0.id < $1.id }) {
            let items = outfit.items.compactMap { byID[$0] }
            guard items.count >= 2 else { continue }
            used += 1
            let weight = settings.weightByLikes ? 1 + log1p(Double(max(0, outfit.likes ?? 0))) / 4 : 1
            let strings = items.map { p in ProductFeatures.strings(of: p, caption: captions[p.id]) }
            hash.add("o\(weight.bitPattern)")
            for item in strings { hash.add("i"); for f in item { hash.add(f) } }
            let feats = strings.map { $0.map(id) }
            // Each unordered item pair once, both directions, so the matrix is symmetric.
            let norm = weight / Double(items.count - 1)
            for i in 0..<feats.count {
                for j in (i + 1)..<feats.count {
                    for f in feats[i] {
                        for g in feats[j] {
                            pairCounts[UInt64(UInt32(f)) << 32 | UInt64(UInt32(g)), default: 0] += norm
                            pairCounts[UInt64(UInt32(g)) << 32 | UInt64(UInt32(f)), default: 0] += norm
                        }
                    }
                }
            }
        }
        // Marginals, summed in key order so the same data always gives the same bits.
        let keys = pairCounts.keys.sorted()
        var rowSum = [Double](repeating: 0, count: names.count)
        var total = 0.0
        for key in keys {
            let c = pairCounts[key]!
            rowSum[Int(key >> 32)] += c
            total += c
        }
        let smoothed = rowSum.map { pow($0, settings.smoothing) }
        let smoothedTotal = smoothed.reduce(0, +)
        var rows = [[(Int32, Float)]](repeating: [], count: names.count)
        if total > 0 {
            for key in keys {
                let c = pairCounts[key]!
                guard c >= settings.minPairCount else { continue }
                let f = Int(key >> 32), g = Int(key & 0xFFFF_FFFF)
                let pmi = log((c / total) / ((rowSum[f] / total) * (smoothed[g] / smoothedTotal)))
                if pmi > 0 { rows[f].append((Int32(g), Float(pmi))) }
            }
        }
        for i in rows.indices { rows[i].sort { $0.0 < $1.0 } }
        // Features that only occur in the catalog (not in outfits) still get ids so a
        // product's feature count is honest in the normalisation.
        for p in products { for f in ProductFeatures.strings(of: p, caption: captions[p.id]) { _ = id(f) } }
        while rows.count < names.count { rows.append([]) }
        return CooccurrenceModel(vocabulary: vocabulary, rows: rows, names: names, settings: settings, trainedOutfits: used,
                                 version: "cooccurrence-ppmi@3:" + hash.hex)
    }

    init(vocabulary: [String: Int32], rows: [[(Int32, Float)]], names: [String], settings: Settings, trainedOutfits: Int,
         version: String) {
        self.vocabulary = vocabulary; self.rows = rows; self.names = names
        self.settings = settings; self.trainedOutfits = trainedOutfits; self.version = version
        slotFeature = names.map { $0.hasPrefix("s:") }
    }

    /// Whether each feature is a slot feature (`s:`), for reasons.
    let slotFeature: [Bool]

    /// Feature ids of a product (unknown features are dropped but counted by the caller
    /// through `FeatureSet.count`).
    public func featureSet(of product: Product, caption: String? = nil) -> FeatureSet {
        let strings = ProductFeatures.strings(of: product, caption: caption)
        return FeatureSet(ids: strings.compactMap { vocabulary[$0] }, count: strings.count)
    }

    /// A product's features as model ids.
    public struct FeatureSet: Sendable, Equatable {
        public var ids: [Int32]
        /// All features, known or not (the normaliser).
        public var count: Int
    }

    /// The context side of a score, built once and reused for many candidates.
    public struct Query: Sendable {
        /// Dense: for each feature g, the mean over context items of the mean PPMI
        /// between the item's features and g.
        var weights: [Float]
    }

    /// Builds the query for a context of one or more products.
    public func query(_ context: [FeatureSet]) -> Query {
        var w = [Float](repeating: 0, count: names.count)
        let items = context.filter { $0.count > 0 }
        guard !items.isEmpty else { return Query(weights: w) }
        for item in items {
            let scale = 1 / Float(item.count * items.count)
            for f in item.ids {
                for (g, v) in rows[Int(f)] { w[Int(g)] += v * scale }
            }
        }
        return Query(weights: w)
    }

    /// Mean PPMI between the query's context and the candidate.
    public func score(_ query: Query, _ candidate: FeatureSet) -> Double {
        guard candidate.count > 0 else { return 0 }
        var s: Float = 0
        for g in candidate.ids { s += query.weights[Int(g)] }
        return Double(s) / Double(candidate.count)
    }

    /// Compatibility of `candidate` with a context of products (higher is better).
    public func score(context: [Product], candidate: Product) -> Double {
        score(query(context.map { featureSet(of: $0) }), featureSet(of: candidate))
    }

    /// Compatibility of a whole outfit: mean pairwise score.
    public func outfitScore(_ items: [Product]) -> Double {
        guard items.count >= 2 else { return 0 }
        let sets = items.map { featureSet(of: $0) }
        var total = 0.0, n = 0
        for i in sets.indices {
            let q = query([sets[i]])
            for j in sets.indices where j != i { total += score(q, sets[j]); n += 1 }
        }
        return total / Double(n)
    }

    /// The strongest feature pair between anchor and candidate, as a short "why":
    /// `"denim" goes with "sneakers"`. Nil when nothing links them.
    public func reason(anchor: FeatureSet, candidate: FeatureSet) -> String? {
        var best: (Float, Int32, Int32)?
        for f in anchor.ids {
            let row = rows[Int(f)]
            guard !row.isEmpty else { continue }
            for g in candidate.ids {
                // Binary search: rows are sorted by feature id.
                var lo = 0, hi = row.count
                while lo < hi { let mid = (lo + hi) / 2; if row[mid].0 < g { lo = mid + 1 } else { hi = mid } }
                guard lo < row.count, row[lo].0 == g else { continue }
                let v = row[lo].1
                if slotFeature[Int(f)] && slotFeature[Int(g)] { continue }
                // Ties keep the first pair in (anchor feature, row) order, as a scan of the row would.
                if best == nil || v > best!.0 || (v == best!.0 && f == best!.1 && g < best!.2) { best = (v, f, g) }
            }
        }
        guard let (_, f, g) = best else { return nil }
        func word(_ i: Int32) -> String {
            let s = names[Int(i)]
            return s.hasPrefix("s:") ? "any " + s.dropFirst(2) : String(s.dropFirst(2))
        }
        return "\"\(word(f))\" goes with \"\(word(g))\" in curated outfits"
    }
}

/// 64-bit FNV-1a over strings, each followed by a 0 byte so ("ab","c") ≠ ("a","bc").
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ s: String) {
        for b in s.utf8 { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = (value ^ 0) &* 0x100_0000_01b3
    }
    var hex: String { String(value, radix: 16).leftPadded(to: 16) }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
