import Foundation
import LookbookCore
import Synchronization
import Testing
@testable import Recommender

/// A reranker with fixed scores by product id that records its calls.
private final class FixedReranker: Reranker, @unchecked Sendable {
    let table: [String: Double]
    let lock = NSLock()
    var calls: [(context: [String], slot: Slot, candidates: [String])] = []
    init(_ table: [String: Double]) { self.table = table }
    var version: String { "fixed@1" }
    func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        lock.withLock { calls.append((context.map(\.id), slot, candidates.map(\.id))) }
        return candidates.map { table[$0.id] ?? 0 }
    }
    func why(context: [Product], slot: Slot, candidate: Product) -> String? { "fixed \(candidate.id)" }
}

/// One top, bottoms of two styles, curated outfits that pair the top with denim.
private func looks(extra: [Product] = []) -> ([Product], [Outfit]) {
    let products = [
        Product(id: "t1", title: "Denim Casual Tee", category: "Tops", brand: "Acme", price: 20, slot: .top),
        Product(id: "b1", title: "Denim Casual Jeans", category: "Bottoms", brand: "Acme", price: 40, slot: .bottom),
        Product(id: "b1b", title: "Denim Casual Jeans Blue", category: "Bottoms", brand: "Acme", price: 45, slot: .bottom),
        Product(id: "b2", title: "Silk Formal Trousers", category: "Bottoms", brand: "Globex", price: 300, slot: .bottom),
        Product(id: "x1", title: "Denim Casual Tee", category: "Tops", brand: "Acme", slot: .top),
    ] + extra
    let outfits = [Outfit(id: "o1", items: ["x1", "b1"]), Outfit(id: "o2", items: ["x1", "b1b"])]
    return (products, outfits)
}

private func list(_ out: Precomputer.Output, _ anchor: String, _ slot: Slot) -> [String] {
    out.complementary.first { $0.anchorID == anchor && $0.targetSlot == slot }?.items.map(\.productID) ?? []
}

@Test func theRerankerDecidesTheOrderAndIsCalledOncePerList() {
    let (products, outfits) = looks()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    let reranker = FixedReranker(["b2": 3, "b1": 2, "b1b": 1])
    var settings = RecommendSettings()
    settings.mmrLambda = 1
    let out = Precomputer(model: model, reranker: reranker, settings: settings).run(products: products, outfits: [])
    #expect(list(out, "t1", .bottom) == ["b2", "b1", "b1b"])
    #expect(out.complementary.first { $0.anchorID == "t1" }?.items.first?.reason == "fixed b2")
    // One batched call per (anchor, target slot) with the whole candidate set.
    let t1Bottom = reranker.calls.filter { $0.context == ["t1"] && $0.slot == .bottom }
    #expect(t1Bottom.count == 1)
    #expect(Set(t1Bottom.first?.candidates ?? []) == ["b1", "b1b", "b2"])
}

@Test func retrievalHandsTheRerankerOnlyMCandidates() {
    let (products, outfits) = looks()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    let reranker = FixedReranker(["b2": 3, "b1": 2, "b1b": 1])
    var settings = RecommendSettings()
    settings.retrievalM = 2
    settings.complementaryK = 2
    settings.fitbK = 2
    let out = Precomputer(model: model, reranker: reranker, settings: settings).run(products: products, outfits: [])
    // Retrieval (co-occurrence with denim) keeps the two denim bottoms; the formal
    // trousers the reranker would love never reach it.
    let call = reranker.calls.first { $0.context == ["t1"] && $0.slot == .bottom }
    #expect(Set(call?.candidates ?? []) == ["b1", "b1b"])
    #expect(list(out, "t1", .bottom) == ["b1", "b1b"])
}

