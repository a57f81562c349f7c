import Evaluation
import Foundation
import LookbookCore
import StyleModel
import Testing
import TestSupport
@testable import Pipeline

/// The promotion gate: which outfits it holds out, the questions it asks, its rule, and
/// that it promotes a genuinely better model.
@Suite struct ModelGateTests {
    @Test func heldOutOutfitsAreAStableHashedShareNeverTrainedOn() throws {
        let catalog = try ModelFixtures.catalog(products: 200, outfits: 200)
        let split = ModelGate.split(catalog.outfits, products: catalog.products)
        let held = Set(split.heldOut.map(\.id)), trained = Set(split.training.map(\.id))
        #expect(held.isDisjoint(with: trained))
        #expect(held.count + trained.count == catalog.outfits.count)
        #expect((20...40).contains(held.count), "\(held.count) of 200 held out")
        // The same outfits, in another order, and a catalog with more outfits: an
        // outfit keeps its side.
        #expect(Set(ModelGate.split(catalog.outfits.reversed(), products: catalog.products).heldOut.map(\.id)) == held)
        let larger = try ModelFixtures.catalog(products: 200, outfits: 260)
        let largerHeld = Set(ModelGate.split(larger.outfits, products: larger.products).heldOut.map(\.id))
        #expect(held.isSubset(of: largerHeld))
        #expect(largerHeld.subtracting(held).allSatisfy { id in !catalog.outfits.contains { $0.id == id } })
    }

    @Test(arguments: [(4, 2), (10, 5), (12, 5)])
    func aSmallCatalogHoldsOutAHandfulButNeverMoreThanHalf(outfits: Int, held: Int) throws {
        let catalog = try ModelFixtures.catalog(products: 80, outfits: outfits)
        let usable = catalog.outfits.filter { $0.items.count >= 2 }.count
        #expect(usable == outfits)
        let split = ModelGate.split(catalog.outfits, products: catalog.products)
        #expect(split.heldOut.count == held)
    }

