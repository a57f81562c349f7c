import LookbookCore

/// PPMI-SVD and a bag-of-words StyleLM together as the second stage, as `lookbook eval`
/// scores a directory `lookbook train` wrote: a candidate's score is
/// `ppmi / ppmiScale + weight · stylelm / stylelmScale`, each model's score over the
/// spread of its scores on the catalog's own outfits (`HybridCalibration`), so the weight
/// means the same on any catalog. On held-out Polyvore the StyleLM alone ranks far below
/// PPMI-SVD (FITB 32 % against 44 %) while the sum at weight 0.3 keeps PPMI-SVD's FITB and
/// raises its compatibility AUC.
///
/// With `structure`, the outfit-structure model's term (`StructureTerm`, already in units
/// of its spreads) joins the sum, as `lookbook eval` adds it to a directory `lookbook
/// train` wrote with one: `ppmi / ppmiScale + weight · stylelm / stylelmScale + structure`.
/// Without it (nil) the scores and the version are those of the two models alone.
///
/// The precompute retrieves in the PPMI-SVD model's word-vector space
/// (`RetrievalSpace.wordVectors`) and reranks its top M with the sum. Not a
/// `PriorReranker`: PPMI-SVD's part has no look-independent prior.
public struct HybridReranker: Reranker {
    public let ppmi: PPMISVDReranker
    public let stylelm: StyleLMReranker
    /// StyleLM's weight, in units of each model's spread.
    public let weight: Double
    /// The standard deviation of each reranker's scores over the calibration questions.
    public let ppmiScale: Double
    public let stylelmScale: Double
    /// How many calibration questions measured the scales (0: given).
    public let calibrationQuestions: Int
    /// The outfit-structure model's term added to the sum; nil: the two models alone.
    public let structure: StructureTerm?
    /// `structure` with its category affinities tabulated (`StructuredReranker`'s kinds ×
    /// kinds table; only its structure half is used), nil without a structure term.
    let structureTable: StructuredReranker?
    public let version: String

    /// The weight `lookbook train` and `lookbook eval` use (chosen on Polyvore validation splits).
    public static let defaultWeight = 0.3

    public init(ppmi: PPMISVDReranker, stylelm: StyleLMReranker, weight: Double = defaultWeight, ppmiScale: Double, stylelmScale: Double,
                calibrationQuestions: Int = 0, structure: StructureTerm? = nil) {
        self.ppmi = ppmi; self.stylelm = stylelm; self.weight = weight
        self.ppmiScale = ppmiScale; self.stylelmScale = stylelmScale; self.calibrationQuestions = calibrationQuestions
        self.structure = structure
        structureTable = structure.map { StructuredReranker(ppmi: ppmi, structure: $0, ppmiScale: ppmiScale) }
        // Without a structure term, the version of the hybrids before it (their states stay incremental).
        var v = "hybrid(\(ppmi.version) + \(weight) × \(stylelm.version)"
        if let t = structure {
            // The model's content: other outfits (or other categories or prices of their items) recompute everything.
            v += " + structure@1:\(t.model.contentHash) (\(t.weightsDescription))"
        }
        version = v + "; scales \(ppmiScale), \(stylelmScale))"
    }

    /// This hybrid with `structure` added to its sum (nil: without one).
    public func adding(structure: StructureTerm?) -> HybridReranker {
        HybridReranker(ppmi: ppmi, stylelm: stylelm, weight: weight, ppmiScale: ppmiScale, stylelmScale: stylelmScale,
                       calibrationQuestions: calibrationQuestions, structure: structure)
    }

    /// The two rerankers combined with spreads measured on `catalog`'s outfits
    /// (`HybridCalibration.measure`). Throws when the catalog gives no spread to combine
    /// by (no outfit of two or more known items with four or more products in the blank's slot).
    public static func calibrated(ppmi: PPMISVDReranker, stylelm: StyleLMReranker, catalog: Catalog, weight: Double = defaultWeight,
                                  questions: Int = HybridCalibration.defaultQuestions, seed: UInt64 = 0) throws -> HybridReranker {
        let s = HybridCalibration.measure(catalog: catalog, questions: questions, seed: seed,
                                          ppmi: ppmi.scores, stylelm: stylelm.scores)
        guard s.usable else { throw HybridCalibration.noSpread(s.questions) }
        return HybridReranker(ppmi: ppmi, stylelm: stylelm, weight: weight, ppmiScale: s.ppmi, stylelmScale: s.stylelm,
                              calibrationQuestions: s.questions)
    }

    /// The outfit-structure term for a hybrid on `catalog`, as the nightly PPMI-SVD reranker
    /// measures it (`StructureTerm.trained`: the same questions as the hybrid's, over the
    /// outfits' products). Throws when the outfits say nothing about categories or prices.
    public static func calibratedStructure(catalog: Catalog, questions: Int = HybridCalibration.defaultQuestions,
                                           seed: UInt64 = 0) throws -> StructureTerm {
        try StructureTerm.trained(on: catalog, questions: questions, seed: seed)
    }

