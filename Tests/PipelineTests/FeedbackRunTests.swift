import CatalogGenerator
import Foundation
import LookbookCore
import LookupStore
import Testing
@testable import Pipeline

/// Merchandiser verdicts through the nightly run, on the committed sample catalog's
/// products and outfits (without photos, to stay fast): after the next run a rejected
/// item is out of that anchor's list and an approved one leads it.
@Test func merchandiserVerdictsMoveItemsInTheNextRunsLists() async throws {
    var config = SampleCatalogGenerator.Config.sample()
    config.imageCount = 0
    var day1 = try SampleCatalogGenerator(config: config, workers: 1).generate(renderImages: false).catalog
    day1.feedback = []
    let f = try Fixture()
    _ = try f.write(day1, as: "sample-1.tar.lz4")
    let first = await f.run()
    #expect(first.report.status == .succeeded, "\(first.report.message)")

    // Two anchors with full lists: reject the top item of one of their lists, approve
    // the last one.
    let reader = try StoreReader(path: f.storePath)
    var picked: [(anchor: String, slot: Slot, top: String, last: String)] = []
    for p in day1.products.sorted(by: { $0.id < $1.id }) where picked.count < 2 {
        guard let list = try reader.complementary(for: p.id).first(where: { $0.items.count >= 5 }) else { continue }
        picked.append((p.id, list.targetSlot, list.items[0].productID, list.items.last!.productID))
    }
    try #require(picked.count == 2)
    var day2 = day1
    day2.manifest.snapshot = "2026-11-29T02:00:00Z"
    day2.feedback = picked.flatMap { p in
        [Feedback(anchor: p.anchor, item: p.top, verdict: .reject, at: "2026-11-28T15:00:00Z"),
         Feedback(anchor: p.anchor, item: p.last, verdict: .approve, at: "2026-11-28T15:00:00Z")]
    }
    _ = try f.write(day2, as: "sample-2.tar.lz4")
    let second = await f.run()
    #expect(second.report.status == .succeeded, "\(second.report.message)")
    #expect(second.report.precompute?.anchorReasons["feedback changed"] == 2, "\(String(describing: second.report.precompute))")

    let after = try StoreReader(path: f.storePath)
    for p in picked {
        let list = try #require(try after.complementary(for: p.anchor, slot: p.slot))
        let ids = list.items.map(\.productID)
        #expect(!ids.contains(p.top), "rejected \(p.top) still in \(p.anchor)'s \(p.slot) list: \(ids)")
        #expect(ids.first == p.last, "approved \(p.last) does not lead \(p.anchor)'s \(p.slot) list: \(ids)")
        #expect(list.items.first?.reason == "approved by a merchandiser")
    }
}
