import CArchive
import Foundation
import LookbookCore

#if canImport(Glibc)
import Glibc
#endif

/// CRC-32 (the gzip/zlib/PNG polynomial), slicing-by-8.
///
/// libarchive inflates gzip but does not verify the member trailer (CRC-32 and size), so
/// a corrupt `.gz` that happens to inflate would pass as garbage rows. Ingest checks the
/// trailer itself on the decompressed stream.
struct CRC32 {
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let prev = t[(k - 1) * 256 + n]
                t[k * 256 + n] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    mutating func update(_ p: UnsafeRawBufferPointer) {
        var c = state
        Self.table.withUnsafeBufferPointer { t in
            var i = 0
            let n = p.count
            while i + 8 <= n {
                let word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let lo = UInt32(truncatingIfNeeded: word) ^ c
                let hi = UInt32(truncatingIfNeeded: word >> 32)
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(p[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        state = c
    }

    var value: UInt32 { state ^ 0xFFFF_FFFF }
}

/// The decompressed bytes of a gzip file, through libarchive's raw format, with the
/// gzip trailer (CRC-32 and size mod 2³²) checked at the end.
///
/// Only single-member gzip streams pass the check; a concatenation of members fails
/// it, which the error message says.
final class GzipStream {
    private let archive: OpaquePointer
    private let feed: FileFeed
    let path: String
    private var crc = CRC32()
    private var total: UInt64 = 0
    private var finished = false
    /// An error raised while libarchive pulled bytes through a callback.
    var pendingError: LookbookError?

    /// Whether the file at `path` starts with the gzip magic bytes.
    static func isGzip(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 2)) ?? Data()
        return head.count == 2 && head[head.startIndex] == 0x1F && head[head.startIndex + 1] == 0x8B
    }

    init(path: String) throws {
        guard let a = archive_read_new() else { throw LookbookError(.io, "cannot create archive reader for \(path)") }
        archive = a
        self.path = path
        archive_read_support_filter_gzip(a)
        archive_read_support_format_raw(a)
        feed = try FileFeed(path: path)
        guard feed.attach(to: a) == ARCHIVE_OK else {
            throw failure("cannot open catalog \(path)")
        }
        var entry: OpaquePointer?
        guard archive_read_next_header(a, &entry) == ARCHIVE_OK else {
            throw failure("gzip stream \(path) is corrupt or truncated")
        }
    }

    deinit { archive_read_free(archive) }

    var compressedBytesRead: Int64 { feed.bytesRead }

    private func failure(_ message: String) -> LookbookError {
        let msg = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
        return LookbookError(.unreadableCatalog, message, underlying: "libarchive errno \(archive_errno(archive)): \(msg)")
    }

    /// The next decompressed block; empty at the end, after the trailer was checked.
    func read() throws -> UnsafeRawBufferPointer {
        if finished { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var buf: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let rc = archive_read_data_block(archive, &buf, &size, &offset)
            if rc == ARCHIVE_EOF {
                finished = true
                try checkTrailer()
                return UnsafeRawBufferPointer(start: nil, count: 0)
            }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else {
                throw failure("gzip stream \(path) is corrupt or truncated")
            }
            guard size > 0 else { continue }
            let block = UnsafeRawBufferPointer(start: buf, count: size)
            crc.update(block)
            total &+= UInt64(size)
            return block
        }
    }

    /// Compares the running CRC-32 and size with the member trailer. Writers that pad
    /// the file with zero bytes after the trailer (tape blocking) are accepted: every
    /// position inside the trailing zeros is tried.
    private func checkTrailer() throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LookbookError(.unreadableCatalog, "cannot reopen \(path)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= 18 else {
            throw LookbookError(.unreadableCatalog, "gzip stream \(path) is truncated", underlying: "shorter than a gzip header and trailer")
        }
        let tailCount = Int(min(Int64(st.st_size), 64 << 10))
        var tail = [UInt8](repeating: 0, count: tailCount)
        guard pread(fd, &tail, tailCount, off_t(st.st_size) - off_t(tailCount)) == tailCount else {
            throw LookbookError(.unreadableCatalog, "cannot read the gzip trailer of \(path)")
        }
        func le32(_ i: Int) -> UInt32 {
            UInt32(tail[i]) | UInt32(tail[i + 1]) << 8 | UInt32(tail[i + 2]) << 16 | UInt32(tail[i + 3]) << 24
        }
        let size = UInt32(truncatingIfNeeded: total)
        var end = tail.count
        var last: (crc: UInt32, size: UInt32)?
        while end >= 8 {
            let candidate = (crc: le32(end - 8), size: le32(end - 4))
            last = last ?? candidate
            if candidate.crc == crc.value, candidate.size == size { return }
            guard tail[end - 1] == 0 else { break }
            end -= 1
        }
        let stored = last ?? (0, 0)
        throw LookbookError(.unreadableCatalog,
                            "gzip stream \(path) is corrupt: its data does not match the gzip trailer (or it is a multi-member gzip, which is not supported)",
                            underlying: String(format: "CRC-32 %08x, trailer says %08x; size %u, trailer says %u", crc.value, stored.crc, size, stored.size))
    }
}

/// A bare gzip feed (`products.jsonl.gz`): one entry, the checked decompressed stream.
final class GzipFeedSource: EntrySource {
    private let stream: GzipStream
    private let name: String
    private var delivered = false
    let isCompressed = true

    init(path: String, name: String) throws {
        stream = try GzipStream(path: path)
        self.name = name
    }

    func nextEntry() throws -> EntryHeader? {
        if delivered { return nil }
        delivered = true
        return EntryHeader(path: name, kind: .file, declaredSize: nil)
    }

    func readBlock() throws -> UnsafeRawBufferPointer { try stream.read() }
    var compressedBytesRead: Int64 { stream.compressedBytesRead }
}

/// libarchive read callback pulling decompressed bytes from a `GzipStream`.
func gzipReadCallback(_: OpaquePointer?, _ clientData: UnsafeMutableRawPointer?,
                      _ buffer: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int {
    let stream = Unmanaged<GzipStream>.fromOpaque(clientData!).takeUnretainedValue()
    do {
        let block = try stream.read()
        buffer?.pointee = block.baseAddress
        return block.count
    } catch let e as LookbookError {
        stream.pendingError = e
        return -1
    } catch {
        stream.pendingError = LookbookError(.unreadableCatalog, "\(error)")
        return -1
    }
}
