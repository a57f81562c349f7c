import LookbookCore

/// The second stage of the precompute: scores the few candidates the retrieval stage
/// kept for one look. StyleLM plugs in here; `CooccurrenceReranker` is the default and
/// `PPMISVDReranker` the nightly job's (`[recommend] reranker`).
///
/// Calls are batched: one call per (anchor, target slot) for complementary lists and
/// per (outfit, position) for FITB, with all of that look's candidates at once, so a
/// language model can share one prompt (the context) across them. Calls come from
/// several threads at once.
public protocol Reranker: Sendable {
    /// Changes whenever scores may change (a new model version): a change forces a full recompute.
    var version: String { get }
    /// Scores (higher better) for candidates completing the look of `context` (an anchor alone for complementary lists, the other items of an outfit for FITB) in slot `slot`.
    func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double]
    /// A short human-readable reason for a chosen candidate (nil: use the matched attributes).
    func why(context: [Product], slot: Slot, candidate: Product) -> String?
}

/// The co-occurrence model as a reranker: the mean PPMI between the context's features
/// and the candidate's, exactly the retrieval stage's score (so with this reranker the
/// retrieval recall is 1 by construction; the recall measurement matters for others).
///
/// Built for one catalog: features of its products are computed once (tokenising text
/// is the expensive part); other products are featurised on the fly.
public struct CooccurrenceReranker: Reranker {
    public let model: CooccurrenceModel
    let features: [String: CooccurrenceModel.FeatureSet]
    let captions: [String: String]

    public init(model: CooccurrenceModel, products: [Product] = [], captions: [String: String] = [:]) {
        self.model = model
        self.captions = captions
        var f: [String: CooccurrenceModel.FeatureSet] = [:]
        f.reserveCapacity(products.count)
        for p in products { f[p.id] = model.featureSet(of: p, caption: captions[p.id]) }
        features = f
    }

    public var version: String { model.version }

    func featureSet(_ p: Product) -> CooccurrenceModel.FeatureSet {
        features[p.id] ?? model.featureSet(of: p, caption: captions[p.id])
    }

    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        let q = model.query(context.map(featureSet))
        return candidates.map { model.score(q, featureSet($0)) }
    }

    public func why(context: [Product], slot: Slot, candidate: Product) -> String? {
        let c = featureSet(candidate)
        return context.lazy.compactMap { model.reason(anchor: self.featureSet($0), candidate: c) }.first
    }
}

/// A reranker with a look-independent prior: how well a candidate fills slot `slot` in
/// no look at all (StyleLM: its score as the blank of an empty outfit). The precompute
/// then retrieves from a second space, the best `RecommendSettings.retrievalPriorM`
/// candidates of each pool by this prior, unioned with the co-occurrence top M: the
/// reranker's top 10 lean on what it likes anywhere, which co-occurrence does not see.
/// The prior of a product must depend only on the product (and the reranker's version).
public protocol PriorReranker: Reranker {
    func priorScores(slot: Slot, candidates: [Product]) -> [Double]
}
