import Foundation
import LookbookCore
import Testing
@testable import Evaluation

/// A scorer with fixed preferences by title, to test the harness itself.
struct TitleScorer: Scorer {
    var name: String { "title" }
    var prefer: [String: Double]
    func encode(_ content: Product) -> String { content.title }
    func scores(context: [String], candidates: [String]) -> [Double] { candidates.map { prefer[$0] ?? 0 } }
    func compatibility(_ items: [String]) -> Double { items.map { prefer[$0] ?? 0 }.reduce(0, +) }
}

/// Records what it was shown.
struct SpyScorer: Scorer {
    var name: String { "spy" }
    func encode(_ content: Product) -> String { content.id + "|" + content.images.joined() + "|" + (content.url ?? "") }
    func scores(context: [String], candidates: [String]) -> [Double] { candidates.map { $0 == "||" ? 1 : 0 } }
    func compatibility(_ items: [String]) -> Double { items.allSatisfy { $0 == "||" } ? 1 : 0 }
}

@Suite struct EvaluatorBadInputTests {
    let catalog = Catalog(manifest: CatalogManifest(retailer: "t", snapshot: "x"), products: [
        Product(id: "a", title: "A", category: "Tops"), Product(id: "b", title: "B", category: "Tops"),
        Product(id: "c", title: "C", category: "Shoes"), Product(id: "d", title: "D", category: "Shoes"),
    ])
    let scorer = TitleScorer(prefer: ["C": 2, "D": 1])

    func fitb(_ questions: String, _ keys: String) -> (predictions: Data, result: EvalResult, diagnostics: [Diagnostic]) {
        Evaluator.evaluate(.fitb, catalog: catalog, scorer: scorer, questions: Fixtures.data(questions), questionsFile: "q.jsonl",
                           keys: Fixtures.data(keys), keysFile: "k.jsonl")
    }

    @Test func unknownProductIsSkippedWithFileAndLine() {
        let r = fitb("""
            {"id":"1","context":["a"],"candidates":["c","d"]}
            {"id":"2","context":["zzz"],"candidates":["c","d"]}
            """, """
            {"id":"1","answer":0}
            """)
        #expect(r.result.predicted == 1 && r.result.skipped == 1)
        let d = r.diagnostics.first { $0.code == EvalDiagnostic.unknownProduct }
        #expect(d?.file == "q.jsonl" && d?.line == 2 && d?.reason.contains("zzz") == true)
        #expect(r.result.metric(MetricName.fitbAccuracy)?.value == 1)
    }

