import Foundation
import LookbookCore
import Recommender

/// Chance: a pseudo-random score derived from the seed and the *content* of the
/// context and candidate, so it is reproducible and, like every model here, blind to
/// ids and row order. Expected FITB accuracy 1/4, AUC 1/2.
public struct RandomScorer: Scorer {
    public var seed: UInt64
    public init(seed: UInt64 = 0) { self.seed = seed }
    public var name: String { "random" }

    public func encode(_ content: Product) -> UInt64 { StableHash.fnv1a(ContentView.sortKey(content)) }

    public func scores(context: [UInt64], candidates: [UInt64]) -> [Double] {
        let c = context.reduce(seed) { $0 &+ SplitMix64.mix($1) }
        return candidates.map { Double(SplitMix64.mix(c ^ SplitMix64.mix($0 &+ 0x5851_F42D)) >> 11) * 0x1.0p-53 }
    }

    public func compatibility(_ items: [UInt64]) -> Double {
        Double(SplitMix64.mix(items.reduce(seed ^ 0xC0FFEE) { $0 &+ SplitMix64.mix($1) }) >> 11) * 0x1.0p-53
    }
}

/// Popularity by content: how common a product's words are among the items of train
/// outfits (mean over its words of log(1 + items containing the word)). Ignores the
/// context: the "always pick the most typical item" baseline.
public struct PopularityScorer: Scorer {
    public let itemFrequency: [String: Int]
    public var name: String { "popularity" }

    public static func train(_ catalog: Catalog) -> PopularityScorer {
        let byID = Dictionary(catalog.products.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var freq: [String: Int] = [:]
        for o in catalog.outfits {
            for id in o.items { if let p = byID[id] { for w in PPMISVDScorer.words(of: p) { freq[w, default: 0] += 1 } } }
        }
        return PopularityScorer(itemFrequency: freq)
    }

    public func encode(_ content: Product) -> Double {
        let words = PPMISVDScorer.words(of: content)
        guard !words.isEmpty else { return 0 }
        return words.reduce(0.0) { $0 + log1p(Double(itemFrequency[$1] ?? 0)) } / Double(words.count)
    }

    public func scores(context: [Double], candidates: [Double]) -> [Double] { candidates }

    public func compatibility(_ items: [Double]) -> Double { Metrics.mean(items).isNaN ? 0 : Metrics.mean(items) }
}

/// The first recommender's model (`Recommender.CooccurrenceModel`: PPMI between content
/// features of items of the same outfit, no SVD), run by the harness.
public struct CooccurrenceScorer: Scorer {
    public let model: CooccurrenceModel
    public var name: String { "cooccurrence" }

    public static func train(_ catalog: Catalog) -> CooccurrenceScorer {
        CooccurrenceScorer(model: CooccurrenceModel.train(products: catalog.products, outfits: catalog.outfits))
    }

    public init(model: CooccurrenceModel) { self.model = model }

    public func encode(_ content: Product) -> CooccurrenceModel.FeatureSet {
        model.featureSet(of: content, caption: content.attributes["caption"])
    }

    public func scores(context: [CooccurrenceModel.FeatureSet], candidates: [CooccurrenceModel.FeatureSet]) -> [Double] {
        let q = model.query(context)
        return candidates.map { model.score(q, $0) }
    }

    public func compatibility(_ items: [CooccurrenceModel.FeatureSet]) -> Double {
        guard items.count >= 2 else { return 0 }
        var total = 0.0
        for i in items.indices {
            let q = model.query([items[i]])
            for j in items.indices where j != i { total += model.score(q, items[j]) }
        }
        return total / Double(items.count * (items.count - 1))
    }
}

/// The baselines by name, as `lookbook eval --model baseline:NAME` can select them.
public enum Baseline: String, CaseIterable, Codable, Sendable {
    case random
    case popularity
    case cooccurrence
    case ppmiSVD = "ppmi-svd"
    /// The same with the plain dot product over title and category words and the
    /// vectors `U √S`: the variant as first specified, kept in reports for comparison.
    case ppmiSVDDot = "ppmi-svd-dot"
    /// Which categories and price tiers outfits put together (`StructureScorer`), without words.
    case structure

    /// Trains the baseline on a train catalog (only its outfits are learned from).
    public func train(on catalog: Catalog, seed: UInt64 = 0) -> any Scorer {
        switch self {
        case .random: RandomScorer(seed: seed)
        case .popularity: PopularityScorer.train(catalog)
        case .cooccurrence: CooccurrenceScorer.train(catalog)
        case .ppmiSVD: PPMISVDScorer.train(catalog, settings: .init(seed: seed))
        case .ppmiSVDDot: PPMISVDScorer.train(catalog, settings: .init(seed: seed, cosine: false, titleOnly: false, eigenExponent: 0.5))
        case .structure: StructureScorer.train(catalog, seed: seed)
        }
    }
}
