import CArchive
import Foundation
import LookbookCore

/// Writes a tar or zip archive through libarchive, entry by entry.
///
/// Used by `CatalogWriter` (import, generated catalogs) and by tests, which also need
/// hostile entries: `addSymlink`, `addCharacterDevice`, `addFIFO`, `addHardlink`, and
/// any path at all (`../x`, `/etc/x`) — the writer does not sanitise paths on purpose.
public final class ArchiveWriter {
    public enum Format: Sendable { case tar, zip }
    public enum Filter: Sendable { case none, gzip, zstd, lz4 }

    private var archive: OpaquePointer?
    public let path: String

    /// Opens `path` for writing (truncating it). `filter` must be `.none` for zip.
    public init(path: String, format: Format, filter: Filter) throws {
        guard let a = archive_write_new() else {
            throw LookbookError(.io, "cannot create archive writer for \(path)")
        }
        self.archive = a
        self.path = path
        switch format {
        case .tar: try check(archive_write_set_format_pax_restricted(a), "set tar format")
        case .zip:
            try check(archive_write_set_format_zip(a), "set zip format")
            guard filter == .none else {
                throw LookbookError(.usage, "zip archives take no outer compression filter: \(path)")
            }
        }
        switch filter {
        case .none: break
        case .gzip: try check(archive_write_add_filter_gzip(a), "add gzip filter")
        case .zstd: try check(archive_write_add_filter_zstd(a), "add zstd filter")
        case .lz4: try check(archive_write_add_filter_lz4(a), "add lz4 filter")
        }
        try check(archive_write_open_filename(a, path), "open")
    }

    deinit {
        if let archive { archive_write_free(archive) }
    }

    /// The format and filter that the name of `path` calls for, or nil when the name has
    /// no archive extension: `.tar`, `.tar.gz`/`.tgz`, `.tar.zst`/`.tzst`, `.tar.lz4`, `.zip`.
    public static func format(forPathExtension path: String) -> (format: Format, filter: Filter)? {
        let p = path.lowercased()
        if p.hasSuffix(".tar") { return (.tar, .none) }
        if p.hasSuffix(".tar.gz") || p.hasSuffix(".tgz") { return (.tar, .gzip) }
        if p.hasSuffix(".tar.zst") || p.hasSuffix(".tzst") { return (.tar, .zstd) }
        if p.hasSuffix(".tar.lz4") { return (.tar, .lz4) }
        if p.hasSuffix(".zip") { return (.zip, .none) }
        return nil
    }

    /// Adds a regular file with `data` as its content.
    public func addFile(_ path: String, data: some ContiguousBytes) throws {
        try data.withUnsafeBytes { raw in
            try writeHeader(path, type: 0o100000, perm: 0o644, size: Int64(raw.count))
            try writeData(raw)
        }
    }

    /// Adds a regular file of `count` copies of `byte`, written in chunks so that a test
    /// can build a decompression bomb without holding it in memory.
    public func addFile(_ path: String, repeating byte: UInt8, count: Int64) throws {
        try writeHeader(path, type: 0o100000, perm: 0o644, size: count)
        let chunk = [UInt8](repeating: byte, count: 1 << 20)
        var left = count
        while left > 0 {
            let n = Int(min(left, Int64(chunk.count)))
            try chunk.withUnsafeBytes { try writeData(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= Int64(n)
        }
    }

    public func addDirectory(_ path: String) throws {
        try writeHeader(path, type: 0o040000, perm: 0o755, size: 0)
    }

    public func addSymlink(_ path: String, target: String) throws {
        try writeHeader(path, type: 0o120000, perm: 0o777, size: 0) { archive_entry_set_symlink($0, target) }
    }

    public func addHardlink(_ path: String, target: String) throws {
        try writeHeader(path, type: 0o100000, perm: 0o644, size: 0) { archive_entry_set_hardlink($0, target) }
    }

    public func addCharacterDevice(_ path: String) throws {
        try writeHeader(path, type: 0o020000, perm: 0o600, size: 0) { archive_entry_set_rdev($0, 0x0103) }
    }

    public func addFIFO(_ path: String) throws {
        try writeHeader(path, type: 0o010000, perm: 0o600, size: 0)
    }

    /// Finishes the archive (writes trailers and flushes the compressor).
    public func close() throws {
        guard let a = archive else { return }
        defer { archive_write_free(a); archive = nil }
        try check(archive_write_close(a), "close")
    }

    // MARK: - Private

    private func writeHeader(_ path: String, type: UInt32, perm: UInt32, size: Int64,
                             configure: (OpaquePointer) -> Void = { _ in }) throws {
        guard let a = archive else { throw LookbookError(.io, "archive \(self.path) is closed") }
        guard let entry = archive_entry_new() else { throw LookbookError(.io, "out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(perm))
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, 1_764_000_000, 0)
        configure(entry)
        try check(archive_write_header(a, entry), "write header of \(path)")
    }

    private func writeData(_ raw: UnsafeRawBufferPointer) throws {
        guard let a = archive else { throw LookbookError(.io, "archive \(self.path) is closed") }
        var offset = 0
        while offset < raw.count {
            let n = archive_write_data(a, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 { try check(Int32(n), "write data") }
            if n == 0 { break }
            offset += n
        }
    }

    @discardableResult
    private func check(_ rc: Int32, _ what: String) throws -> Int32 {
        guard rc < ARCHIVE_WARN else { return rc }
        let message = archive.flatMap { archive_error_string($0) }.map { String(cString: $0) } ?? "unknown error"
        let errno = archive.map { archive_errno($0) } ?? 0
        throw LookbookError(.io, "cannot \(what) in archive \(path)", underlying: "libarchive errno \(errno): \(message)")
    }
}
