import ArgumentParser
import Captioning
import CatalogIngest
import Evaluation
import Foundation
import LookbookCore
import StyleModel

/// Prints recoverable problems, one line each (`file:line: reason`), to stderr.
func printDiagnostics(_ diagnostics: [Diagnostic], limit: Int = 50) {
    for d in diagnostics.prefix(limit) {
        FileHandle.standardError.write(Data("lookbook: \(d.severity.rawValue): \(d)\n".utf8))
    }
    if diagnostics.count > limit {
        FileHandle.standardError.write(Data("lookbook: … \(diagnostics.count - limit) more problems\n".utf8))
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Turn research datasets into catalogs.", subcommands: [ImportPolyvore.self])
}

struct ImportPolyvore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polyvore",
        abstract: "Import Polyvore outfits (Maryland or MCN layout) as a catalog: one product per item (id SETID_INDEX), one outfit per set.")

    @Option(help: "An outfits JSON file (repeatable).") var outfits: [String]
    @Option(help: "category_id.txt: category names.") var categories: String?
    @Option(help: "category_type.tsv: coarse type per category, for slots.") var categoryTypes: String?
    @Flag(help: "Use the coarse type as each product's category (the Polyvore Outfits setting: FITB negatives and retrieval pools per coarse type).")
    var coarseCategories = false
    @Option(help: "The catalog to write: a directory, or an archive by its extension.") var out: String

    func validate() throws {
        guard !outfits.isEmpty else { throw ValidationError("give at least one --outfits file") }
    }

    func run() throws {
        let r = try EvaluationCommands.importPolyvore(outfits: outfits, categories: categories, categoryTypes: categoryTypes,
                                                      out: out, categoryLevel: coarseCategories ? .coarse : .fine)
        printDiagnostics(r.diagnostics)
        print("wrote \(out): \(r.catalog.products.count) products, \(r.catalog.outfits.count) outfits")
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train StyleLM on a catalog (a base model on its product text, then fine-tuning on its curated outfits), with PPMI-SVD word vectors beside it, into a model directory that `eval` and `run --model` read.",
        discussion: """
            The model directory holds config.json, model.safetensors (the base model), adapter_model.safetensors + \
            adapter_config.json (the LoRA adapters), tokenizer.json and lookbook.json, in the Hugging Face and PEFT \
            layouts. A run cut short by --time-budget writes the model it has and continues from OUT.checkpoint \
            next time. By default the directory also holds a PPMI-SVD model (ppmi-svd/) and hybrid.json, and eval \
            scores with both (ppmi/σ + 0.3 × stylelm/σ, each over its spread on the catalog); --stylelm-only leaves \
            them out. --baseline NAME writes an evaluation baseline instead.
            """)

    @Option(help: "The training catalog: its products' text and its curated outfits.") var catalog: String
    @Option(help: "The model directory to write.") var out: String
    @Option(help: "Write an evaluation baseline instead: random | popularity | cooccurrence | ppmi-svd | ppmi-svd-dot | structure.")
    var baseline: String?
    @Option(help: ArgumentHelp(
        "With --baseline ppmi-svd: settings other than the defaults, as JSON (keys of PPMISVDModel.Settings, e.g. '{\"rank\": 128, \"eigenExponent\": 0.5}'); stored in the model so eval reproduces them.",
        visibility: .hidden))
    var ppmiSettings: String?
    @Option(help: "standard (4.2M parameters) | small (1.3M, about 4× faster) | tiny (smoke tests).") var size = "standard"
    @Option(help: "bag (the missing item's distinct tokens at the blank, every weight tuned, bag scoring: higher FITB and AUC on Polyvore, ~28× faster scoring) | sequence (its words in order through LoRA adapters, the paper's recipe; generates descriptions).")
    var head = "bag"
    @Flag(help: "Write the StyleLM alone, without the PPMI-SVD word-vector model it is combined with by default.")
    var stylelmOnly = false
    @Flag(help: "OUT already holds a StyleLM (say, trained with --stylelm-only): add the PPMI-SVD model and hybrid.json beside it, without training the StyleLM again.")
    var keepStylelm = false
    @Option(help: ArgumentHelp("StyleLM's weight in the combination, in units of each model's spread.", visibility: .hidden))
    var hybridWeight = HybridModelFile.defaultWeight
    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Add the outfit-structure model (which categories, price tiers and popularity tiers outfits put together) to the combination.", visibility: .hidden))
    var structure = true
    @Option(help: "A recipe (JSON, the keys of lookbook.json's recipe) over --size and --head's: the keys it names replace theirs, a stage object only the keys it names.") var recipe: String?
    @Option(help: "Passes over the product text for the base model.") var pretrainEpochs: Double?
    @Option(help: "Passes over the outfits' leave-one-out examples (0: the base model only).") var sftEpochs: Double?
    @Flag(help: "Fine-tune every weight instead of LoRA adapters.") var fullFineTuning = false
    @Option(help: "Stop after this many seconds; the next run continues.") var timeBudget: Double?
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func run() throws {
        if let baseline {
            if let ppmiSettings {
                try trainPPMISVD(baseline, settingsJSON: ppmiSettings)
            } else {
                printDiagnostics(try EvaluationCommands.trainBaseline(baseline, trainCatalogPath: catalog, seed: seed, out: out))
            }
            print("wrote \(out) (\(baseline))")
            return
        }
        if ppmiSettings != nil { throw LookbookError(.usage, "--ppmi-settings goes with --baseline ppmi-svd") }
        guard hybridWeight.isFinite, hybridWeight >= 0 else { throw LookbookError(.usage, "--hybrid-weight must be a number ≥ 0") }
        if keepStylelm {
            guard !stylelmOnly else { throw LookbookError(.usage, "--keep-stylelm adds the PPMI-SVD half; it cannot go with --stylelm-only") }
            guard StyleLMScoring.isModelDirectory(URL(fileURLWithPath: out)) else {
                throw LookbookError(.usage, "--keep-stylelm: \(out) holds no StyleLM; train one there first (lookbook train --catalog TRAIN --out \(out))")
            }
            try addPPMISVD()
            return
        }
        var recipe: StyleLMRecipe
        switch size {
        case "standard": recipe = StyleLMRecipe()
        case "small": recipe = .small
        case "tiny": recipe = .tiny
        default: throw LookbookError(.usage, "--size must be standard, small or tiny, got \(size)")
        }
        guard let head = StyleLMRecipe.Head(rawValue: head) else {
            throw LookbookError(.usage, "--head must be sequence or bag, got \(self.head)")
        }
        recipe = recipe.with(head: head)
        if let path = self.recipe {
            let file: Data
            do { file = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw LookbookError(.io, "cannot read the recipe \(path)", underlying: error.localizedDescription)
            }
            do { recipe = try recipe.overlaid(with: file) } catch {
                throw LookbookError(.usage, "\(path) is not a StyleLM recipe", underlying: "\(error)")
            }
        }
        if let pretrainEpochs { recipe.pretraining.epochs = pretrainEpochs }
        if let sftEpochs { recipe.fineTuning.epochs = sftEpochs }
        if fullFineTuning { recipe.lora = nil }
        recipe.seed = seed
        let deadline = timeBudget.map { Date(timeIntervalSinceNow: $0) }
        let (report, diagnostics) = try EvaluationCommands.trainStyleLM(trainCatalogPath: catalog, out: out, recipe: recipe,
                                                                         deadline: deadline) { line in
            FileHandle.standardError.write(Data("lookbook: \(line)\n".utf8))
        }
        printDiagnostics(diagnostics)
        func stage(_ name: String, _ s: TrainingSummary) -> String {
            let loss = s.firstLoss.map { String(format: "loss %.3f → %.3f", $0, s.lastLoss ?? .nan) } ?? "no steps"
            return String(format: "%@: %d steps, %d tokens in %.1f s (%.0f tokens/s), %@", name, s.steps, s.tokens, s.seconds,
                          s.tokensPerSecond, loss)
        }
        print(stage("base model", report.pretraining))
        print(stage("fine-tuning", report.fineTuning))
        let hybridPath = URL(fileURLWithPath: out).appendingPathComponent(HybridModelFile.fileName).path
        if stylelmOnly {
            try? FileManager.default.removeItem(atPath: hybridPath)  // an earlier hybrid of this directory no longer holds
        } else {
            try addPPMISVD()
        }
        print("wrote \(out) (\(stylelmOnly ? "StyleLM" : structure ? "PPMI-SVD + StyleLM + outfit structure" : "PPMI-SVD + StyleLM"), \(report.parameters) StyleLM parameters, vocabulary \(report.vocabSize))"
              + (report.complete ? "" : "; cut short by --time-budget, run again to continue"))
    }
}

