import Foundation
import LookbookCore
import StyleModel
import Testing
@testable import Recommender

/// `GoldenCatalog.styled` with this suite's sizes.
private func styled(products n: Int = 100, outfits m: Int = 30, seed: UInt64 = 3) -> ([Product], [Outfit]) {
    GoldenCatalog.styled(products: n, outfits: m, seed: seed)
}

private let captions = GoldenCatalog.styledCaptions

/// A tiny bag-scoring StyleLM with random weights (`GoldenCatalog.tinyBag`).
private func tinyBag(_ products: [Product], version: String = "tiny-bag", cacheWeight: Double = 0, seed: UInt64 = 21) throws -> StyleLMScoring {
    try GoldenCatalog.tinyBag(products, version: version, cacheWeight: cacheWeight, seed: seed)
}

private struct Parts {
    let products: [Product]
    let outfits: [Outfit]
    let ppmi: PPMISVDReranker
    let stylelm: StyleLMReranker
}

private func parts(cacheWeight: Double = 0) throws -> Parts {
    let (products, outfits) = styled()
    let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits, captions: captions),
                               products: products, captions: captions)
    return Parts(products: products, outfits: outfits, ppmi: ppmi,
                 stylelm: StyleLMReranker(scoring: try tinyBag(products, cacheWeight: cacheWeight), captions: captions))
}

@Suite struct HybridRerankerTests {
    /// A hybrid score is ppmi/σp + w·stylelm/σs of the two rerankers' own scores; its
    /// reason is PPMI-SVD's; its version names both models, the weight and the scales.
    @Test func scoresAreTheTwoRerankersOverTheirSpreads() throws {
        let t = try parts()
        let catalog = GoldenCatalog.catalog(t.products, outfits: t.outfits)
        let hybrid = try HybridReranker.calibrated(ppmi: t.ppmi, stylelm: t.stylelm, catalog: catalog, weight: 0.7)
        #expect(hybrid.weight == 0.7)
        let context = [t.products[0], t.products[12]]
        let candidates = t.products.filter { $0.slot == .shoes }
        let p = t.ppmi.scores(context: context, slot: .shoes, candidates: candidates)
        let s = t.stylelm.scores(context: context, slot: .shoes, candidates: candidates)
        let expected = candidates.indices.map { p[$0] / hybrid.ppmiScale + 0.7 * s[$0] / hybrid.stylelmScale }
        let got = hybrid.scores(context: context, slot: .shoes, candidates: candidates)
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
        // Not PPMI-SVD's order alone: the StyleLM's part moves some scores.
        #expect(Set(s).count > 1)
        for c in candidates.prefix(5) {
            #expect(hybrid.why(context: context, slot: .shoes, candidate: c) == t.ppmi.why(context: context, slot: .shoes, candidate: c))
        }
        for part in [t.ppmi.version, t.stylelm.version, "0.7", "\(hybrid.ppmiScale)", "\(hybrid.stylelmScale)"] {
            #expect(hybrid.version.contains(part), "\(hybrid.version) lacks \(part)")
        }
    }

    /// The spreads are positive, the same for the same seed, another for another seed;
    /// scaling a scorer's scores scales its spread; one question per usable outfit, at most `questions`.
    @Test func calibrationIsSeededAndMeasuresEachSpread() throws {
        let t = try parts()
        let catalog = GoldenCatalog.catalog(t.products, outfits: t.outfits)
        func measure(seed: UInt64, questions: Int = 300, ppmiFactor: Double = 1) -> HybridCalibration.Spreads {
            HybridCalibration.measure(catalog: catalog, questions: questions, seed: seed,
                                      ppmi: { c, slot, x in t.ppmi.scores(context: c, slot: slot, candidates: x).map { ppmiFactor * $0 } },
                                      stylelm: t.stylelm.scores)
        }
        let a = measure(seed: 0), b = measure(seed: 0), c = measure(seed: 1)
        #expect(a == b)
        #expect(a.usable && a.ppmi > 0 && a.stylelm > 0)
        #expect(a.questions == 30)
        #expect(c.ppmi != a.ppmi)
        let doubled = measure(seed: 0, ppmiFactor: 3)
        #expect(abs(doubled.ppmi - 3 * a.ppmi) < 1e-12 * a.ppmi)
        #expect(doubled.stylelm == a.stylelm)
        #expect(measure(seed: 0, questions: 7).questions == 7)
        let hybrid = try HybridReranker.calibrated(ppmi: t.ppmi, stylelm: t.stylelm, catalog: catalog)
        #expect(hybrid.ppmiScale == a.ppmi && hybrid.stylelmScale == a.stylelm && hybrid.weight == HybridReranker.defaultWeight)
        #expect(hybrid.calibrationQuestions == 30)
    }

