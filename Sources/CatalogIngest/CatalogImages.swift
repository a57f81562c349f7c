import Foundation
import LookbookCore

/// A second, targeted pass over a catalog that hands over the bytes of chosen images —
/// the ones the caption stage has not captioned yet. Ingest keeps only hashes and
/// headers (its memory must not grow with the archive); this pass holds one image at
/// a time. Paths are the catalog-root-relative paths ingest reported.
public enum CatalogImages {
    /// Calls `body` with each wanted image's path and bytes, in archive order. Entries
    /// larger than `maxBytes` are skipped (ingest already reported them). Throw from
    /// `body` to stop.
    public static func forEach(in path: String, wanted: Set<String>, maxBytes: Int64 = 64 << 20,
                               _ body: (String, [UInt8]) throws -> Void) throws {
        let reader = try Reader(path: path, wanted: wanted, maxBytes: maxBytes)
        while let (name, bytes) = try reader.next() { try body(name, bytes) }
    }

    /// The same pass as an iterator, for callers that interleave it with async work.
    public final class Reader {
        private let root: String
        private let source: LibarchiveSource?
        private var remaining: Set<String>
        private var directoryQueue: [String]
        private let maxBytes: Int64

        public init(path: String, wanted: Set<String>, maxBytes: Int64 = 64 << 20) throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw LookbookError(.unreadableCatalog, "catalog \(path) does not exist")
            }
            root = path
            remaining = wanted
            self.maxBytes = maxBytes
            let lower = path.lowercased()
            if isDirectory.boolValue {
                source = nil
                directoryQueue = wanted.sorted().reversed()
            } else if !wanted.isEmpty, CatalogReader.archiveSuffixes.contains(where: { lower.hasSuffix($0) }) {
                source = try LibarchiveSource(path: path)
                directoryQueue = []
            } else {  // bare feeds have no images
                source = nil
                directoryQueue = []
            }
        }

        /// The next wanted image, or nil when all were found or the catalog ended.
        public func next() throws -> (String, [UInt8])? {
            guard let source else {
                while let image = directoryQueue.popLast() {
                    let full = (root as NSString).appendingPathComponent(image)
                    guard let data = FileManager.default.contents(atPath: full), Int64(data.count) <= maxBytes else { continue }
                    return (image, [UInt8](data))
                }
                return nil
            }
            while !remaining.isEmpty, let entry = try source.nextEntry() {
                guard entry.kind == .file, let name = CatalogImages.catalogPath(entry.path, in: remaining) else { continue }
                if let declared = entry.declaredSize, declared > maxBytes { continue }
                var bytes: [UInt8] = []
                if let declared = entry.declaredSize { bytes.reserveCapacity(Int(declared)) }
                var tooBig = false
                while true {
                    let block = try source.readBlock()
                    if block.isEmpty { break }
                    if Int64(bytes.count + block.count) > maxBytes { tooBig = true; break }
                    bytes.append(contentsOf: block)
                }
                guard !tooBig else { continue }
                remaining.remove(name)
                return (name, bytes)
            }
            return nil
        }
    }

    /// The wanted catalog path an archive entry stands for: itself, or itself under one
    /// wrapping folder (`acme-2026-11-28/images/a.jpg`).
    static func catalogPath(_ entry: String, in wanted: Set<String>) -> String? {
        let trimmed = entry.hasPrefix("./") ? String(entry.dropFirst(2)) : entry
        if wanted.contains(trimmed) { return trimmed }
        if let slash = trimmed.firstIndex(of: "/") {
            let rest = String(trimmed[trimmed.index(after: slash)...])
            if wanted.contains(rest) { return rest }
        }
        return nil
    }
}