extension TrainCommand {
    /// The PPMI-SVD half of the default model, beside the StyleLM in `out`.
    func addPPMISVD() throws {
        let file = try EvaluationCommands.addPPMISVD(to: out, trainCatalogPath: catalog, seed: seed, weight: hybridWeight, structure: structure)
        print(String(format: "ppmi-svd: word vectors in %@/%@; eval combines ppmi/%.4f + %.2f × stylelm/%.4f (spreads over %d questions of the catalog)",
                     out, HybridModelFile.ppmiDirectory, file.ppmiScale, file.weight, file.stylelmScale, file.calibrationQuestions)
              + (file.structure.map { " + categories, price and popularity tiers (\(out)/\($0))" } ?? ""))
    }

    /// `--baseline ppmi-svd --ppmi-settings JSON`: the baseline model with its settings.
    func trainPPMISVD(_ baseline: String, settingsJSON: String) throws {
        guard baseline == Baseline.ppmiSVD.rawValue else {
            throw LookbookError(.usage, "--ppmi-settings goes with --baseline ppmi-svd, not \(baseline)")
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(settingsJSON.utf8)) as? [String: Any], object["seed"] != nil {
            throw LookbookError(.usage, "--ppmi-settings: give the seed with --seed, not in the settings")
        }
        var settings: PPMISVDScorer.Settings
        do { settings = try JSONDecoder().decode(PPMISVDScorer.Settings.self, from: Data(settingsJSON.utf8)) } catch {
            func at(_ c: DecodingError.Context) -> String {
                c.codingPath.isEmpty ? c.debugDescription : c.codingPath.map(\.stringValue).joined(separator: ".") + ": " + c.debugDescription
            }
            let reason: String
            switch error as? DecodingError {
            case .dataCorrupted(let c)?, .typeMismatch(_, let c)?, .valueNotFound(_, let c)?, .keyNotFound(_, let c)?: reason = at(c)
            default: reason = "\(error)"
            }
            throw LookbookError(.usage, "--ppmi-settings must be a JSON object of PPMI-SVD settings", underlying: reason)
        }
        settings.seed = seed
        let read = try CatalogReader.read(path: catalog)
        printDiagnostics(read.diagnostics)
        try BaselineModelFile.write(.ppmiSVD, seed: seed, ppmiSettings: settings, train: read.catalog, to: out)
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure models: fill-in-the-blank, compatibility, retrieval; make question sets; run baselines; write reports.",
        subcommands: [EvalFITB.self, EvalCompat.self, EvalRetrieval.self, MakeQuestions.self, EvalBaselines.self, EvalReportCommand.self,
                      EvalCompareCommand.self, TextCaptions.self])
}

