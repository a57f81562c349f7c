import CatalogIngest
import Foundation
import LookbookCore

/// Disk output goes through CatalogIngest's writers, the one place the format is written.
enum CatalogWriterBridge {
    static func write(_ generated: GeneratedCatalog, to path: String) throws {
        try CatalogWriter.write(generated.catalog, images: generated.images, to: path)
    }
}

extension SampleCatalogGenerator {
    /// Generates the catalog and writes it straight into an archive (`.tar`, `.tar.lz4`,
    /// `.tar.gz`, `.tar.zst`, `.zip`), rendering photos in batches so that only one
    /// batch of encoded photos is in memory: for benchmark catalogs of gigabytes.
    ///
    /// The archive holds the same entries, in the same order, as
    /// `write(generate(), to:)`. Returns the catalog and truth without photo bytes. On
    /// failure the partial archive is removed.
    public func writeArchive(to path: String,
                             progress: (@Sendable (Progress) throws -> Void)? = nil) throws -> GeneratedCatalog {
        guard let (format, filter) = ArchiveWriter.format(forPathExtension: path) else {
            throw LookbookError(.usage, "\(path) has no archive extension: use .tar, .tar.lz4, .tar.gz, .tar.zst or .zip")
        }
        let generated = try generate(renderImages: false)
        do {
            let writer = try ArchiveWriter(path: path, format: format, filter: filter)
            let catalog = generated.catalog
            try writer.addFile("catalog.json", data: CatalogWriter.manifestJSON(catalog.manifest))
            try writer.addFile("products.jsonl", data: CatalogWriter.productsJSONL(catalog.products))
            if !catalog.outfits.isEmpty { try writer.addFile("outfits.jsonl", data: jsonLines(catalog.outfits)) }
            if !catalog.feedback.isEmpty { try writer.addFile("feedback.jsonl", data: jsonLines(catalog.feedback)) }
            let photos = catalog.products.compactMap { generated.truth[$0.id]?.image }.sorted { $0.path < $1.path }
            if !photos.isEmpty { try writer.addDirectory("images/") }
            let batch = max(64, workers * 32)
            var start = 0
            while start < photos.count {
                let chunk = Array(photos[start..<min(start + batch, photos.count)])
                let offset = start, total = photos.count
                let bytes = try render(chunk, progress: progress.map { report in
                    { @Sendable p in try report(Progress(imagesDone: offset + p.imagesDone, imagesTotal: total)) }
                })
                for photo in chunk { try writer.addFile(photo.path, data: bytes[photo.path]!) }
                start += batch
            }
            try writer.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        return generated
    }

    /// JSON Lines as `CatalogWriter` writes them: sorted keys, unescaped slashes.
    private func jsonLines<T: Encodable>(_ rows: [T]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out: [UInt8] = []
        for row in rows {
            out.append(contentsOf: try encoder.encode(row))
            out.append(0x0A)
        }
        return out
    }
}
