import ArgumentParser
import CArchive
import CatalogGenerator
import CatalogIngest
import Crypto
import Foundation
import LookbookCore

/// Ingest throughput and memory. Each measured ingest runs in a child process
/// (`lookbook-bench ingest-child`), so its peak RSS is the ingest's alone and not the
/// generator's that built the archive.
struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest figures: product rows/s (target ≥ 50,000), MB/s through a .tar.lz4 of images (≥ 300), peak RSS at two archive sizes.")

    @Option(help: "Products in the feed.") var products = 100_000
    @Option(help: "Images in the image archive.") var images = 10_000
    @Option(help: "Image archive sizes to measure, in MB (peak RSS must not grow with them).")
    var archiveMB: [Int] = [500, 2000]
    @Option(help: "Runs; medians are printed.") var runs = 3

    func run() throws {
        let dir = try temporaryDirectory("ingest")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // 1. Product rows: 100k products and their outfits, no images, in a .tar.lz4.
        var config = SampleCatalogGenerator.Config(seed: 5, productCount: products, imageCount: 0,
                                                   outfitCount: products / 10, includeFeedback: false)
        config.imageCount = 0
        let generated = try SampleCatalogGenerator(config: config).generate(renderImages: false)
        let feed = dir + "/products.tar.lz4"
        try CatalogWriter.write(generated.catalog, to: feed)
        let rowBytes = try fileSize(feed)
        var rowRates: [Double] = [], rowRefRates: [Double] = []
        for run in 0..<runs {
            let r = try child(feed)
            let ref = try seconds { _ = try rawArchiveRead(feed, hash: false) }
            rowRates.append(Double(r.products) / r.seconds)
            rowRefRates.append(Double(r.products) / ref)
            print("rows run \(run + 1): \(r.products) products + \(r.outfits) outfits in \(fmt(r.seconds, 3)) s = \(fmt(Double(r.products) / r.seconds, 0)) rows/s; bare decompress \(fmt(ref, 3)) s; RSS \(fmt(r.peakRSSMiB, 0)) MiB")
        }

        // 2. Images: a catalog of `images` photos padded to reach each archive size.
        let renderer = SampleCatalogGenerator(config: .init(seed: 9, productCount: 64, imageCount: 64, imageSize: 512,
                                                            jpegQuality: 92, pngShare: 0, outfitCount: 0, includeFeedback: false))
        let base = try renderer.generate().images.values.sorted { $0.count < $1.count }
        var rssBySize: [(Int, Double)] = []
        var mbRates: [Double] = [], refRates: [Double] = [], hashRates: [Double] = []
        for (i, mb) in archiveMB.enumerated() {
            let path = dir + "/images-\(mb).tar.lz4"
            try writeImageArchive(path, images: images, bytes: Int64(mb) << 20, base: base)
            let size = try fileSize(path)
            var rss: [Double] = []
            for run in 0..<runs {
                let r = try child(path)
                rss.append(r.peakRSSMiB)
                if i == 0 {
                    let ref = try seconds { _ = try rawArchiveRead(path, hash: false) }
                    let hashed = try seconds { _ = try rawArchiveRead(path, hash: true) }
                    mbRates.append(Double(r.uncompressedBytes) / 1e6 / r.seconds)
                    refRates.append(Double(r.uncompressedBytes) / 1e6 / ref)
                    hashRates.append(Double(r.uncompressedBytes) / 1e6 / hashed)
                    print("images run \(run + 1): \(r.images) images, \(r.uncompressedBytes >> 20) MiB in \(fmt(r.seconds, 2)) s = \(fmt(Double(r.uncompressedBytes) / 1e6 / r.seconds, 0)) MB/s; bare decompress \(fmt(Double(r.uncompressedBytes) / 1e6 / ref, 0)) MB/s; decompress+SHA-256 \(fmt(Double(r.uncompressedBytes) / 1e6 / hashed, 0)) MB/s; RSS \(fmt(r.peakRSSMiB, 0)) MiB")
                } else {
                    print("images \(size >> 20) MiB archive run \(run + 1): \(fmt(r.seconds, 2)) s, RSS \(fmt(r.peakRSSMiB, 0)) MiB")
                }
            }
            rssBySize.append((Int(size >> 20), median(rss)))
            try? FileManager.default.removeItem(atPath: path)
        }

        print("")
        line("product feed", "\(products) products, \(generated.catalog.outfits.count) outfits, \(rowBytes >> 10) KiB .tar.lz4")
        line("ingest product rows, median of \(runs)", "\(fmt(median(rowRates), 0)) rows/s (target ≥ 50,000)")
        line("reference: bare libarchive read, median", "\(fmt(median(rowRefRates), 0)) rows/s")
        line("rows / bare read", fmt(median(rowRates) / median(rowRefRates), 2))
        line("ingest images .tar.lz4, median of \(runs)", "\(fmt(median(mbRates), 0)) MB/s uncompressed (target ≥ 300)")
        line("reference: bare libarchive read, median", "\(fmt(median(refRates), 0)) MB/s")
        line("reference: read + SHA-256, median", "\(fmt(median(hashRates), 0)) MB/s")
        line("ingest / (read + SHA-256)", fmt(median(mbRates) / median(hashRates), 2))
        for (mib, rss) in rssBySize { line("peak RSS ingesting a \(mib) MiB archive", "\(fmt(rss, 0)) MiB") }
    }

    struct ChildResult: Codable {
        var seconds: Double
        var products: Int
        var outfits: Int
        var images: Int
        var uncompressedBytes: Int64
        var peakRSSMiB: Double
    }

    func child(_ path: String) throws -> ChildResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        p.arguments = ["ingest-child", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("ingest of \(path) failed") }
        return try JSONDecoder().decode(ChildResult.self, from: data)
    }

    /// Images cycled from `base` with random bytes appended after each file's end (JPEG
    /// decoders ignore them), so every entry is unique, incompressible like a real
    /// photo, and the archive reaches `bytes`.
    func writeImageArchive(_ path: String, images: Int, bytes: Int64, base: [[UInt8]]) throws {
        let manifest = CatalogManifest(retailer: "bench", snapshot: "2026-11-28T02:00:00Z")
        let per = Int(bytes / Int64(images))
        var rng = SplitMix64(seed: 3)
        let w = try ArchiveWriter(path: path, format: .tar, filter: .lz4)
        try w.addFile("catalog.json", data: try CatalogWriter.manifestJSON(manifest))
        var products: [Product] = []
        for i in 0..<images {
            let name = String(format: "images/B%06d.jpg", i)
            var file = base[i % base.count]
            let pad = max(0, per - file.count)
            file.reserveCapacity(file.count + pad)
            for _ in 0..<(pad / 8) { withUnsafeBytes(of: rng.next()) { file.append(contentsOf: $0) } }
            try w.addFile(name, data: file)
            products.append(Product(id: String(format: "B%06d", i), title: "Bench Item \(i)", category: "Women > Tops", images: [name]))
        }
        try w.addFile("products.jsonl", data: try CatalogWriter.productsJSONL(products))
        try w.close()
    }
}