struct EvalOptionsGroup: ParsableArguments {
    @Option(help: "The catalog the questions name products of.") var catalog: String
    @Option(help: "A model directory (from `lookbook train`).") var model: String
    @Option(help: "The questions (JSON Lines).") var questions: String
    @Option(help: "Where to write predictions (JSON Lines).") var out: String
    @Option(help: "The key; with it the metrics are printed and saved as PRED.result.json.") var answers: String?
    @Option(help: "Bootstrap resamples for the confidence intervals.") var bootstrap = 1000
    @Option(help: "The model's name in PRED.result.json and in merged reports (default: the scorer's, e.g. stylelm).") var name: String?
    @Flag(help: "StyleLM: score candidates by their likelihood alone, without subtracting the base model's.") var uncalibrated = false
    @Option(help: "StyleLM: none | base | context-free (default: the model's recipe).") var calibration: String?
    @Option(help: "StyleLM: mean (per token) | sum of the candidate's log-probabilities (default: the model's recipe).")
    var lengthNorm: String?
    @Option(help: "StyleLM: whether </s> counts among the scored tokens: yes | no (default: the model's recipe).") var scoreEnd: String?
    @Option(help: "StyleLM: sequence (the candidate's words after the prompt) | bag (its distinct tokens at the blank, one pass per question; for models trained with bagOfWordsWeight) | hybrid (their sum) (default: the model's recipe).")
    var method: String?
    @Option(help: "StyleLM, bag scoring: the weight in [0, 1) of the look's own tokens in the blank's distribution (a cache language model; 0: the model alone) (default: the model's recipe).")
    var cacheWeight: Double?

