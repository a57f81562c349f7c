import Foundation
import LookbookCore

/// Word vectors learned from curated outfits: a truncated SVD of the word-PPMI matrix
/// across items of the same outfit. The strongest text model measured on Polyvore
/// (README, "Evaluation"); the evaluation's `ppmi-svd` baseline is this model.
///
/// **Training.** An item's words are `Words.tokens` of its title (and category unless
/// `titleOnly`) and caption, each once. Words in fewer than `minItems` items of the
/// outfits are dropped. For every ordered pair of distinct items (i, j) of an outfit and
/// every word w of i and v of j, count (w, v); then `PPMI(w, v) = max(0, log(P(w, v) /
/// (P(w) · Pα(v))))` with context-distribution smoothing α (Levy et al. 2015), and
/// `PPMI ≈ U S Vᵀ` at rank `rank`. A word's left vector is its row of `U Sᵖ`, its right
/// vector its row of `V Sᵖ`; the default p = 0 drops the singular values, so every kept
/// direction counts alike (Levy et al.'s "eigenvalue weighting"; on four Polyvore
/// validation splits p = 0 beats @1's p = ½ by +3.6 FITB points and +0.046 AUC, with
/// retrieval unchanged).
///
/// **Scoring.** An item's vectors are the means over its known words, unit-normalised
/// when `cosine`. A candidate's score for a look is ⟨mean of the context items' left
/// vectors, the candidate's right vector⟩ (with unit item vectors: the mean of its
/// cosines with the context items); an outfit's compatibility is the mean of
/// ⟨left_i, right_j⟩ over ordered pairs.
///
/// **Scale.** Pair counts are sparse (a dictionary, then compressed rows), and the SVD is
/// randomized subspace iteration on the sparse matrix (`TruncatedSVD`), so memory and
/// time grow with the nonzeros, not with vocabulary².
///
/// **Determinism.** Outfits are taken in content order (their items' words), so the
/// same outfits in any order, under any ids, train the same bits; counts are integers;
/// every sum runs in a fixed order; the SVD's random start is seeded. `version` hashes
/// the settings and the training data: two models with the same version give the same
/// vectors (on one machine: the products run on OpenBLAS), which incremental runs rely on.
public struct PPMISVDModel: Sendable {
    public struct Settings: Sendable, Equatable, Codable, CustomStringConvertible {
        public var rank = 96
        /// Words seen in fewer train items are dropped (their PPMI is noise).
        public var minItems = 2
        public var smoothing = 0.75
        public var seed: UInt64 = 0
        /// Unit-normalise item vectors, so the score is a cosine. Without it, items whose
        /// words are frequent have long vectors and win regardless of the context
        /// (on Polyvore: FITB 35 % with the dot product, 40 % with the cosine).
        public var cosine = true
        /// Words from the title (and caption) only. Category words are the same for every
        /// FITB candidate and for a real outfit and its category-preserving fake, so they
        /// only dilute the title words (compatibility AUC 0.60 → 0.64 on Polyvore).
        public var titleOnly = true
        /// The randomized SVD's extra columns and power iterations.
        public var oversample = 16
        public var powerIterations = 3
        /// p in the word vectors `U Sᵖ`, `V Sᵖ`. `ppmi-svd@1` used ½ (so ⟨left, right⟩ was
        /// the PPMI estimate); 0 gives higher FITB accuracy and compatibility AUC on each of
        /// 8 Polyvore validation splits (Levy et al. 2015 report the same for word similarity).
        public var eigenExponent = 0.0
        /// The knobs below were measured on the validation splits on top of p = 0 and left at
        /// their neutral values: none gained (FITB / AUC differences within ±1 point of the
        /// split-to-split and seed noise, or worse).
        ///
        /// Shifted PPMI: `max(0, PMI − log shift)`; 1 is plain PPMI (shift 2: −1.5 FITB).
        public var shift = 1.0
        /// Count an outfit's pairs with weight `1 + log(1 + likes) / 4` (as `CooccurrenceModel`;
        /// −0.7 AUC points).
        public var weightByLikes = false
        /// How an item's words are weighted in its mean.
        public var wordWeighting = WordWeighting.uniform
        /// Unit-normalise each word's vectors before an item's mean.
        public var normalizeWords = false
        /// Both sides use a word's left + right vector (Levy et al.'s w + c; −2 AUC points).
        public var symmetric = false