/// One measured ingest, in its own process; prints a JSON line.
struct IngestChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest-child", shouldDisplay: false)
    @Argument var path: String

    func run() throws {
        let r = try CatalogReader.read(path: path)
        let result = IngestBench.ChildResult(seconds: r.stats.seconds, products: r.catalog.products.count,
                                             outfits: r.catalog.outfits.count, images: r.stats.imagesHashed,
                                             uncompressedBytes: r.stats.uncompressedBytes, peakRSSMiB: peakRSSMiB())
        print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
    }
}

func fileSize(_ path: String) throws -> Int64 {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
}

/// The floor: libarchive decompressing every entry into a reused buffer, optionally
/// with SHA-256 over the bytes. Returns bytes read.
func rawArchiveRead(_ path: String, hash: Bool) throws -> Int64 {
    guard let a = archive_read_new() else { throw ValidationError("archive_read_new") }
    defer { archive_read_free(a) }
    archive_read_support_filter_all(a)
    archive_read_support_format_all(a)
    guard archive_read_open_filename(a, path, 1 << 20) == ARCHIVE_OK else { throw ValidationError("open \(path)") }
    var total: Int64 = 0
    var entry: OpaquePointer?
    var buffer: UnsafeRawPointer?
    var size = 0
    var offset: Int64 = 0
    while archive_read_next_header(a, &entry) == ARCHIVE_OK {
        var hasher = SHA256()
        while archive_read_data_block(a, &buffer, &size, &offset) == ARCHIVE_OK {
            total += Int64(size)
            if hash, let buffer { hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: size)) }
        }
        if hash { _ = hasher.finalize() }
    }
    return total
}
