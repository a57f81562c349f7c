import CatalogIngest
import Foundation
import LookbookCore
import Recommender
import Testing
import TestSupport
@testable import Evaluation

/// PPMI-SVD settings other than the defaults travel in the baseline model file, so
/// `lookbook eval` reproduces the model `lookbook train --baseline ppmi-svd
/// --ppmi-settings JSON` describes (how the README's settings table was measured).
@Suite struct PPMISVDSettingsTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-ppmi-\(UUID().uuidString)").path
    }

    /// Scores of the first questions' candidates, to compare scorers.
    static func scores(_ scorer: any Scorer, _ q: QuestionMaker.Questions, _ catalog: Catalog) -> [Double] {
        func run<S: Scorer>(_ s: S) -> [Double] {
            let byID = Dictionary(catalog.products.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            return q.fitb.prefix(8).flatMap { question in
                s.scores(context: question.context.map { s.encode(byID[$0]!) }, candidates: question.candidates.map { s.encode(byID[$0]!) })
            }
        }
        return run(scorer)
    }

    @Test func settingsInTheModelFileTrainTheSameModel() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = Fixtures.catalog(outfits: 60)
        let q = QuestionMaker(holdoutFraction: 0.25, seed: 2).make(from: catalog)
        let settings = PPMISVDModel.Settings(rank: 6, eigenExponent: 0.5, wordWeighting: .idf)
        try BaselineModelFile.write(.ppmiSVD, seed: 3, ppmiSettings: settings, train: q.train, to: dir + "/tuned")
        let loaded = try #require(try BaselineModelFile.load(from: dir + "/tuned") as? PPMISVDScorer)
        var expected = settings
        expected.seed = 3
        #expect(loaded.settings == expected)
        let direct = PPMISVDScorer.train(q.train, settings: expected)
        #expect(loaded.model.version == direct.model.version)
        #expect(Self.scores(loaded, q, catalog) == Self.scores(direct, q, catalog))

        // A file without settings (as written before they existed) trains the defaults.
        try BaselineModelFile.write(.ppmiSVD, seed: 3, train: q.train, to: dir + "/default")
        let json = try String(contentsOfFile: dir + "/default/" + BaselineModelFile.fileName, encoding: .utf8)
        #expect(!json.contains("ppmiSettings"))
        let plain = try #require(try BaselineModelFile.load(from: dir + "/default") as? PPMISVDScorer)
        #expect(plain.settings == PPMISVDModel.Settings(seed: 3))
        #expect(Self.scores(plain, q, catalog) != Self.scores(loaded, q, catalog))
    }

    @Test func settingsAreRefusedForOtherBaselinesAndOutOfRange() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = QuestionMaker(holdoutFraction: 0.25, seed: 2).make(from: Fixtures.catalog(outfits: 20)).train
        #expect(throws: LookbookError(.usage, "PPMI-SVD settings apply to the ppmi-svd baseline only, not to random")) {
            try BaselineModelFile.write(.random, ppmiSettings: PPMISVDModel.Settings(), train: train, to: dir + "/a")
        }
        #expect(throws: LookbookError(.usage, "bad PPMI-SVD settings: rank must be at least 1, got 0")) {
            try BaselineModelFile.write(.ppmiSVD, ppmiSettings: PPMISVDModel.Settings(rank: 0), train: train, to: dir + "/b")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/a") && !FileManager.default.fileExists(atPath: dir + "/b"))
    }

    /// The built executable: settings as JSON are stored and used; unknown keys, a seed in
    /// the JSON, and settings for another baseline are refused with what to fix.
    @Test func trainCommandTakesSettingsAsJSON() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CatalogWriter.write(Fixtures.catalog(outfits: 40), to: dir + "/catalog")
        func train(_ extra: [String], out: String) throws -> CLI.Result {
            try CLI.run(["train", "--catalog", dir + "/catalog", "--out", dir + "/" + out] + extra)
        }
        let ok = try train(["--baseline", "ppmi-svd", "--ppmi-settings", #"{"rank": 8, "shift": 2}"#, "--seed", "4"], out: "m")
        #expect(ok.exitCode == 0, "\(ok.stderr)")
        let scorer = try #require(try BaselineModelFile.load(from: dir + "/m") as? PPMISVDScorer)
        #expect(scorer.settings == PPMISVDModel.Settings(rank: 8, seed: 4, shift: 2))

        let unknown = try train(["--baseline", "ppmi-svd", "--ppmi-settings", #"{"rnk": 8}"#], out: "u")
        #expect(unknown.exitCode != 0)
        #expect(unknown.stderr.contains("unknown PPMI-SVD setting rnk"))
        let seeded = try train(["--baseline", "ppmi-svd", "--ppmi-settings", #"{"seed": 1}"#], out: "s")
        #expect(seeded.exitCode != 0 && seeded.stderr.contains("--seed"))
        let other = try train(["--baseline", "random", "--ppmi-settings", "{}"], out: "r")
        #expect(other.exitCode != 0 && other.stderr.contains("--baseline ppmi-svd"))
        let range = try train(["--baseline", "ppmi-svd", "--ppmi-settings", #"{"smoothing": 2}"#], out: "x")
        #expect(range.exitCode != 0 && range.stderr.contains("smoothing must be in (0, 1]"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/u") && !FileManager.default.fileExists(atPath: dir + "/x"))
    }
}
