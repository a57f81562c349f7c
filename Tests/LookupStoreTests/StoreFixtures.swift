import Foundation
import LookbookCore
@testable import LookupStore

/// A fresh directory under the system temp dir, removed when the value is dropped.
final class TempDirectory {
    let path: String

    init(_ label: String = #function) throws {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "lookbook-store-tests-\(safe)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func names(_ sub: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sub.isEmpty ? path : file(sub)).sorted()
    }

    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: file(name))) }
}

enum Fixtures {
    /// A small store with the awkward cases: Unicode and CSV-hostile text, missing
    /// optional fields, several target slots per anchor, an outfit and its FITB lists.
    static func content(runID: String = "run-1", tweak: String = "") -> StoreContent {
        let products = [
            StoreProduct(id: "top-1", title: "Navy, striped \"Breton\" shirt\(tweak)", category: "Women > Tops > Shirts",
                         slot: .top, brand: "Mer", color: "navy", gender: "women", price: 49.5, currency: "EUR",
                         inStock: true, url: "https://shop.example/top-1", image: "images/top-1.jpg",
                         imageSHA256: String(repeating: "a", count: 64), caption: "navy striped cotton casual shirt"),
            StoreProduct(id: "jeans-1", title: "Jean droit délavé\nlong", category: "Women > Bottoms > Jeans", slot: .bottom,
                         price: 79, currency: "EUR", image: "images/jeans-1.jpg"),
            StoreProduct(id: "skirt-1", title: "百褶裙", category: "Women > Bottoms > Skirts", slot: .bottom, inStock: false),
            StoreProduct(id: "shoe-1", title: "Ankle boots", category: "Women > Shoes > Ankle Boots", slot: .shoes,
                         brand: "Sole", image: "images/shoe-1.png"),
            StoreProduct(id: "bag-1", title: "Tote 👜", category: "Women > Bags", slot: .bag),
        ]
        let outfit = Outfit(id: "look-1", items: ["top-1", "jeans-1", "shoe-1"], name: "Weekend, easy", source: "stylist", likes: 12)
        let outfit2 = Outfit(id: "look-2", items: ["top-1", "skirt-1"])
        let complementary = [
            Recommendation(anchorID: "top-1", targetSlot: .shoes, items: [
                ScoredProduct(productID: "shoe-1", score: 0.9, reason: "boots, \"smart\"\r\ncasual"),
            ]),
            Recommendation(anchorID: "top-1", targetSlot: .bottom, items: [
                ScoredProduct(productID: "jeans-1", score: 0.8, reason: "denim with navy"),
                ScoredProduct(productID: "skirt-1", score: 0.5, reason: "pleats, contrast"),
            ]),
            Recommendation(anchorID: "top-1", targetSlot: .bag, items: [
                ScoredProduct(productID: "bag-1", score: 0.25, reason: "carry-all"),
            ]),
            Recommendation(anchorID: "jeans-1", targetSlot: .top, items: [
                ScoredProduct(productID: "top-1", score: 0.7, reason: "classic pairing"),
            ]),
        ]
        let fitb = [
            BlankCandidates(outfitID: "look-1", position: 2, items: [
                ScoredProduct(productID: "shoe-1", score: 0.6, reason: "same palette"),
                ScoredProduct(productID: "bag-1", score: -0.1, reason: "wrong slot"),
            ]),
            BlankCandidates(outfitID: "look-1", position: 0, items: [
                ScoredProduct(productID: "top-1", score: 1, reason: "original"),
            ]),
        ]
        return StoreContent(snapshot: "2026-11-28T02:00:00Z", retailer: "acme", modelVersion: "stylelm-7",
                            captionerVersion: "embedded@1.2", runID: runID, buildTime: "2026-11-28T03:04:05Z",
                            products: products, outfits: [outfit, outfit2], complementary: complementary, fitb: fitb)
    }
}
