import Foundation
import LookbookCore
import Recommender
import StyleModel

/// Which StyleLM reranks tonight's candidates: the model directory the job names (used
/// as is), else the one this state directory trained earlier, else — when the job file
/// asks for it and the catalog has curated outfits — one trained now, within the job's
/// time budget (a run cut short continues next night from its checkpoint). Without any
/// of these the co-occurrence model reranks.
struct ModelStage {
    var job: JobConfig
    var events: @Sendable (RunEvent) -> Void

    /// Where the run keeps the model it trains.
    var trainedDirectory: URL {
        URL(fileURLWithPath: job.state).appendingPathComponent("models/stylelm")
    }

    struct Choice {
        var scoring: StyleLMScoring
        /// "job" (a model trained elsewhere), "trained" (tonight), "state" (an earlier run's).
        var source: String
        var path: String
    }

    func choose(catalog: Catalog, captions: [String: String]) throws -> Choice? {
        if let path = job.model {
            let url = URL(fileURLWithPath: path)
            guard StyleLMScoring.isModelDirectory(url) else {
                throw LookbookError(.model, "\(path) is not a StyleLM model directory (config.json and model.safetensors); make one with `lookbook train --catalog C --out \(path)`")
            }
            return Choice(scoring: try load(url), source: "job", path: path)
        }
        guard job.modelTraining.train else { return nil }
        let directory = trainedDirectory
        let checkpoint = directory.appendingPathExtension("checkpoint")
        let pending = FileManager.default.fileExists(atPath: checkpoint.path)
        if StyleLMScoring.isModelDirectory(directory) && !pending {
            return Choice(scoring: try load(directory), source: "state", path: directory.path)
        }
        guard catalog.outfits.count >= 2 else {
            events(.warning("no StyleLM yet and the catalog has no curated outfits to train one; the co-occurrence model reranks (give [job] model to use a model trained elsewhere)"))
            return nil
        }
        try FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        var products = catalog.products
        for i in products.indices {
            if let caption = captions[products[i].id], !caption.isEmpty { products[i].attributes["caption"] = caption }
        }
        let corpus = OutfitCorpus(products: products, outfits: catalog.outfits)
        let recipe = Self.recipe(job.modelTraining)
        let report = try StyleLMTraining.train(corpus, recipe: recipe, out: directory,
                                               deadline: Date(timeIntervalSinceNow: job.modelTraining.timeBudgetSeconds)) { line in
            events(.info("StyleLM \(line)"))
        }
        events(.info(String(format: "trained StyleLM (%d parameters) in %.0f s: %d base and %d fine-tuning steps%@",
                            report.parameters, report.pretraining.seconds + report.fineTuning.seconds,
                            report.pretraining.steps, report.fineTuning.steps,
                            report.complete ? "" : "; cut short by time_budget_seconds, the next run continues")))
        return Choice(scoring: try load(directory), source: "trained", path: directory.path)
    }

    func load(_ url: URL) throws -> StyleLMScoring {
        do { return try StyleLMScoring(directory: url) } catch {
            throw LookbookError(.model, "cannot load the StyleLM model at \(url.path)", underlying: "\(error)")
        }
    }

    /// The recipe for the job's `[model]` settings.
    static func recipe(_ settings: ModelTrainingSettings) -> StyleLMRecipe {
        var recipe = switch settings.size {
        case .standard: StyleLMRecipe()
        case .small: StyleLMRecipe.small
        case .tiny: StyleLMRecipe.tiny
        }
        if let e = settings.pretrainEpochs { recipe.pretraining.epochs = e }
        if let e = settings.sftEpochs { recipe.fineTuning.epochs = e }
        return recipe
    }
}