    /// The scoring options the flags ask for, nil when they ask for none (the recipe's).
    func scoringOptions(recipe: StyleLMScoring.Options) throws -> StyleLMScoring.Options? {
        guard calibration != nil || lengthNorm != nil || scoreEnd != nil || method != nil || uncalibrated || cacheWeight != nil else {
            return nil
        }
        var options = recipe
        if let cacheWeight {
            guard cacheWeight >= 0, cacheWeight < 1 else {
                throw LookbookError(.usage, "--cache-weight must be in [0, 1), got \(cacheWeight)")
            }
            options.cacheWeight = cacheWeight
        }
        if let calibration {
            guard let c = StyleLMScoring.Calibration(rawValue: calibration) else {
                throw LookbookError(.usage, "--calibration must be none, base or context-free, got \(calibration)")
            }
            options.calibration = c
        }
        if uncalibrated { options.calibration = .none }
        if let method {
            guard let m = StyleLMScoring.Method(rawValue: method) else {
                throw LookbookError(.usage, "--method must be sequence, bag or hybrid, got \(method)")
            }
            options.method = m
        }
        switch lengthNorm {
        case nil: break
        case "mean": options.lengthNormalised = true
        case "sum": options.lengthNormalised = false
        default: throw LookbookError(.usage, "--length-norm must be mean or sum, got \(lengthNorm!)")
        }
        switch scoreEnd {
        case nil: break
        case "yes": options.scoreEnd = true
        case "no": options.scoreEnd = false
        default: throw LookbookError(.usage, "--score-end must be yes or no, got \(scoreEnd!)")
        }
        return options
    }

    func run(_ task: EvalTask) throws {
        let scorer: any Scorer
        if HybridModelFile.exists(in: model) {
            let url = URL(fileURLWithPath: model)
            scorer = try HybridModelFile.load(from: model, options: try scoringOptions(recipe: StyleLMScoring.recipe(directory: url).scoring))
        } else if BaselineModelFile.exists(in: model) {
            scorer = try BaselineModelFile.load(from: model)
        } else if StyleLMScoring.isModelDirectory(URL(fileURLWithPath: model)) {
            let url = URL(fileURLWithPath: model)
            let options = try scoringOptions(recipe: StyleLMScoring.recipe(directory: url).scoring)
            scorer = StyleLMScorer(try StyleLMScoring(directory: url, options: options))
        } else {
            throw LookbookError(.usage, "\(model) is not a model directory; make one with `lookbook train --catalog TRAIN --out \(model)`")
        }
        // As a shell would take it back: arguments with spaces or quotes in single quotes.
        let command = (["lookbook"] + CommandLine.arguments.dropFirst().map { argument in
            argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) } && !argument.isEmpty
                ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }).joined(separator: " ")
        let run = try EvaluationCommands.eval(task, catalogPath: catalog, scorer: scorer, questions: questions, out: out,
                                              answers: answers, options: EvalOptions(bootstrap: Bootstrap(resamples: bootstrap)),
                                              command: command, name: name)
        printDiagnostics(run.diagnostics)
        if answers != nil {
            for m in run.result.metrics {
                print("\(m.name)\t\(String(format: "%.4f", m.value))\t95% CI [\(String(format: "%.4f", m.low)), \(String(format: "%.4f", m.high))]\tn=\(m.count)")
            }
        }
        print("wrote \(out) (\(run.result.predicted) predictions, \(String(format: "%.2f", run.result.seconds ?? 0)) s)")
    }
}

struct TextCaptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-captions",
        abstract: "Copy a catalog with a caption read from each product's own text (colour, pattern, material, style, type), for catalogs without images.",
        discussion: """
            Each product gets attribute `caption` = the words TextAttributes finds in its title, category and \
            description, in the paper's order (e.g. "khaki knit cardigan"), so StyleLM and the baselines see short \
            style captions instead of brand-laden titles. A product where no word is found keeps no caption (its title \
            speaks). Products that already have a caption keep it.
            """)
    @Option(help: "The catalog.") var catalog: String
    @Option(help: "The catalog to write (a directory).") var out: String

    func run() throws {
        let read = try CatalogReader.read(path: catalog)
        printDiagnostics(read.diagnostics)
        var captioned = read.catalog
        var count = 0
        captioned.products = read.catalog.products.map { product in
            var p = product
            if let caption = Self.caption(product) {
                p.attributes["caption"] = caption
                count += 1
            }
            return p
        }
        try CatalogWriter.write(captioned, to: out)
        print("wrote \(out): \(count) of \(captioned.products.count) products captioned from their text")
    }

    /// The text-only caption of a product, nil when it has one already or no word is found.
    static func caption(_ product: Product) -> String? {
        if let existing = product.attributes["caption"], !existing.isEmpty { return nil }
        let found = TextAttributes.read(product)
        let text = captionText(color: found.color, pattern: found.pattern, material: found.material, style: found.style, type: found.type)
        return text.isEmpty ? nil : text
    }
}

