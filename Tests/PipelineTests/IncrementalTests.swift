import CatalogGenerator
import CatalogIngest
import Foundation
import LookbookCore
import LookupStore
import Recommender
import SQLiteSupport
import Testing
@testable import Pipeline

/// A generated catalog without photos (fast), and its evolved next day.
private func generated(products: Int = 400, outfits: Int = 60, seed: UInt64 = 7) throws -> GeneratedCatalog {
    let config = SampleCatalogGenerator.Config(seed: seed, productCount: products, imageCount: 0, outfitCount: outfits)
    return try SampleCatalogGenerator(config: config, workers: 1).generate(renderImages: false)
}

/// Day 1 and its evolved day 2 (5 % of products changed), where a merchandiser verdict
/// arrives on day 2 for an anchor that did not change; `before` is day 1's products.
private func twoDaysWithAVerdict() throws -> (day1: GeneratedCatalog, day2: GeneratedCatalog, before: Set<Product>) {
    let day1 = try generated()
    let gen = SampleCatalogGenerator(config: day1.config, workers: 1)
    var day2 = try gen.evolve(day1, changeFraction: 0.05, seed: 3)
    let before = Set(day1.catalog.products)
    let anchor = day2.catalog.products.first { before.contains($0) && $0.slot == .top }!
    let item = day2.catalog.products.first { $0.slot == .bottom }!
    day2.catalog.feedback.append(Feedback(anchor: anchor.id, item: item.id, verdict: .reject))
    return (day1, day2, before)
}

/// The parts of two states that decide the output: per list, the candidates the
/// reranker saw and their scores (a patched list may keep a shorter reserve than a
/// full run's, which changes nothing shown).
private func reranked(_ s: PrecomputeState) -> [String: [String: [String]]] {
    var out: [String: [String: [String]]] = [:]
    for (id, a) in s.anchors { out["a:" + id] = a.retrieved.mapValues { $0.candidates + $0.scores.map { "\($0)" } } }
    for (id, o) in s.outfits { out["o:" + id] = o.retrieved.mapValues { $0.candidates + $0.scores.map { "\($0)" } } }
    return out
}

/// Small M so that the retrieval cutoffs, not short pools, decide what is affected.
@Test(arguments: [8, 30, 100])
func incrementalPrecomputeEqualsAFullRecomputeOnTheEvolvedCatalog(retrievalM: Int) throws {
    let (day1, day2, before) = try twoDaysWithAVerdict()

    // One model for both days: incremental runs are for catalog, stock and feedback
    // changes under the same model version.
    let model = CooccurrenceModel.train(products: day1.catalog.products, outfits: day1.catalog.outfits)
    var settings = RecommendSettings()
    settings.retrievalM = retrievalM
    settings.complementaryK = min(20, retrievalM)
    settings.fitbK = min(10, retrievalM)
    let first = Precomputer(model: model, settings: settings, feedback: day1.catalog.feedback)
        .run(products: day1.catalog.products, outfits: day1.catalog.outfits, previous: nil)
    let second = Precomputer(model: model, settings: settings, feedback: day1.catalog.feedback + day2.catalog.feedback)
    let incremental = second.run(products: day2.catalog.products, outfits: day2.catalog.outfits, previous: first.state)
    let full = second.run(products: day2.catalog.products, outfits: day2.catalog.outfits, previous: nil)

    #expect(!incremental.stats.full)
    #expect(incremental.output.complementary == full.output.complementary)
    #expect(incremental.output.fitb == full.output.fitb)
    #expect(incremental.state.inputs == full.state.inputs)
    #expect(reranked(incremental.state) == reranked(full.state))
    #expect(incremental.stats.anchorReasons["feedback changed"] == 1)
    #expect(incremental.stats.anchorReasons["new product", default: 0] > 0)
    // Only changed anchors are recomputed; the lists the changes reach are patched.
    let changedOrNew = day2.catalog.products.filter { !before.contains($0) }.count
    #expect(incremental.stats.anchorsRecomputed == changedOrNew + 1)
    #expect(incremental.stats.patch.lists > 0)
    #expect(incremental.stats.patch.rescored <= incremental.stats.patch.lists)
    if retrievalM == 8 {
        // Pools of ~40 per slot, 12 kept: cutoffs decide, and some anchors see no change.
        #expect(incremental.stats.anchorsRecomputed + incremental.stats.anchorsPatched < day2.catalog.products.count)
    }
}

/// A reranker with a prior (as StyleLM's): the prior reads only the product, the score
/// the look and the candidate; both deterministic hashes (FNV-1a).
private struct HashPriorReranker: PriorReranker {
    static func hash(_ s: String) -> Double {
        var h: UInt64 = 0xcbf29ce484222325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return Double(h % 1_000_000) / 1_000_000
    }
    var version: String { "hash-prior@1" }
    func priorScores(slot: Slot, candidates: [Product]) -> [Double] {
        candidates.map { Self.hash("\($0.id)|\($0.title)|\($0.price ?? 0)|\($0.inStock)") }
    }
    func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        let look = context.map(\.id).joined(separator: ",")
        return zip(candidates, priorScores(slot: slot, candidates: candidates)).map { c, p in p + 0.5 * Self.hash(look + "|" + c.id) }
    }
    func why(context: [Product], slot: Slot, candidate: Product) -> String? { nil }
}

