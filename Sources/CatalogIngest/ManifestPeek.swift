import Foundation
import LookbookCore

extension CatalogReader {
    /// Reads only a catalog's `catalog.json` (stopping at it), to order snapshots in an
    /// inbox without ingesting them. A bare feed gets the manifest `read` would give it.
    public static func manifest(path: String) throws -> CatalogManifest {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LookbookError(.unreadableCatalog, "catalog \(path) does not exist")
        }
        let lower = (path as NSString).lastPathComponent.lowercased()
        var bytes: [UInt8]?
        if isDirectory.boolValue {
            bytes = FileManager.default.contents(atPath: (path as NSString).appendingPathComponent("catalog.json")).map { [UInt8]($0) }
        } else if archiveSuffixes.contains(where: { lower.hasSuffix($0) }) {
            let source = try LibarchiveSource(path: path)
            while let entry = try source.nextEntry() {
                let parts = entry.path.split(separator: "/").filter { $0 != "." }
                guard entry.kind == .file, parts.last == "catalog.json", parts.count <= 2 else { continue }
                var data: [UInt8] = []
                while true {
                    let block = try source.readBlock()
                    if block.isEmpty { break }
                    data.append(contentsOf: block)
                    if data.count > 1 << 20 { break }
                }
                bytes = data
                break
            }
        } else if bareFeedName(lower) != nil {
            return synthesizedManifest(path: path)
        }
        guard let bytes else {
            throw LookbookError(.unsupportedCatalog, "catalog \(path) has no catalog.json; add the manifest at the catalog root (see catalog-format.md)")
        }
        let manifest: CatalogManifest
        do { manifest = try JSONDecoder().decode(CatalogManifest.self, from: Data(bytes)) } catch {
            throw LookbookError(.unsupportedCatalog, "catalog.json in \(path) is not a valid manifest; it needs format, version, retailer and snapshot",
                                underlying: "\(error)")
        }
        guard manifest.format == CatalogManifest.formatName, manifest.version == CatalogManifest.supportedVersion else {
            throw LookbookError(.unsupportedCatalog, "catalog.json in \(path) is \(manifest.format) version \(manifest.version); this lookbook reads \(CatalogManifest.formatName) version \(CatalogManifest.supportedVersion)")
        }
        return manifest
    }
}
