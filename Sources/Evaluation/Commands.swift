import CatalogIngest
import Foundation
import LookbookCore
import StyleModel

/// The `lookbook` subcommands of this module as path-in, files-out functions, so the
/// executable only parses arguments, prints diagnostics and sets the exit code.
/// Each returns the diagnostics to print (one line each, `file:line: reason`) and
/// throws `LookbookError` when the command cannot complete.
public enum EvaluationCommands {
    /// `lookbook import polyvore --outfits F.json [...] [--categories category_id.txt
    /// --category-types category_type.tsv] --out PATH`.
    /// `categoryLevel: .coarse` (an extra flag, e.g. `--coarse-categories`) gives the
    /// Polyvore Outfits setting: see `PolyvoreImporter.CategoryLevel`.
    public static func importPolyvore(outfits: [String], categories: String?, categoryTypes: String?, out: String,
                                      slotRules: SlotRules = SlotRules(), categoryLevel: PolyvoreImporter.CategoryLevel = .fine)
        throws -> (catalog: Catalog, diagnostics: [Diagnostic]) {
        let r = try PolyvoreImporter.importFiles(outfits: outfits, categories: categories, categoryTypes: categoryTypes,
                                                 slotRules: slotRules, categoryLevel: categoryLevel)
        try CatalogWriter.write(r.catalog, to: out)
        return r
    }

    /// `lookbook eval make-questions --catalog C --holdout 0.2 --seed S [--negatives-from category|any] --out DIR`:
    /// writes the question and key files, `split.json` and the train catalog `DIR/train`.
    public static func makeQuestions(catalogPath: String, holdout: Double, seed: UInt64,
                                     negativePool: QuestionMaker.NegativePool = .category, out: String)
        throws -> (questions: QuestionMaker.Questions, diagnostics: [Diagnostic]) {
        guard holdout > 0, holdout <= 1 else { throw LookbookError(.usage, "--holdout must be in (0, 1], got \(holdout)") }
        let read = try CatalogReader.read(path: catalogPath)
        let maker = QuestionMaker(holdoutFraction: holdout, seed: seed, negativePool: negativePool)
        let q = maker.make(from: read.catalog)
        guard !q.heldOutOutfitIDs.isEmpty else {
            throw LookbookError(.usage, "\(catalogPath) has no curated outfit of two or more of its products to hold out (\(read.catalog.outfits.count) outfits in outfits.jsonl); give a catalog with outfits")
        }
        try q.writeAll(to: out, maker: maker)
        return (q, read.diagnostics + q.diagnostics)
    }

