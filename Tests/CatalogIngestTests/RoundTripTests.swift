import CatalogIngest
import Foundation
import LookbookCore
import Testing
import TestSupport

@Suite struct RoundTripTests {
    static let kinds = ["directory", ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.lz4", ".zip"]

    @Test(arguments: kinds)
    func writerThenReaderGivesTheSameCatalog(kind: String) throws {
        let dir = try TempDirectory()
        let (catalog, images) = CatalogFixtures.sample()
        let path = dir.path(kind == "directory" ? "acme" : "acme\(kind)")
        try CatalogWriter.write(catalog, images: images, to: path)

        let result = try CatalogReader.read(path: path)
        let rules = SlotRules()
        var expected = catalog
        for i in expected.products.indices {
            expected.products[i].slot = rules.slot(category: expected.products[i].category, title: expected.products[i].title)
        }
        #expect(result.catalog.manifest == expected.manifest)
        #expect(result.catalog.products == expected.products)
        #expect(result.catalog.outfits == expected.outfits)
        #expect(result.catalog.feedback == expected.feedback)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.catalog.images.keys.sorted() == ["images/p-1.png", "images/p-2.jpg"])
        let png = try #require(result.catalog.images["images/p-1.png"])
        #expect(png.format == .png && png.width == 4 && png.height == 3)
        #expect(png.byteCount == images["images/p-1.png"]!.count)
        #expect(png.sha256.count == 64)
        let jpeg = try #require(result.catalog.images["images/p-2.jpg"])
        #expect(jpeg.format == .jpeg && jpeg.width == 640 && jpeg.height == 480)
        #expect(result.stats.imagesHashed == 2)
        #expect(result.stats.rows["products.jsonl"] == .init(read: 4, rejected: 0))
        #expect(result.stats.uncompressedBytes > 0)
    }

    @Test func slotsAreAssigned() throws {
        let dir = try TempDirectory()
        let (catalog, images) = CatalogFixtures.sample()
        try CatalogWriter.write(catalog, images: images, to: dir.path("c.tar"))
        let slots = try CatalogReader.read(path: dir.path("c.tar")).catalog.products.map(\.slot)
        #expect(slots == [.top, .bottom, .shoes, .dress])
    }

    @Test func imageHashIsTheSHA256OfTheFile() throws {
        let dir = try TempDirectory()
        let (catalog, images) = CatalogFixtures.sample()
        try CatalogWriter.write(catalog, images: images, to: dir.path("c.tar.lz4"))
        let record = try #require(try CatalogReader.read(path: dir.path("c.tar.lz4")).catalog.images["images/p-1.png"])
        let file = try dir.write("p.png", images["images/p-1.png"]!)
        let sha = Process()
        sha.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        sha.arguments = [file]
        let pipe = Pipe()
        sha.standardOutput = pipe
        try sha.run()
        sha.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(out.hasPrefix(record.sha256))
    }

    @Test func productsWithoutSlotFieldInTheFile() throws {
        let (catalog, _) = CatalogFixtures.sample()
        let text = String(decoding: try CatalogWriter.productsJSONL(catalog.products), as: UTF8.self)
        #expect(!text.contains("\"slot\""))
        #expect(text.contains("\"in_stock\":false"))
        #expect(text.split(separator: "\n").first!.hasPrefix(#"{"attributes":{"material":"cotton"},"brand":"Acme""#))
    }

    @Test(arguments: ["products.jsonl", "products.jsonl.lz4", "products.jsonl.gz", "products.jsonl.zst", "acme-feed.jsonl.lz4"])
    func bareFeed(name: String) throws {
        let dir = try TempDirectory()
        let (catalog, _) = CatalogFixtures.sample()
        let products = catalog.products.map { var p = $0; p.images = []; return p }
        try FileManager.default.createDirectory(atPath: dir.path("acme"), withIntermediateDirectories: true)
        let path = dir.path("acme/\(name)")
        try CatalogWriter.writeBareFeed(products, to: path)
        let result = try CatalogReader.read(path: path)
        #expect(result.catalog.products.map(\.id) == products.map(\.id))
        #expect(result.catalog.manifest.format == CatalogManifest.formatName)
        #expect(result.catalog.manifest.retailer == (name.hasPrefix("acme-feed") ? "acme-feed" : "acme"))
        #expect(result.catalog.manifest.snapshot.hasSuffix("Z"))
        #expect(result.diagnostics.isEmpty)
    }

    @Test(arguments: [".tar.gz", ".zip"])
    func singleTopLevelFolderIsTheRoot(ext: String) throws {
        let dir = try TempDirectory()
        let (catalog, images) = CatalogFixtures.sample()
        let format = ArchiveWriter.format(forPathExtension: ext)!
        let w = try ArchiveWriter(path: dir.path("c\(ext)"), format: format.format, filter: format.filter)
        try w.addDirectory("acme-2026-11-28/")
        try w.addFile("acme-2026-11-28/catalog.json", data: try CatalogWriter.manifestJSON(catalog.manifest))
        try w.addDirectory("acme-2026-11-28/images/")
        for (k, v) in images { try w.addFile("acme-2026-11-28/\(k)", data: v) }
        try w.addFile("acme-2026-11-28/products.jsonl", data: try CatalogWriter.productsJSONL(catalog.products))
        try w.close()
        let result = try CatalogReader.read(path: dir.path("c\(ext)"))
        #expect(result.catalog.products.count == 4)
        #expect(result.catalog.images.keys.sorted() == ["images/p-1.png", "images/p-2.jpg"])
        #expect(result.catalog.products[0].images == ["images/p-1.png"])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    }

    @Test func imagesBeforeTheWrappedManifestAreKept() throws {
        let dir = try TempDirectory()
        let w = try ArchiveWriter(path: dir.path("c.tar"), format: .tar, filter: .none)
        try w.addFile("x/images/a.png", data: ImageFixtures.png(width: 2, height: 2))
        try w.addFile("x/catalog.json", data: try CatalogWriter.manifestJSON(CatalogFixtures.manifest))
        try w.addFile("x/products.jsonl", data: Array(#"{"id":"a","title":"Tee","category":"Tops","images":["images/a.png"]}"#.utf8))
        try w.close()
        let result = try CatalogReader.read(path: dir.path("c.tar"))
        #expect(result.catalog.products[0].images == ["images/a.png"])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    }

    @Test func aCopyInASubfolderOfADirectoryIsIgnored() throws {
        let dir = try TempDirectory()
        let root = try CatalogFixtures.directory(in: dir, files: ["products.jsonl": CatalogFixtures.productLines(3),
                                                                  "backup/catalog.json": "{}",
                                                                  "backup/products.jsonl": "{}"])
        let result = try CatalogReader.read(path: root)
        #expect(result.catalog.products.count == 3)
        #expect(result.diagnostics.map(\.code) == ["ignored-file", "ignored-file"])
        #expect(result.diagnostics.map(\.file) == ["backup/catalog.json", "backup/products.jsonl"])
    }

    @Test func otherFilesAreIgnoredWithAWarning() throws {
        let dir = try TempDirectory()
        try CatalogFixtures.archive(at: dir.path("c.tar")) { w in
            try w.addFile("README.txt", data: Array("hello".utf8))
        }
        let result = try CatalogReader.read(path: dir.path("c.tar"))
        #expect(result.diagnostics.map(\.code) == ["ignored-file"])
        #expect(result.diagnostics[0].file == "README.txt")
        #expect(result.diagnostics[0].severity == .warning)
    }

    @Test func progressIsReportedAndCanStopTheRead() throws {
        struct Stop: Error {}
        let dir = try TempDirectory()
        try CatalogFixtures.archive(at: dir.path("c.tar.gz"), filter: .gzip)
        var seen: [String] = []
        _ = try CatalogReader.read(path: dir.path("c.tar.gz")) { seen.append($0.currentEntry) }
        #expect(seen.contains("products.jsonl"))
        #expect(throws: Stop.self) {
            _ = try CatalogReader.read(path: dir.path("c.tar.gz")) { _ in throw Stop() }
        }
    }

    @Test(arguments: [("a.tar", true), ("a.tar.gz", true), ("a.tgz", true), ("a.tar.zst", true), ("a.tar.lz4", true),
                      ("a.zip", true), ("a.jsonl", false), ("catalog", false)])
    func archiveExtensions(name: String, isArchive: Bool) {
        #expect((ArchiveWriter.format(forPathExtension: name) != nil) == isArchive)
    }
}

/// Archives made by the usual command-line tools, not by our own writer.
@Suite struct ToolMadeArchiveTests {
    private func run(_ tool: String, _ args: [String], in dir: String) throws -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    @Test(arguments: [("c.tar.gz", ["czf"]), ("c.tar", ["cf"]), ("c.tar.zst", ["--zstd", "-cf"])])
    func tarCommand(name: String, flags: [String]) throws {
        let dir = try TempDirectory()
        let (catalog, images) = CatalogFixtures.sample()
        try CatalogWriter.write(catalog, images: images, to: dir.path("acme-2026-11-28"))
        guard try run("/usr/bin/tar", flags + [name, "acme-2026-11-28"], in: dir.path) else {
            print("skipped: /usr/bin/tar \(flags) unavailable"); return
        }
        let result = try CatalogReader.read(path: dir.path(name))
        #expect(result.catalog.products.count == 4)
        #expect(result.catalog.images.count == 2)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    }

    @Test(arguments: ["tar cf - acme | lz4 -q > c.tar.lz4", "tar cf - acme | zstd -q > c.tar.zst", "cd acme && zip -qr ../c.zip ."])
    func shellPipeline(command: String) throws {
        let dir = try TempDirectory()
        let (catalog, images) = CatalogFixtures.sample()
        try CatalogWriter.write(catalog, images: images, to: dir.path("acme"))
        guard try run("/bin/sh", ["-c", command], in: dir.path) else {
            print("skipped: `\(command)` failed (tool missing?)"); return
        }
        let name = command.split(separator: " ").last { $0.hasPrefix("c.") || $0.hasPrefix("../c.") }!
        let result = try CatalogReader.read(path: dir.path(String(name.replacingOccurrences(of: "../", with: ""))))
        #expect(result.catalog.products.count == 4)
        #expect(result.catalog.images.count == 2)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    }

    @Test(arguments: ["lz4 -q", "zstd -q"])
    func corruptToolMadeFeedIsCaughtByItsChecksum(tool: String) throws {
        let dir = try TempDirectory()
        try dir.write("products.jsonl", CatalogFixtures.productLines(3000))
        let ext = tool.hasPrefix("lz4") ? "lz4" : "zst"
        guard try run("/bin/sh", ["-c", "\(tool) products.jsonl products.jsonl.\(ext)"], in: dir.path) else {
            print("skipped: \(tool) unavailable"); return
        }
        let path = dir.path("products.jsonl.\(ext)")
        #expect(try CatalogReader.read(path: path).catalog.products.count == 3000)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        for i in (bytes.count / 2)..<(bytes.count / 2 + 16) { bytes[i] ^= 0xA5 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: LookbookError.self) { _ = try CatalogReader.read(path: path) }
        #expect(error?.code == .unreadableCatalog)
    }

    @Test func gzipPaddedWithZerosAfterTheTrailer() throws {
        let dir = try TempDirectory()
        let path = dir.path("products.jsonl.gz")
        try CatalogWriter.writeBareFile(Array(CatalogFixtures.productLines(50).utf8), to: path)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes += [UInt8](repeating: 0, count: 512)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try CatalogReader.read(path: path).catalog.products.count == 50)
    }

    @Test func gzipCommandFeed() throws {
        let dir = try TempDirectory()
        try dir.write("products.jsonl", CatalogFixtures.productLines(500))
        guard try run("/usr/bin/gzip", ["-9", "products.jsonl"], in: dir.path) else { print("skipped: no gzip"); return }
        #expect(try CatalogReader.read(path: dir.path("products.jsonl.gz")).catalog.products.count == 500)
    }
}
