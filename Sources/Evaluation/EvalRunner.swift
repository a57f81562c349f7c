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
        run.result.record(SplitRecord.read(inDirectory: URL(fileURLWithPath: questionsPath).deletingLastPathComponent().path))
        return EvalRun(result: run.result, diagnostics: run.diagnostics)
    }

    /// Scores a prediction file (of any model, written by anyone) against a key file.
    public static func scoreFiles(_ task: EvalTask, predictionsPath: String, answersPath: String,
                                  model: String = "predictions", options: EvalOptions = EvalOptions()) throws -> EvalRun {
        let pFile = (predictionsPath as NSString).lastPathComponent
        let kFile = (answersPath as NSString).lastPathComponent
        let p = try Data(contentsOfPath: predictionsPath), k = try Data(contentsOfPath: answersPath)
        /// One task's files, decoded as its prediction and key types and scored.
        func score<P: Decodable & Sendable, K: Decodable & Sendable>(
            _: P.Type, _: K.Type,
            _ scorer: ([Numbered<P>], [Numbered<K>]) -> (metrics: [MetricEstimate], unscored: Int, diagnostics: [Diagnostic])
        ) -> EvalRun {
            let ps = JSONLines.decode(P.self, from: p, file: pFile), ks = JSONLines.decode(K.self, from: k, file: kFile)
            let scored = scorer(ps.values, ks.values)
            let predicted = ps.values.count
            return EvalRun(result: EvalResult(model: model, task: task, metrics: scored.metrics, questions: predicted, predicted: predicted,
                                              skipped: 0, unscoredKeys: scored.unscored + ks.diagnostics.count),
                           diagnostics: ps.diagnostics + ks.diagnostics + scored.diagnostics)
        }
        switch task {
        case .fitb:
            return score(FITBPrediction.self, FITBKey.self) {
                scoreFITB(predictions: $0, predictionsFile: pFile, keys: $1, keysFile: kFile, options: options)
            }
        case .compat:
            return score(CompatPrediction.self, CompatKey.self) {
                scoreCompat(predictions: $0, predictionsFile: pFile, keys: $1, keysFile: kFile, options: options)
            }
        case .retrieval:
            return score(RetrievalPrediction.self, RetrievalKey.self) {
                scoreRetrieval(predictions: $0, predictionsFile: pFile, keys: $1, keysFile: kFile, options: options)
            }
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

        /// One task: its questions decoded, predicted (timed) and, with keys, scored.
        func run<Q: Decodable & Sendable, P: Encodable & Sendable, K: Decodable & Sendable>(
            _: Q.Type, _: K.Type,
            predict: ([Numbered<Q>]) -> (predictions: [P], diagnostics: [Diagnostic]),
            score: ([Numbered<P>], [Numbered<K>]) -> (metrics: [MetricEstimate], unscored: Int, diagnostics: [Diagnostic])
        ) {
            let qs = JSONLines.decode(Q.self, from: questions, file: questionsFile)
            if let fitb = qs.values as? [Numbered<FITBQuestion>] {
                let counts = Set(fitb.map(\.value.candidates.count))
                result.candidates = counts.count == 1 ? counts.first : nil
            }
            var p: (predictions: [P], diagnostics: [Diagnostic]) = ([], [])
            elapsed = clock.measure { p = predict(qs.values) }
            diags += qs.diagnostics + p.diagnostics
            result.questions = qs.values.count; result.predicted = p.predictions.count
            result.skipped = qs.diagnostics.count + p.diagnostics.count
            predictions = JSONLines.encode(p.predictions)
            guard let keys else { return }
            let ks = JSONLines.decode(K.self, from: keys, file: keysFile)
            let s = score(number(p.predictions), ks.values)
            diags += ks.diagnostics + s.diagnostics
            result.metrics = s.metrics; result.unscoredKeys = s.unscored + ks.diagnostics.count
        }

        switch task {
        case .fitb:
            run(FITBQuestion.self, FITBKey.self,
                predict: { predictFITB($0, file: questionsFile, catalog: catalog, scorer: scorer, options: options) },
                score: { scoreFITB(predictions: $0, predictionsFile: predictionsFile, keys: $1, keysFile: keysFile, options: options) })
        case .compat:
            run(CompatQuestion.self, CompatKey.self,
                predict: { predictCompat($0, file: questionsFile, catalog: catalog, scorer: scorer, options: options) },
                score: { scoreCompat(predictions: $0, predictionsFile: predictionsFile, keys: $1, keysFile: keysFile, options: options) })
        case .retrieval:
            run(RetrievalQuestion.self, RetrievalKey.self,
                predict: { predictRetrieval($0, file: questionsFile, catalog: catalog, scorer: scorer, options: options) },
                score: { scoreRetrieval(predictions: $0, predictionsFile: predictionsFile, keys: $1, keysFile: keysFile, options: options) })
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
