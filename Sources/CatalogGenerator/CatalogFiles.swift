import CatalogIngest
import LookbookCore

/// Disk output goes through CatalogIngest's writer, the one place the format is written.
enum CatalogWriterBridge {
    static func write(_ generated: GeneratedCatalog, to path: String) throws {
        try CatalogWriter.write(generated.catalog, images: generated.images, to: path)
    }
}