struct EvalFITB: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fitb", abstract: "Fill in the blank: score each candidate; accuracy of the arg-max (ties share credit).")
    @OptionGroup var options: EvalOptionsGroup
    func run() throws { try options.run(.fitb) }
}

struct EvalCompat: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compat", abstract: "Outfit compatibility: score each outfit; ROC AUC.")
    @OptionGroup var options: EvalOptionsGroup
    func run() throws { try options.run(.compat) }
}

struct EvalRetrieval: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retrieval", abstract: "Complementary retrieval over the whole category: recall@10 and MRR.")
    @OptionGroup var options: EvalOptionsGroup
    func run() throws { try options.run(.retrieval) }
}

extension QuestionMaker.NegativePool: ExpressibleByArgument {}

struct MakeQuestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-questions",
        abstract: "Split a catalog's outfits into train and held out; write FITB, compatibility and retrieval questions with keys, and the train catalog (DIR/train).")
    @Option(help: "The catalog.") var catalog: String
    @Option(help: "Share of outfits held out, in (0, 1].") var holdout = 0.2
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Where FITB negatives and fake outfits' items come from: category (the answer's own, the hard setting) or any (every category, as the original Maryland Polyvore questions).")
    var negativesFrom: QuestionMaker.NegativePool = .category
    @Option(help: "The output directory.") var out: String

    func run() throws {
        let r = try EvaluationCommands.makeQuestions(catalogPath: catalog, holdout: holdout, seed: seed, negativePool: negativesFrom, out: out)
        printDiagnostics(r.diagnostics)
        print("wrote \(out): \(r.questions.fitb.count) fitb, \(r.questions.compat.count) compat, \(r.questions.retrieval.count) retrieval questions; train catalog \(out)/train")
    }
}

struct EvalBaselines: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baselines",
        abstract: "Train every baseline on DIR/train, evaluate all three tasks, write report.md, report.svg and report.json.")
    @Option(help: "The full catalog.") var catalog: String
    @Option(help: "A directory from `eval make-questions`.") var questions: String
    @Option(help: "The report directory.") var out: String
    @Option(help: "Random seed of the baselines.") var seed: UInt64 = 0
    @Option(help: "Baselines to run (repeatable); default all.") var baseline: [String] = []

    func run() throws {
        let names = baseline.isEmpty ? Baseline.allCases.map(\.rawValue) : baseline
        let r = try EvaluationCommands.baselines(catalogPath: catalog, questionsDirectory: questions, seed: seed, out: out, names: names)
        printDiagnostics(r.diagnostics)
        print(r.report.markdown())
    }
}

struct EvalReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Merge result files (PRED.result.json, report.json) into report.md, report.svg and report.json.")
    @Option(help: "Result files (repeatable).") var results: [String]
    @Option(help: "The report directory.") var out: String
    @Option(help: "The report's title.") var title = "Lookbook evaluation"

    func run() throws {
        let report = try EvaluationCommands.report(resultFiles: results, out: out, title: title)
        print(report.markdown())
    }
}

struct EvalCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Two models' predictions on the same questions: both metrics and the difference with a paired bootstrap interval.")
    @Option(help: "fitb | compat | retrieval.") var task: String
    @Option(help: "The key file of the questions.") var answers: String
    @Option(help: "The baseline's predictions (JSON Lines, from lookbook eval).") var baseline: String
    @Option(help: "The candidate's predictions on the same questions.") var candidate: String
    @Option(help: "Bootstrap resamples for the interval.") var bootstrap = 2000

    func validate() throws {
        guard EvalTask(rawValue: task) != nil else { throw ValidationError("--task must be fitb, compat or retrieval, got \(task)") }
        guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1") }
    }

    func run() throws {
        let (comparison, diagnostics) = try PairedComparison.compare(EvalTask(rawValue: task)!, baseline: baseline, candidate: candidate,
                                                                     answers: answers, options: EvalOptions(bootstrap: Bootstrap(resamples: bootstrap)))
        printDiagnostics(diagnostics)
        print(comparison.text)
    }
}
