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

/// By default `train` writes the StyleLM bag head with PPMI-SVD beside it and eval scores
/// with both; `--stylelm-only` writes the StyleLM alone (any head), and `--keep-stylelm`
/// adds the PPMI-SVD half (and the outfit-structure model) to it later without training it again.
@Test func trainWritesTheHybridByDefaultAndTheStyleLMAloneWhenAsked() throws {
    let w = try Workspace()
    let catalog = try w.addCatalog("shop", products: 200, outfits: 100)
    let q = try CLI.run(["eval", "make-questions", "--catalog", catalog, "--holdout", "0.2", "--seed", "3", "--out", w.path("q")])
    #expect(q.exitCode == 0, "\(q.stderr)")
    func recipe(_ dir: String) throws -> [String: Any] {
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: w.path(dir + "/lookbook.json")))) as? [String: Any]
        let metadata = saved?["metadata"] as? [String: String]
        return try JSONSerialization.jsonObject(with: Data((metadata?["recipe"] ?? "").utf8)) as? [String: Any] ?? [:]
    }
    func evalName(_ dir: String) throws -> String? {
        let r = try CLI.run(["eval", "fitb", "--catalog", catalog, "--model", w.path(dir), "--questions", w.path("q/fitb.jsonl"),
                             "--out", w.path(dir + ".fitb.jsonl"), "--answers", w.path("q/fitb.key.jsonl"), "--bootstrap", "50"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: w.path(dir + ".fitb.result.json")))) as? [String: Any]
        return result?["model"] as? String
    }
    let fm = FileManager.default

    let hybrid = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("m"), "--size", "tiny", "--sft-epochs", "1"])
    #expect(hybrid.exitCode == 0, "\(hybrid.stderr)")
    #expect(hybrid.stdout.contains("PPMI-SVD + StyleLM"), "\(hybrid.stdout)")
    #expect(fm.fileExists(atPath: w.path("m/hybrid.json")) && fm.fileExists(atPath: w.path("m/ppmi-svd/baseline.json")))
    let bag = try recipe("m")
    #expect(bag["bagOfWordsWeight"] as? Double == 1 && bag["sequenceWeight"] as? Double == 0 && bag["lora"] == nil)
    #expect((bag["scoring"] as? [String: Any])?["method"] as? String == "bag")
    #expect((bag["fineTuning"] as? [String: Any])?["epochs"] as? Double == 1)
    #expect(fm.fileExists(atPath: w.path("m/structure/baseline.json")), "the outfit-structure model joins the default")
    #expect(try evalName("m")?.hasPrefix("hybrid(ppmi-svd") == true)
    #expect(try evalName("m")?.contains("+ structure(") == true)
    // Preference tuning keeps the combination: the tuned StyleLM gets PPMI-SVD beside it, its spread measured anew.
    let tuned = try CLI.run(["tune", "--catalog", w.path("q/train"), "--model", w.path("m"), "--out", w.path("m-dpo"), "--max-pairs", "64"])
    #expect(tuned.exitCode == 0, "\(tuned.stderr)")
    #expect(fm.fileExists(atPath: w.path("m-dpo/hybrid.json")) && fm.fileExists(atPath: w.path("m-dpo/ppmi-svd/baseline.json")))
    #expect(try evalName("m-dpo")?.hasPrefix("hybrid(ppmi-svd") == true)
    #expect(fm.fileExists(atPath: w.path("m-dpo/structure/baseline.json")))

    // Trained again into the same directory as StyleLM alone: the old hybrid.json goes.
    let alone = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("m"), "--size", "tiny", "--head", "sequence",
                             "--sft-epochs", "1", "--stylelm-only"])
    #expect(alone.exitCode == 0, "\(alone.stderr)")
    #expect(!fm.fileExists(atPath: w.path("m/hybrid.json")))
    #expect(try recipe("m")["sequenceWeight"] as? Double == 1)
    #expect(try evalName("m") == "stylelm")

    let keep = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("m"), "--keep-stylelm"])
    #expect(keep.exitCode == 0, "\(keep.stderr)")
    #expect(fm.fileExists(atPath: w.path("m/hybrid.json")) && !keep.stdout.contains("fine-tuning"), "\(keep.stdout)")
    #expect(try evalName("m")?.hasPrefix("hybrid(") == true)
    // Without the structure model (an ablation): its directory goes and eval no longer adds it.
    let plain = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("m"), "--keep-stylelm", "--no-structure"])
    #expect(plain.exitCode == 0, "\(plain.stderr)")
    #expect(!fm.fileExists(atPath: w.path("m/structure")))
    #expect(try evalName("m")?.contains("structure") == false)

    let nothing = try CLI.run(["train", "--catalog", w.path("q/train"), "--out", w.path("empty"), "--keep-stylelm"])
    #expect(nothing.exitCode == 2 && nothing.stderr.contains("holds no StyleLM"), "\(nothing.stderr)")
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
