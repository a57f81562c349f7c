import Foundation
import LookbookCore
import StyleModel
import Testing
@testable import Recommender

/// `GoldenCatalog.styled` with this suite's sizes.
private func styled(products n: Int = 120, outfits m: Int = 30, seed: UInt64 = 3) -> ([Product], [Outfit]) {
    GoldenCatalog.styled(products: n, outfits: m, seed: seed)
}

private let captions = GoldenCatalog.styledCaptions

/// `GoldenCatalog.tinyBag` over this suite's products.
private func tinyBag(version: String = "tiny-bag", calibration: StyleLMScoring.Calibration = .contextFree,
                     cacheWeight: Double = 0, seed: UInt64 = 21) throws -> StyleLMScoring {
    try GoldenCatalog.tinyBag(styled().0, version: version, calibration: calibration, cacheWeight: cacheWeight, seed: seed)
}

/// The scorings the bag-space suites run under: calibrated or not, with and without the
/// look's cache (`StyleLMScoring.Options.cacheWeight`).
private let scorings: [(StyleLMScoring.Calibration, Double)] = [(.contextFree, 0), (.none, 0), (.contextFree, 0.3), (.none, 0.3)]

private func settings(m: Int) -> RecommendSettings {
    var s = RecommendSettings()
    s.retrievalM = m
    s.complementaryK = min(8, m)
    s.fitbK = min(5, m)
    s.retrievalPriorM = 40
    return s
}

/// `GoldenCatalog.nextDay`.
private func nextDay(_ products: [Product], seed: UInt64 = 9) -> [Product] { GoldenCatalog.nextDay(products, seed: seed) }

