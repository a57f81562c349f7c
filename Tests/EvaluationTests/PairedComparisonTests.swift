import Foundation
import LookbookCore
import Testing
@testable import Evaluation

/// `lookbook eval compare`: both models' metrics as `eval` computes them, and the paired
/// difference over the questions both files answer.
@Suite struct PairedComparisonTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write<T: Encodable>(_ name: String, _ lines: [T]) throws -> String {
        let encoder = JSONEncoder()
        let text = try lines.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Ten questions: the baseline answers 1–4 right, the candidate 1–6 and ties on 7
    /// (half credit): 0.4 against 0.65. The difference is the mean of the per-question
    /// differences, its interval the bootstrap of those; a model against itself is 0 exactly.
    @Test func fitbDifferenceIsPairedOverTheSameQuestions() throws {
        let keys = (0..<10).map { FITBKey(id: "q\($0)", answer: 0) }
        let right = [1.0, 0, 0, 0], wrong = [0.0, 1, 0, 0], tie = [1.0, 1, 0, 0]
        let a = try write("a.jsonl", (0..<10).map { FITBPrediction(id: "q\($0)", scores: $0 < 4 ? right : wrong) })
        let b = try write("b.jsonl", (0..<10).map { FITBPrediction(id: "q\($0)", scores: $0 < 6 ? right : $0 == 6 ? tie : wrong) })
        let k = try write("key.jsonl", keys)
        let (c, diagnostics) = try PairedComparison.compare(.fitb, baseline: a, candidate: b, answers: k)
        #expect(diagnostics.isEmpty)
        let m = try #require(c.metrics.first)
        #expect(m.name == MetricName.fitbAccuracy && c.questions == 10 && c.skipped == 0)
        #expect(abs(m.baseline - 0.4) < 1e-12 && abs(m.candidate - 0.65) < 1e-12 && abs(m.difference.value - 0.25) < 1e-12)
        // Per-question differences are 0 or positive (+1 twice, +0.5 once): so is every resample's mean.
        #expect(m.difference.low >= 0 && m.difference.low < 0.25 && m.difference.high > 0.25 && m.difference.high <= 1)
        let same = try PairedComparison.compare(.fitb, baseline: a, candidate: a, answers: k).comparison.metrics[0].difference
        #expect(same.value == 0 && same.low == 0 && same.high == 0)
        // The separate metrics are those `eval` reports for each file.
        let alone = try Evaluator.scoreFiles(.fitb, predictionsPath: b, answersPath: k).result.metrics[0].value
        #expect(abs(alone - m.candidate) < 1e-12)
    }

    /// AUC of each model over the same outfits, and a key only one file scored is left out
    /// and counted.
    @Test func compatComparesAUCAndLeavesOutWhatOneFileLacks() throws {
        let labels = [1, 0, 1, 0, 1, 0]
        let k = try write("key.jsonl", labels.enumerated().map { CompatKey(id: "c\($0.offset)", label: $0.element) })
        // Baseline ranks one fake above one real outfit; the candidate ranks every real one first.
        let a = try write("a.jsonl", [0.9, 0.1, 0.5, 0.6, 0.8, 0.2].enumerated().map { CompatPrediction(id: "c\($0.offset)", score: $0.element) })
        let b = try write("b.jsonl", [0.9, 0.1, 0.7, 0.2, 0.8].enumerated().map { CompatPrediction(id: "c\($0.offset)", score: $0.element) })
        let (c, _) = try PairedComparison.compare(.compat, baseline: a, candidate: b, answers: k)
        #expect(c.questions == 5 && c.skipped == 1)
        let m = try #require(c.metrics.first)
        // Over c0–c4: baseline reals 0.9, 0.5, 0.8 against fakes 0.1, 0.6: 5 of 6 pairs; candidate 6 of 6.
        #expect(abs(m.baseline - 5.0 / 6) < 1e-12 && m.candidate == 1 && abs(m.difference.value - 1.0 / 6) < 1e-12)
        #expect(m.difference.low >= 0 && m.difference.high <= 1)
        #expect(c.text.contains("1 keys left out"))
    }

    /// Recall@10 and MRR, each paired.
    @Test func retrievalComparesRecallAndReciprocalRank() throws {
        let k = try write("key.jsonl", [RetrievalKey(id: "r0", answer: "p1"), RetrievalKey(id: "r1", answer: "p2")])
        let a = try write("a.jsonl", [RetrievalPrediction(id: "r0", ranked: ["p0", "p1"]), RetrievalPrediction(id: "r1", ranked: ["p0"])])
        let b = try write("b.jsonl", [RetrievalPrediction(id: "r0", ranked: ["p1"]), RetrievalPrediction(id: "r1", ranked: ["p0", "p9", "p2"])])
        let (c, _) = try PairedComparison.compare(.retrieval, baseline: a, candidate: b, answers: k)
        #expect(c.metrics.map(\.name) == [MetricName.recall(10), MetricName.mrr])
        #expect(c.metrics[0].baseline == 0.5 && c.metrics[0].candidate == 1)
        #expect(abs(c.metrics[1].baseline - 0.25) < 1e-12 && abs(c.metrics[1].candidate - (1 + 1.0 / 3) / 2) < 1e-12)
    }
}
