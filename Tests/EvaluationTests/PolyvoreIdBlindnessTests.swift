import Foundation
import LookbookCore
import Testing
@testable import Evaluation

/// The id-blindness check on the real data, where duplicate titles make ties common
/// (skipped where `../shared/data` is absent).
@Suite struct PolyvoreIdBlindnessTests {
    @Test(.enabled(if: Fixtures.polyvoreDirectory() != nil, "../shared/data/polyvore is absent: the real Polyvore data is not redistributed")) func renamingIdsAndShufflingRowsOnPolyvore() throws {
        guard let (catalog, questions) = PolyvoreBaselineTests.data else {
            Issue.record("the Polyvore data could not be imported"); return
        }
        let options = EvalOptions(bootstrap: Bootstrap(resamples: 200, seed: 5))
        let before = BaselineSuite.evaluateAll(Baseline.ppmiSVD.train(on: questions.train), catalog: catalog, questions: questions,
                                               options: options)
        let (renamedCatalog, renamedQuestions) = IdBlindnessTests.renamed(questions, catalog, seed: 99)
        #expect(renamedCatalog.products.map(\.id) != catalog.products.map(\.id))
        let after = BaselineSuite.evaluateAll(Baseline.ppmiSVD.train(on: renamedQuestions.train), catalog: renamedCatalog,
                                              questions: renamedQuestions, options: options)
        #expect(before.results.map(\.metrics) == after.results.map(\.metrics))
    }
}
