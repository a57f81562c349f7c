import Foundation
import Testing
import TestSupport

/// The evaluation commands chained as a user would: questions, a trained model, metrics.
@Test func makeQuestionsTrainAndEvalFromTheCommandLine() throws {
    let w = try Workspace()
    let catalog = try w.addCatalog("shop", products: 300, outfits: 150)
    let q = try CLI.run(["eval", "make-questions", "--catalog", catalog, "--holdout", "0.2", "--seed", "3", "--out", w.path("q")])
    #expect(q.exitCode == 0, "\(q.stderr)")
    let train = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("model"), "--size", "tiny"])
    #expect(train.exitCode == 0, "\(train.stderr)")
    #expect(train.stdout.contains("StyleLM"), "\(train.stdout)")
    for task in ["fitb", "compat", "retrieval"] {
        let r = try CLI.run(["eval", task, "--catalog", catalog, "--model", w.path("model"),
                             "--questions", w.path("q/\(task).jsonl"), "--out", w.path("\(task).pred.jsonl"),
                             "--answers", w.path("q/\(task).key.jsonl"), "--bootstrap", "100"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout.contains("95% CI"))
        #expect(FileManager.default.fileExists(atPath: w.path("\(task).pred.result.json")))
    }
    let report = try CLI.run(["eval", "report", "--results", w.path("fitb.pred.result.json"),
                              "--results", w.path("compat.pred.result.json"), "--out", w.path("report")])
    #expect(report.exitCode == 0, "\(report.stderr)")
    #expect(FileManager.default.fileExists(atPath: w.path("report/report.svg")))
}

/// `--head bag` trains the bag-of-words head: the model directory's recipe says so, and
/// eval scores with it unless told otherwise.
@Test func trainWithTheBagHeadFromTheCommandLine() throws {
    let w = try Workspace()
    let catalog = try w.addCatalog("shop", products: 200, outfits: 100)
    let q = try CLI.run(["eval", "make-questions", "--catalog", catalog, "--holdout", "0.2", "--seed", "3", "--out", w.path("q")])
    #expect(q.exitCode == 0, "\(q.stderr)")
    let train = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("bag"), "--size", "tiny", "--head", "bag",
                             "--sft-epochs", "1"])
    #expect(train.exitCode == 0, "\(train.stderr)")
    let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: w.path("bag/lookbook.json")))) as? [String: Any]
    let metadata = saved?["metadata"] as? [String: String]
    let recipe = try JSONSerialization.jsonObject(with: Data((metadata?["recipe"] ?? "").utf8)) as? [String: Any] ?? [:]
    #expect(recipe["bagOfWordsWeight"] as? Double == 1 && recipe["sequenceWeight"] as? Double == 0 && recipe["lora"] == nil)
    #expect((recipe["scoring"] as? [String: Any])?["method"] as? String == "bag")
    #expect((recipe["fineTuning"] as? [String: Any])?["epochs"] as? Double == 1)
    let r = try CLI.run(["eval", "fitb", "--catalog", catalog, "--model", w.path("bag"), "--questions", w.path("q/fitb.jsonl"),
                         "--out", w.path("fitb.pred.jsonl"), "--answers", w.path("q/fitb.key.jsonl"), "--bootstrap", "50"])
    #expect(r.exitCode == 0, "\(r.stderr)")
    let bad = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("x"), "--size", "tiny", "--head", "words"])
    #expect(bad.exitCode == 2 && bad.stderr.contains("--head must be sequence or bag"), "\(bad.stderr)")
}

@Test func evalWithoutAModelDirectoryIsAUsageError() throws {
    let w = try Workspace()
    let r = try CLI.run(["eval", "fitb", "--catalog", w.path("c"), "--model", w.path("nope"),
                         "--questions", w.path("q.jsonl"), "--out", w.path("p.jsonl")])
    #expect(r.exitCode == 2)
    #expect(r.stderr.contains("lookbook train"))
}
