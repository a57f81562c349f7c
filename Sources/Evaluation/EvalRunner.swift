import Foundation
import LookbookCore

/// An evaluation run with its diagnostics.
public struct EvalRun: Sendable {
    public var result: EvalResult
    /// Every problem met, in file order: questions first, then predictions and keys.
    public var diagnostics: [Diagnostic]
}

extension Evaluator {
    /// `lookbook eval fitb|compat|retrieval`: reads `questionsPath`, writes one
    /// prediction line per scorable question to `predictionsPath`, and with
    /// `answersPath` scores them. Throws only when a file cannot be read or written.
    public static func run<S: Scorer>(
        _ task: EvalTask, catalog: Catalog, scorer: S,
        questionsPath: String, predictionsPath: String, answersPath: String? = nil,
        options: EvalOptions = EvalOptions(), command: String? = nil
    ) throws -> EvalRun {
        let qFile = (questionsPath as NSString).lastPathComponent
        let pFile = (predictionsPath as NSString).lastPathComponent
        let questions = try Data(contentsOfPath: questionsPath)
        let keys = try answersPath.map { try Data(contentsOfPath: $0) }
        var run = evaluate(task, catalog: catalog, scorer: scorer, questions: questions, questionsFile: qFile,
                           keys: keys, keysFile: answersPath.map { ($0 as NSString).lastPathComponent } ?? "",
                           predictionsFile: pFile, options: options, command: command)
        do { try run.predictions.write(to: URL(fileURLWithPath: predictionsPath), options: .atomic) } catch {
            throw LookbookError(.io, "cannot write predictions to \(predictionsPath): check the directory exists and is writable",
                                underlying: error.localizedDescription)
        }
        run.predictions = Data()
        return EvalRun(result: run.result, diagnostics: run.diagnostics)
    }

    /// Scores a prediction file (of any model, written by anyone) against a key file.
    public static func scoreFiles(_ task: EvalTask, predictionsPath: String, answersPath: String,
                                  model: String = "predictions", options: EvalOptions = EvalOptions()) throws -> EvalRun {
        let pFile = (predictionsPath as NSString).lastPathComponent
        let kFile = (answersPath as NSString).lastPathComponent
        let p = try Data(contentsOfPath: predictionsPath), k = try Data(contentsOfPath: answersPath)
        var diags: [Diagnostic] = []
        let scored: (metrics: [MetricEstimate], unscored: Int, diagnostics: [Diagnostic])
        let count: Int
        switch task {
        case .fitb:
            let ps = JSONLines.decode(FITBPrediction.self, from: p, file: pFile), ks = JSONLines.decode(FITBKey.self, from: k, file: kFile)
            diags += ps.diagnostics + ks.diagnostics; count = ps.values.count
            scored = scoreFITB(predictions: ps.values, predictionsFile: pFile, keys: ks.values, keysFile: kFile, options: options)
            return finish(count, ks.diagnostics.count)
        case .compat:
            let ps = JSONLines.decode(CompatPrediction.self, from: p, file: pFile), ks = JSONLines.decode(CompatKey.self, from: k, file: kFile)
            diags += ps.diagnostics + ks.diagnostics; count = ps.values.count
            scored = scoreCompat(predictions: ps.values, predictionsFile: pFile, keys: ks.values, keysFile: kFile, options: options)
            return finish(count, ks.diagnostics.count)
        case .retrieval:
            let ps = JSONLines.decode(RetrievalPrediction.self, from: p, file: pFile), ks = JSONLines.decode(RetrievalKey.self, from: k, file: kFile)
            diags += ps.diagnostics + ks.diagnostics; count = ps.values.count
            scored = scoreRetrieval(predictions: ps.values, predictionsFile: pFile, keys: ks.values, keysFile: kFile, options: options)
            return finish(count, ks.diagnostics.count)
        }
        func finish(_ predicted: Int, _ badKeyLines: Int) -> EvalRun {
            EvalRun(result: EvalResult(model: model, task: task, metrics: scored.metrics, questions: predicted, predicted: predicted,
                                       skipped: 0, unscoredKeys: scored.unscored + badKeyLines),
                    diagnostics: diags + scored.diagnostics)
        }
    }

