import ArgumentParser
import Evaluation
import Foundation
import LookbookCore

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
        abstract: "Train a model on a catalog's curated outfits into a model directory that `eval` and `run --model` read.",
        discussion: "Until the style language model lands, the models are the evaluation baselines; ppmi-svd is the strongest.")

    @Option(help: "The training catalog (only its outfits are learned from).") var catalog: String
    @Option(help: "The model directory to write.") var out: String
    @Option(help: "random | popularity | cooccurrence | ppmi-svd | ppmi-svd-dot") var baseline = "ppmi-svd"
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func run() throws {
        printDiagnostics(try EvaluationCommands.trainBaseline(baseline, trainCatalogPath: catalog, seed: seed, out: out))
        print("wrote \(out) (\(baseline))")
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure models: fill-in-the-blank, compatibility, retrieval; make question sets; run baselines; write reports.",
        subcommands: [EvalFITB.self, EvalCompat.self, EvalRetrieval.self, MakeQuestions.self, EvalBaselines.self, EvalReportCommand.self])
}

struct EvalOptionsGroup: ParsableArguments {
    @Option(help: "The catalog the questions name products of.") var catalog: String
    @Option(help: "A model directory (from `lookbook train`).") var model: String
    @Option(help: "The questions (JSON Lines).") var questions: String
    @Option(help: "Where to write predictions (JSON Lines).") var out: String
    @Option(help: "The key; with it the metrics are printed and saved as PRED.result.json.") var answers: String?
    @Option(help: "Bootstrap resamples for the confidence intervals.") var bootstrap = 1000

    func run(_ task: EvalTask) throws {
        guard BaselineModelFile.exists(in: model) else {
            throw LookbookError(.usage, "\(model) is not a model directory; make one with `lookbook train --catalog TRAIN --out \(model)`")
        }
        let scorer = try BaselineModelFile.load(from: model)
        let command = (["lookbook"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let run = try EvaluationCommands.eval(task, catalogPath: catalog, scorer: scorer, questions: questions, out: out,
                                              answers: answers, options: EvalOptions(bootstrap: Bootstrap(resamples: bootstrap)),
                                              command: command)
        printDiagnostics(run.diagnostics)
        if answers != nil {
            for m in run.result.metrics {
                print("\(m.name)\t\(String(format: "%.4f", m.value))\t95% CI [\(String(format: "%.4f", m.low)), \(String(format: "%.4f", m.high))]\tn=\(m.count)")
            }
        }
        print("wrote \(out) (\(run.result.predicted) predictions, \(String(format: "%.2f", run.result.seconds ?? 0)) s)")
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

struct MakeQuestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-questions",
        abstract: "Split a catalog's outfits into train and held out; write FITB, compatibility and retrieval questions with keys, and the train catalog (DIR/train).")
    @Option(help: "The catalog.") var catalog: String
    @Option(help: "Share of outfits held out, in (0, 1].") var holdout = 0.2
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "The output directory.") var out: String

    func run() throws {
        let r = try EvaluationCommands.makeQuestions(catalogPath: catalog, holdout: holdout, seed: seed, out: out)
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
