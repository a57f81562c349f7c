import Crypto
import Foundation
import Imaging
import LookbookCore

/// What reading a catalog produced: the valid part as values, the rest as diagnostics.
public struct IngestResult: Sendable {
    public var catalog: Catalog
    /// Quarantined rows, rejected entries, ignored files, unusable images, in the order
    /// they were found (image references are checked last).
    public var diagnostics: [Diagnostic]
    public var stats: IngestStats

    public init(catalog: Catalog, diagnostics: [Diagnostic] = [], stats: IngestStats = IngestStats()) {
        self.catalog = catalog; self.diagnostics = diagnostics; self.stats = stats
    }
}

/// Figures of one ingest, for the run report and metrics.
public struct IngestStats: Sendable, Equatable {
    /// Rows of one row file (`products.jsonl`, `outfits.jsonl`, …).
    public struct Rows: Sendable, Equatable {
        public var read = 0
        public var rejected = 0
        public init(read: Int = 0, rejected: Int = 0) { self.read = read; self.rejected = rejected }
    }
    /// Entries seen (files, directories, rejected entries).
    public var entries = 0
    /// Bytes of entry content read, after decompression.
    public var uncompressedBytes: Int64 = 0
    /// Bytes read from disk (the archive or the files of a directory).
    public var compressedBytes: Int64 = 0
    /// Row counts by file name inside the catalog.
    public var rows: [String: Rows] = [:]
    public var imagesHashed = 0
    public var seconds: Double = 0
    public init() {}
}

/// Reported while a catalog streams past: at each entry and every few MiB.
public struct IngestProgress: Sendable {
    public var entries: Int
    /// The entry being read, as stored in the catalog.
    public var currentEntry: String
    public var uncompressedBytes: Int64
    public var compressedBytes: Int64
    public var productsRead: Int
    public var imagesHashed: Int
}

/// Reads a catalog (catalog format v1) as a stream and validates it.
///
/// A catalog is a directory, a `.tar`, `.tar.gz`/`.tgz`, `.tar.zst`, `.tar.lz4` or `.zip`
/// archive, or a bare product feed (`products.jsonl[.lz4|.gz|.zst]`, `products.csv…`).
/// Archives go through libarchive block by block and nothing is extracted; bare `.lz4`
/// feeds through liblz4's frame decoder. Memory stays flat in the archive's size: rows
/// are parsed as lines arrive and images are hashed block by block, keeping only a
/// 256 KiB prefix for the header.
///
/// Bad rows, unsafe entries and unusable images become `Diagnostic`s; a catalog that
/// cannot be read, breaks a size limit or has too many bad rows throws `LookbookError`.
public enum CatalogReader {
    /// Bytes of an image kept to read its header.
    public static let imagePrefixBytes = 256 << 10
    /// Archive suffixes read through libarchive's tar/zip readers.
    static let archiveSuffixes = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.lz4", ".zip"]

