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
/// catalog without prices or popularity counts, or of one category) is left out. FITB
/// scores add `slotWeight · slot / σ_slot` (see `slotWeight`).
///
/// Weights chosen on the Polyvore validation splits only: category 0.5, price 0.3 (see
/// `defaultCategoryWeight`).
public struct StructureScorer: Scorer {
    public struct Item: Sendable {
        let category: String
        let slot: Slot
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

    /// The weight of the slot affinity (`OutfitStructureModel.slotScore`: which slot the
    /// look lacks) in FITB scores, over `slotScale`, its spread between slots on the looks
    /// of the calibration questions (each slot weighted by its share of the products); 0
    /// leaves it out. It moves nothing when the candidates share a slot (every nightly
    /// list; the default questions' negatives share the answer's category, and nearly
    /// always its slot); with negatives of any category (`make-questions --negatives-from
    /// any`) it raised validation FITB from 70.6 to 78.8 %. Compatibility scores leave it
    /// out: on fake outfits of the real one's categories it only adds noise between
    /// outfits (validation AUC 0.922 → 0.913 even at a small weight).
    public let slotWeight: Double
    public let slotScale: Double

    /// Chosen on validation splits 7, 11 and 12 with negatives of any category (0.25, 0.5,
    /// 0.75, 1, 1.5, 2 tried: FITB 74.4, 77.6, 78.0, 78.8, 77.9, 77.1 %, from 70.6 % without
    /// it; the README's Evaluation section).
    public static let defaultSlotWeight = 1.0

    public init(term: StructureTerm, slotWeight: Double = 0, slotScale: Double = 1) {
        self.term = term; self.slotWeight = slotWeight; self.slotScale = slotScale
    }

    /// Learns the model from `catalog`'s outfits and measures the spreads on them.
    public static func train(_ catalog: Catalog, seed: UInt64 = 0, settings: OutfitStructureModel.Settings = .init(),
                             categoryWeight: Double = defaultCategoryWeight, priceWeight: Double = defaultPriceWeight,
                             popularityWeight: Double = StructureTerm.defaultPopularityWeight, slotWeight: Double = defaultSlotWeight,
                             questions: Int = HybridCalibration.defaultQuestions) -> StructureScorer {
        let model = OutfitStructureModel.train(products: catalog.products, outfits: catalog.outfits, settings: settings)
        let term = StructureTerm.calibrated(model: model, catalog: catalog, seed: seed, categoryWeight: categoryWeight,
                                            priceWeight: priceWeight, popularityWeight: popularityWeight, questions: questions)
        // The slot score's spread between candidates of any slot: on the looks of the same
        // calibration questions (their candidates, all of the blank's slot, are not used),
        // the score of every slot, weighted by its share of the products.
        let slotProducts = Dictionary(grouping: catalog.products, by: \.slot).map { ($0.key, Double($0.value.count)) }
            .sorted { $0.0.rawValue < $1.0.rawValue }   // one order of the sums: the same scale in every process
        var sum = 0.0, sumSquares = 0.0, total = 0.0
        _ = HybridCalibration.measure(
            catalog: catalog, questions: questions, seed: seed,
            ppmi: { context, _, candidates in
                for (slot, weight) in slotProducts {
                    let x = model.slotScore(context: context.map(\.slot), candidate: slot)
                    sum += weight * x; sumSquares += weight * x * x; total += weight
                }
                return candidates.map { _ in 0 }
            },
            stylelm: { _, _, candidates in candidates.map { _ in 0 } })
        let mean = total > 0 ? sum / total : 0
        let spread = total > 0 ? max(0, sumSquares / total - mean * mean).squareRoot() : 0
        let usable = spread.isFinite && spread > 1e-9
        return StructureScorer(term: term, slotWeight: usable ? slotWeight : 0, slotScale: usable ? spread : 1)
    }

    public var name: String {
        "structure(category \(categoryWeight), price \(priceWeight)" + (popularityWeight != 0 ? ", popularity \(popularityWeight)" : "")
            + (slotWeight != 0 ? ", slot \(slotWeight))" : ")")
    }

    public func encode(_ content: Product) -> Item {
        Item(category: OutfitStructureModel.kind(of: content), slot: content.slot, tiers: model.tiers(content))
    }

    public func scores(context: [Item], candidates: [Item]) -> [Double] {
        let categories = context.map(\.category), prices = context.map(\.tiers.price), popularities = context.map(\.tiers.popularity)
        let slots = context.map(\.slot)
        return candidates.map {
            term.combine(category: model.categoryScore(context: categories, candidate: $0.category),
                         price: model.priceScore(context: prices, candidate: $0.tiers.price),
                         popularity: model.popularityScore(context: popularities, candidate: $0.tiers.popularity))
                + (slotWeight == 0 ? 0 : slotWeight * model.slotScore(context: slots, candidate: $0.slot) / slotScale)
        }
    }

    public func compatibility(_ items: [Item]) -> Double {
        term.combine(category: model.categoryCompatibility(items.map(\.category)), price: model.priceCompatibility(items.map(\.tiers.price)),
                     popularity: model.popularityCompatibility(items.map(\.tiers.popularity)))
    }
}