    public func combine(_ p: Double, _ s: Double) -> Double { p / ppmiScale + weight * s / stylelmScale }

    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        let a = ppmi.scores(context: context, slot: slot, candidates: candidates)
        let b = stylelm.scores(context: context, slot: slot, candidates: candidates)
        let sum = zip(a, b).map(combine)
        guard let look = structureLook(context) else { return sum }
        return zip(sum, candidates).map { s, c in s + structureScore(look, kind: structureKind(c), tiers: structureTiers(c)) }
    }

    /// What the structure term reads of a look: its items' kinds (indices into the
    /// affinity table, −1 for a kind the outfits never showed), price and popularity tiers.
    struct StructureLook {
        let kinds: [Int]
        let prices: [Double?]
        let popularities: [Double?]
    }

    /// nil without a structure term.
    func structureLook(_ context: [Product]) -> StructureLook? {
        guard let structureTable else { return nil }
        let model = structureTable.structure.model
        return StructureLook(kinds: context.map(structureTable.kind), prices: context.map(model.priceTier),
                             popularities: context.map(model.popularityTier))
    }

    /// A product's kind in the affinity table (−1 without a structure term).
    func structureKind(_ p: Product) -> Int { structureTable?.kind(p) ?? -1 }

    /// A product's price and popularity tiers (none without a structure term).
    func structureTiers(_ p: Product) -> OutfitStructureModel.Tiers {
        structureTable?.structure.model.tiers(p) ?? OutfitStructureModel.Tiers()
    }

    /// The structure term of a candidate of kind `kind` and tiers `tiers` under `look`:
    /// `StructureTerm.combine` of `OutfitStructureModel.categoryScore` (from the table,
    /// the same bits), `priceScore` and `popularityScore`, as `StructuredReranker.scores`
    /// and `lookbook eval` add it.
    @inline(__always)
    func structureScore(_ look: StructureLook, kind: Int, tiers: OutfitStructureModel.Tiers) -> Double {
        guard let t = structureTable else { return 0 }
        let model = t.structure.model
        return t.structure.combine(category: t.categoryScore(context: look.kinds, candidate: kind),
                                   price: model.priceScore(context: look.prices, candidate: tiers.price),
                                   popularity: model.popularityScore(context: look.popularities, candidate: tiers.popularity))
    }

    /// PPMI-SVD's reason (the strongest pair of words): cheap, no StyleLM pass per shown item.
    public func why(context: [Product], slot: Slot, candidate: Product) -> String? {
        ppmi.why(context: context, slot: slot, candidate: candidate)
    }
}

/// How two scorers' spreads are measured before they are summed (`HybridReranker`, and
/// `HybridModelFile.calibrate` in Evaluation): fill-in-the-blank questions made from a
/// catalog's own outfits. For up to `questions` outfits of two or more known items
/// (shuffled by the seeded stream "hybrid-calibration"), one item is left out and scored
/// with three random other products of its slot (drawn with replacement); each spread is
/// the standard deviation of all candidate scores (non-finite scores skipped).
public enum HybridCalibration {
    public static let defaultQuestions = 300

    /// One scorer: scores of `candidates` completing the look of `context` in `slot`.
    public typealias Score = (_ context: [Product], _ slot: Slot, _ candidates: [Product]) -> [Double]

    public struct Spreads: Sendable, Equatable {
        public var ppmi: Double
        public var stylelm: Double
        /// Questions asked.
        public var questions: Int
        /// Both spreads positive and finite: the two scores can be combined.
        public var usable: Bool { ppmi.isFinite && stylelm.isFinite && ppmi > 0 && stylelm > 0 }
    }

    public static func measure(catalog: Catalog, questions: Int = defaultQuestions, seed: UInt64 = 0,
                               ppmi: Score, stylelm: Score) -> Spreads {
        let products = Dictionary(catalog.products.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var bySlot: [Slot: [Product]] = [:]
        for p in catalog.products { bySlot[p.slot, default: []].append(p) }
        var rng = SplitMix64.stream(seed, "hybrid-calibration")
        var outfits = catalog.outfits.filter { $0.items.count >= 2 }
        rng.shuffle(&outfits)
        var a: [Double] = [], b: [Double] = [], asked = 0
        for outfit in outfits where asked < questions {
            let items = outfit.items.compactMap { products[$0] }
            guard items.count >= 2 else { continue }
            let blank = rng.below(items.count)
            let slot = items[blank].slot
            let pool = bySlot[slot, default: []].filter { $0.id != items[blank].id }
            guard pool.count >= 3 else { continue }
            let candidates = [items[blank]] + (0..<3).map { _ in pool[rng.below(pool.count)] }
            let context = items.enumerated().filter { $0.offset != blank }.map(\.element)
            a += ppmi(context, slot, candidates)
            b += stylelm(context, slot, candidates)
            asked += 1
        }
        return Spreads(ppmi: standardDeviation(a), stylelm: standardDeviation(b), questions: asked)
    }

    /// The population standard deviation of the finite values; NaN with fewer than two.
    public static func standardDeviation(_ xs: [Double]) -> Double {
        let finite = xs.filter(\.isFinite)
        guard finite.count >= 2 else { return .nan }
        let mean = finite.reduce(0, +) / Double(finite.count)
        return (finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(finite.count)).squareRoot()
    }

    /// The error when the spreads are not usable.
    public static func noSpread(_ asked: Int) -> LookbookError {
        LookbookError(.usage, "the training catalog gave no spread of scores to combine the two models by (\(asked) questions); it needs outfits of two or more items and four or more products per slot")
    }
}
