import Foundation
import LookbookCore
import Recommender

/// The outfit-structure model (`OutfitStructureModel`: which categories, price tiers and
/// popularity tiers curated outfits put together) as a scorer: `categoryWeight · category /
/// σ_category + priceWeight · price / σ_price + popularityWeight · popularity /
/// σ_popularity`, each σ the spread of that score over fill-in-the-blank
/// questions made from the training catalog's own outfits (`HybridCalibration.measure`,
/// the questions `lookbook train` measures PPMI-SVD and StyleLM on), so the terms add to
/// the hybrid's `ppmi / σ_ppmi` in the same units. A candidate or look without a price
/// scores the mean price score of the calibration questions (it says nothing either way),
/// and likewise without a popularity count. A term whose spread cannot be measured (a
/// catalog without prices or popularity counts, or of one category) is left out.
///
/// Weights chosen on the Polyvore validation splits only: category 0.5, price 0.3 (see
/// `defaultCategoryWeight`).
public struct StructureScorer: Scorer {
    public struct Item: Sendable {
        let category: String
        let tiers: OutfitStructureModel.Tiers
    }

    /// The model, its weights and spreads (`StructureTerm`, shared with the nightly run's
    /// `StructuredReranker`).
    public let term: StructureTerm
    public var model: OutfitStructureModel { term.model }
    public var categoryWeight: Double { term.categoryWeight }
    public var priceWeight: Double { term.priceWeight }
    public var categoryScale: Double { term.categoryScale }
    public var priceScale: Double { term.priceScale }
    /// The price score of a candidate or look without a price.
    public var priceNeutral: Double { term.priceNeutral }
    public var popularityWeight: Double { term.popularityWeight }

    /// On the four coarse and four fine Polyvore validation splits, with PPMI-SVD at weight
    /// 1: category 0.5 and price 0.3 raised FITB 44.9 → 55.3 % (coarse questions) and
    /// 41.0 → 42.1 % (fine), AUC 0.728 → 0.883 (coarse) and 0.661 → 0.655 (fine, where the
    /// negative outfits keep the positive ones' categories and only price can tell).
    public static let defaultCategoryWeight = StructureTerm.defaultCategoryWeight
    public static let defaultPriceWeight = StructureTerm.defaultPriceWeight

    public init(term: StructureTerm) { self.term = term }

    /// Learns the model from `catalog`'s outfits and measures the spreads on them.
    public static func train(_ catalog: Catalog, seed: UInt64 = 0, settings: OutfitStructureModel.Settings = .init(),
                             categoryWeight: Double = defaultCategoryWeight, priceWeight: Double = defaultPriceWeight,
                             popularityWeight: Double = StructureTerm.defaultPopularityWeight,
                             questions: Int = HybridCalibration.defaultQuestions) -> StructureScorer {
        let model = OutfitStructureModel.train(products: catalog.products, outfits: catalog.outfits, settings: settings)
        return StructureScorer(term: StructureTerm.calibrated(model: model, catalog: catalog, seed: seed, categoryWeight: categoryWeight,
                                                              priceWeight: priceWeight, popularityWeight: popularityWeight,
                                                              questions: questions))
    }

    public var name: String {
        "structure(category \(categoryWeight), price \(priceWeight)" + (popularityWeight != 0 ? ", popularity \(popularityWeight))" : ")")
    }

    public func encode(_ content: Product) -> Item { Item(category: OutfitStructureModel.kind(of: content), tiers: model.tiers(content)) }

    public func scores(context: [Item], candidates: [Item]) -> [Double] {
        let categories = context.map(\.category), prices = context.map(\.tiers.price), popularities = context.map(\.tiers.popularity)
        return candidates.map {
            term.combine(category: model.categoryScore(context: categories, candidate: $0.category),
                         price: model.priceScore(context: prices, candidate: $0.tiers.price),
                         popularity: model.popularityScore(context: popularities, candidate: $0.tiers.popularity))
        }
    }

    public func compatibility(_ items: [Item]) -> Double {
        term.combine(category: model.categoryCompatibility(items.map(\.category)), price: model.priceCompatibility(items.map(\.tiers.price)),
                     popularity: model.popularityCompatibility(items.map(\.tiers.popularity)))
    }
}