    /// In-memory run on question and key bytes: predictions (JSONL bytes), result, diagnostics.
    public static func evaluate<S: Scorer>(
        _ task: EvalTask, catalog: Catalog, scorer: S,
        questions: Data, questionsFile: String, keys: Data?, keysFile: String,
        predictionsFile: String = "predictions.jsonl", options: EvalOptions = EvalOptions(), command: String? = nil
    ) -> (predictions: Data, result: EvalResult, diagnostics: [Diagnostic]) {
        let clock = ContinuousClock()
        var result = EvalResult(model: scorer.name, task: task, command: command)
        var diags: [Diagnostic] = []
        var predictions = Data()
        var elapsed = Duration.zero
        func number<T>(_ xs: [T]) -> [Numbered<T>] { xs.enumerated().map { Numbered(line: $0.offset + 1, value: $0.element) } }
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

        switch task {
        case .fitb:
            let qs = JSONLines.decode(FITBQuestion.self, from: questions, file: questionsFile)
            var p: (predictions: [FITBPrediction], diagnostics: [Diagnostic]) = ([], [])
            elapsed = clock.measure { p = predictFITB(qs.values, file: questionsFile, catalog: catalog, scorer: scorer, options: options) }
            diags += qs.diagnostics + p.diagnostics
            result.questions = qs.values.count; result.predicted = p.predictions.count
            result.skipped = qs.diagnostics.count + p.diagnostics.count
            predictions = JSONLines.encode(p.predictions)
            if let keys {
                let ks = JSONLines.decode(FITBKey.self, from: keys, file: keysFile)
                let s = scoreFITB(predictions: number(p.predictions), predictionsFile: predictionsFile, keys: ks.values, keysFile: keysFile, options: options)
                diags += ks.diagnostics + s.diagnostics
                result.metrics = s.metrics; result.unscoredKeys = s.unscored + ks.diagnostics.count
            }
        case .compat:
            let qs = JSONLines.decode(CompatQuestion.self, from: questions, file: questionsFile)
            var p: (predictions: [CompatPrediction], diagnostics: [Diagnostic]) = ([], [])
            elapsed = clock.measure { p = predictCompat(qs.values, file: questionsFile, catalog: catalog, scorer: scorer, options: options) }
            diags += qs.diagnostics + p.diagnostics
            result.questions = qs.values.count; result.predicted = p.predictions.count
            result.skipped = qs.diagnostics.count + p.diagnostics.count
            predictions = JSONLines.encode(p.predictions)
            if let keys {
                let ks = JSONLines.decode(CompatKey.self, from: keys, file: keysFile)
                let s = scoreCompat(predictions: number(p.predictions), predictionsFile: predictionsFile, keys: ks.values, keysFile: keysFile, options: options)
                diags += ks.diagnostics + s.diagnostics
                result.metrics = s.metrics; result.unscoredKeys = s.unscored + ks.diagnostics.count
            }
        case .retrieval:
            let qs = JSONLines.decode(RetrievalQuestion.self, from: questions, file: questionsFile)
            var p: (predictions: [RetrievalPrediction], diagnostics: [Diagnostic]) = ([], [])
            elapsed = clock.measure { p = predictRetrieval(qs.values, file: questionsFile, catalog: catalog, scorer: scorer, options: options) }
            diags += qs.diagnostics + p.diagnostics
            result.questions = qs.values.count; result.predicted = p.predictions.count
            result.skipped = qs.diagnostics.count + p.diagnostics.count
            predictions = JSONLines.encode(p.predictions)
            if let keys {
                let ks = JSONLines.decode(RetrievalKey.self, from: keys, file: keysFile)
                let s = scoreRetrieval(predictions: number(p.predictions), predictionsFile: predictionsFile, keys: ks.values, keysFile: keysFile, options: options)
                diags += ks.diagnostics + s.diagnostics
                result.metrics = s.metrics; result.unscoredKeys = s.unscored + ks.diagnostics.count
            }
        }
        result.seconds = seconds(elapsed)
        return (predictions, result, diags)
    }
}

extension Data {
    init(contentsOfPath path: String) throws {
        do { try self.init(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw LookbookError(.io, "cannot read \(path): check that the file exists and is readable", underlying: error.localizedDescription)
        }
    }
}