    @Test func questionsAskForEachItemAmongThreeOfItsSlot() throws {
        let catalog = try ModelFixtures.catalog(products: 200, outfits: 60)
        let split = ModelGate.split(catalog.outfits, products: catalog.products)
        let questions = ModelGate.questions(heldOut: split.heldOut, training: split.training, products: catalog.products)
        #expect(questions == ModelGate.questions(heldOut: split.heldOut.reversed(), training: split.training.reversed(),
                                                 products: catalog.products.reversed()))
        #expect(questions.count == split.heldOut.map(\.items.count).reduce(0, +))
        let byID = Dictionary(uniqueKeysWithValues: catalog.products.map { ($0.id, ItemText($0, format: .words)) })
        let words = { (p: Product) in byID[p.id]! }
        let trained = Set(split.training.flatMap(\.items).compactMap { byID[$0] })
        for q in questions {
            let outfit = try #require(split.heldOut.first { $0.id == q.outfit })
            let texts = Set(outfit.items.map { byID[$0]!.text })
            #expect(q.candidates.count == 1 + ModelGate.distractors)
            #expect(q.candidates.allSatisfy { $0.slot == q.slot })
            #expect(outfit.items.contains(q.candidates[0].id) && q.context.count == outfit.items.count - 1)
            #expect(Set(q.context.map(\.id) + [q.candidates[0].id]) == Set(outfit.items))
            #expect(q.candidates.dropFirst().allSatisfy { !texts.contains(words($0).text) })
            #expect(q.candidates.dropFirst().allSatisfy { !trained.contains(words($0)) }, "a distractor from a training outfit")
            #expect(Set(q.candidates.map(words)).count == q.candidates.count)
        }
    }

    /// The rule on known credits: 10 outfits of 3 questions.
    @Test(arguments: [
        ([1.0, 1, 1], [0.0, 0, 0], true),    // better everywhere
        ([1.0, 0, 0], [1.0, 0, 0], false),   // the same: difference 0, lower bound not above 0
        ([0.0, 0, 0], [1.0, 1, 0], false),   // worse
    ])
    func theGatePromotesOnlyAboveNoise(candidate: [Double], current: [Double], promote: Bool) {
        let questions = (0..<30).map { i in
            ModelGate.Question(outfit: "O\(i / 3)", context: [], slot: .top, candidates: [])
        }
        let d = ModelGate.decide(candidate: ("new", (0..<10).flatMap { _ in candidate }),
                                 current: ("old", (0..<10).flatMap { _ in current }), questions: questions)
        #expect(d.promote == promote)
        #expect(abs(d.difference - (candidate.reduce(0, +) - current.reduce(0, +)) / 3) < 1e-12)
        #expect(d.low <= d.difference && d.difference <= d.high)
        #expect(d.candidate.questions == 30 && d.candidate.outfits == 10)
        #expect(d.reason.contains(String(format: "%.3f", d.candidate.fitb)) && d.reason.contains(String(format: "%.3f", d.current.fitb)))
        #expect(d.reason.hasPrefix(promote ? "promoted new" : "kept old"))
    }

    @Test func noQuestionsKeepTheCurrentModel() {
        let d = ModelGate.decide(candidate: ("new", []), current: ("old", []), questions: [])
        #expect(!d.promote)
        #expect(d.reason.contains("no held-out questions"))
        // Every figure encodes: JSON has no NaN, and the run report and registry are JSON.
        #expect(d.candidate.questions == 0 && d.difference == 0)
        #expect(throws: Never.self) { try JSONEncoder().encode(d) }
    }

    /// A catalog whose every product is in some outfit still gets questions: the
    /// distractors then come from training outfits.
    @Test func aCatalogWithEveryItemInAnOutfitStillGetsQuestions() throws {
        let catalog = try ModelFixtures.catalog(products: 200, outfits: 60)
        let inOutfits = Set(catalog.outfits.flatMap(\.items))
        let products = catalog.products.filter { inOutfits.contains($0.id) }
        let split = ModelGate.split(catalog.outfits, products: products)
        let questions = ModelGate.questions(heldOut: split.heldOut, training: split.training, products: products)
        #expect(!questions.isEmpty)
        #expect(questions.allSatisfy { $0.candidates.count >= 2 })
    }

    /// A supervised model against the untrained network it started from: the gate
    /// promotes it, the registry makes it current and keeps it.
    @Test func aGenuinelyBetterModelIsPromoted() throws {
        let state = try TempDirectory("lookbook-gate")
        let catalog = try ModelFixtures.catalog(products: 200, outfits: 80)
        let split = ModelGate.split(catalog.outfits, products: catalog.products)
        let untrained = try ModelFixtures.model(catalog, outfits: split.training, epochs: 0)
        let trained = try ModelFixtures.model(catalog, outfits: split.training, epochs: 2)
        let registry = ModelRegistry(stateDirectory: state.path)
        let current = ModelFixtures.entry(untrained.version)
        try registry.register(current, model: untrained, makeCurrent: true)

        var job = JobConfig()
        job.state = state.path
        var entry = ModelFixtures.entry(trained.version, parent: untrained.version)
        let choice = try ModelStage(job: job, events: { _ in }).gate(
            trained, entry: &entry, registry: registry, current: current,
            questions: ModelGate.questions(heldOut: split.heldOut, training: split.training, products: catalog.products), source: "trained")
        let gate = try #require(choice.decision?.gate)
        #expect(choice.decision?.decision == "promoted", "\(gate.reason)")
        #expect(gate.candidate.fitb > gate.current.fitb + 0.1)
        #expect(gate.low > 0)
        #expect(choice.scoring.version == trained.version && choice.source == "trained")
        let contents = try registry.read()
        #expect(contents.current == trained.version)
        #expect(contents.entry(trained.version)?.metrics == gate.candidate)
        #expect(StyleLMScoring.isModelDirectory(registry.modelDirectory(trained.version)))
    }

    /// The questions are products; each model reads them in its own text format, so a
    /// model that puts kinds before words and one that reads words alone answer the same
    /// questions.
    @Test func eachModelReadsTheQuestionsInItsOwnFormat() throws {
        let catalog = try ModelFixtures.catalog(products: 120, outfits: 40)
        let split = ModelGate.split(catalog.outfits, products: catalog.products)
        let questions = ModelGate.questions(heldOut: split.heldOut, training: split.training, products: catalog.products)
        try #require(!questions.isEmpty)
        let kinds = try ModelFixtures.model(catalog, outfits: split.training, epochs: 1, format: .kindAndWords).scoring()
        let words = try ModelFixtures.model(catalog, outfits: split.training, epochs: 1, format: .words).scoring()
        #expect(kinds.prompts.itemFormat == .kindAndWords && words.prompts.itemFormat == .words)
        func credits(_ scoring: StyleLMScoring, _ format: ItemText.Format) -> [Double] {
            questions.map { q in
                Metrics.fitbCredit(scores: scoring.scores(context: q.context.map { ItemText($0, format: format) }, slot: q.slot,
                                                          candidates: q.candidates.map { ItemText($0, format: format) }), answer: 0)
            }
        }
        #expect(ModelGate.credits(kinds, questions) == credits(kinds, .kindAndWords))
        #expect(ModelGate.credits(words, questions) == credits(words, .words))
        // Read in the other format, the kind model answers differently somewhere: the format matters.
        #expect(ModelGate.credits(kinds, questions) != credits(kinds, .words))
    }
}