    /// Reads the catalog at `path`.
    ///
    /// - Parameter progress: called at each entry and every 16 MiB; throw from it to stop
    ///   the read (the error is rethrown as is).
    public static func read(path: String, limits: IngestLimits = IngestLimits(),
                            slotRules: SlotRules = SlotRules(),
                            progress: ((IngestProgress) throws -> Void)? = nil) throws -> IngestResult {
        let start = ContinuousClock.now
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LookbookError(.unreadableCatalog, "catalog \(path) does not exist")
        }
        let name = (path as NSString).lastPathComponent
        let lower = name.lowercased()
        let source: EntrySource
        var bare: String?
        if isDirectory.boolValue {
            source = try DirectorySource(root: path)
        } else if archiveSuffixes.contains(where: { lower.hasSuffix($0) }) {
            source = try LibarchiveSource(path: path)
        } else if let feed = bareFeedName(lower) {
            bare = feed.name
            switch feed.compression {
            case "lz4": source = try LZ4FrameSource(path: path, name: feed.name)
            case "gz" where GzipStream.isGzip(path): source = try GzipFeedSource(path: path, name: feed.name)
            case "gz", "zst": source = try LibarchiveSource(path: path, rawName: feed.name)
            default: source = try DirectorySource.single(path: path, name: feed.name)
            }
        } else {
            throw LookbookError(.unsupportedCatalog,
                                "\(path) is not a catalog: use a directory, a .tar, .tar.gz, .tgz, .tar.zst, .tar.lz4 or .zip archive, or a products.jsonl[.lz4|.gz|.zst] feed")
        }
        var reader = Reader(path: path, limits: limits, slotRules: slotRules, source: source, progress: progress)
        try reader.run()
        if bare != nil, reader.manifest == nil {
            reader.manifest = synthesizedManifest(path: path)
        }
        var result = try reader.finish()
        result.stats.seconds = (ContinuousClock.now - start) / .seconds(1)
        return result
    }

    /// For a bare feed file name: the row file it holds and its compression.
    static func bareFeedName(_ lower: String) -> (name: String, compression: String)? {
        for compression in ["lz4", "gz", "zst", ""] {
            let suffix = compression.isEmpty ? "" : "." + compression
            guard lower.hasSuffix(suffix) else { continue }
            let inner = String(lower.dropLast(suffix.count))
            if inner.hasSuffix(".jsonl") || inner.hasSuffix(".ndjson") { return ("products.jsonl", compression) }
            if inner.hasSuffix(".csv") { return ("products.csv", compression) }
        }
        return nil
    }

    /// A manifest for a bare feed: retailer from the file name (or its folder's, for a
    /// file named `products…`), snapshot from the file's modification time.
    static func synthesizedManifest(path: String) -> CatalogManifest {
        let url = URL(fileURLWithPath: path)
        var base = url.lastPathComponent
        if let dot = base.firstIndex(of: ".") { base = String(base[..<dot]) }
        if base.lowercased() == "products" || base.isEmpty {
            base = url.deletingLastPathComponent().lastPathComponent
        }
        let mtime = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return CatalogManifest(retailer: base, snapshot: formatter.string(from: mtime))
    }
}

extension DirectorySource {
    /// A one-file source for an uncompressed bare feed.
    static func single(path: String, name: String) throws -> EntrySource {
        try SingleFileSource(path: path, name: name)
    }
}

/// An uncompressed bare feed: one file, read in blocks.
final class SingleFileSource: EntrySource {
    private let inner: DirectorySource
    private let name: String
    private var delivered = false
    init(path: String, name: String) throws {
        let url = URL(fileURLWithPath: path)
        inner = try DirectorySource(root: url.deletingLastPathComponent().path, only: url.lastPathComponent)
        self.name = name
    }
    func nextEntry() throws -> EntryHeader? {
        if delivered { return nil }
        delivered = true
        guard var h = try inner.nextEntry() else { return nil }
        h.path = name
        return h
    }
    func readBlock() throws -> UnsafeRawBufferPointer { try inner.readBlock() }
    var compressedBytesRead: Int64 { inner.compressedBytesRead }
    var isCompressed: Bool { false }
}

// MARK: - The streaming pass

/// Roles of the files at a catalog's root.
private enum Role: Equatable {
    case manifest, productsJSONL, productsCSV, outfits, feedback
    case image(path: String)
}

private struct Reader {
    let path: String
    let limits: IngestLimits
    let slotRules: SlotRules
    let source: EntrySource
    let progress: ((IngestProgress) throws -> Void)?

    var manifest: CatalogManifest?
    var products: [Product] = []
    var productIndex: [String: Int] = [:]
    /// Line of each product in `products`, for duplicate reports.
    var productLines: [Int] = []
    var categoryReadings: [String: SlotRules.CategoryReading] = [:]
    var outfits: [(Outfit, line: Int, content: String)] = []
    var feedback: [(Feedback, line: Int, content: String)] = []
    /// Images by path inside the catalog, with the root folder they were found under.
    var images: [String: (ImageRecord, root: String)] = [:]
    var badImages: [String: String] = [:]
    var diagnostics: [Diagnostic] = []
    /// Diagnostics raised, kept or not (see `note`).
    var noted = 0
    var stats = IngestStats()
    /// The folder that wraps the catalog root inside an archive ("" when none); nil
    /// until a root file (catalog.json, products.*) has been seen.
    var root: String?
    var seenRoles: Set<String> = []
    var nextProgressAt: Int64 = 0

