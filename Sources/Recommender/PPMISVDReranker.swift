import LookbookCore

/// The PPMI-SVD word-vector model as the second stage: a candidate's score is the cosine
/// between the look's mean left vector and its right vector (`PPMISVDModel.score`), and
/// its "why" is the strongest pair of words that links them.
///
/// Built for one catalog: the vectors of its products are computed once (tokenising is
/// the expensive part); other products are vectorised on the fly. The precompute
/// retrieves in the same space when this is the reranker (`RetrievalSpace.wordVectors`),
/// so the retrieval stage loses nothing of its top k.
public struct PPMISVDReranker: Reranker {
    public let model: PPMISVDModel
    /// The catalog's products and their vectors, by id.
    let vectors: [String: (product: Product, vectors: PPMISVDModel.ItemVectors)]
    let captions: [String: String]

    public init(model: PPMISVDModel, products: [Product] = [], captions: [String: String] = [:]) {
        self.model = model
        self.captions = captions
        let computed = parallelMap(count: products.count) { i in model.vectors(of: products[i], caption: captions[products[i].id]) }
        var v: [String: (product: Product, vectors: PPMISVDModel.ItemVectors)] = [:]
        v.reserveCapacity(products.count)
        for (p, x) in zip(products, computed) where v[p.id] == nil { v[p.id] = (p, x) }
        vectors = v
    }

    /// The stored vectors of `p` when it is the product the reranker was built with
    /// (another version under the same id is vectorised afresh).
    func cached(_ p: Product) -> PPMISVDModel.ItemVectors? {
        guard let c = vectors[p.id], c.product == p else { return nil }
        return c.vectors
    }

    public var version: String { model.version }

    func itemVectors(_ p: Product) -> PPMISVDModel.ItemVectors {
        cached(p) ?? model.vectors(of: p, caption: captions[p.id])
    }

    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        let q = model.query(context.map(itemVectors))
        return candidates.map { model.score(q, itemVectors($0)) }
    }

    public func why(context: [Product], slot: Slot, candidate: Product) -> String? {
        model.reason(context: context.map(itemVectors), candidate: itemVectors(candidate))
    }
}