@Test func recallIsOneForTheDefaultRerankerAndDropsWhenRetrievalDisagrees() {
    let (products, outfits) = looks()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    var settings = RecommendSettings()
    settings.retrievalM = 1
    settings.complementaryK = 1
    settings.fitbK = 1
    let byDefault = Precomputer(model: model, settings: settings).retrievalRecall(products: products, k: 1)
    #expect(byDefault.recall == 1)
    #expect(byDefault.lists > 0)
    // A reranker that prefers what retrieval ranks last: t1's and x1's bottom lists
    // (retrieval keeps a denim item, the reranker's top 1 is the silk trousers) miss.
    let contrary = Precomputer(model: model, reranker: FixedReranker(["b2": 3, "b1": 2, "b1b": 1]), settings: settings)
    let r = contrary.retrievalRecall(products: products, k: 1)
    let bottomLists = 2  // t1 and x1 → bottom; the bottoms' top lists agree (all tops score 0 there)
    #expect(r.recall < 1)
    #expect(r.recall <= Double(r.lists - bottomLists) / Double(r.lists) + 1e-12)
    settings.retrievalM = 100
    let wide = Precomputer(model: model, reranker: FixedReranker(["b2": 3, "b1": 2, "b1b": 1]), settings: settings)
    #expect(wide.retrievalRecall(products: products, k: 1).recall == 1)
}

@Test(arguments: [(1.0, ["b1", "b1b", "b2"]), (0.3, ["b1", "b2", "b1b"])])
func mmrTradesScoreForVariety(lambda: Double, expected: [String]) {
    // Scores 1, 0.9, 0: relevance 1, 0.9, 0. Jaccard(b1, b1b) = 5/6 (they share slot,
    // category, denim, casual, jeans), Jaccard(b1, b2) = 2/8. After b1, λ = 0.3 gives
    // b1b 0.27 − 0.7·5/6 = −0.313 and b2 0 − 0.7·0.25 = −0.175: b2 next.
    let (products, outfits) = looks()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    var settings = RecommendSettings()
    settings.mmrLambda = lambda
    let out = Precomputer(model: model, reranker: FixedReranker(["b1": 1, "b1b": 0.9, "b2": 0]), settings: settings)
        .run(products: products, outfits: [])
    #expect(list(out, "t1", .bottom) == expected)
}

@Test func jaccardMatchesTheDefinition() {
    #expect(Rules.similarity([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]) == 5.0 / 6.0)
    #expect(Rules.similarity([1, 2], [3]) == 0)
    #expect(Rules.similarity([], []) == 0)
}

@Test func bitSetJaccardEqualsTheMergeOnManySets() {
    // Sets over 300 features (several words), some empty, against the sorted-list merge.
    var rng = SplitMix64(seed: 11)
    let sets: [[Int32]] = (0..<60).map { n in
        n % 15 == 0 ? [] : Array(Set((0..<(1 + rng.below(20))).map { _ in Int32(rng.below(300)) })).sorted()
    }
    let bits = FeatureBits(sets)
    #expect(bits.words >= 3)
    var mismatches = 0
    for a in sets.indices { for b in sets.indices where bits.similarity(a, b) != Rules.similarity(sets[a], sets[b]) { mismatches += 1 } }
    #expect(mismatches == 0)
}

@Test func nearDuplicatesOfEachOtherAndOfTheAnchorAreDropped() {
    // Same brand, same title words in another order: one look. Another brand: kept.
    let (products, outfits) = looks(extra: [
        Product(id: "b1c", title: "Casual Jeans, Denim", category: "Bottoms", brand: "ACME ", price: 40, slot: .bottom),
        Product(id: "b1d", title: "Casual Jeans, Denim", category: "Bottoms", brand: "Initech", price: 40, slot: .bottom),
    ])
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    let reranker = FixedReranker(["b1": 5, "b1c": 4, "b1d": 3, "b1b": 2, "b2": 1])
    var settings = RecommendSettings()
    settings.mmrLambda = 1
    let out = Precomputer(model: model, reranker: reranker, settings: settings).run(products: products, outfits: [])
    #expect(list(out, "t1", .bottom) == ["b1", "b1d", "b1b", "b2"])
    // The same image bytes are a duplicate whatever the title.
    let hashes = ["b1": "aa", "b2": "aa"]
    let out2 = Precomputer(model: model, reranker: reranker, settings: settings, imageHashes: hashes).run(products: products, outfits: [])
    #expect(!list(out2, "t1", .bottom).contains("b2"))
    // x1 duplicates the anchor t1 (another slot would be needed to show it; here
    // check the rule itself).
    let items = products.map { Item($0, model: model, caption: nil, imageHash: nil) }
    #expect(Rules.nearDuplicates(items[0], items[4]))
    #expect(!Rules.nearDuplicates(items[1], items[2]))
}

