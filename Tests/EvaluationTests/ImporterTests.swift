import Foundation
import CatalogIngest
import LookbookCore
import Testing
@testable import Evaluation

@Suite struct PolyvoreImporterTests {
    static let maryland = """
    [
      {"set_id": "111", "name": "Denim day", "likes": 12, "views": 40, "items": [
        {"index": 1, "name": "blue denim jacket", "categoryid": 25, "price": 49.5, "likes": 3, "image": "http://x/1.jpg"},
        {"index": 2, "name": "white tee", "categoryid": 11, "price": -1, "likes": 0, "image": "http://x/2.jpg"},
        {"index": 3, "name": "ray-ban aviators", "categoryid": 57, "price": 120, "likes": 9, "image": "http://x/3.jpg"}
      ]},
      {"set_id": 222, "name": "Evening", "likes": 3, "items": [
        {"index": 1, "name": "white tee", "categoryid": 11, "price": 10, "likes": 1, "image": ""},
        {"index": 4, "name": "gold hoops", "categoryid": 999, "price": 5, "likes": 1, "image": ""},
        {"index": 5, "name": " ", "categoryid": 11, "price": 5, "likes": 1, "image": ""}
      ]}
    ]
    """
    static let mcn = """
    {"333": {"upper": {"index": 1, "name": "striped knit"}, "shoe": {"index": 3, "name": "loafers"},
             "bottom": {"index": 2, "name": "chinos"}},
     "444": {"bag": {"index": 2, "name": "straw basket bag"}, "accessory": {"index": 1, "name": "silk scarf"}}}
    """
    static let categoryNames = "11 Tops\n25 Jackets\n57 Sunglasses\n"
    static let categoryTypes = "categorytype_id\tcategorytype\tcategory_id\tcategory\tnum items\n0\touter\t25\tJackets\t3192\n1\ttops\t11\tTops\t4226\n7\taccessory\t57\tSunglasses\t10\n"

    func importer() -> PolyvoreImporter {
        PolyvoreImporter(categoryNames: PolyvoreImporter.parseCategoryNames(Self.categoryNames).names,
                         categoryTypes: PolyvoreImporter.parseCategoryTypes(Self.categoryTypes).types)
    }

    @Test func marylandLayout() throws {
        let r = try importer().read(Fixtures.data(Self.maryland), file: "m.json")
        #expect(r.products.map(\.id) == ["111_1", "111_2", "111_3", "222_1", "222_4", "222_5"])
        #expect(r.outfits.map(\.id) == ["111", "222"])
        #expect(r.outfits[0].items == ["111_1", "111_2", "111_3"])
        #expect(r.outfits[0].likes == 12 && r.outfits[0].name == "Denim day")
        let jacket = r.products[0]
        #expect(jacket.title == "blue denim jacket" && jacket.category == "Jackets" && jacket.slot == .outerwear && jacket.price == 49.5)
        #expect(r.products[1].price == nil)            // -1 means unknown
        #expect(r.products[1].slot == .top)
        #expect(r.products[2].slot == .eyewear)          // accessory coarse type, refined by the fine name
        #expect(r.products[4].category == "Polyvore category 999")
    }

    @Test func coarseCategoriesFollowTheSlot() throws {
        var coarse = importer(); coarse.categoryLevel = .coarse
        let r = try coarse.read(Fixtures.data(Self.maryland), file: "m.json")
        #expect(r.products.map(\.category) == ["Outerwear", "Tops", "Eyewear", "Tops", "Other", "Tops"])
        #expect(r.products[0].attributes["polyvore_category"] == "Jackets")
        #expect(r.products[5].title == "Tops")
    }

    @Test func untitledItemTakesItsCategoryAsTitle() throws {
        let r = try importer().read(Fixtures.data(Self.maryland), file: "m.json")
        #expect(r.products[5].title == "Tops" && r.products[5].attributes["polyvore_untitled"] == "true")
    }

