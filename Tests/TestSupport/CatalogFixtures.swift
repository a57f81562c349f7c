import CatalogIngest
import LookbookCore

/// Small catalogs for ingest tests, written with `CatalogWriter` / `ArchiveWriter`.
public enum CatalogFixtures {
    public static let manifest = CatalogManifest(retailer: "acme", snapshot: "2026-11-28T02:00:00Z",
                                                 locale: "en-US", currency: "USD")

    /// Four products across slots, an outfit, a feedback row and two images.
    public static func sample() -> (catalog: Catalog, images: [String: [UInt8]]) {
        let products = [
            Product(id: "p-1", title: "Navy striped cotton shirt", category: "Men > Tops > Shirts",
                    brand: "Acme", color: "navy", gender: "men", price: 39.5, inStock: true,
                    url: "https://acme.example/p-1", images: ["images/p-1.png"],
                    attributes: ["material": "cotton"], updatedAt: "2026-11-27T10:00:00Z"),
            Product(id: "p-2", title: "Slim chinos", category: "Men > Trousers", price: 59, inStock: false,
                    images: ["images/p-2.jpg"]),
            Product(id: "p-3", title: "Leather ankle boots", category: "Women > Shoes > Ankle Boots",
                    description: "Zip, \"stacked\" heel,\nlined", gender: "women"),
            Product(id: "p-4", title: "真丝连衣裙", category: "女装 > 连衣裙", currency: "CNY"),
        ]
        let outfits = [Outfit(id: "o-1", items: ["p-1", "p-2", "p-3"], name: "Weekend", source: "stylist", likes: 12)]
        let feedback = [Feedback(anchor: "p-1", item: "p-2", verdict: .approve, slot: "bottom", at: "2026-11-27T11:00:00Z")]
        let images: [String: [UInt8]] = [
            "images/p-1.png": ImageFixtures.png(width: 4, height: 3),
            "images/p-2.jpg": ImageFixtures.jpegHeader(width: 640, height: 480),
        ]
        return (Catalog(manifest: manifest, products: products, outfits: outfits, feedback: feedback), images)
    }

    /// `n` valid product rows as JSON Lines.
    public static func productLines(_ n: Int, prefix: String = "p") -> String {
        (0..<n).map { #"{"id":"\#(prefix)-\#($0)","title":"Item \#($0) cotton shirt","category":"Women > Tops > Shirts","price":\#($0 % 100).5}"# }
            .joined(separator: "\n") + "\n"
    }

    /// A tar archive with a valid manifest and products, then whatever `extra` adds.
    public static func archive(at path: String, format: ArchiveWriter.Format = .tar, filter: ArchiveWriter.Filter = .none,
                               products: String = productLines(3),
                               extra: (ArchiveWriter) throws -> Void = { _ in }) throws {
        let w = try ArchiveWriter(path: path, format: format, filter: filter)
        try w.addFile("catalog.json", data: try CatalogWriter.manifestJSON(manifest))
        try w.addFile("products.jsonl", data: Array(products.utf8))
        try extra(w)
        try w.close()
    }

    /// A catalog directory with a manifest and the given row files (name → text).
    public static func directory(in dir: TempDirectory, _ name: String = "catalog",
                                 manifest: String? = nil, files: [String: String]) throws -> String {
        let root = dir.path(name)
        try dir.write("\(name)/catalog.json", manifest ?? String(decoding: try CatalogWriter.manifestJSON(Self.manifest), as: UTF8.self))
        for (file, text) in files { try dir.write("\(name)/\(file)", text) }
        return root
    }
}