    init(path: String, limits: IngestLimits, slotRules: SlotRules, source: EntrySource,
         progress: ((IngestProgress) throws -> Void)?) {
        self.path = path; self.limits = limits; self.slotRules = slotRules
        self.source = source; self.progress = progress
    }

    /// Diagnostics kept in full; past this, they are only counted, so that an archive
    /// of millions of junk entries cannot grow memory without bound.
    static let maxKeptDiagnostics = 100_000

    mutating func note(_ d: Diagnostic) {
        noted += 1
        if diagnostics.count < Self.maxKeptDiagnostics { diagnostics.append(d) }
    }

    // MARK: Entries

    mutating func run() throws {
        while let header = try source.nextEntry() {
            stats.entries += 1
            try report(header.path)
            try handle(header)
        }
        stats.compressedBytes = source.compressedBytesRead
    }

    private mutating func report(_ current: String) throws {
        guard let progress else { return }
        try progress(IngestProgress(entries: stats.entries, currentEntry: current,
                                    uncompressedBytes: stats.uncompressedBytes,
                                    compressedBytes: source.compressedBytesRead,
                                    productsRead: products.count, imagesHashed: stats.imagesHashed))
    }

    private mutating func handle(_ header: EntryHeader) throws {
        var path = header.path
        if path.hasPrefix("/") || path.hasPrefix("\\") || path.contains(":\\") {
            return reject(header, "an absolute path")
        }
        let parts = path.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        if parts.contains("..") { return reject(header, "a path with '..'") }
        switch header.kind {
        case .file, .directory: break
        default: return reject(header, "a \(header.kind.rawValue)")
        }
        let clean = parts.filter { $0 != "." }.map(String.init)
        guard !clean.isEmpty, header.kind == .file else { return }
        path = clean.joined(separator: "/")

        if let limit = header.declaredSize, limit > limits.maxEntryBytes {
            throw entryTooLarge(path)
        }
        guard let (role, entryRoot) = classify(clean) else {
            note(Diagnostic(.warning, code: IngestCode.ignoredFile, file: path,
                                          reason: "not part of the catalog format; ignored (remove it from the export)"))
            try drain(path)
            return
        }
        if case .image = role {} else {
            let key = role == .productsCSV ? "products" : role == .productsJSONL ? "products" : "\(role)"
            if let r = root, r != entryRoot {
                note(Diagnostic(.warning, code: IngestCode.ignoredFile, file: path,
                                              reason: "outside the catalog root \"\(r.isEmpty ? "." : r)\"; ignored"))
                try drain(path)
                return
            }
            root = entryRoot
            guard seenRoles.insert(key).inserted else {
                note(Diagnostic(.warning, code: IngestCode.duplicateFile, file: path,
                                              reason: "a second \(key) file; only the first one is read"))
                try drain(path)
                return
            }
        }
        let name = clean.dropFirst(entryRoot.isEmpty ? 0 : 1).joined(separator: "/")
        switch role {
        case .manifest: try readManifest(path)
        case .productsJSONL: try readJSONL(path, name: name) { r, o, line, content in r.addProduct(o, file: name, line: line, content: content) }
        case .productsCSV: try readProductsCSV(path, name: name)
        case .outfits: try readJSONL(path, name: name) { r, o, line, content in r.addOutfit(o, file: name, line: line, content: content) }
        case .feedback: try readJSONL(path, name: name) { r, o, line, content in r.addFeedback(o, file: name, line: line, content: content) }
        case .image(let rel): try readImage(path, name: rel, root: entryRoot)
        }
    }

    private mutating func reject(_ header: EntryHeader, _ what: String) {
        note(Diagnostic(.error, code: IngestCode.unsafeEntry, file: header.path,
                                      reason: "rejected: \(what) is not allowed in a catalog; export plain relative files only"))
    }

