import Foundation
import LookbookCore
import Testing
@testable import Evaluation

/// The model sees content, never ids: renaming every product and outfit id and
/// shuffling every row must leave every metric exactly as it was.
@Suite struct IdBlindnessTests {
    static func renamed(_ q: QuestionMaker.Questions, _ full: Catalog, seed: UInt64)
        -> (catalog: Catalog, questions: QuestionMaker.Questions) {
        var rng = SplitMix64(seed: seed)
        var map: [String: String] = [:]
        for p in full.products { map[p.id] = "item-\(rng.next() % 1_000_000_000)-\(map.count)" }
        func r(_ id: String) -> String { map[id]! }
        func rename(_ c: Catalog) -> Catalog {
            var c = c
            c.products = c.products.map { var p = $0; p.id = r(p.id); return p }
            c.outfits = c.outfits.map { var o = $0; o.id = "look-\(rng.next() % 1_000_000)"; o.items = o.items.map(r); return o }
            rng.shuffle(&c.products); rng.shuffle(&c.outfits)
            return c
        }
        var out = q
        out.train = rename(q.train)
        out.fitb = q.fitb.map { FITBQuestion(id: $0.id, context: $0.context.map(r), candidates: $0.candidates.map(r)) }
        out.compat = q.compat.map { CompatQuestion(id: $0.id, items: $0.items.map(r)) }
        out.retrieval = q.retrieval.map { RetrievalQuestion(id: $0.id, context: $0.context.map(r), category: $0.category) }
        out.retrievalKeys = q.retrievalKeys.map { RetrievalKey(id: $0.id, answer: r($0.answer)) }
        return (rename(full), out)
    }

    @Test(arguments: [Baseline.ppmiSVD, .popularity, .random])
    func renamingIdsAndShufflingRowsChangesNothing(baseline: Baseline) {
        let full = Fixtures.catalog(outfits: 90)
        let q = QuestionMaker(holdoutFraction: 0.3, seed: 4).make(from: full)
        let options = EvalOptions(bootstrap: Bootstrap(resamples: 200, seed: 3))
        let before = BaselineSuite.evaluateAll(baseline.train(on: q.train, seed: 2), catalog: full, questions: q, options: options)
        let (renamedCatalog, renamedQuestions) = Self.renamed(q, full, seed: 77)
        let after = BaselineSuite.evaluateAll(baseline.train(on: renamedQuestions.train, seed: 2), catalog: renamedCatalog,
                                              questions: renamedQuestions, options: options)
        #expect(before.diagnostics.isEmpty && after.diagnostics.isEmpty)
        #expect(before.results.map(\.metrics) == after.results.map(\.metrics))
    }

    /// The text baseline learns the looks of the fixture: far above chance.
    @Test func textBaselineLearnsTheFixtureLooks() {
        let full = Fixtures.catalog(outfits: 90)
        let q = QuestionMaker(holdoutFraction: 0.3, seed: 4).make(from: full)
        let r = BaselineSuite.evaluateAll(Baseline.ppmiSVD.train(on: q.train), catalog: full, questions: q,
                                          options: EvalOptions(bootstrap: Bootstrap(resamples: 100)))
        #expect(r.results[0].metric(MetricName.fitbAccuracy)!.value > 0.6)
        #expect(r.results[1].metric(MetricName.auc)!.value > 0.8)
    }
}