        public enum WordWeighting: String, Sendable, Codable, CaseIterable {
            case uniform
            /// `log(items / items with the word)` over the train outfits' items.
            case idf
            /// Smooth inverse frequency `a / (a + p(w))`, a = 10⁻³, p(w) the word's share of
            /// the train items' words (Arora et al. 2017).
            case sif
        }

        public init(rank: Int = 96, minItems: Int = 2, smoothing: Double = 0.75, seed: UInt64 = 0, cosine: Bool = true,
                    titleOnly: Bool = true, oversample: Int = 16, powerIterations: Int = 3, eigenExponent: Double = 0,
                    shift: Double = 1, weightByLikes: Bool = false, wordWeighting: WordWeighting = .uniform,
                    normalizeWords: Bool = false, symmetric: Bool = false) {
            self.rank = rank; self.minItems = minItems; self.smoothing = smoothing; self.seed = seed
            self.cosine = cosine; self.titleOnly = titleOnly; self.oversample = oversample; self.powerIterations = powerIterations
            self.eigenExponent = eigenExponent; self.shift = shift; self.weightByLikes = weightByLikes
            self.wordWeighting = wordWeighting; self.normalizeWords = normalizeWords; self.symmetric = symmetric
        }

        /// Every setting, as hashed into `version`.
        public var description: String {
            "rank=\(rank) min_items=\(minItems) smoothing=\(smoothing.bitPattern) seed=\(seed) cosine=\(cosine) "
                + "title_only=\(titleOnly) oversample=\(oversample) power=\(powerIterations) "
                + "eigen_exponent=\(eigenExponent.bitPattern) shift=\(shift.bitPattern) likes=\(weightByLikes) "
                + "word_weighting=\(wordWeighting.rawValue) normalize_words=\(normalizeWords) symmetric=\(symmetric)"
        }

        /// Why these settings cannot train a model, nil when they can.
        public var problem: String? {
            if rank < 1 { return "rank must be at least 1, got \(rank)" }
            if minItems < 1 { return "minItems must be at least 1, got \(minItems)" }
            if !(smoothing > 0 && smoothing <= 1) { return "smoothing must be in (0, 1], got \(smoothing)" }
            if oversample < 0 || powerIterations < 0 { return "oversample and powerIterations must not be negative" }
            if !(eigenExponent >= 0 && eigenExponent <= 1) { return "eigenExponent must be in [0, 1], got \(eigenExponent)" }
            if !(shift >= 1 && shift.isFinite) { return "shift must be at least 1 (PMI − log shift), got \(shift)" }
            return nil
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case rank, minItems, smoothing, seed, cosine, titleOnly, oversample, powerIterations, eigenExponent, shift
            case weightByLikes, wordWeighting, normalizeWords, symmetric
        }

        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        /// Missing keys take their defaults, so `{"rank": 128}` is a whole setting;
        /// unknown keys are refused with the known ones.
        public init(from decoder: any Decoder) throws {
            let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
                .filter { CodingKeys(rawValue: $0) == nil }
            if !unknown.isEmpty {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                    "unknown PPMI-SVD setting \(unknown.sorted().joined(separator: ", ")); the settings are "
                    + CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")))
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Settings()
            rank = try c.decodeIfPresent(Int.self, forKey: .rank) ?? d.rank
            minItems = try c.decodeIfPresent(Int.self, forKey: .minItems) ?? d.minItems
            smoothing = try c.decodeIfPresent(Double.self, forKey: .smoothing) ?? d.smoothing
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
            cosine = try c.decodeIfPresent(Bool.self, forKey: .cosine) ?? d.cosine
            titleOnly = try c.decodeIfPresent(Bool.self, forKey: .titleOnly) ?? d.titleOnly
            oversample = try c.decodeIfPresent(Int.self, forKey: .oversample) ?? d.oversample
            powerIterations = try c.decodeIfPresent(Int.self, forKey: .powerIterations) ?? d.powerIterations
            eigenExponent = try c.decodeIfPresent(Double.self, forKey: .eigenExponent) ?? d.eigenExponent
            shift = try c.decodeIfPresent(Double.self, forKey: .shift) ?? d.shift
            weightByLikes = try c.decodeIfPresent(Bool.self, forKey: .weightByLikes) ?? d.weightByLikes
            wordWeighting = try c.decodeIfPresent(WordWeighting.self, forKey: .wordWeighting) ?? d.wordWeighting
            normalizeWords = try c.decodeIfPresent(Bool.self, forKey: .normalizeWords) ?? d.normalizeWords
            symmetric = try c.decodeIfPresent(Bool.self, forKey: .symmetric) ?? d.symmetric
        }
    }

