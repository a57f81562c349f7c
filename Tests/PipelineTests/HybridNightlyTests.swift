import Foundation
import LookbookCore
import LookupStore
import StyleModel
import Testing
import TestSupport
@testable import Pipeline

/// The nightly run with a bag-of-words StyleLM reranks with it and PPMI-SVD trained that
/// night (as `lookbook train` and `lookbook eval` combine them) unless the job says no.
@Suite(.serialized) struct HybridNightlyTests {
    @Test func aBagStyleLMRerankesWithPPMISVDUnlessTheJobSaysNo() async throws {
        let dir = try TempDirectory("lookbook-hybrid-nightly")
        let modelDir = URL(fileURLWithPath: try tinyBagModel(in: dir))
        #expect(try StyleLMScoring.recipe(directory: modelDir).scoring.method == .bagOfWords)

        // Combined (the default), without the outfit-structure model (its cases: HybridStructureNightlyTests).
        var f = try Fixture()
        f.job.model = modelDir.path
        f.job.recommend.structure = false
        _ = try f.write(smallCatalog(), as: "acme-1.tar.lz4")
        let log = EventLog()
        let combined = await NightlyRun(job: f.job, events: log.record).run()
        #expect(combined.report.status == .succeeded, "\(combined.report.message)")
        #expect(combined.report.reranker == "stylelm+ppmi-svd")
        #expect(combined.report.retrieval == "ppmi-svd word vectors")
        let version = try #require(combined.report.model)
        #expect(version.hasPrefix("hybrid(ppmi-svd") && version.contains(" + 0.3 × "), "\(version)")
        #expect(try StoreReader(path: f.storePath).meta().modelVersion == version)
        #expect(try StoreReader(path: f.storePath).complementary(for: "T0").isEmpty == false)
        #expect(log.infos.contains { $0.contains("reranks with PPMI-SVD") && $0.contains("questions on the catalog's outfits") }, "\(log.infos)")
        #expect(log.warnings.isEmpty, "\(log.warnings)")

        // The job says no: the StyleLM alone, in its own bag space.
        var g = try Fixture()
        g.job.model = modelDir.path
        g.job.recommend.combinePPMISVD = false
        _ = try g.write(smallCatalog(), as: "acme-1.tar.lz4")
        let alone = await g.run()
        #expect(alone.report.status == .succeeded, "\(alone.report.message)")
        #expect(alone.report.reranker == "stylelm")
        #expect(alone.report.model?.hasPrefix("hybrid(") == false)
        #expect(version.contains(alone.report.model ?? "-"), "the hybrid's version names its StyleLM")

        // No outfits: no spread to combine by; the StyleLM reranks alone, with a warning.
        var h = try Fixture()
        h.job.model = modelDir.path
        var noOutfits = smallCatalog()
        noOutfits.outfits = []
        _ = try h.write(noOutfits, as: "acme-1.tar.lz4")
        let bareLog = EventLog()
        let bare = await NightlyRun(job: h.job, events: bareLog.record).run()
        #expect(bare.report.status == .succeeded, "\(bare.report.message)")
        #expect(bare.report.reranker == "stylelm")
        #expect(bareLog.warnings.contains { $0.contains("StyleLM reranks alone") && $0.contains("no spread") }, "\(bareLog.warnings)")
    }

    @Test func combinePPMISVDComesFromTheJobFile() throws {
        #expect(try JobConfig.parse("").recommend.combinePPMISVD)
        #expect(try JobConfig.parse("[recommend]\ncombine_ppmi_svd = false").recommend.combinePPMISVD == false)
        #expect(try JobConfig.parse("[recommend]\ncombine_ppmi_svd = true").recommend.combinePPMISVD)
        do {
            _ = try JobConfig.parse("[recommend]\ncombine_ppmi_svd = \"yes\"")
            Issue.record("a string was accepted")
        } catch let e as LookbookError {
            #expect(e.description.contains("combine_ppmi_svd") && e.description.contains("true or false"), "\(e)")
        }
    }
}
