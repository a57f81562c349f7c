import Foundation
import LookbookCore

/// Finds catalog snapshots: the job's `inbox` is either one catalog (a directory with
/// `catalog.json` or a products file, an archive, a bare feed) or a directory holding
/// many of them, one per night.
public enum CatalogInbox {
    static let archiveSuffixes = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.lz4", ".zip",
                                  ".jsonl.lz4", ".jsonl.gz", ".jsonl.zst"]

    /// Whether `path` is itself a catalog rather than a folder of catalogs.
    public static func isCatalog(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return false }
        if !isDir.boolValue { return archiveSuffixes.contains { path.lowercased().hasSuffix($0) } }
        return ["catalog.json", "products.jsonl", "products.csv"].contains {
            FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent($0))
        }
    }

    /// The catalogs at `path`, sorted by name. Throws when there are none.
    public static func candidates(at path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw LookbookError(.unreadableCatalog, "catalog inbox \(path) does not exist; set [job] inbox or pass --catalog")
        }
        if isCatalog(path) { return [path] }
        guard isDir.boolValue else {
            throw LookbookError(.unreadableCatalog, "\(path) is not a catalog: expected a directory or one of \(archiveSuffixes.joined(separator: ", "))")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let found = names.filter { !$0.hasPrefix(".") }.map { (path as NSString).appendingPathComponent($0) }.filter(isCatalog).sorted()
        guard !found.isEmpty else {
            throw LookbookError(.unreadableCatalog, "no catalog in \(path): put a catalog archive (\(archiveSuffixes.joined(separator: ", "))) or directory there")
        }
        return found
    }
}

