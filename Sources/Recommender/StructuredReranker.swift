import Foundation
import LookbookCore

/// The outfit-structure model (`OutfitStructureModel`) as a term added to another score:
/// `categoryWeight · category / categoryScale + priceWeight · price / priceScale +
/// popularityWeight · popularity / popularityScale`, each scale the spread of that score
/// over fill-in-the-blank questions made from a catalog's own outfits
/// (`HybridCalibration.measure`), so the term adds to `ppmi / σ_ppmi` in the same units. A
/// candidate or look without a price scores `priceNeutral`, the mean price score of the
/// calibration questions (it says nothing either way), and likewise without a popularity
/// count. A part whose spread cannot be measured (a catalog without prices or popularity
/// counts, or whose outfits all pair the same categories) gets weight 0.
///
/// One copy of the rule for `lookbook eval` (`StructureScorer`) and the nightly run
/// (`StructuredReranker`).
public struct StructureTerm: Sendable, Equatable {
    public let model: OutfitStructureModel
    public let categoryWeight: Double
    public let priceWeight: Double
    public let categoryScale: Double
    public let priceScale: Double
    public let priceNeutral: Double
    public let popularityWeight: Double
    public let popularityScale: Double
    public let popularityNeutral: Double
    /// Calibration questions asked (0: scales given).
    public let calibrationQuestions: Int

    /// Chosen on the Polyvore validation splits only, with PPMI-SVD at weight 1: category
    /// 0.5 and price 0.3 raised FITB 44.9 → 55.3 % (coarse questions), AUC 0.728 → 0.883.
    public static let defaultCategoryWeight = 0.5
    public static let defaultPriceWeight = 0.3
    /// Chosen on the Polyvore validation splits with the whole default sum (PPMI-SVD,
    /// StyleLM, category, price): see the README's Evaluation section.
    public static let defaultPopularityWeight = 0.5

    public init(model: OutfitStructureModel, categoryWeight: Double = defaultCategoryWeight, priceWeight: Double = defaultPriceWeight,
                categoryScale: Double, priceScale: Double, priceNeutral: Double,
                popularityWeight: Double = 0, popularityScale: Double = 1, popularityNeutral: Double = 0, calibrationQuestions: Int = 0) {
        self.model = model; self.categoryWeight = categoryWeight; self.priceWeight = priceWeight
        self.categoryScale = categoryScale; self.priceScale = priceScale; self.priceNeutral = priceNeutral
        self.popularityWeight = popularityWeight; self.popularityScale = popularityScale; self.popularityNeutral = popularityNeutral
        self.calibrationQuestions = calibrationQuestions
    }

    /// `model` with its spreads measured on `catalog`'s outfits (the same questions as
    /// `HybridCalibration.measure` asks with this seed).
    public static func calibrated(model: OutfitStructureModel, catalog: Catalog, seed: UInt64 = 0,
                                  categoryWeight: Double = defaultCategoryWeight, priceWeight: Double = defaultPriceWeight,
                                  popularityWeight: Double = defaultPopularityWeight,
                                  questions: Int = HybridCalibration.defaultQuestions) -> StructureTerm {
        var prices: [Double] = [], popularities: [Double] = []
        let s = HybridCalibration.measure(
            catalog: catalog, questions: questions, seed: seed,
            ppmi: { context, _, candidates in
                candidates.map { model.categoryScore(context: context.map(OutfitStructureModel.kind), candidate: OutfitStructureModel.kind(of: $0)) }
            },
            stylelm: { context, _, candidates in
                let tiers = context.map(model.priceTier)
                let scores = candidates.map { model.priceScore(context: tiers, candidate: model.priceTier($0)) ?? .nan }
                prices += scores.filter(\.isFinite)
                return scores
            })
        // The same questions again (same seed and stream), for the popularity spread.
        let p = HybridCalibration.measure(
            catalog: catalog, questions: questions, seed: seed,
            ppmi: { context, _, candidates in
                let tiers = context.map(model.popularityTier)
                let scores = candidates.map { model.popularityScore(context: tiers, candidate: model.popularityTier($0)) ?? .nan }
                popularities += scores.filter(\.isFinite)
                return scores
            },
            stylelm: { _, _, candidates in candidates.map { _ in 0 } })
        let usable = { (x: Double) in x.isFinite && x > 0 }
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        return StructureTerm(model: model,
                             categoryWeight: usable(s.ppmi) ? categoryWeight : 0, priceWeight: usable(s.stylelm) ? priceWeight : 0,
                             categoryScale: usable(s.ppmi) ? s.ppmi : 1, priceScale: usable(s.stylelm) ? s.stylelm : 1,
                             priceNeutral: mean(prices),
                             popularityWeight: usable(p.ppmi) ? popularityWeight : 0, popularityScale: usable(p.ppmi) ? p.ppmi : 1,
                             popularityNeutral: mean(popularities), calibrationQuestions: s.questions)
    }

