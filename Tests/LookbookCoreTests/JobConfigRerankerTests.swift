import Foundation
import LookbookCore
import Testing

@Suite struct JobConfigRerankerTests {
    @Test(arguments: [("ppmi-svd", RerankerKind.ppmiSVD), ("cooccurrence", .cooccurrence)])
    func theRecommendTableChoosesTheReranker(value: String, expected: RerankerKind) throws {
        let c = try JobConfig.parse("[recommend]\nreranker = \"\(value)\"\n")
        #expect(c.recommend.reranker == expected)
    }

    @Test func ppmiSVDIsTheDefault() throws {
        #expect(try JobConfig.parse("").recommend.reranker == .ppmiSVD)
        #expect(try JobConfig.parse("[recommend]\nretrieval_m = 50\n").recommend.reranker == .ppmiSVD)
    }

    @Test(arguments: ["\"stylelm\"", "\"PPMI-SVD\"", "\"\"", "3"])
    func anUnknownRerankerIsRefusedWithTheChoices(value: String) {
        do {
            _ = try JobConfig.parse("[recommend]\nreranker = \(value)\n", file: "nightly.toml")
            Issue.record("accepted reranker = \(value)")
        } catch let e as LookbookError {
            #expect(e.code == .badJobFile)
            #expect(e.message.contains("nightly.toml"))
            #expect(e.message.contains("recommend.reranker"))
            if value != "3" { #expect(e.message.contains("\"ppmi-svd\", \"cooccurrence\"")) }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    /// The shipped job file names the reranker it documents.
    @Test func theShippedJobFileChoosesPPMISVD() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("jobs/nightly.toml").path
        let c = try JobConfig.load(path: path)
        #expect(c.recommend.reranker == .ppmiSVD)
        #expect(c.modelTraining.head == .bag && !c.modelTraining.train)  // a StyleLM, when turned on, is the bag head
    }

    /// The reranker is not part of the settings' description (the precompute's
    /// fingerprint carries the reranker's version instead).
    @Test func theChoiceLeavesTheSettingsDescriptionAlone() {
        var a = RecommendSettings(), b = RecommendSettings()
        a.reranker = .cooccurrence; b.reranker = .ppmiSVD
        #expect(a.description == b.description)
    }
}
