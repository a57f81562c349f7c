import CatalogIngest
import Foundation
import LookbookCore
import LookupStore
import Recommender
import StyleModel
import Testing
import TestSupport
@testable import Pipeline

/// The nightly run's bag StyleLM + PPMI-SVD hybrid adds the outfit-structure model
/// trained that night (`[recommend] structure`, default true), as `lookbook eval` scores a
/// `lookbook train` directory; leaves it out when the job says no, and falls back to the
/// hybrid alone with a warning when the outfits give it nothing to measure.
@Suite(.serialized) struct HybridStructureNightlyTests {
    @Test func aBagStyleLMRerankesWithPPMISVDAndTheStructureModel() async throws {
        let dir = try TempDirectory("lookbook-hybrid-structure")
        var f = try Fixture()
        f.job.model = try tinyBagModel(in: dir)
        let path = try f.write(pricedCatalog(), as: "acme-1.tar.lz4")
        let log = EventLog()
        let first = await NightlyRun(job: f.job, events: log.record).run()
        #expect(first.report.status == .succeeded, "\(first.report.message)")
        #expect(first.report.reranker == "stylelm+ppmi-svd+structure")
        #expect(first.report.retrieval == "ppmi-svd word vectors")
        let version = try #require(first.report.model)
        // The structure model of the catalog as the run ingested it (slots resolved).
        let ingested = try CatalogReader.read(path: path, limits: f.job.limits, slotRules: SlotRules(overrides: f.job.slotOverrides)).catalog
        let structure = OutfitStructureModel.train(products: ingested.products, outfits: ingested.outfits)
        #expect(version.hasPrefix("hybrid(ppmi-svd") && version.contains(" + 0.3 × ")
                && version.contains(" + structure@1:\(structure.contentHash) "), "\(version)")
        #expect(try StoreReader(path: f.storePath).meta().modelVersion == version)
        #expect(try StoreReader(path: f.storePath).complementary(for: "T0").isEmpty == false)
        #expect(log.infos.contains {
            $0.contains("reranks with PPMI-SVD") && $0.contains("outfit-structure model structure@1:\(structure.contentHash)")
                && $0.contains("× stylelm/") && $0.contains("× category/") && $0.contains("× price/")
        }, "\(log.infos)")
        #expect(log.warnings.isEmpty, "\(log.warnings)")

        // The same catalog the next night: the same models and version, an incremental run.
        _ = try f.write(pricedCatalog(snapshot: "2026-11-29T02:00:00Z"), as: "acme-2.tar.lz4")
        let second = await f.run()
        #expect(second.report.status == .succeeded, "\(second.report.message)")
        #expect(second.report.model == version)
        #expect(second.report.precompute?.mode == "incremental", "\(second.report.precompute?.fullReason ?? "")")
    }

    @Test func structureFalseKeepsTheHybridOfTwo() async throws {
        let dir = try TempDirectory("lookbook-hybrid-structure")
        var f = try Fixture()
        f.job.model = try tinyBagModel(in: dir)
        f.job.recommend.structure = false
        _ = try f.write(pricedCatalog(), as: "acme-1.tar.lz4")
        let log = EventLog()
        let outcome = await NightlyRun(job: f.job, events: log.record).run()
        #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
        #expect(outcome.report.reranker == "stylelm+ppmi-svd")
        let version = try #require(outcome.report.model)
        #expect(version.hasPrefix("hybrid(ppmi-svd") && !version.contains("structure@"), "\(version)")
        #expect(log.warnings.isEmpty, "\(log.warnings)")
    }

    /// Outfits that all pair the same three categories, without prices: no spread for the
    /// structure term; the hybrid of two reranks, with a warning that says why.
    @Test func outfitsWithoutSpreadFallBackToTheHybridOfTwo() async throws {
        let dir = try TempDirectory("lookbook-hybrid-structure")
        var f = try Fixture()
        f.job.model = try tinyBagModel(in: dir)
        _ = try f.write(smallCatalog(), as: "acme-1.tar.lz4")
        let log = EventLog()
        let outcome = await NightlyRun(job: f.job, events: log.record).run()
        #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
        #expect(outcome.report.reranker == "stylelm+ppmi-svd")
        #expect(outcome.report.model?.contains("structure@") == false)
        #expect(log.warnings.contains { $0.contains("without the outfit-structure model") && $0.contains("no spread") }, "\(log.warnings)")
    }
}
