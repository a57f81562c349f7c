import CatalogGenerator
import Foundation
import LookbookCore
import StyleModel
@testable import Pipeline

/// Model-registry fixtures: generated catalogs without photos and tiny StyleLMs.
enum ModelFixtures {
    /// A generated catalog without photos (fast to write and read).
    static func catalog(products: Int = 160, outfits: Int = 64, seed: UInt64 = 11, snapshot: String = "2026-11-28T02:00:00Z",
                        feedback: Bool = false) throws -> Catalog {
        let config = SampleCatalogGenerator.Config(seed: seed, snapshot: snapshot, productCount: products, imageCount: 0,
                                                   outfitCount: outfits, includeFeedback: feedback)
        return try SampleCatalogGenerator(config: config, workers: 1).generate(renderImages: false).catalog
    }

    /// A tiny StyleLM trained on `outfits` for `epochs` passes of each stage (0: the
    /// random initial weights of `seed`).
    static func model(_ catalog: Catalog, outfits: [Outfit]? = nil, epochs: Double, seed: UInt64 = 0,
                      format: ItemText.Format = StyleLMRecipe.tiny.itemText) throws -> TunableModel {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-stylelm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var recipe = StyleLMRecipe.tiny
        recipe.pretraining.epochs = epochs
        recipe.fineTuning.epochs = epochs
        recipe.seed = seed
        recipe.itemText = format
        _ = try StyleLMTraining.train(OutfitCorpus(products: catalog.products, outfits: outfits ?? catalog.outfits, format: recipe.itemText), recipe: recipe, out: dir)
        return try TunableModel(directory: dir)
    }

    /// The pairs with chosen and rejected swapped: a round that learns the opposite.
    static func swapped(_ pairs: [PreferencePair]) -> [PreferencePair] {
        pairs.map { var p = $0; swap(&p.chosen, &p.rejected); return p }
    }

    /// A registry entry as the model stage would write it.
    static func entry(_ version: String, parent: String? = nil, kind: ModelRegistry.Kind = .sft,
                      status: ModelRegistry.Status = .promoted) -> ModelRegistry.Entry {
        ModelRegistry.Entry(version: version, parent: parent, kind: kind, status: status, createdAt: "2026-12-01T02:00:00.000Z",
                            data: .init(fingerprint: "f", products: 10, outfits: 4, heldOutOutfits: 1, feedback: 0), stored: true)
    }
}