/// With a reranker that has a prior, each list unions the co-occurrence top M with the
/// prior's top; an incremental run patches both kept lists and equals a full run.
@Test(arguments: [(8, 6), (30, 12)])
func incrementalPrecomputeWithThePriorSourceEqualsAFullRecompute(retrievalM: Int, priorM: Int) throws {
    let (day1, day2, _) = try twoDaysWithAVerdict()
    let model = CooccurrenceModel.train(products: day1.catalog.products, outfits: day1.catalog.outfits)
    var settings = RecommendSettings()
    settings.retrievalM = retrievalM
    settings.retrievalPriorM = priorM
    settings.complementaryK = min(20, retrievalM)
    settings.fitbK = min(10, retrievalM)
    let reranker = HashPriorReranker()
    let first = Precomputer(model: model, reranker: reranker, settings: settings, feedback: day1.catalog.feedback)
        .run(products: day1.catalog.products, outfits: day1.catalog.outfits, previous: nil)
    let second = Precomputer(model: model, reranker: reranker, settings: settings, feedback: day1.catalog.feedback + day2.catalog.feedback)
    let incremental = second.run(products: day2.catalog.products, outfits: day2.catalog.outfits, previous: first.state)
    let full = second.run(products: day2.catalog.products, outfits: day2.catalog.outfits, previous: nil)

    #expect(!incremental.stats.full)
    #expect(incremental.output.complementary == full.output.complementary)
    #expect(incremental.output.fitb == full.output.fitb)
    #expect(reranked(incremental.state) == reranked(full.state))
    #expect(incremental.stats.patch.lists > 0)
    #expect(incremental.stats.patch.rescored > 0)
    // The prior source is on and adds candidates beyond the co-occurrence top M.
    let kept = full.state.anchors.values.flatMap { $0.retrieved.values }
    #expect(kept.allSatisfy { $0.prior != nil })
    #expect(kept.contains { $0.candidates.count > $0.approved.count + $0.reranked })
}

/// An unchanged anchor whose list a changed product enters or leaves is patched, and
/// ends as a full run has it. Cases: a new product enters; a removed one leaves; one
/// that goes out of stock leaves.
@Test(arguments: ["new", "removed", "out of stock"])
func aChangedProductEntersOrLeavesAnotherAnchorsList(kind: String) throws {
    let day1 = try generated()
    let model = CooccurrenceModel.train(products: day1.catalog.products, outfits: day1.catalog.outfits)
    var settings = RecommendSettings()
    settings.retrievalM = 8
    settings.complementaryK = 8
    let pre = Precomputer(model: model, settings: settings)
    let first = pre.run(products: day1.catalog.products, outfits: day1.catalog.outfits, previous: nil)
    // The first top's bottom list, and the product that enters or leaves it.
    let anchor = try #require(day1.catalog.products.first { $0.slot == .top && first.state.anchors[$0.id]?.retrieved["bottom"] != nil })
    let kept = first.state.anchors[anchor.id]!.retrieved["bottom"]!
    var products = day1.catalog.products
    let moved: String
    switch kind {
    case "new":
        // A copy of the anchor's best bottom under a new id that sorts first: it ties
        // that bottom's score and wins the tie.
        var copy = products.first { $0.id == kept.ranked[0] }!
        copy.id = "0-new"
        copy.brand = "Newcomer"
        products.append(copy)
        moved = copy.id
    case "removed":
        moved = kept.ranked[0]
        products.removeAll { $0.id == moved }
    default:
        moved = kept.ranked[0]
        products[products.firstIndex { $0.id == moved }!].inStock = false
    }
    let second = pre.run(products: products, outfits: day1.catalog.outfits, previous: first.state)
    let full = pre.run(products: products, outfits: day1.catalog.outfits, previous: nil)
    #expect(second.output == full.output)
    #expect(second.stats.patchedAnchorIDs.contains(anchor.id))
    #expect(!second.stats.recomputedAnchorIDs.contains(anchor.id))
    let after = second.state.anchors[anchor.id]!.retrieved["bottom"]!
    #expect(after.candidates.contains(moved) == (kind == "new"))
    #expect(after.candidates == full.state.anchors[anchor.id]!.retrieved["bottom"]!.candidates)
    // Far fewer anchors than the catalog are touched by one product.
    #expect(second.stats.anchorsRecomputed + second.stats.anchorsPatched < products.count / 2)
}

