import Foundation
import LookbookCore
import Testing
@testable import Evaluation

/// The baselines on the real Polyvore data (skipped where `../shared/data` is absent).
/// Prints the table that `EvalReport` renders; set `LOOKBOOK_REPORT_DIR` to also keep
/// report.md/svg/json there.
@Suite(.serialized) struct PolyvoreBaselineTests {
    static let seed: UInt64 = 1
    static let holdout = 0.2

    static func load(_ level: PolyvoreImporter.CategoryLevel) -> (catalog: Catalog, questions: QuestionMaker.Questions)? {
        guard let dir = Fixtures.polyvoreDirectory() else { return nil }
        guard let r = try? PolyvoreImporter.importFiles(
            outfits: [dir + "/maryland_valid_no_dup.json", dir + "/mcn_train_subset.json"],
            categories: dir + "/category_id.txt", categoryTypes: dir + "/category_type.tsv", categoryLevel: level) else { return nil }
        return (r.catalog, QuestionMaker(holdoutFraction: holdout, seed: seed).make(from: r.catalog))
    }

    static let data = load(.fine)

    @Test(.enabled(if: Fixtures.polyvoreDirectory() != nil, "../shared/data/polyvore is absent: the real Polyvore data is not redistributed"), arguments: PolyvoreImporter.CategoryLevel.allCases)
    func baselineTable(level: PolyvoreImporter.CategoryLevel) throws {
        guard let (catalog, questions) = level == .fine ? Self.data : Self.load(level) else {
            Issue.record("the Polyvore data could not be imported"); return
        }
        let options = EvalOptions(bootstrap: Bootstrap(resamples: 1000, seed: 0))
        let r = BaselineSuite.run(catalog: catalog, questions: questions, seed: 0, options: options)
        #expect(r.diagnostics.isEmpty)
        var sizes: [String: Int] = [:]
        for p in catalog.products { sizes[p.category, default: 0] += 1 }
        let pools = questions.retrieval.map { sizes[$0.category]! }.sorted()
        let report = EvalReport(title: "Baselines on Polyvore (held-out split, \(level.rawValue) categories)", results: r.results, provenance: [
            "lookbook import polyvore --outfits maryland_valid_no_dup.json --outfits mcn_train_subset.json --categories category_id.txt --category-types category_type.tsv --out polyvore" + (level == .coarse ? "  (categoryLevel: .coarse)" : ""),
            "lookbook eval make-questions --catalog polyvore --holdout \(Self.holdout) --seed \(Self.seed)  (\(questions.train.outfits.count) train outfits, \(questions.heldOutOutfitIDs.count) held out)",
            "baselines trained on the train split with seed 0; bootstrap 1,000 resamples, seed 0",
            "retrieval pools: median \(pools[pools.count / 2]), mean \(pools.reduce(0, +) / pools.count), max \(pools.last!) products",
            "swift test --filter PolyvoreBaselineTests  (EvaluationTests/PolyvoreBaselineTests.swift, argument \(level.rawValue))",
        ])
        print(report.markdown())
        if let dir = ProcessInfo.processInfo.environment["LOOKBOOK_REPORT_DIR"] { try report.write(to: dir + "/" + level.rawValue) }
        let svd = try #require(report.estimate(model: "ppmi-svd", metric: MetricName.fitbAccuracy))
        let random = try #require(report.estimate(model: "random", metric: MetricName.fitbAccuracy))
        #expect(svd.low > random.high)
    }

    /// 2,500 FITB questions (held-out questions of several seeds) with the text
    /// baseline: prints the time; no timed assertion.
    @Test(.enabled(if: Fixtures.polyvoreDirectory() != nil, "../shared/data/polyvore is absent: the real Polyvore data is not redistributed")) func fitbSpeed() throws {
        guard let (catalog, _) = Self.data else {
            Issue.record("the Polyvore data could not be imported"); return
        }
        var fitb: [FITBQuestion] = [], keys: [FITBKey] = []
        var s: UInt64 = 100
        while fitb.count < 2500 {
            let q = QuestionMaker(holdoutFraction: 1, seed: s).make(from: catalog)
            for (question, key) in zip(q.fitb, q.fitbKeys) where fitb.count < 2500 {
                let id = "s\(s)-" + question.id
                fitb.append(FITBQuestion(id: id, context: question.context, candidates: question.candidates))
                keys.append(FITBKey(id: id, answer: key.answer))
            }
            s += 1
        }
        let train = QuestionMaker(holdoutFraction: Self.holdout, seed: Self.seed).make(from: catalog).train
        let clock = ContinuousClock()
        let start = clock.now
        let scorer = PPMISVDScorer.train(train)
        let trained = clock.now
        let r = Evaluator.evaluate(.fitb, catalog: catalog, scorer: scorer, questions: JSONLines.encode(fitb), questionsFile: "fitb.jsonl",
                                   keys: JSONLines.encode(keys), keysFile: "fitb.key.jsonl")
        let done = clock.now
        #expect(r.result.predicted == 2500)
        print("speed: trained ppmi-svd in \(trained - start); predicted 2,500 FITB questions in \(String(format: "%.3f", r.result.seconds ?? 0)) s; with reading, scoring and 1,000 bootstrap resamples \(done - trained)")
    }
}
