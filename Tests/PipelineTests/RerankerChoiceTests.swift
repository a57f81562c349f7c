import Foundation
import LookbookCore
import LookupStore
import Testing
@testable import Pipeline

/// The job's `[recommend] reranker` decides which model ranks the published lists, and
/// the run report says which one did and where retrieval ranked.
@Test(arguments: [RerankerKind.ppmiSVD, .cooccurrence])
func theNightlyRunPublishesWithTheChosenReranker(kind: RerankerKind) async throws {
    var f = try Fixture()
    f.job.recommend.reranker = kind
    _ = try f.write(smallCatalog(), as: "acme-1.tar.lz4")
    let outcome = await f.run()
    #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
    #expect(outcome.report.reranker == kind.rawValue)
    let model = try #require(outcome.report.model)
    #expect(model.hasPrefix(kind == .ppmiSVD ? "ppmi-svd@2:" : "cooccurrence-ppmi@3:"))
    #expect(outcome.report.retrieval == (kind == .ppmiSVD ? "ppmi-svd word vectors" : "cooccurrence"))
    #expect(outcome.report.modelSource == (kind == .ppmiSVD ? "ppmi-svd word vectors trained tonight" : "co-occurrence model trained tonight"))

    let reader = try StoreReader(path: f.storePath)
    #expect(try reader.meta().modelVersion == model)
    // The casual top's best bottom is a casual one (even index), and says why.
    let bottom = try #require(try reader.complementary(for: "T0").first { $0.targetSlot == .bottom })
    #expect(["B0", "B2", "B4"].contains(bottom.items[0].productID))
    #expect(bottom.items[0].reason.contains("goes with"))
    #expect(try reader.fitbCandidates(outfitID: "O1").count == 3)

    // The JSON report on disk carries the choice too.
    let path = try #require(outcome.reportPath)
    let saved = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    #expect(saved.reranker == kind.rawValue)
    #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).contains("\"reranker\" : \"\(kind.rawValue)\""))
}

/// Switching the reranker recomputes every list (a new retrieval model and reranker
/// version), and the report says why.
@Test func switchingTheRerankerRecomputesEverything() async throws {
    var f = try Fixture()
    f.job.recommend.reranker = .cooccurrence
    _ = try f.write(smallCatalog(), as: "acme-1.tar")
    let first = await f.run()
    #expect(first.report.status == .succeeded, "\(first.report.message)")
    f.job.recommend.reranker = .ppmiSVD
    _ = try f.write(smallCatalog(snapshot: "2026-11-29T02:00:00Z"), as: "acme-2.tar")
    let second = await f.run()
    #expect(second.report.status == .succeeded, "\(second.report.message)")
    let pc = try #require(second.report.precompute)
    #expect(pc.mode == "full")
    #expect(pc.fullReason?.hasPrefix("new retrieval model ppmi-svd@2:") == true, "\(pc.fullReason ?? "nil")")
    // The same catalog again with the same reranker: incremental, nothing recomputed.
    _ = try f.write(smallCatalog(snapshot: "2026-11-30T02:00:00Z"), as: "acme-3.tar")
    let third = await f.run()
    #expect(third.report.precompute?.mode == "incremental", "\(third.report.precompute?.fullReason ?? "")")
    #expect(third.report.precompute?.anchorsRecomputed == 0)
    #expect(third.report.model == second.report.model)
}