    public let settings: Settings
    /// Word → row of the word vectors. The vocabulary is sorted, so rows never depend
    /// on the order of products or outfits.
    public let vocabulary: [String: Int32]
    let words: [String]
    /// words × dimension, row-major.
    let left: [Float]
    let right: [Float]
    /// A word's weight in an item's mean (`Settings.wordWeighting`); nil: all 1.
    let wordWeights: [Float]?
    public let dimension: Int
    /// Singular values, descending.
    public let singularValues: [Float]
    /// Outfits with at least two known products, and the PPMI matrix's nonzeros.
    public let trainedOutfits: Int
    public let nonZeros: Int
    /// `ppmi-svd@2:` and a 64-bit FNV-1a hash of the settings and of each used outfit's
    /// items' words and weight (outfits in content order). @2: p = 0 and the settings
    /// added with it (@1 was p = ½).
    public let version: String

    public var wordCount: Int { words.count }

    /// An item's words: tokens of the title (and category unless `titleOnly`) and the
    /// caption, each once, in order.
    public static func words(of product: Product, caption: String?, titleOnly: Bool) -> [String] {
        var text = titleOnly ? product.title : product.title + " " + product.category
        if let caption { text += " " + caption }
        var seen = Set<String>()
        return Words.tokens(text).filter { seen.insert($0).inserted }
    }

