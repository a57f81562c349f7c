import Foundation
import LookbookCore
@testable import Evaluation

/// Small synthetic catalogs with a learnable style signal: outfits pair words of one
/// "look" (denim goes with sneakers, silk with heels), so a text model beats chance.
enum Fixtures {
    static let looks: [[String: [String]]] = [
        ["Tops": ["denim shirt", "plaid flannel shirt", "graphic tee"], "Shoes": ["canvas sneakers", "white sneakers", "trail sneakers"],
         "Bags": ["canvas backpack", "nylon backpack"], "Bottoms": ["ripped jeans", "boyfriend jeans"]],
        ["Tops": ["silk blouse", "satin camisole", "lace blouse"], "Shoes": ["stiletto heels", "patent pumps", "strappy heels"],
         "Bags": ["leather clutch", "beaded clutch"], "Bottoms": ["pencil skirt", "satin skirt"]],
        ["Tops": ["wool sweater", "cashmere turtleneck", "cable knit sweater"], "Shoes": ["suede boots", "chelsea boots", "shearling boots"],
         "Bags": ["suede tote", "leather tote"], "Bottoms": ["corduroy trousers", "wool trousers"]],
    ]

    /// `outfits` outfits cycling through the looks, each item its own product with a
    /// unique title (a variant number) so no two products share content.
    static func catalog(outfits count: Int = 60, seed: UInt64 = 5) -> Catalog {
        var rng = SplitMix64(seed: seed)
        var products: [Product] = []
        var outfits: [Outfit] = []
        let categories = ["Tops", "Bottoms", "Shoes", "Bags"]
        let slots: [String: Slot] = ["Tops": .top, "Bottoms": .bottom, "Shoes": .shoes, "Bags": .bag]
        for o in 0..<count {
            let look = looks[o % looks.count]
            var items: [String] = []
            for (c, category) in categories.enumerated() {
                let names = look[category]!
                let title = names[rng.below(names.count)] + " style\(o)x\(c)"
                let id = "\(1000 + o)_\(c + 1)"
                products.append(Product(id: id, title: title, category: category, slot: slots[category]!))
                items.append(id)
            }
            outfits.append(Outfit(id: "\(1000 + o)", items: items, likes: o))
        }
        return Catalog(manifest: CatalogManifest(retailer: "test", snapshot: "2026-01-01T00:00:00Z"),
                       products: products, outfits: outfits)
    }

    static func data(_ s: String) -> Data { Data(s.utf8) }

    static func numbered<T>(_ xs: [T]) -> [Numbered<T>] {
        xs.enumerated().map { Numbered(line: $0.offset + 1, value: $0.element) }
    }

    /// `../shared/data/polyvore` from the package root, or nil when absent.
    static func polyvoreDirectory(file: String = #filePath) -> String? {
        let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.deletingLastPathComponent().appendingPathComponent("shared/data/polyvore").standardizedFileURL.path
        return FileManager.default.fileExists(atPath: dir + "/maryland_valid_no_dup.json") ? dir : nil
    }
}