@Suite struct StyleLMBagPrecomputeTests {
    /// A bag-scoring StyleLM reranker retrieves in its own bag space: every allowed
    /// candidate of the pool is scored exactly, the stored scores are
    /// `StyleLMScoring.bagScores`'s to the bit, no rerank runs again, the prior source is
    /// off, and the recall against an exhaustive rerank is 1.
    @Test(arguments: scorings)
    func bagSpaceIsTheRerankersOwnScoreToTheBit(calibration: StyleLMScoring.Calibration, cacheWeight: Double) throws {
        let (products, outfits) = styled()
        let scoring = try tinyBag(calibration: calibration, cacheWeight: cacheWeight)
        let reranker = StyleLMReranker(scoring: scoring, captions: captions)
        let cooc = CooccurrenceModel.train(products: products, outfits: outfits)
        var s = settings(m: 6)
        s.mmrLambda = 1
        let pre = Precomputer(model: cooc, reranker: reranker, settings: s, captions: captions)
        guard case .styleLMBag(let space) = pre.retrievalSpace else { Issue.record("not the bag space"); return }
        #expect(space === scoring)
        #expect(pre.priorM == 0)
        let cache = cacheWeight > 0 ? "+cache\(cacheWeight)" : ""
        #expect(pre.fingerprint.hasPrefix("retrieval=tiny-bag+bag-\(calibration.rawValue)\(cache) rerank=tiny-bag\(cache) "))
        #expect(!pre.fingerprint.contains("prior="))

        let result = pre.run(products: products, outfits: outfits, previous: nil)
        #expect(result.stats.seconds.prefill > 0)
        var lists = 0
        for p in products {
            for (slotName, kept) in result.state.anchors[p.id]?.retrieved ?? [:] {
                let slot = try #require(Slot(rawValue: slotName))
                let byID = Dictionary(uniqueKeysWithValues: products.map { ($0.id, $0) })
                let candidates = kept.candidates.map { byID[$0]! }
                let exact = reranker.scores(context: [p], slot: slot, candidates: candidates)
                #expect(kept.scores.map(\.bitPattern) == exact.map(\.bitPattern), "\(p.id) → \(slotName)")
                // The kept order is the exhaustive order of the allowed pool by bag score, then id.
                let pool = products.filter { $0.slot == slot && $0.id != p.id && $0.inStock }
                let all = reranker.scores(context: [p], slot: slot, candidates: pool)
                let order = zip(pool, all).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.id < $1.0.id }.map(\.0.id)
                #expect(Array(order.prefix(kept.ranked.count)) == kept.ranked, "\(p.id) → \(slotName)")
                lists += 1
            }
        }
        #expect(lists > 300)
        // Outfit blanks too.
        let outfit = try #require(outfits.first)
        let blanks = try #require(result.state.outfits[outfit.id])
        for (pos, kept) in blanks.retrieved {
            let p = try #require(Int(pos))
            let byID = Dictionary(uniqueKeysWithValues: products.map { ($0.id, $0) })
            let context = outfit.items.enumerated().filter { $0.offset != p }.map { byID[$0.element]! }
            let slot = byID[outfit.items[p]]!.slot
            let exact = reranker.scores(context: context, slot: slot, candidates: kept.candidates.map { byID[$0]! })
            #expect(kept.scores.map(\.bitPattern) == exact.map(\.bitPattern))
        }
        #expect(pre.retrievalRecall(products: products, sample: 30, k: 5).recall == 1)
        // Co-occurrence retrieval in front of the same reranker loses some of its top 5.
        var cooccurrence = pre
        cooccurrence.retrieval = .cooccurrence
        #expect(cooccurrence.priorM == 40)
        cooccurrence.settings.retrievalPriorM = 0  // 40 would hold every pool of 24 whole
        #expect(cooccurrence.retrievalRecall(products: products, sample: 30, k: 5).recall < 1)
    }

    /// The same lists when the reranker really reranks (another scoring object of the
    /// same weights: retrieval cannot stand in for it) as when retrieval is the rerank.
    @Test func rerankingAgainGivesTheSameLists() throws {
        let (products, outfits) = styled()
        let cooc = CooccurrenceModel.train(products: products, outfits: outfits)
        let scoring = try tinyBag()
        let pre = Precomputer(model: cooc, reranker: StyleLMReranker(scoring: scoring, captions: captions), settings: settings(m: 6),
                              captions: captions)
        var other = pre
        other.reranker = StyleLMReranker(scoring: try tinyBag(), captions: captions)
        other.retrieval = .styleLMBag(scoring)
        let a = pre.run(products: products, outfits: outfits, previous: nil)
        let b = other.run(products: products, outfits: outfits, previous: nil)
        #expect(a.stats.seconds.rerank < b.stats.seconds.rerank)
        #expect(a.output == b.output)
        #expect(GoldenCatalog.reranked(a.state) == GoldenCatalog.reranked(b.state))
    }

    /// Reasons name words of the candidate that the look raised, as `why` does on its own.
    @Test func whyNamesTheCandidatesWordsTheLookRaised() throws {
        let (products, outfits) = styled()
        let scoring = try tinyBag()
        let reranker = StyleLMReranker(scoring: scoring, captions: captions)
        let cooc = CooccurrenceModel.train(products: products, outfits: outfits)
        let out = Precomputer(model: cooc, reranker: reranker, settings: settings(m: 6), captions: captions)
            .run(products: products, outfits: outfits)
        let byID = Dictionary(uniqueKeysWithValues: products.map { ($0.id, $0) })
        var named = 0
        for list in out.complementary.prefix(40) {
            let anchor = byID[list.anchorID]!
            for item in list.items {
                let candidate = byID[item.productID]!
                let fallback = "fits a \(anchor.slot.rawValue) with \(list.targetSlot.rawValue)"
                #expect(item.reason == reranker.why(context: [anchor], slot: list.targetSlot, candidate: candidate) ?? fallback)
                guard item.reason.hasPrefix("the look calls for: ") else { continue }
                named += 1
                let text = StyleLMReranker.itemText(candidate, caption: captions[candidate.id], format: scoring.prompts.itemFormat).text
                let words = item.reason.dropFirst("the look calls for: ".count).components(separatedBy: ", ")
                #expect(!words.isEmpty && words.count <= StyleLMReranker.reasonWords)
                #expect(words.allSatisfy { text.contains($0) }, "\(item.reason) for \(text)")
                // Largest lift first.
                let look = scoring.bagLook(context: [scoring.prompts.item(anchor)], slot: list.targetSlot)
                let bag = scoring.bagTokens(ItemText(slot: candidate.slot, text: text))
                let lifts = bag.map { Double(look.logProbs[Int($0)]) - Double(look.prior![Int($0)]) }
                #expect(lifts.max()! > 0)
            }
        }
        #expect(named > 100)
        // The bag reason itself: order by lift, positive lifts only, at most three words.
        let tokenizer = scoring.prompts.tokenizer
        let tokens = scoring.bagTokens(ItemText(slot: .top, text: "waa wab tee wya"))
        #expect(tokens.count >= 3)
        let lift: [Int32: Double] = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, Double($0) - 1) })
        let reason = try #require(StyleLMReranker.bagReason(tokens, tokenizer: tokenizer) { lift[$0]! })
        let expected = tokens.dropFirst(2).reversed().prefix(3).map { tokenizer.decode([$0]).trimmingCharacters(in: .whitespaces) }
        #expect(reason == "the look calls for: " + expected.joined(separator: ", "))
        #expect(StyleLMReranker.bagReason(tokens, tokenizer: tokenizer) { _ in -1 } == nil)
    }

    /// Incremental runs in the bag space equal a full run on the same final catalog: new,
    /// removed, changed and out-of-stock products patch the lists they reach.
    @Test(arguments: [4, 12], [0, 0.3])
    func incrementalEqualsFull(m: Int, cacheWeight: Double) throws {
        let (products, outfits) = styled()
        let cooc = CooccurrenceModel.train(products: products, outfits: outfits)
        let scoring = try tinyBag(cacheWeight: cacheWeight)
        let pre = Precomputer(model: cooc, reranker: StyleLMReranker(scoring: scoring, captions: captions), settings: settings(m: m),
                              captions: captions)
        let day1 = pre.run(products: products, outfits: outfits, previous: nil)
        let next = nextDay(products)
        let incremental = pre.run(products: next, outfits: outfits, previous: day1.state)
        let full = pre.run(products: next, outfits: outfits, previous: nil)
        #expect(!incremental.stats.full, "\(incremental.stats.fullReason ?? "")")
        #expect(incremental.output == full.output)
        #expect(GoldenCatalog.reranked(incremental.state) == GoldenCatalog.reranked(full.state))
        #expect(incremental.stats.patch.lists > 0)
        #expect(incremental.stats.anchorReasons["new product", default: 0] == 4)
        #expect(incremental.stats.anchorsRecomputed < next.count / 4)
        // Forward passes only for the recomputed anchors and outfits: the stored looks rule
        // lists out or give their distribution back.
        #expect(incremental.stats.prefills > 0 && incremental.stats.prefills < full.stats.prefills / 4,
                "\(incremental.stats.prefills) forward passes vs \(full.stats.prefills)")

        // A copy of an anchor's best candidate under an id that sorts first enters its list
        // without recomputing the anchor.
        let anchor = products[0]
        let kept = try #require(day1.state.anchors[anchor.id]?.retrieved["bottom"])
        var copy = products.first { $0.id == kept.ranked[0] }!
        copy.id = "0-new"
        copy.brand = "newcomer"
        let third = pre.run(products: products + [copy], outfits: outfits, previous: day1.state)
        let thirdFull = pre.run(products: products + [copy], outfits: outfits, previous: nil)
        #expect(third.output == thirdFull.output)
        #expect(third.stats.patchedAnchorIDs.contains(anchor.id))
        #expect(third.state.anchors[anchor.id]?.retrieved["bottom"]?.candidates.contains("0-new") == true)

        // Another model version recomputes everything.
        var retrained = pre
        retrained.reranker = StyleLMReranker(scoring: try tinyBag(version: "tiny-bag-2", seed: 22), captions: captions)
        #expect(retrained.fingerprint != pre.fingerprint)
        let again = retrained.run(products: next, outfits: outfits, previous: full.state)
        #expect(again.stats.full)
        #expect(again.stats.fullReason?.contains("tiny-bag-2") == true)
    }

    /// What an incremental run uses instead of a forward pass: the bound is never below the
    /// exact bag score and close to it, and the stored state gives the look's query back to
    /// the bit; the stored look survives JSON.
    @Test(arguments: scorings)
    func storedLookBoundsEveryScore(calibration: StyleLMScoring.Calibration, cacheWeight: Double) throws {
        let (products, outfits) = styled()
        let scoring = try tinyBag(calibration: calibration, cacheWeight: cacheWeight)
        let pre = Precomputer(model: CooccurrenceModel.train(products: products, outfits: outfits),
                              reranker: StyleLMReranker(scoring: scoring, captions: captions), settings: settings(m: 6), captions: captions)
        let ctx = RunContext(pre, products: products)
        let space = try #require(ctx.bag)
        var worst = 0.0, checked = 0
        for (i, slot) in [(0, Slot.bottom), (1, .shoes), (7, .top), (13, .bag)] {
            let w = ctx.query([i], slot: slot)
            let look = space.sketch(w)
            let decoded = try JSONDecoder().decode(BagLook.self, from: JSONEncoder().encode(look))
            #expect(decoded == look)
            // The look's query from its stored state alone: the forward pass's bits.
            let context = [products[i]]
            #expect(space.query(look: decoded, slot: slot, cache: space.cache(context))?.map(\.bitPattern) == w.map(\.bitPattern))
            let prior = calibration == .none ? nil : scoring.bagPrior(slot)
            for j in products.indices {
                let exact = w.withUnsafeBufferPointer { space.score($0, j) }
                let bound = space.upperBound(space.tokens(of: j), look: decoded, prior: prior, cache: space.cache(context))
                #expect(bound >= exact, "\(products[j].id) under look \(i)/\(slot)")
                worst = max(worst, bound - exact)
                checked += 1
            }
        }
        #expect(checked == 4 * products.count)
        #expect(worst < 0.01, "the bound is loose by \(worst)")
        // An incremental run whose state went through JSON still equals a full run.
        let day1 = pre.run(products: products, outfits: outfits, previous: nil)
        var state = day1.state
        state.anchors = try JSONDecoder().decode([String: AnchorResult].self, from: JSONEncoder().encode(state.anchors))
        state.outfits = try JSONDecoder().decode([String: OutfitResult].self, from: JSONEncoder().encode(state.outfits))
        #expect(state == day1.state)
        #expect(state.anchors.values.allSatisfy { $0.retrieved.values.allSatisfy { $0.look != nil } })
        let next = nextDay(products)
        #expect(pre.run(products: next, outfits: outfits, previous: state).output == pre.run(products: next, outfits: outfits, previous: nil).output)
    }

    /// A sequence-scoring StyleLM keeps co-occurrence retrieval and its prior source.
    @Test func sequenceScoringKeepsCooccurrenceRetrieval() throws {
        let (products, outfits) = styled()
        let bag = try tinyBag()
        var options = bag.options
        options.method = .sequence
        let sequence = StyleLMScoring(prompts: bag.prompts, inference: bag.inference, version: "tiny-seq", options: options)
        let pre = Precomputer(model: CooccurrenceModel.train(products: products, outfits: outfits),
                              reranker: StyleLMReranker(scoring: sequence), settings: settings(m: 6))
        guard case .cooccurrence = pre.retrievalSpace else { Issue.record("not co-occurrence"); return }
        #expect(pre.priorM == 40)
    }
}