@Test func brandAndPriceRulesFromTheJobFileApply() {
    let (products, outfits) = looks()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    var settings = RecommendSettings()
    settings.maxPriceRatio = 3
    var out = Precomputer(model: model, settings: settings).run(products: products, outfits: [])
    // 300 / 20 = 15 > 3: the silk trousers leave the tee's list; 45 / 20 = 2.25 stays.
    #expect(Set(list(out, "t1", .bottom)) == ["b1", "b1b"])
    // x1 has no price: the price rule does not apply to it.
    #expect(Set(list(out, "x1", .bottom)) == ["b1", "b1b", "b2"])

    settings = RecommendSettings()
    settings.excludeBrandPairs = [.init("globex", "ACME")]
    out = Precomputer(model: model, settings: settings).run(products: products, outfits: [])
    #expect(Set(list(out, "t1", .bottom)) == ["b1", "b1b"])
    #expect(Set(list(out, "b2", .top)).isEmpty)

    settings = RecommendSettings()
    settings.sameBrandOnly = true
    out = Precomputer(model: model, settings: settings).run(products: products, outfits: [])
    #expect(Set(list(out, "b2", .top)).isEmpty)
    // t1 and x1 are both Acme (and near-duplicates of each other: one of them shows).
    #expect(list(out, "b1", .top).count == 1)
}