    @Test func emptyCandidateList() {
        let r = fitb(#"{"id":"1","context":["a"],"candidates":[]}"#, "")
        #expect(r.result.predicted == 0 && r.result.skipped == 1)
        #expect(r.diagnostics.map(\.code) == [EvalDiagnostic.emptyCandidates])
        #expect(r.diagnostics[0].description.hasPrefix("q.jsonl:1: "))
    }

    @Test func malformedLinesAreSkipped() {
        let r = fitb("""
            {"id":"1","context":["a"],"candidates":["c","d"]}
            {"id":"2","context":["a"],
            {"id":"3","context":"a","candidates":["c"]}

            {"id":"4","context":["b"],"candidates":["d","c"]}
            """, """
            {"id":"1","answer":0}
            {"id":"4","answer":1}
            """)
        #expect(r.result.questions == 2 && r.result.predicted == 2 && r.result.skipped == 2)
        #expect(r.diagnostics.filter { $0.code == EvalDiagnostic.malformedLine }.map(\.line) == [2, 3])
        #expect(r.result.metric(MetricName.fitbAccuracy)?.value == 1)
    }

    @Test func keyWithoutPredictionIsNamed() {
        let r = fitb(#"{"id":"1","context":["a"],"candidates":["c","d"]}"#, """
            {"id":"1","answer":1}
            {"id":"9","answer":0}
            """)
        let d = r.diagnostics.first { $0.code == EvalDiagnostic.missingPrediction }
        #expect(d?.file == "k.jsonl" && d?.line == 2 && d?.reason.contains("9") == true)
        #expect(r.result.unscoredKeys == 1)
        #expect(r.result.metric(MetricName.fitbAccuracy)?.value == 0)
    }

    @Test func answerOutOfRange() {
        let r = fitb(#"{"id":"1","context":["a"],"candidates":["c","d"]}"#, #"{"id":"1","answer":7}"#)
        #expect(r.diagnostics.map(\.code) == [EvalDiagnostic.badKey])
        #expect(r.result.metric(MetricName.fitbAccuracy)?.count == 0)
    }

    @Test func compatUnknownProductAndBadLabel() {
        let r = Evaluator.evaluate(.compat, catalog: catalog, scorer: scorer, questions: Fixtures.data("""
            {"id":"1","items":["a","c"]}
            {"id":"2","items":["a","nope"]}
            {"id":"3","items":["b","d"]}
            """), questionsFile: "q.jsonl", keys: Fixtures.data("""
            {"id":"1","label":1}
            {"id":"3","label":0}
            {"id":"2","label":1}
            {"id":"1","label":5}
            """), keysFile: "k.jsonl")
        #expect(r.result.predicted == 2)
        #expect(r.diagnostics.map(\.code) == [EvalDiagnostic.unknownProduct, EvalDiagnostic.missingPrediction, EvalDiagnostic.badKey])
        #expect(r.result.metric(MetricName.auc)?.value == 1)
    }

    @Test func retrievalUnknownCategory() {
        let r = Evaluator.evaluate(.retrieval, catalog: catalog, scorer: scorer, questions: Fixtures.data("""
            {"id":"1","context":["a"],"category":"Hats"}
            {"id":"2","context":["a"],"category":"Shoes"}
            """), questionsFile: "q.jsonl", keys: Fixtures.data(#"{"id":"2","answer":"d"}"#), keysFile: "k.jsonl")
        #expect(r.diagnostics.map(\.code) == [EvalDiagnostic.emptyPool])
        #expect(r.result.metric(MetricName.mrr)?.value == 0.5)
        #expect(String(decoding: r.predictions, as: UTF8.self) == #"{"id":"2","ranked":["c","d"],"scores":[2,1]}"# + "\n")
    }

    @Test func scorerNeverSeesIdsImagesOrURLs() {
        var c = catalog
        c.products[2].images = ["images/c.jpg"]; c.products[2].url = "https://shop/c"
        let r = Evaluator.evaluate(.compat, catalog: c, scorer: SpyScorer(), questions: Fixtures.data(#"{"id":"1","items":["a","c"]}"#),
                                   questionsFile: "q.jsonl", keys: nil, keysFile: "")
        #expect(String(decoding: r.predictions, as: UTF8.self) == #"{"id":"1","score":1}"# + "\n")
    }

    @Test func scoringPredictionFilesFromElsewhere() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Fixtures.data("""
            {"id":"1","scores":[0.2,0.2,0.1]}
            {"id":"2","scores":[0.9,0.2]}
            not json
            """).write(to: dir.appendingPathComponent("p.jsonl"))
        try Fixtures.data("""
            {"id":"1","answer":0}
            {"id":"2","answer":0}
            {"id":"3","answer":0}
            """).write(to: dir.appendingPathComponent("k.jsonl"))
        let r = try Evaluator.scoreFiles(.fitb, predictionsPath: dir.appendingPathComponent("p.jsonl").path,
                                         answersPath: dir.appendingPathComponent("k.jsonl").path)
        #expect(r.result.metric(MetricName.fitbAccuracy)?.value == 0.75)   // (1/2 + 1) / 2
        #expect(r.diagnostics.map { "\($0.file):\($0.line ?? 0):\($0.code)" } == ["p.jsonl:3:malformed-line", "k.jsonl:3:missing-prediction"])
    }
}

@Suite struct FileRunTests {
    @Test func runWritesPredictionsAndScores() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = Fixtures.catalog(outfits: 60)
        let maker = QuestionMaker(holdoutFraction: 0.25, seed: 2)
        let q = maker.make(from: catalog)
        try q.writeAll(to: dir, maker: maker)
        let model = dir + "/model"
        try BaselineModelFile.write(.ppmiSVD, train: q.train, to: model)
        #expect(BaselineModelFile.exists(in: model))
        let scorer = try BaselineModelFile.load(from: model)
        let run = try Evaluator.run(.compat, catalog: catalog, scorer: scorer, questionsPath: dir + "/compat.jsonl",
                                    predictionsPath: dir + "/compat.pred.jsonl", answersPath: dir + "/compat.key.jsonl")
        #expect(run.diagnostics.isEmpty && run.result.predicted == q.compat.count)
        let rescored = try Evaluator.scoreFiles(.compat, predictionsPath: dir + "/compat.pred.jsonl", answersPath: dir + "/compat.key.jsonl")
        #expect(rescored.result.metrics == run.result.metrics)
        #expect(FileManager.default.fileExists(atPath: dir + "/train/products.jsonl"))
        #expect(FileManager.default.fileExists(atPath: dir + "/split.json"))
    }

    /// The report says what the questions were from what each run recorded (`split.json`
    /// beside the questions, the FITB candidates), and claims nothing it was not told.
    @Test(arguments: [QuestionMaker.NegativePool.category, .any])
    func reportDescribesTheQuestionsTheRunsRecorded(pool: QuestionMaker.NegativePool) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-pool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = Fixtures.catalog(outfits: 60)
        let maker = QuestionMaker(holdoutFraction: 0.25, seed: 2, negativePool: pool)
        try maker.make(from: catalog).writeAll(to: dir, maker: maker)
        let scorer = TitleScorer(prefer: [:])
        let runs = try [EvalTask.fitb, .compat, .retrieval].map { task in
            try Evaluator.run(task, catalog: catalog, scorer: scorer, questionsPath: "\(dir)/\(task.rawValue).jsonl",
                              predictionsPath: "\(dir)/\(task.rawValue).pred.jsonl", answersPath: "\(dir)/\(task.rawValue).key.jsonl").result
        }
        #expect(runs.map(\.negativePool) == [pool, pool, nil])
        #expect(runs.map(\.candidates) == [4, nil, nil])
        let md = EvalReport(results: runs).markdown()
        #expect(md.contains("4 candidates (chance 25 %)"))
        switch pool {
        case .category:
            #expect(md.contains("negatives from the answer's category") && md.contains("keep the real outfit's categories"))
        case .any:
            #expect(md.contains("negatives from any category") && md.contains("of items from any category"))
        }

        // Without split.json (questions made by hand), and for results from before the fields: no claim.
        try FileManager.default.removeItem(atPath: dir + "/split.json")
        let bare = try Evaluator.run(.fitb, catalog: catalog, scorer: scorer, questionsPath: dir + "/fitb.jsonl",
                                     predictionsPath: dir + "/fitb.pred.jsonl", answersPath: dir + "/fitb.key.jsonl").result
        #expect(bare.negativePool == nil && bare.candidates == 4)
        let old = EvalReport(results: [EvalResult(model: "m", task: .fitb), EvalResult(model: "m", task: .compat)]).markdown()
        #expect(!old.contains("negatives from") && !old.contains("candidates (") && old.contains("real vs. fake outfits."))
        // Runs on different question sets: the report says only what they share.
        var other = runs[0]; other.negativePool = pool == .any ? .category : .any; other.model = "n"
        #expect(!EvalReport(results: [runs[0], other]).markdown().contains("negatives from"))
        // Only the tasks in the report are described.
        let retrievalOnly = EvalReport(results: [runs[2]]).markdown()
        #expect(retrievalOnly.contains("Retrieval: pool") && !retrievalOnly.contains("FITB:") && !retrievalOnly.contains("Compatibility:"))
    }

    @Test func reportWritesMarkdownAndSVG() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-rep-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let results = [
            EvalResult(model: "a", task: .fitb, metrics: [MetricEstimate(name: MetricName.fitbAccuracy, value: 0.4, low: 0.35, high: 0.45, count: 400)]),
            EvalResult(model: "a", task: .compat, metrics: [MetricEstimate(name: MetricName.auc, value: 0.6, low: 0.57, high: 0.63, count: 800)]),
            EvalResult(model: "b<x>", task: .fitb, metrics: [MetricEstimate(name: MetricName.fitbAccuracy, value: 0.25, low: 0.2, high: 0.3, count: 400)]),
        ]
        let report = EvalReport(results: results, provenance: ["make-questions --seed 1"])
        let md = report.markdown()
        #expect(md.contains("| a | 40.0 % [35.0 %, 45.0 %] | 0.600 [0.570, 0.630] |"))
        #expect(md.contains("| b<x> | 25.0 % [20.0 %, 30.0 %] | |"))
        #expect(md.contains("`make-questions --seed 1`"))
        try report.write(to: dir)
        let svg = try String(contentsOfFile: dir + "/report.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("b&lt;x&gt;") && !svg.contains("b<x>"))
        let merged = try EvalReport.merge(jsonFiles: [dir + "/report.json"])
        #expect(merged.results == results)
    }
}
