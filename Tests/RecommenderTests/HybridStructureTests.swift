import Foundation
import LookbookCore
import StyleModel
import Testing
@testable import Recommender

private let captions = GoldenCatalog.styledCaptions

private struct Parts {
    let products: [Product]
    let outfits: [Outfit]
    let catalog: Catalog
    let ppmi: PPMISVDReranker
    let stylelm: StyleLMReranker
    /// PPMI-SVD and StyleLM alone.
    let hybrid: HybridReranker
    let term: StructureTerm
}

private func parts() throws -> Parts {
    let (products, outfits) = GoldenCatalog.priced()
    let catalog = GoldenCatalog.catalog(products, outfits: outfits)
    let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits, captions: captions),
                               products: products, captions: captions)
    let stylelm = StyleLMReranker(scoring: try GoldenCatalog.tinyBag(products), captions: captions)
    let hybrid = try HybridReranker.calibrated(ppmi: ppmi, stylelm: stylelm, catalog: catalog)
    return Parts(products: products, outfits: outfits, catalog: catalog, ppmi: ppmi, stylelm: stylelm, hybrid: hybrid,
                 term: try HybridReranker.calibratedStructure(catalog: catalog))
}

/// The nightly's hybrid of PPMI-SVD and a bag StyleLM with the outfit-structure term added
/// (`HybridReranker.structure`), as `lookbook eval` scores a `lookbook train` directory.
@Suite struct HybridStructureTests {
    /// With a structure term a score is ppmi/σp + w·stylelm/σs + (0.5·category/σc +
    /// 0.3·price/σx), recomputed from the models' own calls (the structure model's string
    /// categories, not the reranker's table); without one, the old sum and the old version.
    @Test func scoresAreTheThreeModelsOverTheirSpreads() throws {
        let t = try parts()
        // The same term as the PPMI-SVD reranker's (same model, same questions).
        let structured = try StructuredReranker.calibrated(ppmi: t.ppmi, catalog: t.catalog)
        #expect(t.term == structured.structure)
        #expect(t.term.categoryWeight == 0.5 && t.term.priceWeight == 0.3 && t.term.popularityWeight == 0.5 && t.term.calibrationQuestions > 0)
        let model = OutfitStructureModel.train(products: t.products, outfits: t.outfits)
        #expect(t.term.model == model)

        let h = t.hybrid
        let three = h.adding(structure: t.term)
        #expect(three.ppmiScale == h.ppmiScale && three.stylelmScale == h.stylelmScale && three.weight == h.weight)
        var stranger = t.products[2]
        stranger.category = "never seen"
        stranger.id = "stranger"
        for context in [[t.products[0], t.products[12]], [t.products[3], t.products[1]]] {
            let candidates = t.products.filter { $0.slot == .shoes } + [stranger].filter { $0.slot == .shoes }
            #expect(candidates.contains { $0.price == nil })
            let p = t.ppmi.scores(context: context, slot: .shoes, candidates: candidates)
            let s = t.stylelm.scores(context: context, slot: .shoes, candidates: candidates)
            let two = candidates.indices.map { p[$0] / h.ppmiScale + h.weight * s[$0] / h.stylelmScale }
            #expect(h.scores(context: context, slot: .shoes, candidates: candidates).map(\.bitPattern) == two.map(\.bitPattern))
            let expected = candidates.indices.map { i -> Double in
                let c = model.categoryScore(context: context.map(OutfitStructureModel.kind), candidate: OutfitStructureModel.kind(of: candidates[i]))
                let x = model.priceScore(context: context.map(model.priceTier), candidate: model.priceTier(candidates[i])) ?? t.term.priceNeutral
                let y = model.popularityScore(context: context.map(model.popularityTier), candidate: model.popularityTier(candidates[i]))
                    ?? t.term.popularityNeutral
                return two[i] + ((0.5 * c / t.term.categoryScale + 0.3 * x / t.term.priceScale) + 0.5 * y / t.term.popularityScale)
            }
            let got = three.scores(context: context, slot: .shoes, candidates: candidates)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
            // The structure term moves the order.
            #expect(got.indices.sorted { got[$0] > got[$1] } != two.indices.sorted { two[$0] > two[$1] })
            #expect(three.why(context: context, slot: .shoes, candidate: candidates[0]) == t.ppmi.why(context: context, slot: .shoes, candidate: candidates[0]))
        }
        // The category of a kind the outfits never showed adds 0.
        let look = [t.products[0]]
        let p = t.ppmi.scores(context: look, slot: stranger.slot, candidates: [stranger])[0]
        let s = t.stylelm.scores(context: look, slot: stranger.slot, candidates: [stranger])[0]
        let x = model.priceScore(context: look.map(model.priceTier), candidate: model.priceTier(stranger)) ?? t.term.priceNeutral
        let y = model.popularityScore(context: look.map(model.popularityTier), candidate: model.popularityTier(stranger)) ?? t.term.popularityNeutral
        #expect(three.scores(context: look, slot: stranger.slot, candidates: [stranger])[0].bitPattern
                == ((p / h.ppmiScale + h.weight * s / h.stylelmScale)
                    + ((0.5 * 0 / t.term.categoryScale + 0.3 * x / t.term.priceScale) + 0.5 * y / t.term.popularityScale)).bitPattern)
    }

    /// Without a structure term the version is the one of the hybrids before it (their
    /// precompute states stay incremental); with one it names the structure model's
    /// content, so other outfits give another version.
    @Test func versionNamesTheStructureModelsContent() throws {
        let t = try parts()
        let h = t.hybrid
        #expect(h.structure == nil)
        #expect(h.version == "hybrid(\(t.ppmi.version) + \(h.weight) × \(t.stylelm.version); scales \(h.ppmiScale), \(h.stylelmScale))")
        #expect(h.adding(structure: nil).version == h.version)
        let three = h.adding(structure: t.term)
        #expect(three.version.hasPrefix("hybrid(\(t.ppmi.version) + \(h.weight) × \(t.stylelm.version) + structure@1:\(t.term.model.contentHash) "),
                "\(three.version)")
        #expect(three.version.hasSuffix("; scales \(h.ppmiScale), \(h.stylelmScale))"))
        #expect(three.version == h.adding(structure: try HybridReranker.calibratedStructure(catalog: t.catalog)).version)
        let fewer = try HybridReranker.calibratedStructure(catalog: GoldenCatalog.catalog(t.products, outfits: Array(t.outfits.dropLast(3))))
        #expect(fewer.model.contentHash != t.term.model.contentHash)
        #expect(h.adding(structure: fewer).version != three.version)
    }

    /// Outfits that say nothing about categories or prices (all pairing a top with a
    /// bottom, no prices), or no outfits: an error that says what is missing.
    @Test func noSpreadNoStructure() throws {
        let t = try parts()
        #expect(throws: LookbookError.self) { try HybridReranker.calibratedStructure(catalog: GoldenCatalog.catalog(t.products, outfits: [])) }
        let bare = t.products.map { p -> Product in var q = p; q.price = nil; q.attributes = [:]; q.category = p.slot.rawValue; return q }
        do {
            let tops = bare.indices.filter { $0 % 5 == 0 && $0 + 1 < bare.count }
            _ = try HybridReranker.calibratedStructure(catalog: GoldenCatalog.catalog(bare, outfits: tops.map { Outfit(id: "o\($0)", items: [bare[$0].id, bare[$0 + 1].id]) }))
            Issue.record("calibrated without any spread")
        } catch let e as LookbookError {
            #expect(e.description.contains("no spread"), "\(e)")
        }
    }

    /// The precompute's bag fast path (`HybridBag`) adds the structure term: with M covering
    /// every pool, each list is the exhaustive top k by `HybridReranker.scores` and every
    /// stored score is its bits, for anchors and outfit blanks alike.
    @Test func fastPathIsTheExhaustiveRerank() throws {
        let t = try parts()
        let three = t.hybrid.adding(structure: t.term)
        let cooc = CooccurrenceModel.train(products: t.products, outfits: t.outfits, captions: captions)
        var settings = RecommendSettings()
        settings.retrievalM = 25  // every pool has 20 products
        settings.complementaryK = 5
        settings.fitbK = 4
        settings.mmrLambda = 1
        let pre = Precomputer(model: cooc, reranker: three, settings: settings, captions: captions)
        let ctx = RunContext(pre, products: t.products)
        #expect(ctx.hybrid != nil, "not the bag fast path")
        #expect(pre.fingerprint.contains("rerank=\(three.version)"))
        let out = pre.run(products: t.products, outfits: t.outfits, previous: nil)
        let byID = Dictionary(uniqueKeysWithValues: t.products.map { ($0.id, $0) })
        var differs = 0
        for anchor in [t.products[0], t.products[6], t.products[13], t.products[52]] {
            for slot in [Slot.bottom, .shoes, .top].filter({ $0 != anchor.slot }) {
                let list = try #require(out.output.complementary.first { $0.anchorID == anchor.id && $0.targetSlot == slot })
                let pool = t.products.filter { $0.slot == slot }
                let scores = three.scores(context: [anchor], slot: slot, candidates: pool)
                let best = zip(pool, scores).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.id < $1.0.id }.prefix(5)
                #expect(list.items.map(\.productID) == best.map(\.0.id), "\(anchor.id) → \(slot)")
                #expect(list.items.map(\.score.bitPattern) == best.map(\.1.bitPattern), "\(anchor.id) → \(slot)")
                let two = t.hybrid.scores(context: [anchor], slot: slot, candidates: pool)
                if zip(pool, two).sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.id < $1.0.id }).prefix(5).map(\.0.id) != best.map(\.0.id) {
                    differs += 1
                }
            }
        }
        #expect(differs > 0, "the structure term changed no list")
        // Every stored score of every kept list, anchors and outfits, is the reranker's.
        for (id, a) in out.state.anchors {
            for (slotName, kept) in a.retrieved where !kept.candidates.isEmpty {
                let slot = try #require(Slot(rawValue: slotName))
                let exact = three.scores(context: [byID[id]!], slot: slot, candidates: kept.candidates.map { byID[$0]! })
                #expect(kept.scores.map(\.bitPattern) == exact.map(\.bitPattern), "\(id) → \(slotName)")
            }
        }
        for outfit in t.outfits.prefix(10) {
            let r = try #require(out.state.outfits[outfit.id])
            for (position, kept) in r.retrieved where !kept.candidates.isEmpty {
                let p = try #require(Int(position))
                let context = outfit.items.enumerated().filter { $0.offset != p }.map { byID[$0.element]! }
                let slot = byID[outfit.items[p]]!.slot
                let exact = three.scores(context: context, slot: slot, candidates: kept.candidates.map { byID[$0]! })
                #expect(kept.scores.map(\.bitPattern) == exact.map(\.bitPattern), "\(outfit.id) @ \(p)")
            }
        }
    }

    /// An incremental run with the structure term equals a full recompute, to the bit;
    /// a state of the hybrid without it, or of a structure model of other outfits,
    /// recomputes everything (another reranker version).
    @Test(arguments: [6, 12])
    func incrementalEqualsFullAndAStructureChangeRecomputes(m: Int) throws {
        let t = try parts()
        let three = t.hybrid.adding(structure: t.term)
        let cooc = CooccurrenceModel.train(products: t.products, outfits: t.outfits, captions: captions)
        var settings = RecommendSettings()
        settings.retrievalM = m
        settings.complementaryK = min(5, m)
        settings.fitbK = min(4, m)
        let pre = Precomputer(model: cooc, reranker: three, settings: settings, captions: captions)
        let day1 = pre.run(products: t.products, outfits: t.outfits, previous: nil)
        let next = GoldenCatalog.nextDay(t.products)
        let incremental = pre.run(products: next, outfits: t.outfits, previous: day1.state)
        let full = pre.run(products: next, outfits: t.outfits, previous: nil)
        #expect(!incremental.stats.full, "\(incremental.stats.fullReason ?? "")")
        #expect(incremental.stats.patch.lists > 0)
        #expect(incremental.stats.anchorsRecomputed < next.count / 2)
        #expect(incremental.output == full.output)
        #expect(GoldenCatalog.reranked(incremental.state) == GoldenCatalog.reranked(full.state))

        // The structure model of fewer outfits (as a night whose outfits changed trains it).
        var changed = pre
        changed.reranker = t.hybrid.adding(structure: try HybridReranker.calibratedStructure(
            catalog: GoldenCatalog.catalog(t.products, outfits: Array(t.outfits.dropLast(3)))))
        let after = changed.run(products: next, outfits: t.outfits, previous: full.state)
        #expect(after.stats.full)
        #expect(after.stats.fullReason?.contains("new reranker version") == true, "\(after.stats.fullReason ?? "")")
        #expect(after.output == changed.run(products: next, outfits: t.outfits, previous: nil).output)
        #expect(after.output != full.output, "the other structure model changed no list")

        // From the plain hybrid's state (a night before the structure term) and back.
        var plain = pre
        plain.reranker = t.hybrid
        let old = plain.run(products: t.products, outfits: t.outfits, previous: nil)
        #expect(pre.run(products: next, outfits: t.outfits, previous: old.state).stats.full)
        #expect(plain.run(products: next, outfits: t.outfits, previous: day1.state).stats.full)
        #expect(!plain.run(products: next, outfits: t.outfits, previous: old.state).stats.full)
    }
}
