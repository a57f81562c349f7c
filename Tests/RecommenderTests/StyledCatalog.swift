import Foundation
import LookbookCore
import StyleModel
@testable import Recommender

extension GoldenCatalog {
    /// `styled` with prices by style (a tier per style, every seventh product without a
    /// price), popularity counts by style in another order (the `likes` attribute, every
    /// sixth product without one) and a second category for some tops, so every part of
    /// the outfit-structure term has a spread to measure. `likes: false` leaves the counts out.
    static func priced(products n: Int = 100, outfits m: Int = 40, seed: UInt64 = 5, likes: Bool = true) -> ([Product], [Outfit]) {
        var (products, outfits) = styled(products: n, outfits: m, seed: seed)
        let tiers = [20.0, 60, 150, 400], counts = [5000.0, 30, 900, 120]
        for i in products.indices {
            let style = (i / 5) % 4
            products[i].price = i % 7 == 3 ? nil : tiers[style] * (1 + Double(i % 3) / 10)
            if likes && i % 6 != 1 { products[i].attributes["likes"] = String(Int(counts[style] * (1 + Double(i % 4) / 10))) }
            if i % 5 == 0 && style % 2 == 0 { products[i].category = "shirt" }
        }
        return (products, outfits)
    }

    /// Products of four styles in five slots (two style words, the slot's noun, one shared
    /// word in each title) and outfits of three products of one style in distinct slots.
    static func styled(products n: Int, outfits m: Int, seed: UInt64) -> ([Product], [Outfit]) {
        var g = LCG(x: seed)
        let slots: [Slot] = [.top, .bottom, .shoes, .bag, .outerwear]
        let nouns = ["tee", "jeans", "sneakers", "tote", "jacket"]
        var products: [Product] = []
        for i in 0..<n {
            let slot = i % 5, style = (i / 5) % 4
            let title = [word(style * 6 + g.next(6)), word(style * 6 + g.next(6)), nouns[slot], word(24 + g.next(5))].joined(separator: " ")
            products.append(Product(id: String(format: "p%03d", i), title: title, category: nouns[slot], brand: "brand\(g.next(7))",
                                    slot: slots[slot]))
        }
        let perStyleSlot = n / 20
        var outfits: [Outfit] = []
        for o in 0..<m {
            let style = g.next(4)
            var chosen: [Int] = []
            while chosen.count < 3 { let s = g.next(5); if !chosen.contains(s) { chosen.append(s) } }
            let items = chosen.map { slot in products[slot + 5 * (style + 4 * g.next(perStyleSlot))].id }
            outfits.append(Outfit(id: String(format: "o%03d", o), items: items))
        }
        return (products, outfits)
    }

    /// A few captions for `styled` products (they replace the title as StyleLM's text).
    static let styledCaptions = ["p000": "waa wab tee wya", "p007": "wgc wgd sneakers wyb"]

    /// A tiny StyleLM with random weights over the words of `products` (and the captions),
    /// scoring by bag of words; `version` names it. The weights are large enough that the
    /// look moves every token's probability.
    static func tinyBag(_ products: [Product], version: String = "tiny-bag", calibration: StyleLMScoring.Calibration = .contextFree,
                        cacheWeight: Double = 0, seed: UInt64 = 21) throws -> StyleLMScoring {
        let texts = products.map { ItemText($0, format: .words).text } + Array(styledCaptions.values)
        let tokenizer = OutfitPrompts.trainTokenizer(on: texts, vocabSize: 300)
        let prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: 96, maxItemTokens: 24, productFormat: .blank)
        var config = StyleLMConfig.tiny(vocabSize: tokenizer.vocabSize)
        config.maxPositionEmbeddings = 96
        var rng = SplitMix64(seed: seed)
        var weights = StyleLM(config: config, seed: seed).weightValues()
        for name in weights.keys.sorted() where !name.hasSuffix("norm.weight") {
            weights[name] = weights[name]!.map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        }
        return StyleLMScoring(prompts: prompts, inference: try StyleLMInference(config: config, weights: weights), version: version,
                              options: .init(calibration: calibration, method: .bagOfWords, cacheWeight: cacheWeight))
    }

    /// Day 2 of a catalog: four new products (copies of day-1 ones under other ids, every
    /// other one retitled), two removed, two retitled and two out of stock.
    static func nextDay(_ products: [Product], seed: UInt64 = 9) -> [Product] {
        var g = LCG(x: seed)
        var next = products
        for k in 0..<4 {
            var copy = products[g.next(products.count)]
            copy.id = String(format: "n%02d", k)
            if k % 2 == 0 { copy.title += " " + word(g.next(24)) }
            next.append(copy)
        }
        for _ in 0..<2 { next.remove(at: g.next(next.count - 4)) }
        for _ in 0..<2 { let i = g.next(next.count); next[i].title = word(g.next(24)) + " " + next[i].title }
        for _ in 0..<2 { next[g.next(next.count)].inStock = false }
        return next
    }

    /// A catalog of `products` and `outfits` (test manifest).
    static func catalog(_ products: [Product], outfits: [Outfit]) -> Catalog {
        Catalog(manifest: CatalogManifest(retailer: "test", snapshot: "1"), products: products, outfits: outfits)
    }

    /// Per list of a precompute state: the candidates the reranker saw and their scores
    /// (bits, as text), to compare two runs list by list.
    static func reranked(_ s: PrecomputeState) -> [String: [String: [String]]] {
        var out: [String: [String: [String]]] = [:]
        for (id, a) in s.anchors { out["a:" + id] = a.retrieved.mapValues { $0.candidates + $0.scores.map { "\($0.bitPattern)" } } }
        for (id, o) in s.outfits { out["o:" + id] = o.retrieved.mapValues { $0.candidates + $0.scores.map { "\($0.bitPattern)" } } }
        return out
    }
}
