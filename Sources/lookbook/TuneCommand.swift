import ArgumentParser
import CatalogIngest
import Evaluation
import Foundation
import LookbookCore
import StyleModel

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Preference-tune a StyleLM (DPO) on a catalog's curated outfits, merchandiser verdicts and, from round 2, the model's own mistakes.",
        discussion: """
            Round 1 learns from curated outfits (the real item over a random and a hard same-slot negative) and \
            feedback.jsonl verdicts; round 2 adds the candidates the round-1 model ranked above the real item on \
            training outfits. Each round trains fresh LoRA adapters (every weight of a fully fine-tuned bag-of-words \
            model, at β 5; --[no-]full-weights chooses) against the previous model, frozen, and is written as a model directory: rounds before the last to OUT-roundN, the last \
            to OUT. DPO moves the score the model is evaluated with: a bag-of-words model (--method bag, or a recipe \
            that scores by bag) is tuned on its bag scores, calibration included, and mines its mistakes with them. \
            A model from `lookbook train`'s default (PPMI-SVD beside the StyleLM) stays one: each round gets \
            PPMI-SVD beside it. --export-dir also writes the SFT and DPO data as JSON Lines for TRL, Axolotl or LLaMA-Factory.
            """)

    @Option(help: "The training catalog: its products' text, curated outfits and feedback.jsonl.") var catalog: String
    @Option(help: "The model directory to start from (from `lookbook train`).") var model: String
    @Option(help: "The model directory to write.") var out: String
    @Option(help: "Rounds of DPO (2: the second adds the first round's mistakes).") var rounds = 1
    @Option(help: "DPO β: larger keeps the model closer to where it started (default 0.1; 5 for a bag-of-words model).") var beta: Float?
    @Option(help: "Passes over the pairs per round (fractions allowed).") var epochs: Double = 1
    @Option(help: "Peak learning rate (default 5e-4; 2e-4 for a bag-of-words model).") var learningRate: Float?
    @Option(help: "Stop each round's training after this many seconds (the round's model is still written).") var timeBudget: Double?
    @Option(help: "Outfits whose mistakes are mined between rounds.") var mineOutfits = 400
    @Option(help: "At most this many pairs per round: mined mistakes and merchandiser pairs kept, curated pairs sampled (seeded).") var maxPairs: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "What DPO moves: sequence (the answer's token log-probabilities) | bag (the bag-of-words score, calibration included) (default: the score the model is evaluated with, its scoring method).")
    var objective: String?
    @Option(help: "Score (tune, mine and, by default, evaluate) by: sequence | bag | hybrid (default: the model's recipe). Recorded in the written models.")
    var method: String?
    @Option(help: "Scoring calibration: none | base | context-free (default: the model's recipe). Recorded in the written models.")
    var calibration: String?
    @Flag(inversion: .prefixedNo, help: "Train every weight instead of fresh LoRA adapters (only for fully fine-tuned models; the default for a bag-of-words one, whose tied head LoRA cannot move).")
    var fullWeights: Bool?
    @Option(help: "Per leave-one-out of a curated outfit: random same-slot negatives.") var randomNegatives = 1
    @Option(help: "Per leave-one-out of a curated outfit: hard negatives (the same-slot items sharing the most words).") var hardNegatives = 1
    @Option(help: "Per leave-one-out of a curated outfit: random negatives of other slots, each scored as the blank of its own slot (bag objective; default: 2 for a model tuned on bag scores, else 0).")
    var otherSlotNegatives: Int?
    @Flag(help: "Bag objective, context-free calibration: subtract the start model's empty-outfit distribution (frozen) instead of the policy's own.")
    var frozenPrior = false
    @Option(help: "Pairs' padded tokens per step (default: \(DPOSettings().training.batchTokens)).") var batchTokens: Int?
    @Option(help: "Also write sft_messages.jsonl, sft_completions.jsonl and dpo.jsonl (round 1's pairs) here.") var exportDir: String?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        if let beta, !(beta > 0 && beta.isFinite) { throw ValidationError("--beta must be a positive number") }
        guard epochs > 0, epochs.isFinite else { throw ValidationError("--epochs must be positive") }
        if let maxPairs, maxPairs < 1 { throw ValidationError("--max-pairs must be at least 1") }
        if let timeBudget, !(timeBudget > 0) { throw ValidationError("--time-budget must be a positive number of seconds") }
        if let objective, DPOObjective(rawValue: objective) == nil { throw ValidationError("--objective must be sequence or bag, got \(objective)") }
        if let method, StyleLMScoring.Method(rawValue: method) == nil { throw ValidationError("--method must be sequence, bag or hybrid, got \(method)") }
        if let calibration, StyleLMScoring.Calibration(rawValue: calibration) == nil {
            throw ValidationError("--calibration must be none, base or context-free, got \(calibration)")
        }
        guard randomNegatives >= 0, hardNegatives >= 0, (otherSlotNegatives ?? 0) >= 0, randomNegatives + hardNegatives + (otherSlotNegatives ?? 0) >= 1 else {
            throw ValidationError("--random-negatives, --hard-negatives and --other-slot-negatives must be ≥ 0, and not all 0")
        }
        if let batchTokens, batchTokens < 1 { throw ValidationError("--batch-tokens must be at least 1") }
    }

    func run() throws {
        let modelURL = URL(fileURLWithPath: model)
        guard StyleLMScoring.isModelDirectory(modelURL) else {
            throw LookbookError(.usage, "\(model) is not a model directory; make one with `lookbook train --catalog TRAIN --out \(model)`")
        }
        let read = try CatalogReader.read(path: catalog)
        printDiagnostics(read.diagnostics)
        guard !read.catalog.outfits.isEmpty || !read.catalog.feedback.isEmpty else {
            throw LookbookError(.usage, "\(catalog) has neither curated outfits nor feedback.jsonl verdicts to learn preferences from")
        }
        var start = try TunableModel(directory: modelURL)
        if method != nil || calibration != nil {
            var scoring = try StyleLMScoring.recipe(directory: modelURL).scoring
            if let method { scoring.method = StyleLMScoring.Method(rawValue: method)! }
            if let calibration { scoring.calibration = StyleLMScoring.Calibration(rawValue: calibration)! }
            start = try start.withScoring(scoring)
        }
        var options = PreferenceTuning.Options.defaults(for: start)
        options.rounds = rounds
        if let beta { options.settings.beta = beta }
        options.settings.training.epochs = epochs
        if let learningRate { options.settings.training.learningRate = learningRate }
        options.roundBudget = timeBudget
        options.mineOutfits = mineOutfits
        options.seed = seed
        options.maxPairs = maxPairs
        options.settings.objective = objective.flatMap(DPOObjective.init(rawValue:))
        if otherSlotNegatives == nil && options.settings.objective == .sequence { options.otherSlotNegatives = 0 }
        if let fullWeights { options.settings.fullWeights = fullWeights }
        options.settings.frozenPrior = frozenPrior
        options.randomNegatives = randomNegatives
        options.hardNegatives = hardNegatives
        if let otherSlotNegatives { options.otherSlotNegatives = otherSlotNegatives }
        if let batchTokens { options.settings.training.batchTokens = batchTokens }
        let log: (String) -> Void = { FileHandle.standardError.write(Data("lookbook: \($0)\n".utf8)) }

        let products = read.catalog.products, outfits = read.catalog.outfits, feedback = read.catalog.feedback
        _ = try PreferenceTuning.run(from: start, products: products, outfits: outfits, feedback: feedback, options: options,
                                     log: log) { round in
            let counts = PreferencePairs.counts(round.pairs).map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
            let s = round.report.summary, t = s.training
            print("round \(round.number): \(round.pairs.count) pairs (\(counts))")
            print(String(format: "  reference %.1f s, mining %.1f s; %d steps, %d tokens in %.1f s (%.0f tokens/s)",
                         round.report.referenceSeconds, round.miningSeconds, t.steps, t.tokens, t.seconds, t.tokensPerSecond))
            if let first = t.firstLoss, let last = t.lastLoss {
                print(String(format: "  loss %.4f → %.4f, mean margin %.4f → %.4f, last-tenth pair accuracy %.3f", first, last,
                             s.firstMargin ?? .nan, s.lastMargin ?? .nan, s.lastAccuracy ?? .nan))
            }
            let path = round.number == rounds ? out : "\(out)-round\(round.number)"
            try round.model.save(to: URL(fileURLWithPath: path))
            print("  wrote \(path) (\(round.model.version))" + (round.report.complete ? "" : "; cut short by --time-budget"))
            if HybridModelFile.exists(in: model) {
                // The start was `train`'s default PPMI-SVD + StyleLM: so is each round, its StyleLM's spread measured anew.
                let start = try HybridModelFile.read(from: model)
                let file = try EvaluationCommands.addPPMISVD(to: path, trainCatalogPath: catalog, seed: seed, weight: start.weight,
                                                             structure: start.structure != nil)
                print(String(format: "  with ppmi-svd beside it: ppmi/%.4f + %.2f × stylelm/%.4f", file.ppmiScale, file.weight, file.stylelmScale)
                      + (file.structure == nil ? "" : " + categories, price and popularity tiers"))
            }
            if round.number == 1, let exportDir {
                let corpus = OutfitCorpus(products: products, outfits: outfits, format: round.model.itemFormat)
                let files = try TrainingDataExport.write(outfits: corpus.outfits.map(\.items), pairs: round.pairs,
                                                         to: URL(fileURLWithPath: exportDir))
                print("  exported \(files.map(\.lastPathComponent).joined(separator: ", ")) to \(exportDir)")
            }
            fflush(nil)  // every C stream: a round's figures show as it ends, also when piped
        }
    }
}
