import CatalogGenerator
import CatalogIngest
import Foundation
import LookbookCore
import Testing

/// A zh-CN retailer without curated outfits, generated on the fly (nothing committed),
/// written as an archive and read back through ingest: every product gets its slot from
/// Chinese categories and titles alone.
@Suite struct ChineseCatalogTests {
    static let config = SampleCatalogGenerator.Config.chineseWithoutOutfits(seed: 11, productCount: 400, imageCount: 40, imageSize: 32)
    static let generated: GeneratedCatalog = try! SampleCatalogGenerator(config: config).generate()

    static func ingest() throws -> IngestResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-zh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("xinyi.tar.gz").path
        try SampleCatalogGenerator.write(generated, to: path)
        return try CatalogReader.read(path: path)
    }

    @Test func isChineseWithoutOutfitsAndSomeProductsWithoutGender() {
        let c = Self.generated.catalog
        #expect(c.manifest.locale == "zh-CN" && c.manifest.currency == "CNY")
        #expect(c.outfits.isEmpty && c.feedback.isEmpty)
        #expect(c.products.contains { $0.gender == nil })
        #expect(c.products.contains { $0.gender != nil })
        let cjk: (String) -> Bool = { $0.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } }
        #expect(c.products.allSatisfy { cjk($0.title) && cjk($0.category) && !$0.title.contains { $0.isASCII && $0.isLetter && $0 != "T" } })
        for word in ["上衣", "下装", "连衣裙", "外套", "鞋", "包", "帽子", "首饰", "围巾"] {
            #expect(c.products.contains { $0.category.contains(word) }, "\(word)")
        }
    }

    /// Ingest maps every Chinese product to the slot the generator drew for it: none
    /// falls to `other`, so every one can get complementary lists.
    @Test func ingestGivesEveryProductItsTrueSlot() throws {
        let read = try Self.ingest()
        #expect(read.diagnostics == [])
        #expect(read.catalog.products.count == Self.config.productCount)
        let wrong = read.catalog.products.filter { Self.generated.truth[$0.id]?.slot != $0.slot }
        #expect(wrong.map { "\($0.id) \($0.category) / \($0.title): \($0.slot)" } == [])
        #expect(!read.catalog.products.contains { $0.slot == .other })
        #expect(Set(read.catalog.products.map(\.slot)) == Set(Slot.allCases).subtracting([.other]))
    }

    /// The title alone decides when the category is vague (`新品` = "new in").
    @Test func titlesAloneGiveTheSlot() throws {
        let rules = SlotRules()
        let wrong = Self.generated.catalog.products.filter { rules.slot(category: "新品", title: $0.title) != Self.generated.truth[$0.id]?.slot }
        #expect(wrong.map { "\($0.id) \($0.title)" } == [])
    }

    /// Chinese retail words map to the slot of their English counterpart.
    @Test(arguments: [
        ("上衣", "Tops"), ("下装", "Bottoms"), ("裤", "Trousers"), ("牛仔裤", "Jeans"), ("半身裙", "Skirts"),
        ("百褶裙", "Pleated Skirt"), ("A字裙", "A-line Skirt"), ("连衣裙", "Dresses"), ("裙", "Dress"), ("外套", "Jackets"),
        ("西装外套", "Blazers"), ("羽绒服", "Puffer"), ("皮衣", "Leather Jacket"), ("鞋", "Shoes"), ("运动鞋", "Sneakers"),
        ("短靴", "Ankle Boots"), ("包", "Bags"), ("手袋", "Handbags"), ("斜挎包", "Crossbody Bags"), ("帽", "Hats"),
        ("帽子", "Hats"), ("棒球帽", "Baseball Cap"), ("围巾", "Scarves"), ("腰带", "Belts"), ("首饰", "Jewellery"),
        ("项链", "Necklaces"), ("耳环", "Earrings"), ("太阳镜", "Sunglasses"), ("眼镜", "Eyewear"), ("T恤", "T-Shirts"),
        ("卫衣", "Sweatshirts"), ("连帽卫衣", "Hoodies"), ("衬衫", "Shirts"), ("针织衫", "Knitwear"), ("旗袍", "Dress"),
    ])
    func chineseWordsMapLikeEnglish(chinese: String, english: String) {
        let rules = SlotRules()
        let expected = rules.slot(category: english, title: "")
        #expect(expected != .other, "the English word \(english) has a slot")
        #expect(rules.slot(category: "女装 > " + chinese, title: "") == expected, "\(chinese) ~ \(english)")
        #expect(rules.slot(category: "新品", title: "黑色" + chinese) == expected, "title \(chinese)")
    }
}