    /// `lookbook eval baseline NAME --catalog TRAIN --out MODEL_DIR [--seed S]`: a model
    /// directory that `eval` can load (see `scorer(modelDirectory:)`).
    public static func trainBaseline(_ name: String, trainCatalogPath: String, seed: UInt64 = 0, out: String) throws -> [Diagnostic] {
        guard let baseline = Baseline(rawValue: name) else {
            throw LookbookError(.usage, "unknown baseline \(name); use one of \(Baseline.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let read = try CatalogReader.read(path: trainCatalogPath)
        try BaselineModelFile.write(baseline, seed: seed, train: read.catalog, to: out)
        return read.diagnostics
    }

    /// `lookbook train --catalog TRAIN --out MODEL_DIR`: StyleLM on the catalog's product
    /// text and curated outfits (captions join the text when products carry them).
    public static func trainStyleLM(trainCatalogPath: String, out: String, recipe: StyleLMRecipe, deadline: Date? = nil,
                                    log: (String) -> Void = { _ in }) throws -> (StyleLMTraining.Report, [Diagnostic]) {
        let read = try CatalogReader.read(path: trainCatalogPath)
        guard !read.catalog.outfits.isEmpty || recipe.fineTuning.epochs == 0 else {
            throw LookbookError(.usage, "\(trainCatalogPath) has no curated outfits to learn from; give a catalog with outfits.jsonl (or --sft-epochs 0 for the base model alone)")
        }
        // ItemText keeps only a product's slot and words (kind, caption or title), never its id.
        let corpus = OutfitCorpus(products: read.catalog.products, outfits: read.catalog.outfits, format: recipe.itemText)
        let report = try StyleLMTraining.train(corpus, recipe: recipe, out: URL(fileURLWithPath: out), deadline: deadline, log: log)
        return (report, read.diagnostics)
    }

    /// The rest of `lookbook train` by default: a PPMI-SVD model of the same catalog into
    /// `MODEL_DIR/ppmi-svd`, the outfit-structure model into `MODEL_DIR/structure` (unless
    /// `structure` is false), and `hybrid.json`, which combines them with the StyleLM
    /// already in `MODEL_DIR` (`HybridScorer`), its scales measured on the catalog's own outfits.
    public static func addPPMISVD(to out: String, trainCatalogPath: String, seed: UInt64 = 0,
                                  weight: Double = HybridModelFile.defaultWeight, structure: Bool = true) throws -> HybridModelFile {
        let read = try CatalogReader.read(path: trainCatalogPath)
        let sub = URL(fileURLWithPath: out).appendingPathComponent(HybridModelFile.ppmiDirectory).path
        try BaselineModelFile.write(.ppmiSVD, seed: seed, train: read.catalog, to: sub)
        guard let ppmi = try BaselineModelFile.load(from: sub) as? PPMISVDScorer else {
            throw LookbookError(.model, "the ppmi-svd model just written to \(sub) did not load as one")
        }
        let stylelm = StyleLMScorer(try StyleLMScoring(directory: URL(fileURLWithPath: out)))
        var file = try HybridModelFile.calibrate(ppmi: ppmi, stylelm: stylelm, catalog: read.catalog, weight: weight, seed: seed)
        let structureDirectory = URL(fileURLWithPath: out).appendingPathComponent(HybridModelFile.structureDirectory).path
        if structure {
            try BaselineModelFile.write(.structure, seed: seed, train: read.catalog, to: structureDirectory)
            file.structure = HybridModelFile.structureDirectory
        } else {
            try? FileManager.default.removeItem(atPath: structureDirectory)
        }
        try file.write(to: out)
        return file
    }

    /// `lookbook eval fitb|compat|retrieval --catalog PATH --model MODEL_DIR --questions Q
    /// --out PRED [--answers KEY]` for any scorer (the CLI loads the model; a baseline
    /// directory loads with `BaselineModelFile.load(from:)`). Writes the predictions,
    /// and with a key the result beside them as `PRED.result.json` for `report`. `name`
    /// replaces the scorer's name in the result, so that runs of several models of one
    /// kind (base, SFT and DPO StyleLMs) stay apart when `report` merges them.
    public static func eval<S: Scorer>(_ task: EvalTask, catalogPath: String, scorer: S, questions: String, out: String,
                                       answers: String?, options: EvalOptions = EvalOptions(), command: String? = nil,
                                       name: String? = nil) throws -> EvalRun {
        let read = try CatalogReader.read(path: catalogPath)
        var run = try Evaluator.run(task, catalog: read.catalog, scorer: scorer, questionsPath: questions, predictionsPath: out,
                                    answersPath: answers, options: options, command: command)
        run.diagnostics = read.diagnostics + run.diagnostics
        if let name { run.result.model = name }
        if answers != nil { try writeResult(run.result, to: resultPath(forPredictions: out)) }
        return run
    }

    /// Where `eval` keeps a run's result: `PRED.result.json` beside `PRED.jsonl`.
    public static func resultPath(forPredictions path: String) -> String {
        (path.hasSuffix(".jsonl") ? String(path.dropLast(6)) : path) + ".result.json"
    }

    public static func writeResult(_ result: EvalResult, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { try encoder.encode(result).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw LookbookError(.io, "cannot write \(path)", underlying: error.localizedDescription)
        }
    }

    /// `lookbook eval baselines --catalog C --questions DIR --out REPORT_DIR [--seed S]`:
    /// trains every baseline on `DIR/train`, evaluates all tasks, writes the report.
    public static func baselines(catalogPath: String, questionsDirectory dir: String, seed: UInt64 = 0, out: String,
                                 names: [String] = Baseline.allCases.map(\.rawValue), options: EvalOptions = EvalOptions())
        throws -> (report: EvalReport, diagnostics: [Diagnostic]) {
        let baselines = try names.map { n in
            guard let b = Baseline(rawValue: n) else {
                throw LookbookError(.usage, "unknown baseline \(n); use one of \(Baseline.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return b
        }
        typealias F = QuestionMaker.Questions.FileName
        func path(_ f: String) -> String { (dir as NSString).appendingPathComponent(f) }
        let catalog = try CatalogReader.read(path: catalogPath)
        let train = try CatalogReader.read(path: path(F.trainCatalog))
        var diags = catalog.diagnostics + train.diagnostics
        func load<T: Decodable & Sendable>(_ t: T.Type, _ f: String) throws -> [T] {
            let r = try JSONLines.read(t, path: path(f)); diags += r.diagnostics; return r.values.map(\.value)
        }
        let q = QuestionMaker.Questions(
            train: train.catalog, heldOutOutfitIDs: [],
            fitb: try load(FITBQuestion.self, F.fitb), fitbKeys: try load(FITBKey.self, F.fitbKey),
            compat: try load(CompatQuestion.self, F.compat), compatKeys: try load(CompatKey.self, F.compatKey),
            retrieval: try load(RetrievalQuestion.self, F.retrieval), retrievalKeys: try load(RetrievalKey.self, F.retrievalKey),
            diagnostics: [])
        let split = SplitRecord.read(inDirectory: dir)
        var r = BaselineSuite.run(catalog: catalog.catalog, questions: q, baselines: baselines, seed: seed, options: options)
        for i in r.results.indices { r.results[i].record(split) }
        diags += r.diagnostics
        var provenance = ["lookbook eval baselines --catalog \(catalogPath) --questions \(dir) --seed \(seed)",
                          "bootstrap: \(options.bootstrap.resamples) resamples, seed \(options.bootstrap.seed)"]
        if let split {
            let pool = split.negativePool.map { $0 == .category ? "" : " --negatives-from \($0.rawValue)" } ?? ""
            provenance.insert("lookbook eval make-questions --catalog \(catalogPath) --holdout \(split.holdoutFraction) --seed \(split.seed)\(pool)  (\(split.trainOutfits) train outfits, \(split.heldOutOutfits.count) held out)", at: 0)
        }
        let report = EvalReport(title: "Baselines", results: r.results, provenance: provenance)
        try report.write(to: out)
        return (report, diags)
    }

    /// `lookbook eval report --results A.result.json B.json ... --out DIR`: merges runs
    /// (later files win for the same model and task) into report.md/svg/json.
    public static func report(resultFiles: [String], out: String, title: String = "Lookbook evaluation") throws -> EvalReport {
        let report = try EvalReport.merge(jsonFiles: resultFiles, title: title)
        try report.write(to: out)
        return report
    }
}
