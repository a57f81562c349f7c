import Foundation
import LookbookCore
import Testing
@testable import Evaluation

/// Whether a product was seen in a train outfit must say nothing about the label: every
/// FITB candidate and every compatibility item comes from outside the train outfits.
@Suite struct QuestionLeakTests {
    let catalog = Fixtures.catalog(outfits: 60)

    @Test func negativesAndFakeItemsAreNeverTrainOutfitProducts() {
        let q = QuestionMaker(holdoutFraction: 0.25, seed: 9).make(from: catalog)
        let seen = Set(q.train.outfits.flatMap(\.items))
        #expect(!seen.isEmpty)
        #expect(q.fitb.count == 15 && q.compat.count == 30)
        for question in q.fitb { #expect(question.candidates.allSatisfy { !seen.contains($0) }) }
        for question in q.compat { #expect(question.items.allSatisfy { !seen.contains($0) }) }
        #expect(q.diagnostics.filter { $0.code == "too-few-negatives" }.isEmpty)
    }

    /// A scorer that knows the train outfits and prefers the unseen candidate: with
    /// every candidate unseen it has nothing to go on, and ties share the credit.
    @Test func recognisingTrainItemsDoesNotAnswerQuestions() {
        let q = QuestionMaker(holdoutFraction: 0.25, seed: 9).make(from: catalog)
        let seen = Set(q.train.outfits.flatMap(\.items))
        var credit = 0.0
        for (question, key) in zip(q.fitb, q.fitbKeys) {
            let scores = question.candidates.map { seen.contains($0) ? 0.0 : 1.0 }
            let best = scores.max()!
            let winners = scores.indices.filter { scores[$0] == best }
            if winners.contains(key.answer) { credit += 1 / Double(winners.count) }
        }
        #expect(abs(credit / Double(q.fitb.count) - 0.25) < 1e-9)
    }

    /// Too few products outside the train outfits: no question, and a diagnostic says why.
    @Test func tooFewUnseenProductsIsDiagnosed() {
        // 3 held-out outfits: per category 2 unseen products besides the outfit's own, 3 needed.
        let q0 = QuestionMaker(holdoutFraction: 0.05, seed: 9).make(from: catalog)
        #expect(q0.heldOutOutfitIDs.count == 3)
        #expect(q0.fitb.isEmpty)
        #expect(q0.diagnostics.contains { $0.code == "too-few-negatives" && $0.reason.contains("outside the train outfits") })
    }
}
