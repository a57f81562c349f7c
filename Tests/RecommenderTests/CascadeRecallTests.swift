import Foundation
import LookbookCore
import StyleModel
import Testing
@testable import Recommender

/// A tiny StyleLM with random weights over a few product texts.
private func tinyScoring() throws -> StyleLMScoring {
    let texts = ["white cotton shirt", "navy wool trousers", "black leather loafers", "blue denim jeans", "red silk skirt"]
    let tokenizer = OutfitPrompts.trainTokenizer(on: texts, vocabSize: 300)
    let prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: 96, maxItemTokens: 24, productFormat: .blank)
    var config = StyleLMConfig.tiny(vocabSize: tokenizer.vocabSize)
    config.maxPositionEmbeddings = 96
    let inference = try StyleLMInference(config: config, weights: randomWeights(config, seed: 11))
    let base = try StyleLMInference(config: config, weights: randomWeights(config, seed: 12))
    return StyleLMScoring(prompts: prompts, inference: inference, base: base, version: "tiny", options: .init(calibration: .base))
}

/// Weights large enough that the look changes every token's distribution (norms stay 1).
private func randomWeights(_ config: StyleLMConfig, seed: UInt64) -> [String: [Float]] {
    var rng = SplitMix64(seed: seed)
    var weights = StyleLM(config: config, seed: seed).weightValues()
    for name in weights.keys.sorted() where !name.hasSuffix("norm.weight") {
        weights[name] = weights[name]!.map { _ in Float.random(in: -0.5...0.5, using: &rng) }
    }
    return weights
}

private let bottoms = [
    Product(id: "b1", title: "Navy Wool Trousers", category: "Bottoms", slot: .bottom),
    Product(id: "b2", title: "Blue Denim Jeans", category: "Bottoms", slot: .bottom),
    Product(id: "b3", title: "Red Silk Skirt", category: "Bottoms", slot: .bottom),
    Product(id: "b4", title: "White Cotton Trousers", category: "Bottoms", slot: .bottom),
    Product(id: "b5", title: "Black Leather Skirt", category: "Bottoms", slot: .bottom),
]
private let look = [Product(id: "t1", title: "White Cotton Shirt", category: "Tops", slot: .top),
                    Product(id: "s1", title: "Black Leather Loafers", category: "Shoes", slot: .shoes)]

/// With as many tokens as a candidate has, `prior+prefix` is StyleLM's score (prior plus
/// the look's whole effect); with one token it is `prior+first`, coded apart.
@Test func priorPrefixIsStyleLMsScoreWithTheWholeCandidateAndPriorFirstWithOneToken() throws {
    let scoring = try tinyScoring()
    let full = StyleLMReranker(scoring: scoring).scores(context: look, slot: .bottom, candidates: bottoms)
    let whole = StyleLMRetrievalProxy(scoring: scoring, mode: .priorPrefix, products: look + bottoms, prefixTokens: 99)
        .scorer(context: look, slot: .bottom)
    for (p, s) in zip(bottoms, full) { #expect(abs(whole(p) - s) < 1e-4, "\(p.id): \(whole(p)) vs \(s)") }
    let one = StyleLMRetrievalProxy(scoring: scoring, mode: .priorPrefix, products: look + bottoms, prefixTokens: 1)
        .scorer(context: look, slot: .bottom)
    let first = StyleLMRetrievalProxy(scoring: scoring, mode: .priorFirst, products: look + bottoms).scorer(context: look, slot: .bottom)
    for p in bottoms { #expect(abs(one(p) - first(p)) < 1e-4, "\(p.id)") }
    // The look's effect on the later tokens is real: one token is not the whole score.
    #expect(zip(bottoms, full).contains { abs(one($0) - $1) > 1e-3 })
    // The batched scores (distinct prefixes in one batch) equal the scorer's, at each prefix length.
    for k in [1, 2, 3, 99] {
        let proxy = StyleLMRetrievalProxy(scoring: scoring, mode: .priorPrefix, products: look + bottoms, prefixTokens: k)
        let score = proxy.scorer(context: look, slot: .bottom)
        let batched = proxy.scores(context: look, slot: .bottom, candidates: bottoms)
        for (p, b) in zip(bottoms, batched) { #expect(abs(score(p) - b) < 1e-4, "k \(k), \(p.id)") }
    }
}

/// A proxy from a fixed table, the same in every look.
private struct TableProxy: RetrievalProxy {
    let table: [String: Double]
    var name: String { "table" }
    func scorer(context: [Product], slot: Slot) -> @Sendable (Product) -> Double {
        let table = self.table
        return { table[$0.id] ?? 0 }
    }
}

private final class TableReranker: Reranker, @unchecked Sendable {
    let table: [String: Double]
    init(_ table: [String: Double]) { self.table = table }
    var version: String { "table@1" }
    func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] { candidates.map { table[$0.id] ?? 0 } }
    func why(context: [Product], slot: Slot, candidate: Product) -> String? { nil }
}

/// The cascade keeps the as-run recall when its proxy agrees with the reranker or R
/// covers every retrieved candidate, and loses the reranker's top 1 when the proxy
/// ranks it last and R is 1.
@Test func cascadeRecallFollowsTheProxysAgreementWithTheReranker() {
    let products = [Product(id: "t1", title: "Denim Casual Tee", category: "Tops", slot: .top)] + bottoms
    let model = CooccurrenceModel.train(products: products, outfits: [Outfit(id: "o1", items: ["t1", "b2"])])
    let scores = ["b1": 1.0, "b2": 2, "b3": 5, "b4": 3, "b5": 4]
    var settings = RecommendSettings()
    settings.complementaryK = 1
    settings.fitbK = 1
    let pre = Precomputer(model: model, reranker: TableReranker(scores), settings: settings)
    let agree = pre.retrievalRecall(products: products, k: 1, cascade: TableProxy(table: scores), cascadeR: [1, 3])
    #expect(agree.recall == 1)
    #expect(agree.recallCascade == [1: 1, 3: 1])
    // M 100 retrieves the whole allowed pool: what the cascade narrows is what the exhaustive rerank scored.
    #expect(agree.retrieved == agree.exhaustiveScored)
    let contrary = pre.retrievalRecall(products: products, k: 1, cascade: TableProxy(table: scores.mapValues { -$0 }), cascadeR: [1, 4, 5])
    #expect(contrary.recallCascade[5] == contrary.recall)
    #expect(contrary.lists >= 2)
    #expect(contrary.recallCascade[1]! < 1)
    #expect(contrary.recallCascade[4]! < 1)  // b3 is the proxy's last of five
    // Without a cascade proxy nothing is measured.
    #expect(pre.retrievalRecall(products: products, k: 1, cascadeR: [1]).recallCascade.isEmpty)
}