    /// The model trained on `catalog`'s outfits, its spreads measured over the outfits'
    /// products (`StructuredReranker.calibrationCatalog`, so products outside the outfits
    /// do not move them) on the questions `HybridCalibration` asks with `seed`. One rule
    /// for the nightly PPMI-SVD reranker and its StyleLM combination. Throws when the
    /// outfits say nothing about categories or prices (no spread of either: the term could
    /// not move a ranking).
    public static func trained(on catalog: Catalog, questions: Int = HybridCalibration.defaultQuestions,
                               seed: UInt64 = 0) throws -> StructureTerm {
        let model = OutfitStructureModel.train(products: catalog.products, outfits: catalog.outfits)
        let term = calibrated(model: model, catalog: StructuredReranker.calibrationCatalog(catalog), seed: seed, questions: questions)
        guard term.isUsable else {
            throw LookbookError(.usage, "the catalog's outfits gave no spread of category or price scores (\(term.calibrationQuestions) questions): they need outfits of two or more items with four or more products per slot, pairing different categories or holding priced items")
        }
        return term
    }

    /// Some part has a weight: the term can move a ranking.
    public var isUsable: Bool { categoryWeight != 0 || priceWeight != 0 || popularityWeight != 0 }

    /// The term from a candidate's category, price and popularity scores (nil: no price,
    /// no popularity count). Without a popularity weight it is the sum of the first two
    /// alone, to the bit.
    @inline(__always)
    public func combine(category: Double, price: Double?, popularity: Double? = nil) -> Double {
        let sum = categoryWeight * category / categoryScale + priceWeight * (price ?? priceNeutral) / priceScale
        guard popularityWeight != 0 else { return sum }
        return sum + popularityWeight * (popularity ?? popularityNeutral) / popularityScale
    }

    /// What the version strings say of the weights and spreads: the popularity part only
    /// when it has a weight, so catalogs without popularity counts keep their versions.
    public var weightsDescription: String {
        "category \(categoryWeight)/\(categoryScale), price \(priceWeight)/\(priceScale), neutral \(priceNeutral)"
            + (popularityWeight != 0 ? ", popularity \(popularityWeight)/\(popularityScale), neutral \(popularityNeutral)" : "")
    }

    /// The figures the logs print: `category/σ + price/σ (+ popularity/σ)`.
    public func formula(_ fmt: (Double) -> String) -> String {
        "\(categoryWeight) × category/\(fmt(categoryScale)) + \(priceWeight) × price/\(fmt(priceScale))"
            + (popularityWeight != 0 ? " + \(popularityWeight) × popularity/\(fmt(popularityScale))" : "")
    }
}

extension OutfitStructureModel {
    /// A hash of everything the model scores by (settings and counts): two models with the
    /// same `contentHash` score alike, so a change of outfits (or of their items'
    /// categories and prices) changes it.
    public var contentHash: String {
        var h = FNV1a()
        h.add("structure@1 pairPrior=\(settings.pairPrior.bitPattern) priceShrinkage=\(settings.priceShrinkage.bitPattern) outfits=\(outfitCount)")
        for (k, v) in categoryOutfits.sorted(by: { $0.key < $1.key }) { h.add("c"); h.add(k); h.add(String(v)) }
        for (k, v) in pairOutfits.sorted(by: { $0.key < $1.key }) { h.add("p"); h.add(k); h.add(String(v)) }
        for (k, v) in slotLogPrice.sorted(by: { $0.key < $1.key }) { h.add("s"); h.add(k); h.add(String(v.bitPattern)) }
        h.add("m"); h.add(meanLogPrice.map { String($0.bitPattern) } ?? "none")
        if let meanLogPopularity {  // none: the hash of the models before popularity tiers
            for (k, v) in slotLogPopularity.sorted(by: { $0.key < $1.key }) { h.add("q"); h.add(k); h.add(String(v.bitPattern)) }
            h.add("n"); h.add(String(meanLogPopularity.bitPattern))
        }
        return h.hex
    }
}

/// PPMI-SVD and the outfit-structure model together as the nightly run's second stage
/// (`[recommend] structure`), in the units `lookbook eval` adds them: a candidate's score
/// is `ppmi / ppmiScale + structure` (`StructureTerm`), PPMI-SVD's cosine over the spread
/// of its scores on the catalog's own outfits. On held-out Polyvore the structure term
/// lifted PPMI-SVD's FITB from 44 to 55 % and its AUC from 0.70 to 0.88.
///
/// The precompute retrieves in the PPMI-SVD model's word-vector space
/// (`RetrievalSpace.wordVectors`) and reranks its top M with the sum, so retrieval may
/// miss a candidate the structure term would lift into the top k (measured by
/// `Precomputer.retrievalRecall`). Its reason is PPMI-SVD's.
public struct StructuredReranker: Reranker {
    public let ppmi: PPMISVDReranker
    public let structure: StructureTerm
    /// The standard deviation of PPMI-SVD's scores over the calibration questions.
    public let ppmiScale: Double
    /// Every category the model counted, by index, and their affinities (kinds × kinds,
    /// `categoryAffinity`'s very values): a product of another category has affinity 0.
    /// Past `tableLimit` kinds the table would grow with their square: the affinities are
    /// then computed when asked (the same values).
    let kinds: [String]
    let kindIndex: [String: Int]
    let affinity: [Double]
    public let version: String

