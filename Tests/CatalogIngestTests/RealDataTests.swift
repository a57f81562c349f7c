import CatalogIngest
import Foundation
import Imaging
import LookbookCore
import Testing
import TestSupport

/// Ingest against the shared research data (never copied into the repository): real
/// JPEGs from the Myntra catalog, packed into a temporary archive.
@Suite(.enabled(if: SharedData.file("myntra/images") != nil, Comment(rawValue: SharedData.missingReason)))
struct RealDataTests {
    private func myntraImages(_ count: Int) throws -> [URL] {
        let dir = SharedData.file("myntra/images")!
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jpg") }.sorted()
        return names.prefix(count).map { dir.appendingPathComponent($0) }
    }

    @Test func everyMyntraJPEGHeaderIsRead() throws {
        var unread: [String] = []
        for url in try myntraImages(400) {
            let bytes = Array(try Data(contentsOf: url).prefix(CatalogReader.imagePrefixBytes))
            guard let info = ImageHeader.sniff(bytes), info.format == .jpeg, info.width > 0, info.height > 0 else {
                unread.append(url.lastPathComponent); continue
            }
        }
        #expect(unread.isEmpty, "\(unread)")
    }

    @Test func myntraCatalogAsTarLZ4() throws {
        let tmp = try TempDirectory()
        let files = try myntraImages(200)
        var images: [String: [UInt8]] = [:]
        var products: [Product] = []
        for url in files {
            let id = url.deletingPathExtension().lastPathComponent
            images["images/\(id).jpg"] = Array(try Data(contentsOf: url))
            products.append(Product(id: id, title: "Item \(id)", category: "Apparel > Topwear > Tshirts", images: ["images/\(id).jpg"]))
        }
        let catalog = Catalog(manifest: CatalogFixtures.manifest, products: products)
        let path = tmp.path("myntra.tar.lz4")
        try CatalogWriter.write(catalog, images: images, to: path)
        let result = try CatalogReader.read(path: path)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.prefix(5))")
        #expect(result.catalog.images.count == files.count)
        #expect(result.catalog.images.values.allSatisfy { $0.format == .jpeg && $0.width > 0 })
        #expect(result.catalog.products.allSatisfy { $0.slot == .top && $0.images.count == 1 })
    }
}