    /// The role of a file and the root folder it implies ("" or one wrapping folder).
    private func classify(_ parts: [String]) -> (Role, String)? {
        func rootFile(_ n: String) -> Role? {
            switch n {
            case "catalog.json": .manifest
            case "products.jsonl": .productsJSONL
            case "products.csv": .productsCSV
            case "outfits.jsonl": .outfits
            case "feedback.jsonl": .feedback
            default: nil
            }
        }
        if parts.count == 1, let r = rootFile(parts[0]) { return (r, "") }
        if parts.count == 2, parts[0] != "images", let r = rootFile(parts[1]) { return (r, parts[0]) }
        if parts.count >= 2, parts[0] == "images", root == nil || root == "" {
            return (.image(path: parts.joined(separator: "/")), "")
        }
        if parts.count >= 3, parts[1] == "images", root == nil || root == parts[0] {
            return (.image(path: parts.dropFirst().joined(separator: "/")), parts[0])
        }
        return nil
    }

    // MARK: Bytes and limits

    /// Reads the current entry to its end, counting every block against the limits.
    private mutating func stream(_ path: String, _ body: (inout Reader, UnsafeRawBufferPointer) throws -> Void) throws {
        var entryBytes: Int64 = 0
        while true {
            let block = try source.readBlock()
            if block.isEmpty { break }
            entryBytes += Int64(block.count)
            stats.uncompressedBytes += Int64(block.count)
            if entryBytes > limits.maxEntryBytes { throw entryTooLarge(path) }
            if stats.uncompressedBytes > limits.maxTotalBytes {
                throw LookbookError(.limitExceeded,
                                    "catalog \(self.path) holds more than max_total_bytes = \(limits.maxTotalBytes) bytes uncompressed (at \(path)); raise [limits] max_total_bytes if the catalog is genuine")
            }
            if source.isCompressed, stats.uncompressedBytes >= 1 << 20 {
                let compressed = source.compressedBytesRead
                if compressed > 0 {
                    let ratio = Double(stats.uncompressedBytes) / Double(compressed)
                    if ratio > limits.maxCompressionRatio {
                        throw LookbookError(.limitExceeded,
                                            "catalog \(self.path) expands \(Int(ratio)):1 (at \(path)), more than max_compression_ratio = \(limits.maxCompressionRatio): a decompression bomb?")
                    }
                }
            }
            try body(&self, block)
            if stats.uncompressedBytes >= nextProgressAt {
                nextProgressAt = stats.uncompressedBytes + (16 << 20)
                try report(path)
            }
        }
    }

    private func entryTooLarge(_ path: String) -> LookbookError {
        LookbookError(.limitExceeded,
                      "\(path) in catalog \(self.path) is larger than max_entry_bytes = \(limits.maxEntryBytes) bytes; raise [limits] max_entry_bytes if it is genuine")
    }

    private mutating func drain(_ path: String) throws { try stream(path) { _, _ in } }

    // MARK: catalog.json

    private mutating func readManifest(_ path: String) throws {
        var bytes: [UInt8] = []
        try stream(path) { r, block in
            bytes.append(contentsOf: block)
            if bytes.count > 1 << 20 {
                throw LookbookError(.unsupportedCatalog, "\(path) in catalog \(r.path) is larger than 1 MiB; it should be a small manifest")
            }
        }
        // Format and version first: a manifest of another format or version may lack
        // our required keys, and the message must say which format it is.
        if case .object(let o)? = try? JSONScanner.parse(bytes) {
            if case .string(let format)? = o["format"], format != CatalogManifest.formatName {
                throw LookbookError(.unsupportedCatalog,
                                    "\(path) in catalog \(self.path) has format \"\(format)\", expected \"\(CatalogManifest.formatName)\"")
            }
            if case .number(let version, _)? = o["version"], version != Double(CatalogManifest.supportedVersion) {
                throw LookbookError(.unsupportedCatalog,
                                    "\(path) in catalog \(self.path) is version \(version.formatted()); this lookbook reads version \(CatalogManifest.supportedVersion)")
            }
        }
        let decoded: CatalogManifest
        do { decoded = try JSONDecoder().decode(CatalogManifest.self, from: Data(bytes)) } catch {
            throw LookbookError(.unsupportedCatalog,
                                "\(path) in catalog \(self.path) is not a valid manifest; it needs format, version, retailer and snapshot",
                                underlying: "\(error)")
        }
        guard decoded.format == CatalogManifest.formatName else {
            throw LookbookError(.unsupportedCatalog,
                                "\(path) in catalog \(self.path) has format \"\(decoded.format)\", expected \"\(CatalogManifest.formatName)\"")
        }
        guard decoded.version == CatalogManifest.supportedVersion else {
            throw LookbookError(.unsupportedCatalog,
                                "\(path) in catalog \(self.path) is version \(decoded.version); this lookbook reads version \(CatalogManifest.supportedVersion)")
        }
        manifest = decoded
    }

