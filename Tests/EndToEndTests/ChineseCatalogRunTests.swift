import CatalogGenerator
import Foundation
import LookbookCore
import LookupStore
import Testing
import TestSupport

/// A zh-CN retailer without curated outfits, generated on the fly, through `lookbook
/// run`: every product gets a slot from its Chinese category and title, and every one
/// gets complementary lists; the merchandiser's CSV carries the Chinese text intact.
@Test func aChineseCatalogWithoutOutfitsGivesEveryProductASlotAndLists() throws {
    let w = try Workspace()
    let config = SampleCatalogGenerator.Config.chineseWithoutOutfits(seed: 5, productCount: 200, imageCount: 20, imageSize: 32)
    let generated = try SampleCatalogGenerator(config: config).generate()
    try SampleCatalogGenerator.write(generated, to: w.path("inbox/xinyi.tar.gz"))
    let run = try CLI.run(["run", w.job, "--no-progress"])
    #expect(run.exitCode == 0, "\(run.stderr)")

    let reader = try StoreReader(path: w.store)
    #expect(try reader.meta().counts.outfits == 0)
    let ids = try reader.productIDs()
    #expect(ids.count == 200)
    var withoutGender = 0
    for id in ids {
        let product = try #require(try reader.product(id: id))
        #expect(product.slot == generated.truth[id]?.slot, "\(id) \(product.category)")
        #expect(try !reader.complementary(for: id).isEmpty, "\(id) \(product.title) has lists")
        if product.gender == nil { withoutGender += 1 }
    }
    #expect(withoutGender > 0, "some products have no gender and still get lists")

    let export = try CLI.run(["export", w.store, "--format", "csv", "--out", w.path("csv")])
    #expect(export.exitCode == 0, "\(export.stderr)")
    let csv = String(decoding: try Data(contentsOf: URL(fileURLWithPath: w.path("csv/complementary.csv"))), as: UTF8.self)
    let anyTitle = try #require(try reader.product(id: ids[0])?.title)
    #expect(csv.hasPrefix("\u{FEFF}anchor_id,"))
    #expect(csv.contains("\(ids[0]),\(anyTitle),"), "Chinese titles are written as they are, unquoted when they need no quotes")
}
