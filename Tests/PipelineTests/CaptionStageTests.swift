import CatalogGenerator
import CatalogIngest
import Foundation
import Imaging
import LookbookCore
import LookupStore
import TestSupport
import Testing
import Captioning
@testable import Pipeline

/// A generated catalog with photos, as the nightly job sees it.
private func generatedFixture(snapshot: String = "2026-11-28T02:00:00Z", seed: UInt64 = 4) throws -> (Fixture, GeneratedCatalog) {
    let f = try Fixture()
    let config = SampleCatalogGenerator.Config(seed: seed, snapshot: snapshot, productCount: 60, imageCount: 50,
                                               imageSize: 96, outfitCount: 30)
    let generated = try SampleCatalogGenerator(config: config).generate()
    try SampleCatalogGenerator.write(generated, to: f.root.appendingPathComponent("inbox/shop.tar.lz4").path)
    return (f, generated)
}

@Test func aSecondRunCaptionsNoImageItCaptionedBefore() async throws {
    let (f, generated) = try generatedFixture()
    let first = await f.run()
    #expect(first.report.status == .succeeded, "\(first.report.message)")
    #expect(first.report.counts.captioned == 50)
    #expect(first.report.captioner == EmbeddedCaptioner().id)

    // The next night: a new snapshot with the same photos (prices changed).
    var next = generated
    next.catalog.manifest.snapshot = "2026-11-29T02:00:00Z"
    for i in next.catalog.products.indices { next.catalog.products[i].price = (next.catalog.products[i].price ?? 10) + 1 }
    try FileManager.default.removeItem(at: f.root.appendingPathComponent("inbox/shop.tar.lz4"))
    try SampleCatalogGenerator.write(next, to: f.root.appendingPathComponent("inbox/shop-2.tar.lz4").path)
    let second = await f.run()
    #expect(second.report.status == .succeeded, "\(second.report.message)")
    #expect(second.report.counts.captioned == 0)
    #expect(second.report.counts.captionsFromCache == 50)
}

@Test func captionsReachTheStoreAndDescribeTheGarment() async throws {
    let (f, generated) = try generatedFixture(seed: 8)
    #expect(await f.run().report.status == .succeeded)
    let reader = try StoreReader(path: f.storePath)
    var familyHits = 0, withImage = 0
    for p in generated.catalog.products {
        let stored = try #require(try reader.product(id: p.id))
        let caption = try #require(stored.caption)
        #expect(!caption.isEmpty)
        guard let truth = generated.truth[p.id], truth.image != nil else { continue }
        withImage += 1
        // The caption names a colour of the garment's family (or the colour itself).
        let first = caption.split(separator: " ").first.map(String.init) ?? ""
        if ColorDictionary.named(first)?.family.rawValue == truth.colorFamily.rawValue { familyHits += 1 }
    }
    #expect(withImage == 50)
    #expect(familyHits >= withImage * 6 / 10, "\(familyHits) of \(withImage) captions name the garment's colour family")
}

@Test func aFailingEndpointFallsBackAndTheRunReportCountsIt() async throws {
    let (f, _) = try generatedFixture(seed: 5)
    let server = try LoopbackHTTPServer(script: [.json(500, #"{"error": "overloaded"}"#)])
    var config = RemoteCaptionerConfig(baseURL: server.baseURL, model: "vision")
    config.maxRetries = 1
    config.breakerThreshold = 4
    config.breakerCooldownSeconds = 3600
    config.timeoutSeconds = 15
    let remote = try RemoteCaptioner(config: config, fallback: EmbeddedCaptioner(),
                                     hooks: .init(sleep: { _ in }, random: { 0 }))
    let outcome = await NightlyRun(job: f.job, captioner: remote).run()
    #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
    // Every image was captioned, by the fallback; the endpoint was tried until the
    // breaker opened (4 failed attempts: 2 images x 2 attempts), then left alone.
    #expect(outcome.report.counts.captioned == 50)
    #expect(outcome.report.counts.captionFallbacks == 50)
    #expect(outcome.report.counts.breakerOpenings == 1)
    #expect(outcome.report.counts.captionRetries >= 1)
    #expect(server.requestCount <= 4 + Int(config.maxConcurrent))
}