/// Day 2 for the pipeline: the evolved products, except that outfits and the products
/// in them stay as on day 1, so the retrained model is the same model.
private func pipelineDays() throws -> (Catalog, Catalog) {
    let day1 = try generated(products: 300, outfits: 30, seed: 11)
    var day2 = try SampleCatalogGenerator(config: day1.config, workers: 1).evolve(day1, changeFraction: 0.1, seed: 5)
    let members = Set(day1.catalog.outfits.flatMap(\.items))
    let old = Dictionary(uniqueKeysWithValues: day1.catalog.products.map { ($0.id, $0) })
    var products = day2.catalog.products.filter { !members.contains($0.id) }
    products += day1.catalog.products.filter { members.contains($0.id) }
    day2.catalog.products = products.sorted { $0.id < $1.id }
    day2.catalog.outfits = day1.catalog.outfits
    day2.catalog.feedback = day1.catalog.feedback.filter { old[$0.anchor] != nil && old[$0.item] != nil }
    func strip(_ c: Catalog) -> Catalog {
        var c = c
        c.products = c.products.map { var p = $0; p.images = []; return p }
        return c
    }
    return (strip(day1.catalog), strip(day2.catalog))
}

@Test func anIncrementalNightlyRunPublishesWhatAFullRunWould() async throws {
    let (day1, day2) = try pipelineDays()
    // ~30 products per slot: a small M so cutoffs, not short pools, decide.
    func small(_ f: inout Fixture) {
        f.job.recommend.retrievalM = 10
        f.job.recommend.complementaryK = 5
        f.job.recommend.fitbK = 5
    }
    var a = try Fixture()
    small(&a)
    _ = try a.write(day1, as: "acme-1.tar")
    let first = await a.run()
    #expect(first.report.status == .succeeded, "\(first.report.message)")
    #expect(first.report.precompute?.mode == "full")
    #expect(first.report.precompute?.fullReason == "no previous results")
    _ = try a.write(day2, as: "acme-2.tar")
    let second = await a.run()
    #expect(second.report.status == .succeeded, "\(second.report.message)")
    let pc = try #require(second.report.precompute)
    #expect(pc.mode == "incremental", "\(pc.fullReason ?? "")")
    #expect(pc.anchorsRecomputed > 0 && pc.anchorsRecomputed < day2.products.count / 2)
    #expect(pc.anchorReasons["new product", default: 0] > 0)
    // The report counts the lists patched in place, apart from the anchors recomputed.
    #expect(pc.listsPatched > 0 && pc.anchorsPatched > 0)
    #expect(pc.listsRescored + pc.listsRewalked <= pc.listsPatched)
    #expect(pc.anchorsRecomputed + pc.anchorsPatched <= day2.products.count)

    var b = try Fixture()
    small(&b)
    _ = try b.write(day2, as: "acme-2.tar")
    let fresh = await b.run()
    #expect(fresh.report.status == .succeeded, "\(fresh.report.message)")
    #expect(fresh.report.precompute?.mode == "full")

    let ra = try StoreReader(path: a.storePath), rb = try StoreReader(path: b.storePath)
    #expect(try ra.productIDs() == rb.productIDs())
    var lists = 0
    for id in try rb.productIDs() {
        let la = try ra.complementary(for: id), lb = try rb.complementary(for: id)
        #expect(la == lb, "lists of \(id) differ")
        lists += lb.count
    }
    #expect(lists > 0)
    for o in day2.outfits { #expect(try ra.fitbCandidates(outfitID: o.id) == rb.fitbCandidates(outfitID: o.id)) }
}

@Test func aStateDatabaseOfSchema2IsMigrated() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-state-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    do {
        let st = try StateStore(directory: dir)
        try st.db.execute("DROP TABLE recommend_meta; DROP TABLE recommend_inputs; DROP TABLE recommend_anchors; DROP TABLE recommend_outfits; PRAGMA user_version = 2;")
    }
    let st = try StateStore(directory: dir)
    #expect(try st.db.pragmaInt("user_version") == 3)
    #expect(try st.precomputeState(verdicts: [:]) == nil)
}

@Test func jobFileReadsTheRecommendRules() throws {
    let c = try JobConfig.parse("""
        [recommend]
        retrieval_m = 50
        mmr_lambda = 0.5
        max_price_ratio = 4
        same_brand_only = true
        exclude_brand_pairs = [["Acme", "Globex"]]
        """)
    #expect(c.recommend.retrievalM == 50 && c.recommend.mmrLambda == 0.5 && c.recommend.maxPriceRatio == 4)
    #expect(c.recommend.sameBrandOnly && c.recommend.excludeBrandPairs == [.init("Acme", "Globex")])
    #expect(throws: LookbookError.self) { try JobConfig.parse("[recommend]\nexclude_brand_pairs = [[\"Acme\"]]") }
    #expect(throws: LookbookError.self) { try JobConfig.parse("[recommend]\nretrieval_m = 5") }
    #expect(throws: LookbookError.self) { try JobConfig.parse("[recommend]\nmmr_lambda = 2") }
    // The prior source's depth: 400 unless set, 0 turns it off, negative is refused.
    #expect(try JobConfig.parse("[recommend]\nretrieval_m = 50").recommend.retrievalPriorM == 400)
    #expect(try JobConfig.parse("[recommend]\nretrieval_prior_m = 0").recommend.retrievalPriorM == 0)
    #expect(try JobConfig.parse("[recommend]\nretrieval_prior_m = 150").recommend.retrievalPriorM == 150)
    #expect(throws: LookbookError.self) { try JobConfig.parse("[recommend]\nretrieval_prior_m = -1") }
}
