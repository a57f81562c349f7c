import Foundation
import LookbookCore
import Testing
import TestSupport

@Suite struct SlotRulesTests {
    let rules = SlotRules()

    @Test(arguments: [
        ("Women > Shoes > Ankle Boots", Slot.shoes),
        ("Men > Tops > Dress Shirts", .top),
        ("Women > Dresses > Shirt Dresses", .dress),
        ("Women > Clothing > Tank Tops", .top),
        ("Women > Jeans > Skinny", .bottom),
        ("Women > Coats & Jackets", .outerwear),
        ("Accessories > Bags > Crossbody", .bag),
        ("Accessories > Jewellery > Earrings", .jewellery),
        ("Accessories > Sunglasses", .eyewear),
        ("Men > Hats & Caps", .hat),
        ("Men > Accessories > Belts", .accessory),
        ("Shoe Accessories", .accessory),
        ("Apparel > Innerwear > Innerwear Vests", .other),
        ("Apparel > Topwear > Kurtas", .top),
        ("Footwear > Shoes > Casual Shoes", .shoes),
        ("Men's Key Rings & Chains", .accessory),
        ("Home > Candles", .other),
        ("女装 > 上衣", .top),
        ("女装 > 下装 > 牛仔裤", .bottom),
        ("女装 > 连衣裙", .dress),
        ("女装 > 裙", .dress),
        ("女装 > 半身裙", .bottom),
        ("男装 > 外套", .outerwear),
        ("女鞋 > 短靴", .shoes),
        ("鞋", .shoes),
        ("包", .bag),
        ("配饰 > 帽子", .hat),
        ("配饰 > 眼镜", .eyewear),
        ("配饰 > 项链", .jewellery),
        ("首饰", .jewellery),
    ])
    func builtInCategory(category: String, slot: Slot) {
        #expect(rules.slot(category: category, title: "") == slot)
    }

    @Test(arguments: [
        ("Women > New In", "Leather ankle boots", Slot.shoes),
        ("Sale", "Striped cotton t-shirt", .top),
        ("", "Midi wrap dress", .dress),
        ("Women > Accessories > New In", "Gold hoop earrings", .jewellery),
        ("Women > Accessories", "Gift card", .accessory),
        ("Women > New In", "Gift card", .other),
        ("Men > Shirts", "Shirt with boots print", .top),  // the category decides when it can
    ])
    func titleWhenTheCategoryIsVague(category: String, title: String, slot: Slot) {
        #expect(rules.slot(category: category, title: title) == slot)
    }

    @Test func overridesWinAndTheLongestPatternWins() {
        let r = SlotRules(overrides: [.init(pattern: "boots", slot: .accessory),
                                      .init(pattern: "ankle boots", slot: .hat),
                                      .init(pattern: "Gift", slot: .accessory)])
        #expect(r.slot(category: "Women > Shoes > Ankle Boots", title: "") == .hat)
        #expect(r.slot(category: "Women > Shoes > Knee Boots", title: "") == .accessory)
        #expect(r.slot(category: "Women > GIFTS", title: "") == .accessory)
        #expect(r.slot(category: "Women > Shoes > Pumps", title: "") == .shoes)
    }

    // MARK: Against the shared research data

    /// Polyvore fine categories of wearable types must get a real slot; the test prints
    /// those that fall to `other` and asserts high coverage.
    @Test(.enabled(if: SharedData.file("polyvore/category_type.tsv") != nil, Comment(rawValue: SharedData.missingReason)))
    func polyvoreCategoriesCoverage() throws {
        let text = try String(contentsOf: SharedData.file("polyvore/category_type.tsv")!, encoding: .utf8)
        let wearable: Set<String> = ["outer", "tops", "full", "bottoms", "shoes", "legwear", "headwear", "bag", "accessory"]
        var total = 0
        var fallen: [String] = []
        var cosmeticsAsSlot: [String] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 4 else { continue }
            let slot = rules.slot(category: f[3], title: "")
            if f[1] == "cosmetics", slot != .other { cosmeticsAsSlot.append("\(f[3]) → \(slot)") }
            guard wearable.contains(f[1]) else { continue }
            total += 1
            if slot == .other { fallen.append(f[3]) }
        }
        print("Polyvore wearable categories falling to other (\(fallen.count)/\(total)): \(fallen.joined(separator: ", "))")
        #expect(total > 150)
        #expect(Double(total - fallen.count) / Double(total) >= 0.97, "\(fallen)")
        #expect(cosmeticsAsSlot.isEmpty, "\(cosmeticsAsSlot)")
    }

    /// The coarse Polyvore type agrees with the slot where the two vocabularies line up.
    @Test(.enabled(if: SharedData.file("polyvore/category_type.tsv") != nil, Comment(rawValue: SharedData.missingReason)))
    func polyvoreTypesAgree() throws {
        let text = try String(contentsOf: SharedData.file("polyvore/category_type.tsv")!, encoding: .utf8)
        let expected: [String: Slot] = ["outer": .outerwear, "tops": .top, "full": .dress, "bottoms": .bottom,
                                        "shoes": .shoes, "bag": .bag]
        var total = 0
        var disagree: [String] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 4, let want = expected[f[1]] else { continue }
            total += 1
            let got = rules.slot(category: f[3], title: "")
            if got != want { disagree.append("\(f[3]): \(f[1]) vs \(got)") }
        }
        print("Polyvore type disagreements (\(disagree.count)/\(total)): \(disagree.joined(separator: "; "))")
        #expect(Double(total - disagree.count) / Double(total) >= 0.95, "\(disagree)")
    }

    /// Every Myntra articleType of apparel, footwear and accessories, read as the path
    /// `masterCategory > subCategory > articleType`.
    @Test(.enabled(if: SharedData.file("myntra/styles.csv") != nil, Comment(rawValue: SharedData.missingReason)))
    func myntraArticleTypesCoverage() throws {
        var paths = Set<String>()
        for file in ["myntra/styles.csv", "myntra/styles_no_image.csv"] {
            guard let url = SharedData.file(file) else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            for line in text.split(whereSeparator: \.isNewline).dropFirst() {
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard f.count >= 5 else { continue }
                paths.insert("\(f[2]) > \(f[3]) > \(f[4])")
            }
        }
        // Worn or carried, but never part of a styled outfit: `other` is right for these.
        let notOutfitPieces = ["Innerwear", "Nightwear", "Swimwear", "Perfume", "Water Bottle", "Bath Robe"]
        let wearable = paths.filter { $0.hasPrefix("Apparel") || $0.hasPrefix("Footwear") || $0.hasPrefix("Accessories") }
        let outfitPieces = wearable.filter { p in !notOutfitPieces.contains { p.contains($0) } }
        let fallen = outfitPieces.filter { rules.slot(category: $0, title: "") == .other }.sorted()
        let expectedOther = wearable.subtracting(outfitPieces).filter { rules.slot(category: $0, title: "") != .other }.sorted()
        print("Myntra article types falling to other (\(fallen.count)/\(outfitPieces.count)): \(fallen.joined(separator: "; "))")
        print("Myntra underwear/sleepwear/swimwear given a slot: \(expectedOther)")
        #expect(outfitPieces.count > 80)
        #expect(Double(outfitPieces.count - fallen.count) / Double(outfitPieces.count) >= 0.97, "\(fallen)")
        let care = paths.filter { $0.hasPrefix("Personal Care") }
        let careAsSlot = care.filter { rules.slot(category: $0, title: "") != .other }.sorted()
        print("Myntra personal care with a slot: \(careAsSlot)")
        #expect(careAsSlot.count <= 2, "\(careAsSlot)")
    }
}
