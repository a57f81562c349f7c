import CArchive
import CLZ4
import Foundation
import LookbookCore

/// Writes a `Catalog` in catalog format v1: a directory, or an archive when the path
/// ends in an archive extension (see `ArchiveWriter.format(forPathExtension:)`).
///
/// Output is stable: keys are sorted and rows keep the catalog's order, so the same
/// catalog gives the same bytes (golden files, content hashes). `Product.slot` is not
/// written: it is not part of the format, ingest derives it.
public enum CatalogWriter {
    /// Writes `catalog` with the given image files (path inside the catalog → bytes).
    /// `outfits.jsonl` and `feedback.jsonl` are written only when non-empty.
    public static func write(_ catalog: Catalog, images: [String: [UInt8]] = [:], to path: String) throws {
        var files: [(String, [UInt8])] = []
        files.append(("catalog.json", try manifestJSON(catalog.manifest)))
        files.append(("products.jsonl", try productsJSONL(catalog.products)))
        if !catalog.outfits.isEmpty { files.append(("outfits.jsonl", try jsonLines(catalog.outfits))) }
        if !catalog.feedback.isEmpty { files.append(("feedback.jsonl", try jsonLines(catalog.feedback))) }
        for key in images.keys.sorted() { files.append((key, images[key]!)) }

        if let (format, filter) = ArchiveWriter.format(forPathExtension: path) {
            let writer = try ArchiveWriter(path: path, format: format, filter: filter)
            var directories = Set<String>()
            for (name, data) in files {
                // Directory entries first, as real tools write them.
                var parts = name.split(separator: "/").dropLast()
                var prefix = ""
                while !parts.isEmpty {
                    prefix += parts.removeFirst() + "/"
                    if directories.insert(prefix).inserted { try writer.addDirectory(prefix) }
                }
                try writer.addFile(name, data: data)
            }
            try writer.close()
        } else {
            let fm = FileManager.default
            let root = URL(fileURLWithPath: path)
            do {
                try fm.createDirectory(at: root, withIntermediateDirectories: true)
                for (name, data) in files {
                    let url = root.appendingPathComponent(name)
                    try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(data).write(to: url)
                }
            } catch let e as LookbookError { throw e } catch {
                throw LookbookError(.io, "cannot write catalog directory \(path)", underlying: "\(error)")
            }
        }
    }

    /// Writes a bare product feed (no manifest, no images): `.jsonl` as is,
    /// `.jsonl.lz4` as an LZ4 frame, `.jsonl.gz` / `.jsonl.zst` through libarchive's raw format.
    public static func writeBareFeed(_ products: [Product], to path: String) throws {
        try writeBareFile(productsJSONL(products), to: path)
    }

    /// Writes `bytes` compressed according to the extension of `path` (`.lz4`, `.gz`,
    /// `.zst`, anything else: as is). Tests use it for corrupt-stream fixtures too.
    public static func writeBareFile(_ bytes: [UInt8], to path: String) throws {
        let p = path.lowercased()
        let out: [UInt8]
        if p.hasSuffix(".lz4") {
            out = try lz4Frame(bytes)
        } else if p.hasSuffix(".gz") || p.hasSuffix(".zst") {
            try writeRaw(bytes, to: path, zstd: p.hasSuffix(".zst"))
            return
        } else {
            out = bytes
        }
        do { try Data(out).write(to: URL(fileURLWithPath: path)) } catch {
            throw LookbookError(.io, "cannot write \(path)", underlying: "\(error)")
        }
    }

    /// One LZ4 frame holding `bytes` (content size recorded, checksum on).
    public static func lz4Frame(_ bytes: [UInt8]) throws -> [UInt8] {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.contentSize = UInt64(bytes.count)
        prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        let bound = LZ4F_compressFrameBound(bytes.count, &prefs)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                LZ4F_compressFrame(dst.baseAddress, bound, src.baseAddress, bytes.count, &prefs)
            }
        }
        if LZ4F_isError(n) != 0 {
            throw LookbookError(.io, "lz4 compression failed", underlying: String(cString: LZ4F_getErrorName(n)))
        }
        out.removeSubrange(n...)
        return out
    }

    // MARK: - Encoding

    /// `catalog.json` bytes.
    public static func manifestJSON(_ manifest: CatalogManifest) throws -> [UInt8] {
        Array(try encoder.encode(manifest)) + [0x0A]
    }

    /// `products.jsonl` bytes: snake_case keys, no `slot`, empty lists and maps left out.
    public static func productsJSONL(_ products: [Product]) throws -> [UInt8] {
        try jsonLines(products.map(ProductRow.init))
    }

    static func jsonLines<T: Encodable>(_ rows: [T]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * 256)
        for row in rows {
            out.append(contentsOf: try encoder.encode(row))
            out.append(0x0A)
        }
        return out
    }

    private static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// A product as the file holds it.
    private struct ProductRow: Encodable {
        var p: Product
        init(_ p: Product) { self.p = p }
        enum CodingKeys: String, CodingKey {
            case id, title, category, description, brand, color, gender, price, currency
            case inStock = "in_stock"
            case url, images, attributes
            case updatedAt = "updated_at"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(p.id, forKey: .id)
            try c.encode(p.title, forKey: .title)
            try c.encode(p.category, forKey: .category)
            try c.encodeIfPresent(p.description, forKey: .description)
            try c.encodeIfPresent(p.brand, forKey: .brand)
            try c.encodeIfPresent(p.color, forKey: .color)
            try c.encodeIfPresent(p.gender, forKey: .gender)
            try c.encodeIfPresent(p.price, forKey: .price)
            try c.encodeIfPresent(p.currency, forKey: .currency)
            try c.encode(p.inStock, forKey: .inStock)
            try c.encodeIfPresent(p.url, forKey: .url)
            if !p.images.isEmpty { try c.encode(p.images, forKey: .images) }
            if !p.attributes.isEmpty { try c.encode(p.attributes, forKey: .attributes) }
            try c.encodeIfPresent(p.updatedAt, forKey: .updatedAt)
        }
    }

    private static func writeRaw(_ bytes: [UInt8], to path: String, zstd: Bool) throws {
        guard let a = archive_write_new() else { throw LookbookError(.io, "cannot create archive writer") }
        defer { archive_write_free(a) }
        func check(_ rc: Int32, _ what: String) throws {
            guard rc < ARCHIVE_WARN else { return }
            let msg = archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
            throw LookbookError(.io, "cannot \(what) \(path)", underlying: "libarchive errno \(archive_errno(a)): \(msg)")
        }
        try check(archive_write_set_format_raw(a), "set raw format for")
        try check(zstd ? archive_write_add_filter_zstd(a) : archive_write_add_filter_gzip(a), "add filter for")
        try check(archive_write_open_filename(a, path), "open")
        guard let entry = archive_entry_new() else { throw LookbookError(.io, "out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, "data")
        archive_entry_set_filetype(entry, 0o100000)
        archive_entry_set_size(entry, Int64(bytes.count))
        try check(archive_write_header(a, entry), "write header of")
        let n = bytes.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
        if n < 0 { try check(Int32(n), "write") }
        try check(archive_write_close(a), "close")
    }
}
