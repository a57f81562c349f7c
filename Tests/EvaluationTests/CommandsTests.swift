import CatalogIngest
import Foundation
import LookbookCore
import Testing
@testable import Evaluation

/// The path-level entry points the `lookbook` executable calls, end to end on a
/// synthetic catalog in a temp directory.
@Suite struct CommandsTests {
    @Test func makeQuestionsTrainBaselineEvalAndReport() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-cmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CatalogWriter.write(Fixtures.catalog(outfits: 60), to: dir + "/catalog")

        let made = try EvaluationCommands.makeQuestions(catalogPath: dir + "/catalog", holdout: 0.25, seed: 3, out: dir + "/q")
        #expect(made.questions.fitb.count == 15)
        #expect(try EvaluationCommands.trainBaseline("ppmi-svd", trainCatalogPath: dir + "/q/train", out: dir + "/model").isEmpty)

        let scorer = try BaselineModelFile.load(from: dir + "/model")
        let run = try EvaluationCommands.eval(.fitb, catalogPath: dir + "/catalog", scorer: scorer, questions: dir + "/q/fitb.jsonl",
                                              out: dir + "/fitb.pred.jsonl", answers: dir + "/q/fitb.key.jsonl")
        #expect(run.diagnostics.isEmpty && run.result.predicted == 15)
        #expect(FileManager.default.fileExists(atPath: dir + "/fitb.pred.result.json"))

        let report = try EvaluationCommands.report(resultFiles: [dir + "/fitb.pred.result.json"], out: dir + "/report")
        #expect(report.results.count == 1 && report.results[0].model == "ppmi-svd")

        // Two runs of one kind of model under their own names stay apart in the report.
        let named = try EvaluationCommands.eval(.fitb, catalogPath: dir + "/catalog", scorer: scorer, questions: dir + "/q/fitb.jsonl",
                                                out: dir + "/fitb.b.jsonl", answers: dir + "/q/fitb.key.jsonl", name: "ppmi-svd (again)")
        #expect(named.result.model == "ppmi-svd (again)")
        let both = try EvaluationCommands.report(resultFiles: [dir + "/fitb.pred.result.json", dir + "/fitb.b.result.json"], out: dir + "/report2")
        #expect(both.results.map(\.model) == ["ppmi-svd", "ppmi-svd (again)"])

        let suite = try EvaluationCommands.baselines(catalogPath: dir + "/catalog", questionsDirectory: dir + "/q", out: dir + "/baselines",
                                                     names: ["random", "ppmi-svd"], options: EvalOptions(bootstrap: Bootstrap(resamples: 50)))
        #expect(suite.diagnostics.isEmpty && suite.report.results.count == 6)
        #expect(suite.report.provenance.first?.contains("--seed 3") == true)
        // The suite's results say where the negatives came from, as `eval`'s do.
        #expect(suite.report.results.map(\.negativePool) == [.category, .category, nil, .category, .category, nil])
        #expect(run.result.negativePool == .category && suite.report.markdown().contains("negatives from the answer's category"))
        #expect(FileManager.default.fileExists(atPath: dir + "/baselines/report.svg"))
    }

    /// A catalog without outfits has nothing to hold out: a usage error that says so, and
    /// no question directory written.
    @Test func makeQuestionsWithoutOutfitsIsAUsageError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-cmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var catalog = Fixtures.catalog(outfits: 8)
        catalog.outfits = []
        try CatalogWriter.write(catalog, to: dir + "/catalog")
        let error = try #require(throws: LookbookError.self) {
            _ = try EvaluationCommands.makeQuestions(catalogPath: dir + "/catalog", holdout: 0.25, seed: 3, out: dir + "/q")
        }
        #expect(error.code == .usage && error.message.contains("no curated outfit"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/q"))
    }

    @Test func unknownBaselineIsAUsageError() {
        #expect(throws: LookbookError.self) {
            _ = try EvaluationCommands.trainBaseline("gpt", trainCatalogPath: "/nonexistent", out: "/tmp/x")
        }
    }
}