    // MARK: JSON Lines

    private mutating func readJSONL(_ path: String, name: String,
                                    _ add: (inout Reader, JSONScanner.Fields, Int, () -> String) -> Void) throws {
        var splitter = LineSplitter()
        var rows = IngestStats.Rows()
        func line(_ r: inout Reader, _ bytes: UnsafeRawBufferPointer, _ number: Int) {
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            rows.read += 1
            let content = { String(decoding: bytes, as: UTF8.self) }
            guard isValidUTF8(bytes) else {
                rows.rejected += 1
                r.note(Diagnostic(.error, code: IngestCode.invalidUTF8, file: name, line: number,
                                                reason: "row is not valid UTF-8; export the feed as UTF-8", content: content()))
                return
            }
            let o: JSONScanner.Fields
            do {
                switch try JSONScanner.parseRow(bytes) {
                case .fields(let fields): o = fields
                case .notAnObject(let value):
                    rows.rejected += 1
                    r.note(Diagnostic(.error, code: IngestCode.wrongType, file: name, line: number,
                                                    reason: "row is \(value.typeName), expected a JSON object", content: content()))
                    return
                }
            } catch {
                rows.rejected += 1
                r.note(Diagnostic(.error, code: IngestCode.invalidJSON, file: name, line: number,
                                                reason: "invalid JSON at column \(error.offset + 1): \(error.message)", content: content()))
                return
            }
            let before = r.noted
            add(&r, o, number, content)
            if r.noted > before { rows.rejected += 1 }
        }
        try stream(path) { r, block in splitter.feed(block) { bytes, n in line(&r, bytes, n) } }
        splitter.finish { bytes, n in line(&self, bytes, n) }
        stats.rows[name, default: .init()].read += rows.read
        stats.rows[name, default: .init()].rejected += rows.rejected
    }

    // MARK: products.csv