@Test(arguments: [
    (Slot.top, [Slot.bottom, .shoes, .outerwear, .bag, .accessory]),
    (Slot.dress, [Slot.shoes, .bag, .outerwear, .jewellery]),
])
func defaultSlotCompatibilityFollowsStylists(anchor: Slot, mustInclude: [Slot]) {
    let targets = SlotCompatibility.default.targets(for: anchor)
    #expect(Set(mustInclude).isSubset(of: Set(targets)))
    #expect(!targets.contains(anchor))
    // Every pairing goes both ways except for `other`, which is never paired.
    for t in targets { #expect(SlotCompatibility.default.targets(for: t).contains(anchor) || t == .jewellery || t == .eyewear || t == .hat || t == .accessory) }
}

@Test func modelVersionIsAHashOfTheTrainingData() {
    let (products, outfits) = looks()
    let a = CooccurrenceModel.train(products: products, outfits: outfits)
    // Other catalog products (not in outfits) and product order do not matter…
    let extra = Product(id: "z9", title: "Wool Winter Coat", category: "Outerwear", slot: .outerwear)
    let b = CooccurrenceModel.train(products: (products + [extra]).reversed(), outfits: outfits)
    #expect(a.version == b.version)
    for p in products { for q in products { #expect(a.score(context: [p], candidate: q) == b.score(context: [p], candidate: q)) } }
    // …nor the order outfits are listed in…
    let reordered = CooccurrenceModel.train(products: products, outfits: outfits.reversed())
    #expect(reordered.version == a.version)
    for p in products { for q in products { #expect(a.score(context: [p], candidate: q) == reordered.score(context: [p], candidate: q)) } }
    // …a new outfit does.
    let c = CooccurrenceModel.train(products: products, outfits: outfits + [Outfit(id: "o3", items: ["t1", "b2"])])
    #expect(a.version != c.version)
    #expect(a.version.hasPrefix("cooccurrence-ppmi@3:"))
}

@Test func incrementalRunRecomputesChangedAnchorsPatchesReachedListsAndMatchesAFullRun() {
    let (products, outfits) = looks()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    var settings = RecommendSettings()
    settings.retrievalM = 2
    settings.complementaryK = 2
    let pre = Precomputer(model: model, settings: settings)
    let day1 = pre.run(products: products, outfits: outfits, previous: nil)
    #expect(day1.stats.full && day1.stats.fullReason == "no previous results")

    // The tops' top 2 is b1b, b1 (the rarer "blue" has the higher PMI). b0 has b1b's
    // words, so its score ties b1b's and its id wins the tie: it enters; the silk
    // skirt b4 ranks below both for both tops.
    var next = products
    next.append(Product(id: "b0", title: "Denim Casual Jeans Blue", category: "Bottoms", brand: "Initech", price: 30, slot: .bottom))
    next.append(Product(id: "b4", title: "Silk Formal Skirt", category: "Bottoms", brand: "Globex", price: 30, slot: .bottom))
    let day2 = pre.run(products: next, outfits: outfits, previous: day1.state)
    let full = pre.run(products: next, outfits: outfits, previous: nil)
    #expect(day2.output == full.output)
    #expect(!day2.stats.full)
    // b0 and b4 are new (recomputed); t1's and x1's bottom lists are patched (the
    // pools are shorter than M + reserve, so any allowed newcomer reaches them) and b0
    // entering their top 2 reranks the list; the bottoms' lists of tops are untouched.
    #expect(list(day1.output, "t1", .bottom) == ["b1b", "b1"])
    #expect(Set(day2.stats.recomputedAnchorIDs) == ["b0", "b4"])
    #expect(day2.stats.anchorReasons["new product"] == 2)
    #expect(Set(day2.stats.patchedAnchorIDs) == ["t1", "x1"])
    // …and so are the bottom blanks of both outfits (x1 + b1, x1 + b1b): 4 lists.
    #expect(day2.stats.outfitsPatched == 2)
    #expect(day2.stats.patch.rescored == 4)
    #expect(list(day2.output, "t1", .bottom) == ["b0", "b1b"])
    // Only the newcomers reach the reranker in a patched list.
    #expect(day2.state.anchors["t1"]?.retrieved["bottom"]?.candidates == ["b0", "b1b"])

    // A product that leaves the catalog from a top 2 patches those lists again; b4 out
    // of stock is recomputed itself and leaves the tops' reserves.
    var third = next.filter { $0.id != "b0" }
    third[third.firstIndex { $0.id == "b4" }!].inStock = false
    let day3a = pre.run(products: third, outfits: outfits, previous: day2.state)
    #expect(day3a.output == pre.run(products: third, outfits: outfits, previous: nil).output)
    #expect(Set(day3a.stats.recomputedAnchorIDs) == ["b4"])
    #expect(Set(day3a.stats.patchedAnchorIDs) == ["t1", "x1"])
    #expect(day3a.stats.removedAnchorIDs == ["b0"])
    #expect(list(day3a.output, "t1", .bottom) == ["b1b", "b1"])
    #expect(day3a.state.anchors["t1"]?.retrieved["bottom"]?.ranked.contains("b4") == false)

    // A new model version recomputes everything.
    let other = Precomputer(model: CooccurrenceModel.train(products: next, outfits: outfits + [Outfit(id: "o9", items: ["t1", "b0"])]),
                            settings: settings)
    let day3 = other.run(products: next, outfits: outfits, previous: day2.state)
    #expect(day3.stats.anchorsRecomputed == next.count)
    #expect(day3.stats.full)
    #expect(day3.stats.fullReason?.hasPrefix("new retrieval model") == true)
}

/// One denim tee and bottoms whose retrieval score falls with the number of filler
/// words in their title (words no outfit has: they only add to the feature count), so
/// the retrieval order is b0 > b1 > … > b9 for the tee. Two outfits give denim its PMI.
private func ladder() -> (products: [Product], outfits: [Outfit]) {
    let fillers = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    var products = [
        Product(id: "t1", title: "Denim Tee", category: "Tops", slot: .top),
        Product(id: "ot", title: "Denim Tee Washed", category: "Tops", slot: .top),
        Product(id: "ob", title: "Denim Jeans Washed", category: "Bottoms", slot: .bottom),
        Product(id: "st", title: "Silk Blouse", category: "Tops", slot: .top),
        Product(id: "sb", title: "Silk Skirt", category: "Bottoms", slot: .bottom),
    ]
    for k in 0..<10 {
        products.append(Product(id: "b\(k)", title: "Denim Jeans " + fillers.prefix(k).joined(separator: " "), category: "Bottoms",
                                slot: .bottom))
    }
    return (products, [Outfit(id: "o1", items: ["ot", "ob"]), Outfit(id: "o2", items: ["st", "sb"])])
}

/// M = 2 keeps a reserve of 4: t1's bottom list keeps 6 of 12 bottoms, and its cutoff
/// (the 6th) decides which changes reach it.
private func ladderRun(_ products: [Product], _ outfits: [Outfit], previous: PrecomputeState?) -> Precomputer.Result {
    var settings = RecommendSettings()
    settings.retrievalM = 2
    settings.complementaryK = 2
    settings.fitbK = 2
    let model = CooccurrenceModel.train(products: ladder().products, outfits: outfits)
    return Precomputer(model: model, settings: settings).run(products: products, outfits: outfits, previous: previous)
}

@Test func theLadderRanksByFillerCount() {
    let (products, outfits) = ladder()
    let kept = ladderRun(products, outfits, previous: nil).state.anchors["t1"]?.retrieved["bottom"]
    #expect(kept?.ranked.filter { $0.hasPrefix("b") }.prefix(4) == ["b0", "b1", "b2", "b3"])
    #expect(kept?.ranked.count == 6)
    #expect(kept?.cutoff != nil)
}

/// (what changes, whether t1 is patched, whether its top 2 changes, whether its pool is walked again)
@Test(arguments: [
    ("a new product enters the top M", true, true, false),
    ("a removed product leaves the top M, the reserve refills it", true, true, false),
    ("a product goes out of stock and leaves the top M", true, true, false),
    ("more leave than the reserve holds: the pool is walked again", true, true, true),
    ("a change below the cutoff reaches nothing", false, false, false),
    ("a change in the reserve updates only the reserve", true, false, false),
])
func anUnchangedAnchorsListFollowsChangesThroughRetrieval(change: String, patched: Bool, rescored: Bool, rewalked: Bool) {
    let (products, outfits) = ladder()
    let day1 = ladderRun(products, outfits, previous: nil)
    let top = day1.state.anchors["t1"]!.retrieved["bottom"]!
    var next = products
    switch change {
    case "a new product enters the top M":
        next.append(Product(id: "a0", title: "Denim Jeans", category: "Bottoms", slot: .bottom))
    case "a removed product leaves the top M, the reserve refills it":
        next.removeAll { $0.id == top.ranked[0] }
    case "a product goes out of stock and leaves the top M":
        next[next.firstIndex { $0.id == top.ranked[1] }!].inStock = false
    case "more leave than the reserve holds: the pool is walked again":
        let gone = Set(top.ranked.prefix(5))
        next.removeAll { gone.contains($0.id) }
    case "a change below the cutoff reaches nothing":
        next[next.firstIndex { $0.id == "b9" }!].price = 12
    default:
        next[next.firstIndex { $0.id == top.ranked[4] }!].price = 12
    }
    let day2 = ladderRun(next, outfits, previous: day1.state)
    let full = ladderRun(next, outfits, previous: nil)
    #expect(!day2.stats.full)
    #expect(day2.output == full.output)
    #expect(!day2.stats.recomputedAnchorIDs.contains("t1"))
    #expect(day2.stats.patchedAnchorIDs.contains("t1") == patched)
    let before = top.candidates, after = day2.state.anchors["t1"]!.retrieved["bottom"]!
    #expect((after.candidates != before) == rescored)
    // What the reranker saw equals a full run's top M.
    #expect(after.candidates == full.state.anchors["t1"]!.retrieved["bottom"]!.candidates)
    #expect(after.scores == full.state.anchors["t1"]!.retrieved["bottom"]!.scores)
    #expect((day2.stats.patch.rewalked > 0) == rewalked)
    if !patched { #expect(day2.state.anchors["t1"] == day1.state.anchors["t1"]) }
}

/// A reranker with a prior: fixed scores by id, the same in every look, so its prior is
/// its score.
private final class FixedPriorReranker: PriorReranker, @unchecked Sendable {
    let inner: FixedReranker
    init(_ table: [String: Double]) { inner = FixedReranker(table) }
    var version: String { "fixed-prior@1" }
    func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        inner.scores(context: context, slot: slot, candidates: candidates)
    }
    func priorScores(slot: Slot, candidates: [Product]) -> [Double] { candidates.map { inner.table[$0.id] ?? 0 } }
    func why(context: [Product], slot: Slot, candidate: Product) -> String? { nil }
}

@Test func thePriorSourceBringsWhatTheRerankerLikesAnywhereIntoTheCandidates() {
    let (products, outfits) = looks()
    let model = CooccurrenceModel.train(products: products, outfits: outfits)
    var settings = RecommendSettings()
    settings.retrievalM = 1
    settings.complementaryK = 1
    settings.fitbK = 1
    settings.retrievalPriorM = 1
    let table = ["b2": 3.0, "b1": 2, "b1b": 1]
    // Co-occurrence keeps a denim bottom for t1; the prior's top 1 (the silk trousers) joins it.
    let reranker = FixedPriorReranker(table)
    let pre = Precomputer(model: model, reranker: reranker, settings: settings)
    #expect(pre.priorM == 1)
    #expect(pre.fingerprint.contains("prior=1"))
    let result = pre.run(products: products, outfits: [], previous: nil)
    let call = reranker.inner.calls.first { $0.context == ["t1"] && $0.slot == .bottom }
    #expect(call?.candidates.count == 2)
    #expect(Set(call?.candidates ?? []) == ["b2", "b1"] || Set(call?.candidates ?? []) == ["b2", "b1b"])
    #expect(list(result.output, "t1", .bottom) == ["b2"])
    let kept = result.state.anchors["t1"]?.retrieved[Slot.bottom.rawValue]
    #expect(kept?.prior?.ranked.first == "b2")
    #expect(kept?.candidates.count == kept?.scores.count)
    // The kept lists survive a round trip through the state's JSON.
    let data = try! JSONEncoder().encode(kept!)
    #expect(try! JSONDecoder().decode(RetrievedList.self, from: data) == kept!)
    // The reranker scores by its prior: the prior source alone recovers its top 1.
    #expect(pre.retrievalRecall(products: products, k: 1).recall == 1)
    settings.retrievalPriorM = 0
    let off = Precomputer(model: model, reranker: FixedPriorReranker(table), settings: settings)
    #expect(off.priorM == 0)
    #expect(off.retrievalRecall(products: products, k: 1).recall < 1)
    // The co-occurrence reranker ignores the setting: same fingerprint either way.
    var coocSettings = settings
    coocSettings.retrievalPriorM = 300
    #expect(Precomputer(model: model, settings: coocSettings).fingerprint == Precomputer(model: model, settings: settings).fingerprint)
    #expect(Precomputer(model: model, settings: coocSettings).priorM == 0)
}
