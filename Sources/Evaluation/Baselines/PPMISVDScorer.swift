import LookbookCore
import Recommender

/// The strong text baseline, run by the harness: the product's PPMI-SVD word-vector
/// model (`Recommender.PPMISVDModel`, the `ppmi-svd` reranker of the nightly job), so
/// the figures measured here are the shipped model's.
///
/// Training reads the train catalog's outfits; a product's caption (`lookbook caption`,
/// shown to models as attribute `caption`) joins its words as in the product, where
/// captions come from the caption stage.
public struct PPMISVDScorer: Scorer {
    public typealias Settings = PPMISVDModel.Settings
    public typealias Item = PPMISVDModel.ItemVectors

    public let model: PPMISVDModel
    public var settings: Settings { model.settings }
    public var dimension: Int { model.dimension }

    public var name: String {
        switch (settings.cosine, settings.titleOnly) {
        case (true, true): Baseline.ppmiSVD.rawValue
        case (false, false): Baseline.ppmiSVDDot.rawValue
        default: "ppmi-svd(\(settings.cosine ? "cosine" : "dot"), \(settings.titleOnly ? "title" : "title+category"))"
        }
    }

    public init(model: PPMISVDModel) { self.model = model }

    /// A product's words (title, category unless `titleOnly`, caption attribute).
    public static func words(of p: Product, titleOnly: Bool = false) -> [String] {
        PPMISVDModel.words(of: p, caption: p.attributes["caption"], titleOnly: titleOnly)
    }

    /// Trains on the outfits of `catalog` (the train split).
    public static func train(_ catalog: Catalog, settings: Settings = Settings()) -> PPMISVDScorer {
        var captions: [String: String] = [:]
        for p in catalog.products where captions[p.id] == nil { if let c = p.attributes["caption"] { captions[p.id] = c } }
        return PPMISVDScorer(model: PPMISVDModel.train(products: catalog.products, outfits: catalog.outfits, captions: captions,
                                                       settings: settings))
    }

    public func encode(_ content: Product) -> Item { model.vectors(of: content, caption: content.attributes["caption"]) }

    public func scores(context: [Item], candidates: [Item]) -> [Double] {
        let q = model.query(context)
        return candidates.map { model.score(q, $0) }
    }

    public func compatibility(_ items: [Item]) -> Double { model.compatibility(items) }
}
