import Foundation
import LookbookCore
import LookupStore
import StyleModel
import Testing
@testable import Pipeline

/// The nightly run and StyleLM: trains one when asked and none exists, reuses it the
/// next night, takes a model trained elsewhere as is, and says which it used.
@Suite(.serialized) struct ModelStageTests {
    @Test func aRunTrainsStyleLMWhenAskedAndTheNextRunReusesIt() async throws {
        var f = try Fixture()
        f.job.modelTraining.train = true
        f.job.modelTraining.size = .tiny
        f.job.modelTraining.pretrainEpochs = 2
        f.job.modelTraining.sftEpochs = 2
        _ = try f.write(smallCatalog(), as: "acme-1.tar.lz4")
        let first = await f.run()
        #expect(first.report.status == .succeeded, "\(first.report.message)")
        #expect(first.report.model?.hasPrefix("stylelm-") == true, "\(first.report.model ?? "nil")")
        #expect(first.report.modelSource?.hasPrefix("trained:") == true)
        // The model registry keeps it as a version; no training is left in progress.
        let models = URL(fileURLWithPath: f.job.state).appendingPathComponent("models")
        #expect(StyleLMScoring.isModelDirectory(models.appendingPathComponent("versions/\(first.report.model ?? "")")))
        #expect(!FileManager.default.fileExists(atPath: models.appendingPathComponent("stylelm.checkpoint").path))

        // The store's lists come from the model: its version is recorded and the
        // reasons are the model's own description of the missing item.
        let reader = try StoreReader(path: f.storePath)
        #expect(try reader.meta().modelVersion == first.report.model)
        let lists = try reader.complementary(for: "T0")
        #expect(!lists.isEmpty)
        #expect(lists.flatMap(\.items).contains { $0.reason.hasPrefix("the look calls for:") })

        _ = try f.write(smallCatalog(snapshot: "2026-11-29T02:00:00Z"), as: "acme-2.tar.lz4")
        let second = await f.run()
        #expect(second.report.status == .succeeded, "\(second.report.message)")
        #expect(second.report.model == first.report.model)
        #expect(second.report.modelSource?.hasPrefix("state:") == true)
    }

    /// A retailer without outfits runs with a model trained on another catalog.
    @Test func aModelFromTheJobIsUsedAsIs() async throws {
        let modelDir = FileManager.default.temporaryDirectory.appendingPathComponent("stylelm-job-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: modelDir) }
        let trainedOn = smallCatalog()
        var recipe = StyleLMRecipe.tiny
        recipe.pretraining.epochs = 1
        recipe.fineTuning.epochs = 1
        _ = try StyleLMTraining.train(OutfitCorpus(products: trainedOn.products, outfits: trainedOn.outfits, format: recipe.itemText), recipe: recipe, out: modelDir)

        var f = try Fixture()
        f.job.model = modelDir.path
        var noOutfits = smallCatalog()
        noOutfits.outfits = []
        _ = try f.write(noOutfits, as: "acme-1.tar.lz4")
        let outcome = await f.run()
        #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
        #expect(outcome.report.modelSource == "job: \(modelDir.path)")
        #expect(try StoreReader(path: f.storePath).complementary(for: "T1").isEmpty == false)
    }

    @Test func aJobModelThatIsNoModelFailsTheRunAndKeepsTheStore() async throws {
        var f = try Fixture()
        _ = try f.write(smallCatalog(), as: "acme-1.tar.lz4")
        #expect(await f.run().report.status == .succeeded)
        let before = f.storeBytes()
        f.job.model = f.root.path  // a directory, but no model in it
        _ = try f.write(smallCatalog(snapshot: "2026-11-29T02:00:00Z"), as: "acme-2.tar.lz4")
        let outcome = await f.run()
        #expect(outcome.report.status == .failed)
        #expect(outcome.report.message.contains("is not a StyleLM model directory"))
        #expect(f.storeBytes() == before)
    }

    @Test func modelSettingsComeFromTheJobFile() throws {
        let job = try JobConfig.parse("""
            [model]
            train = true
            size = "small"
            time_budget_seconds = 600
            sft_epochs = 3
            """)
        #expect(job.modelTraining.train && job.modelTraining.size == .small)
        #expect(job.modelTraining.timeBudgetSeconds == 600 && job.modelTraining.sftEpochs == 3)
        #expect(throws: LookbookError.self) { try JobConfig.parse("[model]\nsize = \"huge\"") }
        #expect(job.modelTraining.head == .sequence && ModelStage.recipe(job.modelTraining).bagOfWordsWeight == 0)
        let bag = try JobConfig.parse("[model]\ntrain = true\nsize = \"tiny\"\nhead = \"bag\"\nsft_epochs = 1")
        let recipe = ModelStage.recipe(bag.modelTraining)
        #expect(recipe.bagOfWordsWeight == 1 && recipe.sequenceWeight == 0 && recipe.lora == nil)
        #expect(recipe.scoring.method == .bagOfWords && recipe.scoring.calibration == .contextFree)
        #expect(recipe.hiddenSize == StyleLMRecipe.tiny.hiddenSize && recipe.fineTuning.epochs == 1)  // the job's epochs win
        #expect(throws: LookbookError.self) { try JobConfig.parse("[model]\nhead = \"words\"") }
        #expect(throws: LookbookError.self) { try JobConfig.parse("[model]\nepochs = 3") }
    }
}

/// A product no slot rule knows, and a slot with nothing in stock, are named in the
/// run's quarantine report while the store is published as usual.
@Test func coverageProblemsReachTheQuarantineReport() async throws {
    let f = try Fixture()
    var catalog = smallCatalog(extra: [Product(id: "X1", title: "Ceramic Vase", category: "Home > Decor")])
    for i in catalog.products.indices where catalog.products[i].slot == .shoes || catalog.products[i].id.hasPrefix("S") {
        catalog.products[i].inStock = false
    }
    _ = try f.write(catalog, as: "acme-1.tar.lz4")
    let outcome = await f.run()
    #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
    let path = try #require(outcome.report.quarantineReport)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("product X1"))
    #expect(text.contains("none of the 6 products of slot shoes is in stock"))
}
