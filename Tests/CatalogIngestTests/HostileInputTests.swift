import CatalogIngest
import Foundation
import LookbookCore
import Testing
import TestSupport

/// Catalogs that must not be read, or whose bad entries must not be touched.
@Suite struct HostileInputTests {
    private func readError(_ path: String, limits: IngestLimits = IngestLimits()) -> LookbookError? {
        #expect(throws: LookbookError.self) { _ = try CatalogReader.read(path: path, limits: limits) }
    }

    // MARK: Truncated and corrupt

    @Test(arguments: [".tar", ".tar.gz", ".tar.zst", ".tar.lz4", ".zip"])
    func truncatedArchive(ext: String) throws {
        let dir = try TempDirectory()
        let path = dir.path("c\(ext)")
        let (catalog, images) = CatalogFixtures.sample()
        var big = images
        big["images/noise.png"] = ImageFixtures.png(width: 200, height: 200)  // ~120 KB, so the cut lands in data
        try CatalogWriter.write(catalog, images: big, to: path)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: path))
        let error = readError(path)
        #expect(error?.code == .unreadableCatalog)
        #expect(error?.message.contains(path) == true)
        #expect(error?.underlying != nil)
    }

    @Test(arguments: ["products.jsonl.gz", "products.jsonl.zst", "products.jsonl.lz4"])
    func corruptCompressedStream(name: String) throws {
        let dir = try TempDirectory()
        let path = dir.path(name)
        try CatalogWriter.writeBareFile(Array(CatalogFixtures.productLines(2000).utf8), to: path)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        // libarchive writes zstd frames without a content checksum, so corrupt the frame
        // and block headers there; gzip (trailer CRC) and lz4 (checksums) in mid-stream.
        let start = name.hasSuffix(".zst") ? 4 : bytes.count / 3
        for i in start..<(start + 64) { bytes[i] ^= 0x5A }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = readError(path)
        #expect(error?.code == .unreadableCatalog)
        #expect(error?.underlying != nil)
    }

    @Test(arguments: ["products.jsonl.gz", "products.jsonl.zst", "products.jsonl.lz4"])
    func truncatedCompressedStream(name: String) throws {
        let dir = try TempDirectory()
        let path = dir.path(name)
        try CatalogWriter.writeBareFile(Array(CatalogFixtures.productLines(2000).utf8), to: path)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(bytes[0..<(bytes.count * 2 / 3)]).write(to: URL(fileURLWithPath: path))
        #expect(readError(path)?.code == .unreadableCatalog)
    }

    @Test func notAnArchiveAtAll() throws {
        let dir = try TempDirectory()
        let path = try dir.write("c.tar.gz", "this is not gzip data, just text")
        #expect(readError(path)?.code == .unreadableCatalog)
    }

    // MARK: Unsafe entries

    enum Unsafe: String, CaseIterable, Sendable {
        case parent, nestedParent, absolute, symlink, hardlink, characterDevice, fifo
    }

    @Test(arguments: Unsafe.allCases)
    func unsafeEntryIsRejectedAndNeverRead(kind: Unsafe) throws {
        let dir = try TempDirectory()
        let path = dir.path("c.tar")
        try CatalogFixtures.archive(at: path) { w in
            switch kind {
            case .parent: try w.addFile("../evil.jsonl", data: Array("x".utf8))
            case .nestedParent: try w.addFile("images/../../products.jsonl", data: Array("{}".utf8))
            case .absolute: try w.addFile("/etc/products.jsonl", data: Array("{}".utf8))
            case .symlink: try w.addSymlink("images/a.jpg", target: "/etc/passwd")
            case .hardlink: try w.addHardlink("images/b.jpg", target: "catalog.json")
            case .characterDevice: try w.addCharacterDevice("images/tty")
            case .fifo: try w.addFIFO("images/pipe")
            }
        }
        let result = try CatalogReader.read(path: path)
        #expect(result.diagnostics.map(\.code) == ["unsafe-entry"])
        #expect(result.diagnostics.first?.severity == .error)
        #expect(result.catalog.products.count == 3)
        #expect(result.catalog.images.isEmpty)
    }

    @Test(arguments: [Unsafe.parent, .absolute, .symlink])
    func unsafeZipEntryIsRejected(kind: Unsafe) throws {
        let dir = try TempDirectory()
        let path = dir.path("c.zip")
        try CatalogFixtures.archive(at: path, format: .zip) { w in
            switch kind {
            case .parent: try w.addFile("../../evil.sh", data: Array("x".utf8))
            case .absolute: try w.addFile("/tmp/evil.sh", data: Array("x".utf8))
            default: try w.addSymlink("images/a.jpg", target: "../../etc/passwd")
            }
        }
        let result = try CatalogReader.read(path: path)
        #expect(result.diagnostics.map(\.code) == ["unsafe-entry"])
        #expect(result.catalog.products.count == 3)
    }

    @Test func symlinkInADirectoryCatalogIsRejected() throws {
        let dir = try TempDirectory()
        let root = try CatalogFixtures.directory(in: dir, files: ["products.jsonl": CatalogFixtures.productLines(2)])
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/images/a.png", withDestinationPath: "/etc/passwd")
        let result = try CatalogReader.read(path: root)
        #expect(result.diagnostics.map(\.code) == ["unsafe-entry"])
        #expect(result.diagnostics.first?.file == "images/a.png")
    }

    // MARK: Decompression bombs

    @Test func totalBytesLimit() throws {
        let dir = try TempDirectory()
        try CatalogFixtures.archive(at: dir.path("c.tar")) { w in
            try w.addFile("images/a.bin", repeating: 1, count: 300_000)
        }
        var limits = IngestLimits()
        limits.maxTotalBytes = 200_000
        let error = readError(dir.path("c.tar"), limits: limits)
        #expect(error?.code == .limitExceeded)
        #expect(error?.message.contains("max_total_bytes") == true)
    }

    @Test func entrySizeLimit() throws {
        let dir = try TempDirectory()
        try CatalogFixtures.archive(at: dir.path("c.tar.gz"), filter: .gzip) { w in
            try w.addFile("images/a.png", repeating: 0, count: 3_000_000)
        }
        var limits = IngestLimits()
        limits.maxEntryBytes = 1_000_000
        let error = readError(dir.path("c.tar.gz"), limits: limits)
        #expect(error?.code == .limitExceeded)
        #expect(error?.message.contains("max_entry_bytes") == true)
    }

    @Test(arguments: [ArchiveWriter.Filter.gzip, .zstd, .lz4])
    func compressionRatioLimit(filter: ArchiveWriter.Filter) throws {
        let dir = try TempDirectory()
        try CatalogFixtures.archive(at: dir.path("bomb.tar"), filter: filter) { w in
            try w.addFile("images/zeros.png", repeating: 0, count: 64 << 20)
        }
        let error = readError(dir.path("bomb.tar"))  // default ratio limit 200
        #expect(error?.code == .limitExceeded)
        #expect(error?.message.contains("max_compression_ratio") == true)
    }

    @Test func ignoredFilesCountAgainstTheLimitsToo() throws {
        let dir = try TempDirectory()
        try CatalogFixtures.archive(at: dir.path("c.tar.zst"), filter: .zstd) { w in
            try w.addFile("junk/zeros.bin", repeating: 0, count: 64 << 20)
        }
        #expect(readError(dir.path("c.tar.zst"))?.code == .limitExceeded)
    }

    // MARK: Manifest

    @Test(arguments: [
        (#"{"format":"shopify-export","version":1,"retailer":"a","snapshot":"2026-11-28T02:00:00Z"}"#, "format"),
        (#"{"format":"lookbook-catalog","version":2,"retailer":"a","snapshot":"2026-11-28T02:00:00Z"}"#, "version 2"),
        (#"{"format":"lookbook-catalog""#, "not a valid manifest"),
        (#"{"format":"lookbook-catalog","version":1}"#, "not a valid manifest"),
        (#"{"format":"google-merchant-feed","items":3}"#, "google-merchant-feed"),
    ])
    func manifestOfAnotherFormatOrVersion(manifest: String, mentions: String) throws {
        let dir = try TempDirectory()
        let root = try CatalogFixtures.directory(in: dir, manifest: manifest, files: ["products.jsonl": CatalogFixtures.productLines(2)])
        let error = readError(root)
        #expect(error?.code == .unsupportedCatalog)
        #expect(error?.message.contains(mentions) == true, "\(String(describing: error))")
    }

    @Test func missingManifest() throws {
        let dir = try TempDirectory()
        let w = try ArchiveWriter(path: dir.path("c.tar"), format: .tar, filter: .none)
        try w.addFile("products.jsonl", data: Array(CatalogFixtures.productLines(2).utf8))
        try w.close()
        let error = readError(dir.path("c.tar"))
        #expect(error?.code == .unsupportedCatalog)
        #expect(error?.message.contains("catalog.json") == true)
    }

    @Test func missingProductsFile() throws {
        let dir = try TempDirectory()
        let root = try CatalogFixtures.directory(in: dir, files: [:])
        #expect(readError(root)?.code == .unsupportedCatalog)
    }

    @Test func emptyCatalog() throws {
        let dir = try TempDirectory()
        let root = try CatalogFixtures.directory(in: dir, files: ["products.jsonl": "\n\n"])
        #expect(readError(root)?.code == .emptyCatalog)
    }

    @Test func tooManyBadRows() throws {
        let dir = try TempDirectory()
        let rows = CatalogFixtures.productLines(10) + String(repeating: "{not json}\n", count: 2)
        let root = try CatalogFixtures.directory(in: dir, files: ["products.jsonl": rows])
        let error = readError(root)
        #expect(error?.code == .tooManyBadRows)
        #expect(error?.message.contains("2 of 12") == true)
    }

    @Test func notACatalogPath() throws {
        let dir = try TempDirectory()
        let path = try dir.write("c.rar", "x")
        #expect(readError(path)?.code == .unsupportedCatalog)
        #expect(readError(dir.path("nothing-here"))?.code == .unreadableCatalog)
    }
}
