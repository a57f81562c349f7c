import CatalogIngest
import Foundation
import LookbookCore
import LookupStore
import Recommender
import Testing
import TestSupport
@testable import Pipeline

/// The nightly run's PPMI-SVD reranker adds the outfit-structure model trained that
/// night (`[recommend] structure`, default true), falls back to PPMI-SVD alone with a
/// warning when the catalog gives nothing to measure, and leaves it out when the job says no.
@Suite(.serialized) struct StructureNightlyTests {
    @Test func structureComesFromTheJobFile() throws {
        #expect(try JobConfig.parse("").recommend.structure)
        #expect(try JobConfig.parse("[recommend]\nstructure = false").recommend.structure == false)
        #expect(try JobConfig.parse("[recommend]\nstructure = true").recommend.structure)
        do {
            _ = try JobConfig.parse("[recommend]\nstructure = \"yes\"")
            Issue.record("a string was accepted")
        } catch let e as LookbookError {
            #expect(e.description.contains("structure") && e.description.contains("true or false"), "\(e)")
        }
    }

    @Test func ppmiSVDRerankesWithTheStructureModel() async throws {
        var f = try Fixture()
        f.job.recommend.reranker = .ppmiSVD
        let path = try f.write(pricedCatalog(), as: "acme-1.tar.lz4")
        let log = EventLog()
        let first = await NightlyRun(job: f.job, events: log.record).run()
        #expect(first.report.status == .succeeded, "\(first.report.message)")
        #expect(first.report.reranker == "ppmi-svd+structure")
        #expect(first.report.retrieval == "ppmi-svd word vectors")
        let version = try #require(first.report.model)
        // The structure model of the catalog as the run ingested it (slots resolved).
        let ingested = try CatalogReader.read(path: path, limits: f.job.limits, slotRules: SlotRules(overrides: f.job.slotOverrides)).catalog
        let structure = OutfitStructureModel.train(products: ingested.products, outfits: ingested.outfits)
        #expect(version.hasPrefix("ppmi-svd@2:") && version.contains("+structure@1:\(structure.contentHash) "), "\(version)")
        #expect(try StoreReader(path: f.storePath).meta().modelVersion == version)
        let bottom = try #require(try StoreReader(path: f.storePath).complementary(for: "T0").first { $0.targetSlot == .bottom })
        #expect(bottom.items[0].reason.contains("goes with"))
        #expect(log.infos.contains { $0.contains("outfit-structure model") && $0.contains("questions on the catalog's outfits") }, "\(log.infos)")
        #expect(log.warnings.isEmpty, "\(log.warnings)")

        // The same catalog the next night: the same models, an incremental run.
        _ = try f.write(pricedCatalog(snapshot: "2026-11-29T02:00:00Z"), as: "acme-2.tar.lz4")
        let second = await f.run()
        #expect(second.report.status == .succeeded, "\(second.report.message)")
        #expect(second.report.model == version)
        #expect(second.report.precompute?.mode == "incremental", "\(second.report.precompute?.fullReason ?? "")")
        #expect(second.report.precompute?.anchorsRecomputed == 0)

        // A new product outside the outfits: the same models and spreads, still incremental.
        let newcomer = Product(id: "T7", title: "Casual Denim Top 7", category: "Women > Tops > Blouses", gender: "women")
        _ = try f.write(pricedCatalog(snapshot: "2026-11-30T02:00:00Z", extra: [newcomer]), as: "acme-3.tar.lz4")
        let third = await f.run()
        #expect(third.report.status == .succeeded, "\(third.report.message)")
        #expect(third.report.model == version)
        #expect(third.report.precompute?.mode == "incremental", "\(third.report.precompute?.fullReason ?? "")")
        #expect(third.report.diff?.new == 1)
    }

    @Test func structureFalseGivesThePlainPPMISVDReranker() async throws {
        var f = try Fixture()
        f.job.recommend.structure = false
        _ = try f.write(pricedCatalog(), as: "acme-1.tar.lz4")
        let outcome = await f.run()
        #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
        #expect(outcome.report.reranker == "ppmi-svd")
        let version = try #require(outcome.report.model)
        #expect(version.hasPrefix("ppmi-svd@2:") && !version.contains("structure"), "\(version)")
        #expect(outcome.report.modelSource == "ppmi-svd word vectors trained tonight")
    }

    /// Without prices the small catalog's outfits all pair the same three categories:
    /// no spread to measure, PPMI-SVD reranks alone and a warning says why.
    @Test func nothingToMeasureFallsBackWithAWarning() async throws {
        let f = try Fixture()
        _ = try f.write(smallCatalog(), as: "acme-1.tar.lz4")
        let log = EventLog()
        let outcome = await NightlyRun(job: f.job, events: log.record).run()
        #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
        #expect(outcome.report.reranker == "ppmi-svd")
        #expect(outcome.report.model?.contains("structure") == false)
        #expect(log.warnings.contains { $0.contains("PPMI-SVD reranks alone") && $0.contains("no spread") }, "\(log.warnings)")
    }
}
