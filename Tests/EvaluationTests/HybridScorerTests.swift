import Foundation
import LookbookCore
import StyleModel
import Testing
@testable import Evaluation

/// The default model of `lookbook train`: PPMI-SVD plus a StyleLM, each over its spread.
@Suite struct HybridScorerTests {
    let directory: String
    let catalog: Catalog
    let questions: QuestionMaker.Questions
    let ppmi: PPMISVDScorer
    let stylelm: StyleLMScorer

    /// One tiny bag-head StyleLM and PPMI-SVD on the fixture's train outfits, trained once
    /// for the suite (a StyleLM takes seconds even tiny); every test gets a copy.
    static let trained = Result { try HybridScorerTests(training: ()) }

    init() throws { self = try Self.trained.get() }

    private init(training: Void) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-hybrid-\(UUID().uuidString)").path
        catalog = Fixtures.catalog(outfits: 60)
        questions = QuestionMaker(holdoutFraction: 0.25, seed: 2).make(from: catalog)
        var recipe = StyleLMRecipe.tiny.with(head: .bag)
        recipe.pretraining.epochs = 1
        recipe.fineTuning.epochs = 1
        _ = try StyleLMTraining.train(OutfitCorpus(products: questions.train.products, outfits: questions.train.outfits, format: recipe.itemText),
                                      recipe: recipe, out: URL(fileURLWithPath: directory))
        ppmi = PPMISVDScorer.train(questions.train)
        stylelm = StyleLMScorer(try StyleLMScoring(directory: URL(fileURLWithPath: directory)))
    }

    func content(_ id: String) -> Product { ContentView.of(catalog.products.first { $0.id == id }!) }

    /// Every candidate's hybrid score is the two models' scores, each over its scale, the
    /// StyleLM's times the weight; with weight 0 it ranks as PPMI-SVD alone.
    @Test func scoresCombineTheTwoModelsOverTheirSpreads() throws {
        #expect(stylelm.scoring.options.method == .bagOfWords)
        let file = HybridModelFile(weight: 0.3, ppmiScale: 0.2, stylelmScale: 0.5, calibrationQuestions: 1)
        let hybrid = HybridScorer(ppmi: ppmi, stylelm: stylelm, file: file)
        let flat = HybridScorer(ppmi: ppmi, stylelm: stylelm, file: HybridModelFile(weight: 0, ppmiScale: 0.2, stylelmScale: 0.5, calibrationQuestions: 1))
        #expect(!questions.fitb.isEmpty)
        for q in questions.fitb.prefix(10) {
            let context = q.context.map(content), candidates = q.candidates.map(content)
            let a = ppmi.scores(context: context.map(ppmi.encode), candidates: candidates.map(ppmi.encode))
            let b = stylelm.scores(context: context.map(stylelm.encode), candidates: candidates.map(stylelm.encode))
            let h = hybrid.scores(context: context.map(hybrid.encode), candidates: candidates.map(hybrid.encode))
            for i in candidates.indices {
                #expect(abs(h[i] - (a[i] / 0.2 + 0.3 * b[i] / 0.5)) < 1e-9)
            }
            let f = flat.scores(context: context.map(flat.encode), candidates: candidates.map(flat.encode))
            #expect(f == a.map { $0 / 0.2 })
        }
        let outfit = questions.compat.first!.items.map(content)
        let expected = ppmi.compatibility(outfit.map(ppmi.encode)) / 0.2 + 0.3 * stylelm.compatibility(outfit.map(stylelm.encode)) / 0.5
        #expect(abs(hybrid.compatibility(outfit.map(hybrid.encode)) - expected) < 1e-9)
    }

    /// With the outfit-structure model (what `lookbook train` writes now) its score is added
    /// to the sum, for questions and whole outfits; a directory's hybrid.json naming it loads it.
    @Test func theStructureModelJoinsTheSum() throws {
        let structure = StructureScorer.train(questions.train)
        let file = HybridModelFile(weight: 0.3, ppmiScale: 0.2, stylelmScale: 0.5, calibrationQuestions: 1)
        let without = HybridScorer(ppmi: ppmi, stylelm: stylelm, file: file)
        let with = HybridScorer(ppmi: ppmi, stylelm: stylelm, structure: structure, file: file)
        for q in questions.fitb.prefix(5) {
            let context = q.context.map(content), candidates = q.candidates.map(content)
            let a = without.scores(context: context.map(without.encode), candidates: candidates.map(without.encode))
            let c = structure.scores(context: context.map(structure.encode), candidates: candidates.map(structure.encode))
            let h = with.scores(context: context.map(with.encode), candidates: candidates.map(with.encode))
            for i in candidates.indices { #expect(abs(h[i] - (a[i] + c[i])) < 1e-9) }
        }
        let outfit = questions.compat.first!.items.map(content)
        #expect(abs(with.compatibility(outfit.map(with.encode))
            - without.compatibility(outfit.map(without.encode)) - structure.compatibility(outfit.map(structure.encode))) < 1e-9)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-hybrid-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: self.directory, toPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try BaselineModelFile.write(.ppmiSVD, train: questions.train, to: directory + "/" + HybridModelFile.ppmiDirectory)
        var named = file
        named.structure = HybridModelFile.structureDirectory
        try named.write(to: directory)
        #expect(throws: LookbookError.self) { try HybridModelFile.load(from: directory) }  // named but missing
        try BaselineModelFile.write(.structure, train: questions.train, to: directory + "/" + HybridModelFile.structureDirectory)
        let loaded = try HybridModelFile.load(from: directory)
        #expect(loaded.structure?.model == structure.model)
        #expect(loaded.name.contains("structure"))
        try file.write(to: directory)  // a hybrid.json from before the structure model: loads without it
        #expect(try HybridModelFile.load(from: directory).structure == nil)
    }

    /// The scales are the spread of each model's scores on the catalog's own outfits: the
    /// same for the same seed, positive, and a catalog without outfits is refused.
    @Test func calibrationMeasuresEachModelsSpreadOnTheTrainingOutfits() throws {
        let one = try HybridModelFile.calibrate(ppmi: ppmi, stylelm: stylelm, catalog: questions.train, questions: 40, seed: 1)
        let again = try HybridModelFile.calibrate(ppmi: ppmi, stylelm: stylelm, catalog: questions.train, questions: 40, seed: 1)
        let other = try HybridModelFile.calibrate(ppmi: ppmi, stylelm: stylelm, catalog: questions.train, questions: 40, seed: 2)
        #expect(one == again && one != other)
        #expect(one.calibrationQuestions == 40 && one.weight == HybridModelFile.defaultWeight)
        #expect(one.ppmiScale > 0 && one.stylelmScale > 0)
        // Scaling a model's scores scales its spread: PPMI-SVD cosines are at most 1 in size.
        #expect(one.ppmiScale < 1)
        var empty = questions.train
        empty.outfits = []
        #expect(throws: LookbookError.self) {
            try HybridModelFile.calibrate(ppmi: ppmi, stylelm: stylelm, catalog: empty)
        }
    }

    /// A hybrid.json that cannot combine anything is refused with a reason, and one whose
    /// PPMI-SVD half is missing says to train again.
    @Test func aBrokenHybridFileIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-hybrid-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: self.directory, toPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try HybridModelFile(weight: 0.3, ppmiScale: 0, stylelmScale: 1, calibrationQuestions: 3).write(to: directory)
        #expect(HybridModelFile.exists(in: directory))
        #expect { try HybridModelFile.load(from: directory) } throws: { error in
            (error as? LookbookError)?.message.contains("not a usable hybrid model file") == true
        }
        try HybridModelFile(weight: 0.3, ppmiScale: 1, stylelmScale: 1, calibrationQuestions: 3).write(to: directory)
        #expect(throws: LookbookError.self) { try HybridModelFile.load(from: directory) }
        try BaselineModelFile.write(.ppmiSVD, train: questions.train, to: directory + "/" + HybridModelFile.ppmiDirectory)
        let loaded = try HybridModelFile.load(from: directory)
        #expect(loaded.ppmi.model.version == ppmi.model.version)
        #expect(loaded.name.hasPrefix("hybrid(ppmi-svd"))
    }

    /// Questions with negatives of any category mix slots: each candidate is scored under
    /// the blank of its own slot, as if it were asked alone, so its score does not depend on
    /// which candidate comes first (it once took the first candidate's slot for all).
    @Test func eachCandidateFillsTheBlankOfItsOwnSlot() throws {
        let any = QuestionMaker(holdoutFraction: 0.25, seed: 2, negativePool: .any).make(from: catalog)
        var mixed = 0
        for q in any.fitb.prefix(20) {
            let context = q.context.map(content).map(stylelm.encode), candidates = q.candidates.map(content).map(stylelm.encode)
            guard Set(candidates.map(\.slot)).count > 1 else { continue }
            mixed += 1
            let together = stylelm.scores(context: context, candidates: candidates)
            for (i, candidate) in candidates.enumerated() {
                let alone = stylelm.scoring.scores(context: context, slot: candidate.slot, candidates: [candidate])[0]
                #expect(abs(together[i] - alone) < 1e-9, "candidate \(i) of \(q.id)")
            }
            let reversed = stylelm.scores(context: context, candidates: candidates.reversed())
            #expect(Array(reversed.reversed()) == together)
        }
        #expect(mixed > 0, "the fixture's any-category questions should mix slots")
    }
}