    /// Kinds up to which the affinities are tabulated (2,048: 32 MiB).
    public static let tableLimit = 2048

    public init(ppmi: PPMISVDReranker, structure: StructureTerm, ppmiScale: Double, tableLimit: Int = tableLimit) {
        self.ppmi = ppmi; self.structure = structure; self.ppmiScale = ppmiScale
        let kinds = structure.model.categoryOutfits.keys.sorted()
        self.kinds = kinds
        kindIndex = Dictionary(uniqueKeysWithValues: kinds.enumerated().map { ($1, $0) })
        var a: [Double] = []
        if kinds.count <= tableLimit {
            a = [Double](repeating: 0, count: kinds.count * kinds.count)
            for (i, x) in kinds.enumerated() { for (j, y) in kinds.enumerated() { a[i * kinds.count + j] = structure.model.categoryAffinity(x, y) } }
        }
        affinity = a
        let t = structure
        version = "\(ppmi.version)+structure@1:\(t.model.contentHash) (\(t.weightsDescription); ppmi 1/\(ppmiScale))"
    }

    /// The structure model trained on `catalog`'s outfits, with PPMI-SVD's spread and the
    /// structure term's spreads measured on them (the same questions, their candidates
    /// drawn from the products of the outfits only: `calibrationCatalog`). Throws when the
    /// catalog gives no spread to combine by: too few outfits of two or more known items
    /// with four or more products in the blank's slot, or outfits that say nothing about
    /// categories or prices (every outfit pairs the same categories, and no prices).
    public static func calibrated(ppmi: PPMISVDReranker, catalog: Catalog, questions: Int = HybridCalibration.defaultQuestions,
                                  seed: UInt64 = 0) throws -> StructuredReranker {
        let s = HybridCalibration.measure(catalog: calibrationCatalog(catalog), questions: questions, seed: seed,
                                          ppmi: ppmi.scores, stylelm: ppmi.scores)
        guard s.ppmi.isFinite, s.ppmi > 0 else { throw HybridCalibration.noSpread(s.questions) }
        let term = try StructureTerm.trained(on: catalog, questions: questions, seed: seed)
        return StructuredReranker(ppmi: ppmi, structure: term, ppmiScale: s.ppmi)
    }

    /// `catalog` with only the products its outfits hold: the spreads then depend on the
    /// outfits and their items alone, so a night that only adds, removes or edits products
    /// outside the outfits keeps the reranker's version and the precompute stays
    /// incremental (measured on every product, any new one would shift the questions'
    /// random candidates, the scales and the version, and recompute everything). On a
    /// catalog made of outfits, as `lookbook train`'s Polyvore, it is the catalog itself.
    public static func calibrationCatalog(_ catalog: Catalog) -> Catalog {
        let held = Set(catalog.outfits.flatMap(\.items))
        var c = catalog
        c.products = catalog.products.filter { held.contains($0.id) }
        return c
    }

    @inline(__always)
    func kind(_ p: Product) -> Int { kindIndex[OutfitStructureModel.kind(of: p)] ?? -1 }

    /// `OutfitStructureModel.categoryScore`, summed in the same order from the table.
    func categoryScore(context: [Int], candidate: Int) -> Double {
        guard !context.isEmpty else { return 0 }
        return context.reduce(0) { $0 + pairAffinity(candidate, $1) } / Double(context.count)
    }

    @inline(__always)
    func pairAffinity(_ i: Int, _ j: Int) -> Double {
        guard i >= 0, j >= 0 else { return 0 }
        return affinity.isEmpty ? structure.model.categoryAffinity(kinds[i], kinds[j]) : affinity[i * kinds.count + j]
    }

    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        let a = ppmi.scores(context: context, slot: slot, candidates: candidates)
        let model = structure.model
        let kinds = context.map(kind), tiers = context.map(model.priceTier), popularities = context.map(model.popularityTier)
        return zip(a, candidates).map { p, c in
            p / ppmiScale + structure.combine(category: categoryScore(context: kinds, candidate: kind(c)),
                                              price: model.priceScore(context: tiers, candidate: model.priceTier(c)),
                                              popularity: model.popularityScore(context: popularities, candidate: model.popularityTier(c)))
        }
    }

    /// PPMI-SVD's reason (the strongest pair of words).
    public func why(context: [Product], slot: Slot, candidate: Product) -> String? {
        ppmi.why(context: context, slot: slot, candidate: candidate)
    }
}