    private mutating func readProductsCSV(_ path: String, name: String) throws {
        var scanner = CSVScanner()
        var header: [String]?
        var rows = IngestStats.Rows()
        func record(_ r: inout Reader, _ rec: CSVScanner.Record) {
            let content = { String(decoding: rec.raw, as: UTF8.self) }
            guard let h = header else {
                header = rec.fields.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased() }
                return
            }
            rows.read += 1
            func bad(_ code: String, _ reason: String) {
                rows.rejected += 1
                r.note(Diagnostic(.error, code: code, file: name, line: rec.line, reason: reason, content: content()))
            }
            guard rec.raw.withUnsafeBytes({ isValidUTF8($0) }) else {
                return bad(IngestCode.invalidUTF8, "row is not valid UTF-8; export the feed as UTF-8")
            }
            if let e = rec.error { return bad(IngestCode.badCSV, e) }
            let o: JSONScanner.Fields
            do { o = try RowDecoder.csvProductObject(header: h, fields: rec.fields) } catch {
                return bad(error.code, error.reason)
            }
            let before = r.noted
            r.addProduct(o, file: name, line: rec.line, content: content)
            if r.noted > before { rows.rejected += 1 }
        }
        try stream(path) { r, block in scanner.feed(block) { rec in record(&r, rec) } }
        scanner.finish { rec in record(&self, rec) }
        stats.rows[name, default: .init()].read += rows.read
        stats.rows[name, default: .init()].rejected += rows.rejected
    }

    // MARK: Rows

    mutating func addProduct(_ o: JSONScanner.Fields, file: String, line: Int, content: () -> String) {
        var p: Product
        do { p = try RowDecoder.product(o) } catch {
            note(Diagnostic(.error, code: error.code, file: file, line: line, reason: error.reason, content: content()))
            return
        }
        if let first = productIndex[p.id] {
            note(Diagnostic(.error, code: IngestCode.duplicateID, file: file, line: line,
                                          reason: "product id \"\(p.id)\" is already on line \(productLines[first]); the first row is kept, make ids unique",
                                          content: content()))
            return
        }
        productLines.append(line)
        let reading: SlotRules.CategoryReading
        if let known = categoryReadings[p.category] { reading = known } else {
            reading = slotRules.read(category: p.category)
            categoryReadings[p.category] = reading
        }
        p.slot = slotRules.slot(reading: reading, title: p.title)
        productIndex[p.id] = products.count
        products.append(p)
    }

    mutating func addOutfit(_ o: JSONScanner.Fields, file: String, line: Int, content: () -> String) {
        do {
            let outfit = try RowDecoder.outfit(o)
            outfits.append((outfit, line, content()))
        } catch {
            note(Diagnostic(.error, code: error.code, file: file, line: line, reason: error.reason, content: content()))
        }
    }

    mutating func addFeedback(_ o: JSONScanner.Fields, file: String, line: Int, content: () -> String) {
        do {
            let f = try RowDecoder.feedback(o)
            feedback.append((f, line, content()))
        } catch {
            note(Diagnostic(.error, code: error.code, file: file, line: line, reason: error.reason, content: content()))
        }
    }

    // MARK: Images

    private mutating func readImage(_ path: String, name: String, root: String) throws {
        var hasher = SHA256()
        var prefix: [UInt8] = []
        prefix.reserveCapacity(CatalogReader.imagePrefixBytes)
        var count = 0
        try stream(path) { _, block in
            hasher.update(bufferPointer: block)
            count += block.count
            if prefix.count < CatalogReader.imagePrefixBytes {
                let n = min(block.count, CatalogReader.imagePrefixBytes - prefix.count)
                prefix.append(contentsOf: UnsafeRawBufferPointer(rebasing: block[0..<n]))
            }
        }
        stats.imagesHashed += 1
        guard let info = ImageHeader.sniff(prefix) else {
            badImages[name] = "not a readable JPEG, PNG or WebP"
            note(Diagnostic(.warning, code: IngestCode.badImage, file: name,
                                          reason: "not a readable JPEG, PNG or WebP file; re-export the image"))
            return
        }
        guard info.width * info.height <= limits.maxImagePixels else {
            badImages[name] = "declares \(info.width)×\(info.height) pixels"
            note(Diagnostic(.warning, code: IngestCode.imageTooLarge, file: name,
                                          reason: "declares \(info.width)×\(info.height) pixels, more than max_image_pixels = \(limits.maxImagePixels)"))
            return
        }
        let digest = hexString(hasher.finalize())
        images[name] = (ImageRecord(path: name, sha256: digest, byteCount: count, format: info.format,
                                    width: info.width, height: info.height), root)
    }

    // MARK: Cross-file checks

    mutating func finish() throws -> IngestResult {
        guard let manifest else {
            throw LookbookError(.unsupportedCatalog, "catalog \(path) has no catalog.json; add the manifest at the catalog root (see catalog-format.md)")
        }
        guard seenRoles.contains("products") else {
            throw LookbookError(.unsupportedCatalog, "catalog \(path) has no products.jsonl or products.csv at its root")
        }
        // Images found before the root was known, under another folder.
        let finalRoot = root ?? ""
        var kept: [String: ImageRecord] = [:]
        for (name, (record, imageRoot)) in images {
            if imageRoot == finalRoot { kept[name] = record } else {
                note(Diagnostic(.warning, code: IngestCode.ignoredFile, file: imageRoot + "/" + name,
                                              reason: "outside the catalog root; ignored"))
            }
        }

        // Product images: present and readable, else dropped with a warning.
        let productsFile = seenRoles.contains("products") && stats.rows["products.csv"] != nil ? "products.csv" : "products.jsonl"
        for i in products.indices where !products[i].images.isEmpty {
            var good: [String] = []
            for ref in products[i].images {
                var key = ref
                while key.hasPrefix("./") { key.removeFirst(2) }
                if kept[key] != nil {
                    good.append(key)
                } else if let why = badImages[key] {
                    note(Diagnostic(.warning, code: IngestCode.undecodableImage, file: productsFile,
                                                  reason: "product \(products[i].id): image \(ref) \(why); dropped from the product"))
                } else {
                    note(Diagnostic(.warning, code: IngestCode.missingImage, file: productsFile,
                                                  reason: "product \(products[i].id): image \(ref) is not in the catalog; dropped from the product"))
                }
            }
            products[i].images = good
        }

        // Outfits: 2 or more items, all known.
        var goodOutfits: [Outfit] = []
        var outfitIDs = Set<String>()
        for (outfit, line, content) in outfits {
            let problem: (String, String)?
            if Set(outfit.items).count < 2 {
                problem = (IngestCode.tooFewItems, "outfit \(outfit.id) has fewer than 2 distinct items")
            } else if let unknown = outfit.items.first(where: { productIndex[$0] == nil }) {
                problem = (IngestCode.unknownProduct, "outfit \(outfit.id) names product \(unknown), which is not in the catalog")
            } else if !outfitIDs.insert(outfit.id).inserted {
                problem = (IngestCode.duplicateID, "outfit id \(outfit.id) appeared before; the first is kept")
            } else {
                problem = nil
            }
            if let (code, reason) = problem {
                note(Diagnostic(.error, code: code, file: "outfits.jsonl", line: line, reason: reason, content: content))
                stats.rows["outfits.jsonl", default: .init()].rejected += 1
            } else {
                goodOutfits.append(outfit)
            }
        }

        var goodFeedback: [Feedback] = []
        for (f, line, content) in feedback {
            if let unknown = [f.anchor, f.item].first(where: { productIndex[$0] == nil }) {
                note(Diagnostic(.error, code: IngestCode.unknownProduct, file: "feedback.jsonl", line: line,
                                              reason: "feedback names product \(unknown), which is not in the catalog",
                                              content: content))
                stats.rows["feedback.jsonl", default: .init()].rejected += 1
            } else {
                goodFeedback.append(f)
            }
        }

        for file in stats.rows.keys.sorted() {
            let r = stats.rows[file]!
            guard r.read > 0 else { continue }
            let share = Double(r.rejected) / Double(r.read)
            if share > limits.maxBadRowFraction {
                throw LookbookError(.tooManyBadRows,
                                    "\(file) in catalog \(path): \(r.rejected) of \(r.read) rows are bad (\(Int((share * 100).rounded()))%), more than max_bad_row_fraction = \(limits.maxBadRowFraction); see the quarantine report, fix the export or raise the limit",
                                    diagnostics: diagnostics)
            }
        }
        guard !products.isEmpty else {
            throw LookbookError(.emptyCatalog, "catalog \(path) has no valid products")
        }
        if noted > diagnostics.count {
            diagnostics.append(Diagnostic(.warning, code: IngestCode.moreDiagnostics, file: path,
                                          reason: "\(noted - diagnostics.count) more diagnostics were not listed (only the first \(Self.maxKeptDiagnostics) are kept)"))
        }
        let catalog = Catalog(manifest: manifest, products: products, outfits: goodOutfits,
                              feedback: goodFeedback, images: kept)
        return IngestResult(catalog: catalog, diagnostics: diagnostics, stats: stats)
    }
}

/// Lower-case hex of a digest.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