    /// Trains on the curated outfits; `products` resolves their items (first of a
    /// duplicated id wins), `captions` adds text by product id.
    public static func train(products: [Product], outfits: [Outfit], captions: [String: String] = [:],
                             settings: Settings = Settings()) -> PPMISVDModel {
        let byID = Dictionary(products.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Outfits as their items' words, in content order (a total order up to equal content
        // and weight).
        var used: [(key: String, weight: Double, items: [[String]])] = []
        for outfit in outfits {
            let items = outfit.items.compactMap { byID[$0] }
            guard items.count >= 2 else { continue }
            let words = items.map { Self.words(of: $0, caption: captions[$0.id], titleOnly: settings.titleOnly) }
            let weight = settings.weightByLikes ? 1 + log1p(Double(max(0, outfit.likes ?? 0))) / 4 : 1
            used.append((words.map { $0.joined(separator: " ") }.joined(separator: "\u{1}"), weight, words))
        }
        used.sort { ($0.key, $0.weight) < ($1.key, $1.weight) }
        var hash = FNV1a()
        hash.add(settings.description)
        for o in used {
            hash.add("o")
            if settings.weightByLikes { hash.add(String(o.weight.bitPattern)) }
            for item in o.items { hash.add("i"); for w in item { hash.add(w) } }
        }
        let version = "ppmi-svd@2:" + hash.hex

        var itemCount: [String: Int] = [:]
        for o in used { for item in o.items { for w in item { itemCount[w, default: 0] += 1 } } }
        let vocab = itemCount.filter { $0.value >= settings.minItems }.keys.sorted()
        let index = Dictionary(uniqueKeysWithValues: vocab.enumerated().map { ($1, Int32($0)) })
        let ppmi = Self.ppmi(outfits: used.map { $0.items.map { $0.compactMap { index[$0] } } }, words: vocab.count,
                             smoothing: settings.smoothing, weights: settings.weightByLikes ? used.map(\.weight) : nil,
                             shift: settings.shift)
        let n = vocab.count
        guard n > 0 else {
            return PPMISVDModel(settings: settings, vocabulary: [:], words: [], left: [], right: [], wordWeights: nil, dimension: 0,
                                singularValues: [], trainedOutfits: used.count, nonZeros: 0, version: version)
        }
        let svd = TruncatedSVD(ppmi, rank: settings.rank, oversample: settings.oversample,
                               powerIterations: settings.powerIterations, seed: settings.seed)
        let k = svd.s.count
        var left = [Float](repeating: 0, count: n * k), right = [Float](repeating: 0, count: n * k)
        let p = settings.eigenExponent
        for d in 0..<k {
            let s = svd.s[d]
            let scale = p == 0.5 ? s.squareRoot() : p == 0 ? 1 : p == 1 ? s : Float(pow(Double(s), p))
            for w in 0..<n {
                left[w * k + d] = svd.ut[d, w] * scale
                right[w * k + d] = svd.vt[d, w] * scale
            }
        }
        if settings.symmetric {
            for i in left.indices { left[i] += right[i] }
            right = left
        }
        if settings.normalizeWords {
            for w in 0..<n {
                var nl: Float = 0, nr: Float = 0
                for d in 0..<k { nl += left[w * k + d] * left[w * k + d]; nr += right[w * k + d] * right[w * k + d] }
                nl = nl.squareRoot(); nr = nr.squareRoot()
                for d in 0..<k {
                    if nl > 0 { left[w * k + d] /= nl }
                    if nr > 0 { right[w * k + d] /= nr }
                }
            }
        }
        var wordWeights: [Float]?
        switch settings.wordWeighting {
        case .uniform: wordWeights = nil
        case .idf:
            let items = Double(used.reduce(0) { $0 + $1.items.count })
            wordWeights = vocab.map { Float(log(items / Double(itemCount[$0]!))) }
        case .sif:
            let occurrences = Double(used.reduce(0) { $0 + $1.items.reduce(0) { $0 + $1.count } })
            wordWeights = vocab.map { Float(1e-3 / (1e-3 + Double(itemCount[$0]!) / occurrences)) }
        }
        return PPMISVDModel(settings: settings, vocabulary: index, words: vocab, left: left, right: right, wordWeights: wordWeights,
                            dimension: k, singularValues: svd.s, trainedOutfits: used.count, nonZeros: ppmi.nonZeros,
                            version: version)
    }

    /// The positive (shifted) PMI entries of the words × words matrix, from outfits given
    /// as their items' known word ids, each outfit's pairs counted with its weight (1
    /// without `weights`). Counts are summed in a dictionary in the outfits' order,
    /// marginals in key order; with unit weights the counts are integers, so the result
    /// does not depend on the outfits' order (with weights, `train` fixes the order).
    static func ppmi(outfits: [[[Int32]]], words n: Int, smoothing: Double, weights: [Double]? = nil,
                     shift: Double = 1) -> SparseMatrix {
        var counts: [UInt64: Double] = [:]
        for (o, items) in outfits.enumerated() {
            let weight = weights?[o] ?? 1
            for i in items.indices {
                for j in (i + 1)..<max(i + 1, items.count) {
                    for w in items[i] {
                        for v in items[j] {
                            counts[UInt64(UInt32(w)) << 32 | UInt64(UInt32(v)), default: 0] += weight
                            counts[UInt64(UInt32(v)) << 32 | UInt64(UInt32(w)), default: 0] += weight
                        }
                    }
                }
            }
        }
        let keys = counts.keys.sorted()
        var rowSum = [Double](repeating: 0, count: n), colSum = [Double](repeating: 0, count: n)
        var total = 0.0
        for key in keys {
            let c = counts[key]!
            rowSum[Int(key >> 32)] += c; colSum[Int(key & 0xFFFF_FFFF)] += c; total += c
        }
        let colSmoothed = colSum.map { pow($0, smoothing) }
        let smoothedTotal = colSmoothed.reduce(0, +)
        let logShift = log(shift)
        var entries: [(row: Int32, col: Int32, value: Float)] = []
        entries.reserveCapacity(keys.count)
        for key in keys {
            let c = counts[key]!
            let w = Int(key >> 32), v = Int(key & 0xFFFF_FFFF)
            let pmi = log((c / total) / ((rowSum[w] / total) * (colSmoothed[v] / smoothedTotal))) - logShift
            if pmi > 0 { entries.append((Int32(w), Int32(v), Float(pmi))) }
        }
        return SparseMatrix(rows: n, cols: n, entries: entries)
    }

    init(settings: Settings, vocabulary: [String: Int32], words: [String], left: [Float], right: [Float], wordWeights: [Float]?,
         dimension: Int, singularValues: [Float], trainedOutfits: Int, nonZeros: Int, version: String) {
        self.settings = settings; self.vocabulary = vocabulary; self.words = words
        self.left = left; self.right = right; self.wordWeights = wordWeights
        self.dimension = dimension; self.singularValues = singularValues
        self.trainedOutfits = trainedOutfits; self.nonZeros = nonZeros; self.version = version
    }

    /// A product's vectors: `left` as part of a look, `right` as a candidate for one
    /// (each the mean of its known words' vectors, unit length when `cosine`; zero when
    /// it has no known word), and its known words for reasons.
    public struct ItemVectors: Sendable, Equatable {
        public var left: [Float]
        public var right: [Float]
        public var words: [Int32]
    }

    public func vectors(of product: Product, caption: String?) -> ItemVectors {
        vectors(words: Self.words(of: product, caption: caption, titleOnly: settings.titleOnly))
    }

    public func vectors(words: [String]) -> ItemVectors {
        let k = dimension
        var l = [Float](repeating: 0, count: k), r = [Float](repeating: 0, count: k)
        let ids = words.compactMap { vocabulary[$0] }
        guard !ids.isEmpty, k > 0 else { return ItemVectors(left: l, right: r, words: ids) }
        var totalWeight: Float = 0
        for w in ids {
            let o = Int(w) * k
            if let weight = wordWeights?[Int(w)] {
                for d in 0..<k { l[d] += weight * left[o + d]; r[d] += weight * right[o + d] }
                totalWeight += weight
            } else {
                for d in 0..<k { l[d] += left[o + d]; r[d] += right[o + d] }
            }
        }
        let inv = 1 / (wordWeights == nil ? Float(ids.count) : totalWeight)
        if inv.isFinite { for d in 0..<k { l[d] *= inv; r[d] *= inv } }
        if settings.cosine {
            let nl = l.reduce(0) { $0 + $1 * $1 }.squareRoot(), nr = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if nl > 0 { for d in 0..<k { l[d] /= nl } }
            if nr > 0 { for d in 0..<k { r[d] /= nr } }
        }
        return ItemVectors(left: l, right: r, words: ids)
    }

    /// The look's side of a score: the mean of the context items' left vectors (zero for
    /// an empty context).
    public func query(_ context: [ItemVectors]) -> [Float] {
        let k = dimension
        var q = [Float](repeating: 0, count: k)
        guard !context.isEmpty, k > 0 else { return q }
        for c in context { for d in 0..<k { q[d] += c.left[d] } }
        let inv = 1 / Float(context.count)
        for d in 0..<k { q[d] *= inv }
        return q
    }

    /// ⟨query, candidate's right vector⟩.
    public func score(_ query: [Float], _ candidate: ItemVectors) -> Double {
        query.withUnsafeBufferPointer { q in
            candidate.right.withUnsafeBufferPointer { c in Self.score(q, c.baseAddress!, count: dimension) }
        }
    }

    /// The one scoring kernel: every score of this model, in the reranker and in the
    /// retrieval stage alike, is this dot product, summed in a fixed order whatever the
    /// caller (a batched sgemm can sum in another order by matrix shape, and an
    /// incremental run compares new scores with stored ones to the bit).
    @inline(__always)
    static func score(_ q: UnsafeBufferPointer<Float>, _ c: UnsafePointer<Float>, count n: Int) -> Double {
        guard n > 0, let qa = q.baseAddress else { return 0 }
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(qa + i).loadUnaligned(as: SIMD8<Float>.self)
                * UnsafeRawPointer(c + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += qa[i] * c[i]; i += 1 }
        return Double(s)
    }

    /// Compatibility of `candidate` with a look of `context` items.
    public func score(context: [ItemVectors], candidate: ItemVectors) -> Double { score(query(context), candidate) }

    /// Compatibility of a whole outfit: the mean of ⟨left_i, right_j⟩ over ordered pairs.
    public func compatibility(_ items: [ItemVectors]) -> Double {
        guard items.count >= 2, dimension > 0 else { return 0 }
        var total = 0.0
        for i in items.indices {
            for j in items.indices where j != i { total += score(items[i].left, items[j]) }
        }
        return total / Double(items.count * (items.count - 1))
    }

    /// The weakest estimated PPMI a reason may cite: below it a pair is as good as
    /// unrelated (PMI 0.05: 5 % more often together than apart), and at full rank the
    /// estimate of an unseen pair is rounding noise around 0.
    public static let reasonThreshold = 0.05

    /// The word pair that links the look to the candidate most strongly, as a short
    /// "why": `"denim" goes with "sneakers" in curated outfits`. The strength of (w, v) is
    /// the model's rank-`dimension` estimate of their PPMI, `Σ_d U_wd S_d V_vd` =
    /// ⟨left_w ⊙ S^(1−2p), right_v⟩ (the words' own score when `symmetric` or
    /// `normalizeWords` reshape the vectors); nil when no pair reaches `reasonThreshold`.
    public func reason(context: [ItemVectors], candidate: ItemVectors) -> String? {
        let k = dimension
        guard k > 0 else { return nil }
        let p = settings.eigenExponent
        let scale: [Float]? = p == 0.5 || settings.symmetric || settings.normalizeWords ? nil
            : singularValues.map { p == 0 ? $0 : $0 > 0 ? Float(pow(Double($0), 1 - 2 * p)) : 0 }
        var best: (Double, Int32, Int32) = (Self.reasonThreshold, -1, -1)
        var seen = Set<Int32>()
        var scaled = [Float](repeating: 0, count: k)
        left.withUnsafeBufferPointer { l in
            right.withUnsafeBufferPointer { r in
                for item in context {
                    for w in item.words where seen.insert(w).inserted {
                        let o = Int(w) * k
                        if let scale { for d in 0..<k { scaled[d] = l[o + d] * scale[d] } } else { for d in 0..<k { scaled[d] = l[o + d] } }
                        scaled.withUnsafeBufferPointer { lw in
                            for v in candidate.words {
                                let s = Self.score(lw, r.baseAddress! + Int(v) * k, count: k)
                                if s > best.0 { best = (s, w, v) }
                            }
                        }
                    }
                }
            }
        }
        let (_, w, v) = best
        guard w >= 0 else { return nil }
        return "\"\(words[Int(w)])\" goes with \"\(words[Int(v)])\" in curated outfits"
    }
}
