import Foundation
import LookbookCore
import Testing
@testable import Recommender

@Suite struct StructuredRerankerTests {
    /// A score is ppmi/σ_ppmi + 0.5·category/σ_category + 0.3·price/σ_price +
    /// 0.5·popularity/σ_popularity, recomputed here from the models' own calls and spreads
    /// measured afresh with `HybridCalibration.measure`; a candidate or look without a
    /// price (a popularity count) gets the mean price (popularity) score of the calibration
    /// questions.
    @Test func scoresAreTheFormula() throws {
        let (products, outfits) = GoldenCatalog.priced()
        let catalog = GoldenCatalog.catalog(products, outfits: outfits)
        let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits), products: products)
        let r = try StructuredReranker.calibrated(ppmi: ppmi, catalog: catalog)
        let model = OutfitStructureModel.train(products: products, outfits: outfits)
        #expect(r.structure.model == model)

        // The spreads, measured independently on the same questions, whose candidates
        // come from the outfits' products.
        let held = Set(outfits.flatMap(\.items))
        let outfitProducts = GoldenCatalog.catalog(products.filter { held.contains($0.id) }, outfits: outfits)
        #expect(outfitProducts.products.count < products.count)
        var prices: [Double] = []
        let kinds = HybridCalibration.measure(
            catalog: outfitProducts, ppmi: ppmi.scores,
            stylelm: { c, _, x in x.map { model.categoryScore(context: c.map(OutfitStructureModel.kind), candidate: OutfitStructureModel.kind(of: $0)) } })
        let price = HybridCalibration.measure(
            catalog: outfitProducts, ppmi: ppmi.scores,
            stylelm: { c, _, x in
                let s = x.map { model.priceScore(context: c.map(model.priceTier), candidate: model.priceTier($0)) ?? .nan }
                prices += s.filter(\.isFinite)
                return s
            })
        var popularities: [Double] = []
        let popularity = HybridCalibration.measure(
            catalog: outfitProducts, ppmi: ppmi.scores,
            stylelm: { c, _, x in
                let s = x.map { model.popularityScore(context: c.map(model.popularityTier), candidate: model.popularityTier($0)) ?? .nan }
                popularities += s.filter(\.isFinite)
                return s
            })
        #expect(kinds.usable && price.usable && popularity.usable)
        #expect(r.ppmiScale == kinds.ppmi)
        #expect(r.structure.categoryScale == kinds.stylelm && r.structure.priceScale == price.stylelm)
        #expect(r.structure.popularityScale == popularity.stylelm)
        #expect(r.structure.categoryWeight == 0.5 && r.structure.priceWeight == 0.3 && r.structure.popularityWeight == 0.5)
        let neutral = prices.reduce(0, +) / Double(prices.count)
        #expect(r.structure.priceNeutral == neutral)
        let popularNeutral = popularities.reduce(0, +) / Double(popularities.count)
        #expect(r.structure.popularityNeutral == popularNeutral)
        #expect(r.version.contains(", popularity 0.5/\(popularity.stylelm), neutral \(popularNeutral); ppmi 1/"), "\(r.version)")

        // One look with a price, one with an unpriced item and a candidate pool with unpriced ones.
        for context in [[products[0], products[12]], [products[3], products[1]]] {
            let candidates = products.filter { $0.slot == .shoes }
            #expect(candidates.contains { $0.price == nil } && candidates.contains { $0.attributes["likes"] == nil })
            let p = ppmi.scores(context: context, slot: .shoes, candidates: candidates)
            let expected = candidates.indices.map { i -> Double in
                let c = model.categoryScore(context: context.map(OutfitStructureModel.kind), candidate: OutfitStructureModel.kind(of: candidates[i]))
                let x = model.priceScore(context: context.map(model.priceTier), candidate: model.priceTier(candidates[i])) ?? neutral
                let y = model.popularityScore(context: context.map(model.popularityTier), candidate: model.popularityTier(candidates[i]))
                    ?? popularNeutral
                return p[i] / kinds.ppmi + ((0.5 * c / kinds.stylelm + 0.3 * x / price.stylelm) + 0.5 * y / popularity.stylelm)
            }
            let got = r.scores(context: context, slot: .shoes, candidates: candidates)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
            // Without the affinity table (a catalog of very many kinds): the same bits.
            let untabulated = StructuredReranker(ppmi: ppmi, structure: r.structure, ppmiScale: r.ppmiScale, tableLimit: 0)
            #expect(untabulated.scores(context: context, slot: .shoes, candidates: candidates).map(\.bitPattern) == expected.map(\.bitPattern))
            #expect(untabulated.version == r.version)
            // The structure term moves the order: not PPMI-SVD's alone.
            #expect(got.indices.sorted { got[$0] > got[$1] } != p.indices.sorted { p[$0] > p[$1] })
            for c in candidates.prefix(3) {
                #expect(r.why(context: context, slot: .shoes, candidate: c) == ppmi.why(context: context, slot: .shoes, candidate: c))
            }
        }
        // A category the outfits never showed has affinity 0 with everything.
        var stranger = products[2]
        stranger.category = "never seen"
        let s = r.scores(context: [products[0]], slot: stranger.slot, candidates: [stranger])[0]
        let p = ppmi.scores(context: [products[0]], slot: stranger.slot, candidates: [stranger])[0]
        let x = model.priceScore(context: [model.priceTier(products[0])], candidate: model.priceTier(stranger)) ?? neutral
        let y = model.popularityScore(context: [model.popularityTier(products[0])], candidate: model.popularityTier(stranger)) ?? popularNeutral
        #expect(s.bitPattern == (p / kinds.ppmi + ((0.5 * 0 / kinds.stylelm + 0.3 * x / price.stylelm) + 0.5 * y / popularity.stylelm)).bitPattern)
    }

    /// A catalog without popularity counts: no popularity part, so the scores, the version
    /// and the model's content hash are those of the term before popularity tiers
    /// (category and price alone).
    @Test func withoutPopularityCountsTheTermIsCategoryAndPrice() throws {
        let (products, outfits) = GoldenCatalog.priced(likes: false)
        let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits), products: products)
        let r = try StructuredReranker.calibrated(ppmi: ppmi, catalog: GoldenCatalog.catalog(products, outfits: outfits))
        #expect(r.structure.popularityWeight == 0 && r.structure.model.meanLogPopularity == nil)
        #expect(r.version.hasSuffix("(category 0.5/\(r.structure.categoryScale), price 0.3/\(r.structure.priceScale), neutral \(r.structure.priceNeutral); ppmi 1/\(r.ppmiScale))"),
                "\(r.version)")
        let look = [products[0], products[12]], candidates = products.filter { $0.slot == .shoes }
        let model = r.structure.model, term = r.structure
        let p = ppmi.scores(context: look, slot: .shoes, candidates: candidates)
        let expected = candidates.indices.map { i -> Double in
            let c = model.categoryScore(context: look.map(OutfitStructureModel.kind), candidate: OutfitStructureModel.kind(of: candidates[i]))
            let x = model.priceScore(context: look.map(model.priceTier), candidate: model.priceTier(candidates[i])) ?? term.priceNeutral
            return p[i] / r.ppmiScale + (0.5 * c / term.categoryScale + 0.3 * x / term.priceScale)
        }
        #expect(r.scores(context: look, slot: .shoes, candidates: candidates).map(\.bitPattern) == expected.map(\.bitPattern))
        // The counts, where a catalog has them, are part of the model's content.
        let counted = GoldenCatalog.priced().0
        #expect(OutfitStructureModel.train(products: counted, outfits: outfits).contentHash != model.contentHash)
    }

    /// The version names PPMI-SVD's model and the structure model's content: other
    /// outfits give another, the same outfits the same.
    @Test func versionNamesTheStructureModelsContent() throws {
        let (products, outfits) = GoldenCatalog.priced()
        let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits), products: products)
        let a = try StructuredReranker.calibrated(ppmi: ppmi, catalog: GoldenCatalog.catalog(products, outfits: outfits))
        let b = try StructuredReranker.calibrated(ppmi: ppmi, catalog: GoldenCatalog.catalog(products, outfits: outfits))
        let c = try StructuredReranker.calibrated(ppmi: ppmi, catalog: GoldenCatalog.catalog(products, outfits: Array(outfits.dropLast(3))))
        #expect(a.version == b.version)
        #expect(a.version.hasPrefix(ppmi.version + "+structure@1:" + a.structure.model.contentHash + " "))
        // Products outside the outfits do not move the spreads: the same version.
        let extra = products.filter { !Set(outfits.flatMap(\.items)).contains($0.id) }.prefix(3).map { p -> Product in
            var q = p; q.id += "-new"; return q
        }
        let more = try StructuredReranker.calibrated(ppmi: ppmi, catalog: GoldenCatalog.catalog(products + extra, outfits: outfits))
        #expect(more.version == a.version)
        #expect(a.structure.model.contentHash != c.structure.model.contentHash)
        #expect(a.version != c.version)
        // A changed price of an outfit item changes the model's content too.
        var repriced = products
        let item = try #require(repriced.firstIndex { $0.id == outfits[0].items[0] && $0.price != nil })
        repriced[item].price! *= 2
        #expect(OutfitStructureModel.train(products: repriced, outfits: outfits).contentHash != a.structure.model.contentHash)
    }

    /// Without outfits there is no spread to measure: calibrating throws with a message that says what is missing.
    @Test func noOutfitsNoSpread() throws {
        let (products, outfits) = GoldenCatalog.priced()
        let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits), products: products)
        #expect(throws: LookbookError.self) { try StructuredReranker.calibrated(ppmi: ppmi, catalog: GoldenCatalog.catalog(products, outfits: [])) }
        // Outfits that all pair the same categories, without prices: nothing to measure either.
        let bare = products.map { p -> Product in var q = p; q.price = nil; q.attributes = [:]; q.category = p.slot.rawValue; return q }
        do {
            _ = try StructuredReranker.calibrated(ppmi: ppmi, catalog: GoldenCatalog.catalog(bare, outfits: bare.indices.filter { $0 % 5 == 0 && $0 + 1 < bare.count }
                .map { Outfit(id: "o\($0)", items: [bare[$0].id, bare[$0 + 1].id]) }))
            Issue.record("calibrated without any spread")
        } catch let e as LookbookError {
            #expect(e.description.contains("no spread"), "\(e)")
        }
    }

    /// The precompute retrieves in PPMI-SVD's word-vector space and reranks the top M
    /// by the sum: with M covering the pool, a list is the exhaustive top k by the sum
    /// and the recall is 1; with a small M retrieval may lose some of it.
    @Test func listsAreTheExhaustiveRerankWhereRecallAllows() throws {
        let (products, outfits) = GoldenCatalog.priced()
        let catalog = GoldenCatalog.catalog(products, outfits: outfits)
        let cooc = CooccurrenceModel.train(products: products, outfits: outfits)
        let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits), products: products)
        let r = try StructuredReranker.calibrated(ppmi: ppmi, catalog: catalog)
        var settings = RecommendSettings()
        settings.retrievalM = 25  // every pool has 20 products
        settings.complementaryK = 5
        settings.mmrLambda = 1
        let pre = Precomputer(model: cooc, reranker: r, settings: settings)
        guard case .wordVectors(let m) = pre.retrievalSpace else { Issue.record("not word vectors"); return }
        #expect(m.version == ppmi.model.version)
        #expect(pre.fingerprint.hasPrefix("retrieval=\(ppmi.model.version) rerank=\(r.version) "))
        let out = pre.run(products: products, outfits: outfits)
        for anchor in [products[0], products[6], products[13]] {
            for slot in [Slot.bottom, .shoes, .top].filter({ $0 != anchor.slot }) {
                let list = try #require(out.complementary.first { $0.anchorID == anchor.id && $0.targetSlot == slot })
                let pool = products.filter { $0.slot == slot }
                let scores = r.scores(context: [anchor], slot: slot, candidates: pool)
                let best = zip(pool, scores).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.id < $1.0.id }.prefix(5)
                #expect(list.items.map(\.productID) == best.map(\.0.id))
                #expect(list.items.map(\.score) == best.map(\.1))
            }
        }
        #expect(pre.retrievalRecall(products: products, sample: 30, k: 5).recall == 1)
        var shallow = pre
        shallow.settings.retrievalM = 5
        let recall = shallow.retrievalRecall(products: products, sample: 30, k: 5)
        #expect(recall.recall < 1 && recall.recall > 0.3, "\(recall.recall)")
    }

    /// Incremental runs with the structure term equal a full recompute: new, removed,
    /// changed and out-of-stock products patch the lists they reach.
    @Test(arguments: [4, 12])
    func incrementalEqualsFull(m: Int) throws {
        let (day1, outfits) = GoldenCatalog.priced()
        let catalog = GoldenCatalog.catalog(day1, outfits: outfits)
        let cooc = CooccurrenceModel.train(products: day1, outfits: outfits)
        let words = PPMISVDModel.train(products: day1, outfits: outfits)
        let calibrated = try StructuredReranker.calibrated(ppmi: PPMISVDReranker(model: words, products: day1), catalog: catalog)
        var settings = RecommendSettings()
        settings.retrievalM = m
        settings.complementaryK = min(10, m)
        settings.fitbK = min(5, m)
        // The models of day 1; the reranker's vectors of the run's own products, as the nightly run builds it.
        func run(_ products: [Product], previous: PrecomputeState?) -> Precomputer.Result {
            let r = StructuredReranker(ppmi: PPMISVDReranker(model: words, products: products), structure: calibrated.structure,
                                       ppmiScale: calibrated.ppmiScale)
            return Precomputer(model: cooc, reranker: r, settings: settings).run(products: products, outfits: outfits, previous: previous)
        }
        let first = run(day1, previous: nil)
        let next = GoldenCatalog.nextDay(day1)
        let incremental = run(next, previous: first.state)
        let full = run(next, previous: nil)
        #expect(!incremental.stats.full, "\(incremental.stats.fullReason ?? "")")
        #expect(incremental.output == full.output)
        #expect(GoldenCatalog.reranked(incremental.state) == GoldenCatalog.reranked(full.state))
        #expect(incremental.stats.patch.lists > 0)
        #expect(incremental.stats.anchorReasons["new product", default: 0] == 4)
    }
}