    @Test func writtenCatalogReadsBackWithoutDiagnostics() throws {
        let r = try importer().catalog(files: [(Fixtures.data(Self.maryland), "m.json"), (Fixtures.data(Self.mcn), "mcn.json")])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-pv-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CatalogWriter.write(r.catalog, to: dir)
        let back = try CatalogReader.read(path: dir)
        #expect(back.diagnostics.isEmpty)
        #expect(back.catalog.products.map(\.id) == r.catalog.products.map(\.id))
        #expect(back.catalog.outfits.map(\.items) == r.catalog.outfits.map(\.items))
    }

    @Test func duplicateTitlesStaySeparateProducts() throws {
        let r = try importer().read(Fixtures.data(Self.maryland), file: "m.json")
        #expect(r.products.filter { $0.title == "white tee" }.map(\.id) == ["111_2", "222_1"])
    }

    @Test func mcnLayout() throws {
        let r = try importer().read(Fixtures.data(Self.mcn), file: "mcn.json")
        #expect(r.outfits.map(\.id) == ["333", "444"])
        #expect(r.outfits[0].items == ["333_1", "333_2", "333_3"])   // in index order
        let byID = Dictionary(uniqueKeysWithValues: r.products.map { ($0.id, $0) })
        #expect(byID["333_1"]?.category == "Tops" && byID["333_1"]?.slot == .top)
        #expect(byID["333_3"]?.category == "Shoes" && byID["333_3"]?.slot == .shoes)
        #expect(byID["444_2"]?.slot == .bag && byID["444_1"]?.slot == .accessory)
    }

    @Test func bothFilesMakeOneCatalog() throws {
        let r = try importer().catalog(files: [(Fixtures.data(Self.maryland), "m.json"), (Fixtures.data(Self.mcn), "mcn.json")])
        #expect(r.catalog.outfits.count == 4 && r.catalog.products.count == 11)
        #expect(r.catalog.manifest.retailer == "polyvore")
        #expect(r.catalog.products.allSatisfy { Product.isValidID($0.id) })
    }

    @Test func repeatedSetIsReportedAndSkipped() throws {
        let r = try importer().catalog(files: [(Fixtures.data(Self.mcn), "a.json"), (Fixtures.data(Self.mcn), "b.json")])
        #expect(r.catalog.outfits.count == 2)
        #expect(r.diagnostics.contains { $0.code == EvalDiagnostic.duplicateID && $0.file == "b.json" })
    }

    @Test func notJSONThrows() {
        #expect(throws: LookbookError.self) { try importer().read(Fixtures.data("{nope"), file: "x.json") }
    }

    @Test(arguments: [("headwear", "Hats", Slot.hat), ("headwear", "Eyeglasses", .eyewear), ("accessory", "Earrings", .jewellery),
                      ("full", "Day Dresses", .dress), ("legwear", "Leggings", .bottom), ("cosmetics", "Lipstick", .other),
                      ("shoes", "Ankle Boots", .shoes), ("bottoms", "Jeans", .bottom)])
    func coarseTypeSlots(coarse: String, fine: String, slot: Slot) {
        #expect(PolyvoreImporter().slot(coarseType: coarse, fineName: fine, title: "") == slot)
    }

    @Test(.enabled(if: Fixtures.polyvoreDirectory() != nil, "../shared/data/polyvore is absent: the real Polyvore data is not redistributed")) func realPolyvoreCounts() throws {
        let dir = try #require(Fixtures.polyvoreDirectory())
        let r = try PolyvoreImporter.importFiles(
            outfits: [dir + "/maryland_valid_no_dup.json", dir + "/mcn_train_subset.json"],
            categories: dir + "/category_id.txt", categoryTypes: dir + "/category_type.tsv")
        #expect(r.catalog.outfits.count == 1_497 + 683)
        #expect(r.catalog.products.count == 9_070 + r.catalog.outfits.suffix(683).reduce(0) { $0 + $1.items.count })
        #expect(r.diagnostics.filter { $0.severity == .error }.isEmpty)
        #expect(!r.catalog.products.contains { $0.category.hasPrefix("Polyvore category") })
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-pv-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try CatalogWriter.write(r.catalog, to: out)
        let back = try CatalogReader.read(path: out)
        #expect(back.diagnostics.isEmpty)
        #expect(back.catalog.outfits.count == 2_180 && back.catalog.products.count == r.catalog.products.count)
    }
}
