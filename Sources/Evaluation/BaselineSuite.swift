import CatalogIngest
import Foundation
import LookbookCore
import Recommender

/// Runs models on every task of one question set, in memory, through the same code
/// path as `lookbook eval` (questions and keys are encoded as JSON lines and read back).
public enum BaselineSuite {
    public struct Progress: Sendable {
        public var model: String
        public var task: EvalTask
        public var result: EvalResult
    }

    /// Trains each baseline on `questions.train` and evaluates it on all three tasks.
    /// `catalog` is the full catalog (the questions name products of all of it).
    public static func run(
        catalog: Catalog, questions: QuestionMaker.Questions, baselines: [Baseline] = Baseline.allCases,
        seed: UInt64 = 0, options: EvalOptions = EvalOptions(), progress: (@Sendable (Progress) -> Void)? = nil
    ) -> (results: [EvalResult], diagnostics: [Diagnostic]) {
        var results: [EvalResult] = [], diags: [Diagnostic] = []
        for b in baselines {
            let scorer = b.train(on: questions.train, seed: seed)
            let r = evaluateAll(scorer, catalog: catalog, questions: questions, options: options) { p in progress?(p) }
            results += r.results; diags += r.diagnostics
        }
        return (results, diags)
    }

    /// Evaluates one scorer on the three tasks of a question set.
    public static func evaluateAll<S: Scorer>(
        _ scorer: S, catalog: Catalog, questions q: QuestionMaker.Questions, options: EvalOptions = EvalOptions(),
        command: String? = nil, progress: ((Progress) -> Void)? = nil
    ) -> (results: [EvalResult], diagnostics: [Diagnostic]) {
        typealias F = QuestionMaker.Questions.FileName
        let runs: [(EvalTask, Data, String, Data, String)] = [
            (.fitb, JSONLines.encode(q.fitb), F.fitb, JSONLines.encode(q.fitbKeys), F.fitbKey),
            (.compat, JSONLines.encode(q.compat), F.compat, JSONLines.encode(q.compatKeys), F.compatKey),
            (.retrieval, JSONLines.encode(q.retrieval), F.retrieval, JSONLines.encode(q.retrievalKeys), F.retrievalKey),
        ]
        var results: [EvalResult] = [], diags: [Diagnostic] = []
        for (task, questions, qFile, keys, kFile) in runs {
            let r = Evaluator.evaluate(task, catalog: catalog, scorer: scorer, questions: questions, questionsFile: qFile,
                                       keys: keys, keysFile: kFile, options: options, command: command)
            results.append(r.result); diags += r.diagnostics
            progress?(Progress(model: scorer.name, task: task, result: r.result))
        }
        return (results, diags)
    }
}

extension QuestionMaker.Questions {
    /// `make-questions`: the question and key files, `split.json`, and the train
    /// catalog as a catalog directory `train/` (same products, train outfits only).
    public func writeAll(to directory: String, maker: QuestionMaker) throws {
        try writeQuestions(to: directory, maker: maker)
        try CatalogWriter.write(train, to: (directory as NSString).appendingPathComponent(FileName.trainCatalog))
    }
}

/// A baseline "model directory" for `lookbook eval --model DIR`: `baseline.json` names
/// the baseline and its seed and carries the train outfits with their products, so
/// loading retrains it exactly (training takes seconds) without a catalog reader.
public struct BaselineModelFile: Codable, Sendable {
    public var format = "lookbook-baseline"
    public var baseline: Baseline
    public var seed: UInt64
    /// `ppmi-svd` trained with other than the default settings (`lookbook train
    /// --baseline ppmi-svd --ppmi-settings JSON`); their `seed` is `seed`'s.
    public var ppmiSettings: PPMISVDModel.Settings?
    public var products: [Product]
    public var outfits: [Outfit]

    public static let fileName = "baseline.json"

    /// Writes a baseline trained on `train` (only products of its outfits are kept).
    /// `ppmiSettings` only with `.ppmiSVD`.
    public static func write(_ baseline: Baseline, seed: UInt64 = 0, ppmiSettings: PPMISVDModel.Settings? = nil, train: Catalog,
                             to directory: String) throws {
        if let ppmiSettings {
            guard baseline == .ppmiSVD else {
                throw LookbookError(.usage, "PPMI-SVD settings apply to the ppmi-svd baseline only, not to \(baseline.rawValue)")
            }
            if let problem = ppmiSettings.problem { throw LookbookError(.usage, "bad PPMI-SVD settings: \(problem)") }
        }
        var ppmiSettings = ppmiSettings
        ppmiSettings?.seed = seed
        let used = Set(train.outfits.flatMap(\.items))
        let file = BaselineModelFile(baseline: baseline, seed: seed, ppmiSettings: ppmiSettings,
                                     products: train.products.filter { used.contains($0.id) }, outfits: train.outfits)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(file).write(to: URL(fileURLWithPath: directory).appendingPathComponent(fileName), options: .atomic)
        } catch {
            throw LookbookError(.io, "cannot write the baseline model into \(directory)", underlying: error.localizedDescription)
        }
    }

    /// Whether `directory` holds a baseline model (as opposed to another model kind).
    public static func exists(in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: URL(fileURLWithPath: directory).appendingPathComponent(fileName).path)
    }

    /// Loads and retrains the baseline.
    public static func load(from directory: String) throws -> any Scorer {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        let data = try Data(contentsOfPath: path)
        let file: BaselineModelFile
        do { file = try JSONDecoder().decode(BaselineModelFile.self, from: data) } catch {
            throw LookbookError(.usage, "\(path) is not a baseline model: write it with lookbook eval baseline", underlying: "\(error)")
        }
        let catalog = Catalog(manifest: CatalogManifest(retailer: "baseline", snapshot: ""), products: file.products, outfits: file.outfits)
        if var settings = file.ppmiSettings, file.baseline == .ppmiSVD {
            if let problem = settings.problem { throw LookbookError(.usage, "\(path): bad PPMI-SVD settings: \(problem)") }
            settings.seed = file.seed
            return PPMISVDScorer.train(catalog, settings: settings)
        }
        return file.baseline.train(on: catalog, seed: file.seed)
    }
}
