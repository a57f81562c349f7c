import Foundation
import LookbookCore
import Testing
@testable import Evaluation

@Suite struct QuestionMakerTests {
    let catalog = Fixtures.catalog(outfits: 60)
    var made: QuestionMaker.Questions { QuestionMaker(holdoutFraction: 0.25, seed: 9).make(from: catalog) }

    @Test func deterministic() {
        let a = QuestionMaker(holdoutFraction: 0.25, seed: 9).make(from: catalog)
        let b = QuestionMaker(holdoutFraction: 0.25, seed: 9).make(from: catalog)
        #expect(a.fitb == b.fitb && a.fitbKeys == b.fitbKeys)
        #expect(a.compat == b.compat && a.compatKeys == b.compatKeys)
        #expect(a.retrieval == b.retrieval && a.retrievalKeys == b.retrievalKeys)
        #expect(a.train == b.train)
    }

    @Test func rowOrderDoesNotChangeTheQuestions() {
        var shuffled = catalog
        shuffled.outfits.reverse(); shuffled.products.reverse()
        let a = made, b = QuestionMaker(holdoutFraction: 0.25, seed: 9).make(from: shuffled)
        #expect(a.heldOutOutfitIDs == b.heldOutOutfitIDs && a.fitb == b.fitb && a.fitbKeys == b.fitbKeys)
    }

    @Test func anotherSeedAnotherSplit() {
        #expect(QuestionMaker(holdoutFraction: 0.25, seed: 10).make(from: catalog).heldOutOutfitIDs != made.heldOutOutfitIDs)
    }

    @Test func holdoutSizeAndTrainCatalog() {
        let q = made
        #expect(q.heldOutOutfitIDs.count == 15)
        let trainIDs = Set(q.train.outfits.map(\.id))
        #expect(trainIDs.isDisjoint(with: q.heldOutOutfitIDs))
        #expect(trainIDs.count + q.heldOutOutfitIDs.count == catalog.outfits.count)
        #expect(q.train.products == catalog.products)
    }

    /// Checks every FITB question's shape (4 distinct candidates, the context and answer a
    /// held-out outfit, no negative from that outfit or from a train outfit) and returns
    /// each negative with its answer, as products.
    func negatives(_ q: QuestionMaker.Questions) -> [(negative: Product, answer: Product)] {
        let byID = Dictionary(uniqueKeysWithValues: catalog.products.map { ($0.id, $0) })
        let inTrain = Set(q.train.outfits.flatMap(\.items))
        var pairs: [(negative: Product, answer: Product)] = []
        for (question, key) in zip(q.fitb, q.fitbKeys) {
            #expect(question.candidates.count == 4 && Set(question.candidates).count == 4)
            let answer = question.candidates[key.answer]
            let outfit = Set(question.context + [answer])
            #expect(catalog.outfits.contains { Set($0.items) == outfit })
            for (i, c) in question.candidates.enumerated() where i != key.answer {
                #expect(!outfit.contains(c) && !inTrain.contains(c))
                pairs.append((byID[c]!, byID[answer]!))
            }
        }
        return pairs
    }

    @Test func fitbNegativesShareTheAnswersCategoryAndAreOutsideTheOutfit() {
        #expect(made.fitb.count == 15)
        for (negative, answer) in negatives(made) { #expect(negative.category == answer.category) }
    }

    @Test func answerPositionIsSpread() {
        let positions = Set(made.fitbKeys.map(\.answer))
        #expect(positions.count >= 3)
    }

    @Test func compatHasRealAndFakeOutfitsOfTheSameCategories() {
        let q = made
        let byID = Dictionary(uniqueKeysWithValues: catalog.products.map { ($0.id, $0) })
        #expect(q.compatKeys.filter { $0.label == 1 }.count == 15)
        #expect(q.compatKeys.filter { $0.label == 0 }.count == 15)
        #expect(q.compatKeys.map(\.label) != q.compatKeys.map(\.label).sorted())   // shuffled
        for (question, key) in zip(q.compat, q.compatKeys) where key.label == 0 {
            #expect(!catalog.outfits.contains { $0.items == question.items })
            #expect(question.items.map { byID[$0]!.category } == ["Tops", "Bottoms", "Shoes", "Bags"])
        }
    }

    @Test func retrievalCategoryIsTheAnswers() {
        let q = made
        let byID = Dictionary(uniqueKeysWithValues: catalog.products.map { ($0.id, $0) })
        for (question, key) in zip(q.retrieval, q.retrievalKeys) {
            #expect(byID[key.answer]!.category == question.category)
            #expect(!question.context.contains(key.answer))
        }
    }

    @Test func filesRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-q-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let maker = QuestionMaker(holdoutFraction: 0.25, seed: 9)
        let q = maker.make(from: catalog)
        try q.writeQuestions(to: dir, maker: maker)
        let back = try JSONLines.read(FITBQuestion.self, path: dir + "/fitb.jsonl")
        #expect(back.diagnostics.isEmpty && back.values.map(\.value) == q.fitb)
        let keys = try JSONLines.read(RetrievalKey.self, path: dir + "/retrieval.key.jsonl")
        #expect(keys.values.map(\.value) == q.retrievalKeys)
    }

    @Test func negativesFromAnyCategorySpanCategoriesAndStayOutOfTrainOutfits() throws {
        let maker = QuestionMaker(holdoutFraction: 0.25, seed: 9, negativePool: .any)
        let q = maker.make(from: catalog)
        let byID = Dictionary(uniqueKeysWithValues: catalog.products.map { ($0.id, $0) })
        let inTrain = Set(q.train.outfits.flatMap(\.items))
        // The split does not depend on where negatives come from.
        #expect(q.heldOutOutfitIDs == made.heldOutOutfitIDs && q.train == made.train)
        #expect(q.fitb.count == 15)
        // 45 negatives drawn from 4 equal categories: about three quarters from another one.
        #expect(negatives(q).filter { $0.negative.category != $0.answer.category }.count >= 25)
        var fakeCategories: Set<[String]> = []
        for (question, key) in zip(q.compat, q.compatKeys) where key.label == 0 {
            #expect(question.items.allSatisfy { !inTrain.contains($0) })
            fakeCategories.insert(question.items.map { byID[$0]!.category })
        }
        #expect(fakeCategories.count > 1)   // fakes no longer keep the real outfit's categories
        // split.json says where the negatives came from; files written before the option read as nil.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-q-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try q.writeQuestions(to: dir, maker: maker)
        let split = try JSONDecoder().decode(SplitRecord.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/split.json")))
        #expect(split.negativePool == .any)
        let old = #"{"seed": 1, "holdoutFraction": 0.2, "negatives": 3, "trainOutfits": 4, "heldOutOutfits": ["a"]}"#
        #expect(try JSONDecoder().decode(SplitRecord.self, from: Data(old.utf8)).negativePool == nil)
    }
}