    /// The population standard deviation over finite values, against a hand computation.
    @Test func standardDeviationSkipsNonFiniteScores() {
        #expect(HybridCalibration.standardDeviation([1, 3, .nan, -.infinity]) == 1)
        #expect(abs(HybridCalibration.standardDeviation([2, 4, 4, 4, 5, 5, 7, 9]) - 2) < 1e-15)
        #expect(HybridCalibration.standardDeviation([5]).isNaN)
    }

    /// A catalog without outfits (or with too few products per slot) gives no spread: an
    /// error that says what the catalog lacks, never a crash or a division by zero.
    @Test func noOutfitsNoSpread() throws {
        let t = try parts()
        let bare = GoldenCatalog.catalog(t.products, outfits: [])
        let s = HybridCalibration.measure(catalog: bare, ppmi: t.ppmi.scores, stylelm: t.stylelm.scores)
        #expect(!s.usable && s.questions == 0)
        #expect(throws: LookbookError.self) { try HybridReranker.calibrated(ppmi: t.ppmi, stylelm: t.stylelm, catalog: bare) }
        // Three products per slot: no slot has three others to draw from.
        let few = Array(t.products.prefix(15))
        let small = GoldenCatalog.catalog(few, outfits: [Outfit(id: "o", items: [few[0].id, few[1].id])])
        #expect(throws: LookbookError.self) { try HybridReranker.calibrated(ppmi: t.ppmi, stylelm: t.stylelm, catalog: small) }
    }

    /// The precompute retrieves in the PPMI-SVD part's word vectors and stores the
    /// hybrid's scores of the top M (no prior source, not rerank-is-retrieval); an
    /// incremental run equals a full one on the same final catalog.
    @Test func precomputeRetrievesInWordVectorsAndIncrementalEqualsFull() throws {
        let t = try parts()
        let hybrid = try HybridReranker.calibrated(ppmi: t.ppmi, stylelm: t.stylelm, catalog: GoldenCatalog.catalog(t.products, outfits: t.outfits))
        let cooc = CooccurrenceModel.train(products: t.products, outfits: t.outfits, captions: captions)
        var s = RecommendSettings()
        s.retrievalM = 8; s.complementaryK = 5; s.fitbK = 4
        let pre = Precomputer(model: cooc, reranker: hybrid, settings: s, captions: captions)
        guard case .wordVectors(let m) = pre.retrievalSpace else { Issue.record("not the word-vector space"); return }
        #expect(m.version == t.ppmi.model.version)
        #expect(pre.priorM == 0)
        #expect(pre.fingerprint.contains("rerank=\(hybrid.version)"))
        let context = RunContext(pre, products: t.products)
        #expect(!context.rerankIsRetrieval)

        let day1 = pre.run(products: t.products, outfits: t.outfits, previous: nil)
        let byID = Dictionary(uniqueKeysWithValues: t.products.map { ($0.id, $0) })
        var lists = 0
        for p in t.products.prefix(20) {
            for (slotName, kept) in day1.state.anchors[p.id]?.retrieved ?? [:] {
                let slot = try #require(Slot(rawValue: slotName))
                let exact = hybrid.scores(context: [p], slot: slot, candidates: kept.candidates.map { byID[$0]! })
                #expect(kept.scores.map(\.bitPattern) == exact.map(\.bitPattern), "\(p.id) → \(slotName)")
                lists += 1
            }
        }
        #expect(lists > 20)

        // Day 2: new products (retitled copies), removed ones, a changed title, one out of stock.
        var next = t.products
        for k in 0..<3 {
            var copy = t.products[7 * k + 3]
            copy.id = String(format: "n%02d", k)
            copy.title += " " + GoldenCatalog.word(k + 2)
            next.append(copy)
        }
        next.remove(at: 40); next.remove(at: 11)
        next[5].title = GoldenCatalog.word(9) + " " + next[5].title
        next[20].inStock = false
        let incremental = pre.run(products: next, outfits: t.outfits, previous: day1.state)
        let full = pre.run(products: next, outfits: t.outfits, previous: nil)
        #expect(!incremental.stats.full, "\(incremental.stats.fullReason ?? "")")
        #expect(incremental.stats.anchorsRecomputed < next.count / 2)
        #expect(incremental.output == full.output)

        // Another StyleLM version recomputes everything.
        var other = pre
        other.reranker = HybridReranker(ppmi: t.ppmi, stylelm: StyleLMReranker(scoring: try tinyBag(t.products, version: "tiny-bag-2", seed: 22), captions: captions),
                                        ppmiScale: hybrid.ppmiScale, stylelmScale: hybrid.stylelmScale)
        #expect(other.run(products: next, outfits: t.outfits, previous: full.state).stats.full)
    }

