import Foundation
import LookbookCore
import Testing
@testable import Recommender

/// Two style families that never mix in the curated outfits.
private func catalog() -> ([Product], [Outfit]) {
    let products = [
        Product(id: "t1", title: "Denim Casual Tee", category: "Tops", gender: "women", slot: .top),
        Product(id: "t2", title: "Silk Formal Blouse", category: "Tops", gender: "women", slot: .top),
        Product(id: "b1", title: "Denim Casual Jeans", category: "Bottoms", gender: "women", slot: .bottom),
        Product(id: "b2", title: "Silk Formal Trousers", category: "Bottoms", gender: "women", slot: .bottom),
        Product(id: "b3", title: "Denim Casual Shorts", category: "Bottoms", gender: "men", slot: .bottom),
        Product(id: "b4", title: "Denim Casual Skirt", category: "Bottoms", inStock: false, slot: .bottom),
        Product(id: "s1", title: "Canvas Casual Sneakers", category: "Shoes", slot: .shoes),
        Product(id: "s2", title: "Leather Formal Pumps", category: "Shoes", slot: .shoes),
    ]
    let outfits = [
        Outfit(id: "o1", items: ["t1", "b1", "s1"]),
        Outfit(id: "o2", items: ["t2", "b2", "s2"]),
        Outfit(id: "o3", items: ["t1", "b4", "s1"]),
    ]
    return (products, outfits)
}

@Test func ppmiMatchesHandComputedValue() throws {
    // One outfit of two single-feature-ish items: features are s:top, c:tops, w:aa and
    // s:bottom, c:bottoms, w:bb. Every cross pair is counted once per direction with
    // weight 1 (n-1 = 1), so all 18 directed counts are 1 and marginals are 3 each:
    // PMI = log((1/18) / ((3/18) * (3^0.75 / (6 * 3^0.75)))) = log(2).
    var settings = CooccurrenceModel.Settings()
    settings.weightByLikes = false
    let a = Product(id: "a", title: "aa", category: "tops", slot: .top)
    let b = Product(id: "b", title: "bb", category: "bottoms", slot: .bottom)
    let model = CooccurrenceModel.train(products: [a, b], outfits: [Outfit(id: "o", items: ["a", "b"])], settings: settings)
    let s = model.score(context: [a], candidate: b)
    // Each of a's 3 features has PPMI log 2 with each of b's 3: mean is log 2.
    #expect(abs(s - log(2.0)) < 1e-6)
    // Items of the same side never co-occur: zero.
    #expect(model.score(context: [a], candidate: a) == 0)
}

@Test func complementaryListsFollowCuratedStyle() {
    let (products, outfits) = catalog()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    let out = Precomputer(model: model).run(products: products, outfits: outfits)
    let t1Bottoms = out.complementary.first { $0.anchorID == "t1" && $0.targetSlot == .bottom }
    // Casual tee → casual jeans first; the out-of-stock skirt and the men's shorts are excluded.
    #expect(t1Bottoms?.items.map(\.productID) == ["b1", "b2"])
    let t2Shoes = out.complementary.first { $0.anchorID == "t2" && $0.targetSlot == .shoes }
    #expect(t2Shoes?.items.first?.productID == "s2")
    #expect(t2Shoes?.items.first?.reason.contains("goes with") == true)
}

@Test func genderRuleLetsUnspecifiedGoWithAll() {
    let (products, outfits) = catalog()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    let out = Precomputer(model: model).run(products: products, outfits: outfits)
    // Sneakers have no gender: their bottom list holds both women's and men's items.
    let ids = Set(out.complementary.first { $0.anchorID == "s1" && $0.targetSlot == .bottom }?.items.map(\.productID) ?? [])
    #expect(ids == ["b1", "b2", "b3"])
}

@Test func fitbCandidatesExcludeOutfitItemsAndRankTheRealStyleFirst() {
    let (products, outfits) = catalog()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    let out = Precomputer(model: model).run(products: products, outfits: outfits)
    let blank = out.fitb.first { $0.outfitID == "o1" && $0.position == 1 }
    // o1 is a women's look: the men's shorts b3 may not fill it, the out-of-stock b4
    // neither, so the formal trousers are all that is left.
    #expect(blank?.items.map(\.productID) == ["b2"])
    #expect(blank?.items.contains { $0.productID == "t1" || $0.productID == "s1" } == false)
    #expect(out.fitb.filter { $0.outfitID == "o1" }.count == 3)
}

@Test func rankHeapKeepsTheBestAndBreaksTiesByRank() {
    // Items 0…3 with ids c, a, b, d: ranks 2, 0, 1, 3.
    var heap = RankHeap(capacity: 3, rank: [2, 0, 1, 3])
    for (j, s) in [(0, 1.0), (1, 1.0), (2, 1.0), (3, 2.0)] { heap.offer(j, s) }
    #expect(heap.sorted().map(\.0) == [3, 1, 2])
    // Against a plain sort on many random scores with ties.
    var rng = SplitMix64(seed: 5)
    let scores = (0..<500).map { _ in Double(rng.below(40)) }
    let rank = (0..<500).map { Int32(499 - $0) }
    var big = RankHeap(capacity: 37, rank: rank)
    for (j, s) in scores.enumerated() { big.offer(j, s) }
    let expected = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : rank[$0] < rank[$1] }.prefix(37)
    #expect(big.sorted().map(\.0) == Array(expected))
}

@Test(arguments: [0, 1, 5, 1000])
func parallelMapKeepsOrder(count: Int) {
    let out = parallelMap(count: count) { $0 * 2 }
    #expect(out == (0..<count).map { $0 * 2 })
}

@Test func scoresDoNotDependOnIds() {
    let (products, outfits) = catalog()
    let renamed = products.map { p -> Product in var q = p; q.id = "x" + String(p.id.reversed()); return q }
    let map = Dictionary(uniqueKeysWithValues: zip(products.map(\.id), renamed.map(\.id)))
    let renamedOutfits = outfits.map { Outfit(id: $0.id, items: $0.items.map { map[$0]! }) }
    let m1 = CooccurrenceModel.train(products: products, outfits: outfits)
    let m2 = CooccurrenceModel.train(products: renamed.reversed(), outfits: renamedOutfits)
    for (a, b) in zip(products, renamed) {
        for (c, d) in zip(products, renamed) {
            #expect(abs(m1.score(context: [a], candidate: c) - m2.score(context: [b], candidate: d)) < 1e-9)
        }
    }
}

@Test func merchandiserVerdictsOverrideTheModel() {
    let (products, outfits) = catalog()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    let feedback = [
        Feedback(anchor: "t1", item: "b1", verdict: .reject),
        Feedback(anchor: "t1", item: "s2", verdict: .approve),
        // A later verdict on the same pair wins.
        Feedback(anchor: "t2", item: "s2", verdict: .reject),
        Feedback(anchor: "t2", item: "s2", verdict: .approve),
    ]
    let out = Precomputer(model: model, feedback: feedback).run(products: products, outfits: outfits)
    let list = { (a: String, s: Slot) in out.complementary.first { $0.anchorID == a && $0.targetSlot == s }?.items ?? [] }
    #expect(!list("t1", .bottom).contains { $0.productID == "b1" })
    #expect(list("t1", .shoes).first?.productID == "s2")
    #expect(list("t1", .shoes).first?.reason == "approved by a merchandiser")
    #expect(list("t1", .shoes).first.map { $0.score < 100 } == true)
    #expect(list("t2", .shoes).first?.productID == "s2")
}
