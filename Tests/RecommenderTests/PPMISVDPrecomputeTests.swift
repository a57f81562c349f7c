import Foundation
import LookbookCore
import Testing
@testable import Recommender

/// `GoldenCatalog.styled` with this suite's sizes.
private func styled(products n: Int = 200, outfits m: Int = 60, seed: UInt64 = 1) -> ([Product], [Outfit]) {
    GoldenCatalog.styled(products: n, outfits: m, seed: seed)
}

/// `GoldenCatalog.nextDay`.
private func nextDay(_ products: [Product], seed: UInt64 = 9) -> [Product] { GoldenCatalog.nextDay(products, seed: seed) }

private func run(_ products: [Product], _ outfits: [Outfit], previous: PrecomputeState?, m: Int,
                 retrieval: RetrievalSpace? = nil) -> Precomputer.Result {
    let (day1, trainOutfits) = styled()
    let cooc = CooccurrenceModel.train(products: day1, outfits: trainOutfits)
    let model = PPMISVDModel.train(products: day1, outfits: trainOutfits)
    var settings = RecommendSettings()
    settings.retrievalM = m
    settings.complementaryK = min(10, m)
    settings.fitbK = min(5, m)
    let reranker = PPMISVDReranker(model: model, products: products)
    return Precomputer(model: cooc, reranker: reranker, retrieval: retrieval, settings: settings)
        .run(products: products, outfits: outfits, previous: previous)
}

@Suite struct PPMISVDPrecomputeTests {
    /// With the PPMI-SVD reranker, retrieval ranks by the reranker's own score: every list
    /// is the reranker's exhaustive top k of the allowed pool, and the recall is 1.
    @Test func retrievalRanksInTheRerankersSpace() throws {
        let (products, outfits) = styled()
        let cooc = CooccurrenceModel.train(products: products, outfits: outfits)
        let model = PPMISVDModel.train(products: products, outfits: outfits)
        let reranker = PPMISVDReranker(model: model, products: products)
        var settings = RecommendSettings()
        settings.retrievalM = 5
        settings.complementaryK = 5
        settings.mmrLambda = 1
        let pre = Precomputer(model: cooc, reranker: reranker, settings: settings)
        guard case .wordVectors(let m) = pre.retrievalSpace else { Issue.record("not word vectors"); return }
        #expect(m.version == model.version)
        #expect(pre.fingerprint.hasPrefix("retrieval=\(model.version) rerank=\(model.version) "))
        let out = pre.run(products: products, outfits: outfits)
        let anchor = products[0]
        let list = try #require(out.complementary.first { $0.anchorID == anchor.id && $0.targetSlot == .bottom })
        // The exhaustive top 5 of the bottoms (no duplicates among them here), by score then id.
        let pool = products.filter { $0.slot == .bottom }
        let scores = reranker.scores(context: [anchor], slot: .bottom, candidates: pool)
        let best = zip(pool, scores).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.id < $1.0.id }.prefix(5)
        #expect(list.items.map(\.productID) == best.map(\.0.id))
        #expect(list.items.map(\.score) == best.map(\.1))
        #expect(list.items.allSatisfy { $0.reason.contains("goes with") })
        #expect(pre.retrievalRecall(products: products, sample: 40, k: 5).recall == 1)
        // Co-occurrence retrieval in front of the same reranker loses some of its top 5.
        var cooccurrence = pre
        cooccurrence.retrieval = .cooccurrence
        #expect(cooccurrence.fingerprint.hasPrefix("retrieval=\(cooc.version) "))
        #expect(cooccurrence.retrievalRecall(products: products, sample: 40, k: 5).recall < 1)
    }

    /// Incremental runs stay exact in the word-vector space: new, removed, changed and
    /// out-of-stock products patch the lists they reach, and the output equals a full run's.
    @Test(arguments: [4, 12])
    func incrementalEqualsFull(m: Int) {
        let (products, outfits) = styled()
        let day1 = run(products, outfits, previous: nil, m: m)
        let next = nextDay(products)
        let incremental = run(next, outfits, previous: day1.state, m: m)
        let full = run(next, outfits, previous: nil, m: m)
        #expect(!incremental.stats.full, "\(incremental.stats.fullReason ?? "")")
        #expect(incremental.output == full.output)
        #expect(GoldenCatalog.reranked(incremental.state) == GoldenCatalog.reranked(full.state))
        #expect(incremental.stats.patch.lists > 0)
        #expect(incremental.stats.anchorReasons["new product", default: 0] == 4)
        if m == 4 {
            // 8 of ~40 per pool kept (M 4 and a reserve of 4): cutoffs decide, and some anchors see no change.
            #expect(incremental.stats.anchorsRecomputed + incremental.stats.anchorsPatched < next.count)
        }
    }

    /// A copy of an anchor's best candidate under a new id that sorts first ties its
    /// score and wins the tie: it enters that anchor's list without recomputing it; a
    /// removed candidate leaves it.
    @Test(arguments: ["new", "removed"])
    func aChangedProductEntersOrLeavesAnotherAnchorsList(kind: String) throws {
        let (products, outfits) = styled()
        let first = run(products, outfits, previous: nil, m: 4)
        let anchor = products[0]
        let kept = try #require(first.state.anchors[anchor.id]?.retrieved["bottom"])
        var next = products
        let moved: String
        if kind == "new" {
            var copy = products.first { $0.id == kept.ranked[0] }!
            copy.id = "0-new"
            copy.brand = "newcomer"
            next.append(copy)
            moved = copy.id
        } else {
            moved = kept.ranked[0]
            next.removeAll { $0.id == moved }
        }
        let second = run(next, outfits, previous: first.state, m: 4)
        let full = run(next, outfits, previous: nil, m: 4)
        #expect(second.output == full.output)
        #expect(second.stats.patchedAnchorIDs.contains(anchor.id))
        #expect(!second.stats.recomputedAnchorIDs.contains(anchor.id))
        let after = try #require(second.state.anchors[anchor.id]?.retrieved["bottom"])
        #expect(after.candidates.contains(moved) == (kind == "new"))
        #expect(after.candidates == full.state.anchors[anchor.id]?.retrieved["bottom"]?.candidates)
        #expect(second.stats.anchorsRecomputed + second.stats.anchorsPatched < next.count / 2)
    }
}