    /// Each kept list stores its StyleLM look (the hidden state at the blank), and an
    /// incremental run scores the StyleLM half of newcomers from it: forward passes only for
    /// recomputed anchors and outfits, and the same lists and stored scores, to the bit, as
    /// a full run; also from a state that went through JSON, and from one without looks
    /// (a forward pass per reached list instead).
    @Test(arguments: [0, 0.3])
    func incrementalReusesStoredStyleLMLooks(cacheWeight: Double) throws {
        let t = try parts(cacheWeight: cacheWeight)
        let hybrid = try HybridReranker.calibrated(ppmi: t.ppmi, stylelm: t.stylelm, catalog: GoldenCatalog.catalog(t.products, outfits: t.outfits))
        let cooc = CooccurrenceModel.train(products: t.products, outfits: t.outfits, captions: captions)
        var s = RecommendSettings()
        s.retrievalM = 6; s.complementaryK = 4; s.fitbK = 3
        let pre = Precomputer(model: cooc, reranker: hybrid, settings: s, captions: captions)
        let ctx = RunContext(pre, products: t.products)
        let space = try #require(ctx.hybrid?.space)

        let day1 = pre.run(products: t.products, outfits: t.outfits, previous: nil)
        var lists = 0
        for a in day1.state.anchors.values { for r in a.retrieved.values where !r.candidates.isEmpty { lists += 1 } }
        for o in day1.state.outfits.values { for r in o.retrieved.values where !r.candidates.isEmpty { lists += 1 } }
        #expect(day1.stats.prefills == lists, "one forward pass per list with candidates")
        // A stored look gives the forward pass's query back, to the bit.
        for (i, p) in t.products.prefix(12).enumerated() {
            for (slotName, kept) in day1.state.anchors[p.id]?.retrieved ?? [:] where !kept.candidates.isEmpty {
                let slot = try #require(Slot(rawValue: slotName))
                let look = try #require(kept.look, "\(p.id) → \(slotName) stores no look")
                let forward = space.query([t.products[i]], slot: slot)
                #expect(space.query(look: look, slot: slot, cache: space.cache([t.products[i]]))?.map(\.bitPattern) == forward.map(\.bitPattern))
                #expect(look == space.sketch(forward))
            }
        }

        let next = GoldenCatalog.nextDay(t.products)
        let full = pre.run(products: next, outfits: t.outfits, previous: nil)
        let incremental = pre.run(products: next, outfits: t.outfits, previous: day1.state)
        #expect(!incremental.stats.full, "\(incremental.stats.fullReason ?? "")")
        #expect(incremental.output == full.output)
        #expect(GoldenCatalog.reranked(incremental.state) == GoldenCatalog.reranked(full.state))
        #expect(incremental.stats.patch.rescored > 0, "no list had a newcomer to rerank")
        let recomputedLists = incremental.stats.recomputedAnchorIDs.reduce(0) { $0 + (incremental.state.anchors[$1]?.retrieved.count ?? 0) }
            + incremental.stats.recomputedOutfitIDs.reduce(0) { $0 + (incremental.state.outfits[$1]?.retrieved.count ?? 0) }
        #expect(incremental.stats.prefills > 0 && incremental.stats.prefills <= recomputedLists,
                "\(incremental.stats.prefills) forward passes for \(recomputedLists) recomputed lists")
        #expect(looks(incremental.state) == looks(full.state))

        // Through JSON, as the nightly run stores it.
        var state = day1.state
        state.anchors = try JSONDecoder().decode([String: AnchorResult].self, from: JSONEncoder().encode(state.anchors))
        state.outfits = try JSONDecoder().decode([String: OutfitResult].self, from: JSONEncoder().encode(state.outfits))
        #expect(state == day1.state)
        #expect(pre.run(products: next, outfits: t.outfits, previous: state).output == full.output)

        // A state from before the looks: the reached lists run the model again, same result.
        var old = day1.state
        for id in old.anchors.keys { for k in old.anchors[id]!.retrieved.keys { old.anchors[id]!.retrieved[k]!.look = nil } }
        for id in old.outfits.keys { for k in old.outfits[id]!.retrieved.keys { old.outfits[id]!.retrieved[k]!.look = nil } }
        let fromOld = pre.run(products: next, outfits: t.outfits, previous: old)
        #expect(fromOld.output == full.output)
        #expect(GoldenCatalog.reranked(fromOld.state) == GoldenCatalog.reranked(full.state))
        #expect(fromOld.stats.prefills > incremental.stats.prefills)

        // A StyleLM reading other captions than the precompute's scores through the reranker itself.
        let plain = HybridReranker(ppmi: t.ppmi, stylelm: StyleLMReranker(scoring: t.stylelm.scoring), ppmiScale: hybrid.ppmiScale,
                                   stylelmScale: hybrid.stylelmScale)
        #expect(RunContext(Precomputer(model: cooc, reranker: plain, settings: s, captions: captions), products: t.products).hybrid == nil)
    }
}

/// Per list: its stored look.
private func looks(_ s: PrecomputeState) -> [String: [String: BagLook?]] {
    var out: [String: [String: BagLook?]] = [:]
    for (id, a) in s.anchors { out["a:" + id] = a.retrieved.mapValues(\.look) }
    for (id, o) in s.outfits { out["o:" + id] = o.retrieved.mapValues(\.look) }
    return out
}
