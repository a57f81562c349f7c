import CArchive
import CLZ4
import Foundation
import LookbookCore

#if canImport(Glibc)
import Glibc
#endif

/// One entry of a catalog as it streams past: a path and what kind of thing it is.
struct EntryHeader {
    enum Kind: String {
        case file, directory, symlink, hardlink, characterDevice = "character device",
             blockDevice = "block device", fifo, socket, unknown
    }
    /// The path as stored, `/`-separated.
    var path: String
    var kind: Kind
    /// The size the archive declares, when it does.
    var declaredSize: Int64?
}

/// A stream of entries and their bytes. Nothing is written to disk; a block returned by
/// `readBlock` is valid until the next call on the source.
protocol EntrySource: AnyObject {
    /// The next entry, or nil at the end. Unread data of the previous entry is skipped.
    func nextEntry() throws -> EntryHeader?
    /// The next block of the current entry; an empty buffer at its end.
    func readBlock() throws -> UnsafeRawBufferPointer
    /// Bytes read from the file on disk so far (compressed, for archives).
    var compressedBytesRead: Int64 { get }
    /// Whether compressed/uncompressed ratio is meaningful (false for plain directories).
    var isCompressed: Bool { get }
}

// MARK: - libarchive: tar, zip, and raw gzip/zstd streams

/// Reads an archive (or a bare compressed file in libarchive's raw format) as a stream.
final class LibarchiveSource: EntrySource {
    private let archive: OpaquePointer
    private let path: String
    private let raw: Bool
    private let rawName: String
    private var entry: OpaquePointer?
    /// For a gzip-compressed archive: the checked decompressed stream that libarchive's
    /// tar/zip reader pulls from (see `GzipStream`).
    private var gzip: GzipStream?
    private var feed: FileFeed?
    let isCompressed = true

    /// - Parameter rawName: for a bare compressed feed, the name its content goes by.
    init(path: String, rawName: String? = nil) throws {
        guard let a = archive_read_new() else { throw LookbookError(.io, "cannot create archive reader for \(path)") }
        archive = a
        self.path = path
        raw = rawName != nil
        self.rawName = rawName ?? ""
        // The compressions of the catalog format, each decoded in-process by a linked
        // library. Not `archive_read_support_filter_all`: for some formats it falls back
        // to spawning external programs (lrzip, lzop, grzip), which a hostile upload
        // must never trigger. bzip2 and xz are accepted as well-known extras.
        archive_read_support_filter_gzip(a)
        archive_read_support_filter_zstd(a)
        archive_read_support_filter_lz4(a)
        archive_read_support_filter_bzip2(a)
        archive_read_support_filter_xz(a)
        if raw {
            archive_read_support_format_raw(a)
        } else {
            archive_read_support_format_tar(a)
            archive_read_support_format_zip(a)
            archive_read_support_format_empty(a)
        }
        let rc: Int32
        if !raw, GzipStream.isGzip(path) {
            let stream = try GzipStream(path: path)
            gzip = stream
            rc = archive_read_open(a, Unmanaged.passUnretained(stream).toOpaque(), nil, gzipReadCallback, nil)
        } else {
            let f = try FileFeed(path: path)
            feed = f
            rc = f.attach(to: a)
        }
        if rc != ARCHIVE_OK {
            throw failure("cannot open catalog \(path)")
        }
    }

    deinit { archive_read_free(archive) }

    var compressedBytesRead: Int64 { gzip?.compressedBytesRead ?? feed?.bytesRead ?? archive_filter_bytes(archive, -1) }

    private func failure(_ message: String) -> LookbookError {
        if let e = gzip?.pendingError { return e }
        let msg = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
        return LookbookError(.unreadableCatalog, message,
                             underlying: "libarchive errno \(archive_errno(archive)): \(msg)")
    }

    func nextEntry() throws -> EntryHeader? {
        var e: OpaquePointer?
        let rc = archive_read_next_header(archive, &e)
        if rc == ARCHIVE_EOF { return nil }
        // ARCHIVE_WARN: e.g. a pathname not convertible in this locale; the raw name is used.
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let e else {
            throw failure("catalog \(path) is corrupt or truncated (reading an entry header)")
        }
        entry = e
        if raw { return EntryHeader(path: rawName, kind: .file, declaredSize: nil) }
        let name: String
        if let c = archive_entry_pathname_utf8(e) ?? archive_entry_pathname(e) {
            name = String(decoding: UnsafeRawBufferPointer(start: c, count: strlen(c)), as: UTF8.self)
        } else {
            name = ""
        }
        let kind: EntryHeader.Kind
        if archive_entry_hardlink(e) != nil {
            kind = .hardlink
        } else {
            switch archive_entry_filetype(e) & 0o170000 {
            case 0o100000: kind = .file
            case 0o040000: kind = .directory
            case 0o120000: kind = .symlink
            case 0o020000: kind = .characterDevice
            case 0o060000: kind = .blockDevice
            case 0o010000: kind = .fifo
            case 0o140000: kind = .socket
            default: kind = .unknown
            }
        }
        let size: Int64? = archive_entry_size_is_set(e) != 0 ? archive_entry_size(e) : nil
        return EntryHeader(path: name, kind: kind, declaredSize: size)
    }

    func readBlock() throws -> UnsafeRawBufferPointer {
        var buf: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        let rc = archive_read_data_block(archive, &buf, &size, &offset)
        if rc == ARCHIVE_EOF { return UnsafeRawBufferPointer(start: nil, count: 0) }
        if rc != ARCHIVE_OK && rc != ARCHIVE_WARN {
            throw failure("catalog \(path) is corrupt or truncated (reading entry data)")
        }
        if size == 0 {
            // A sparse hole or an empty block: ask again rather than signal the end.
            return try readBlock()
        }
        return UnsafeRawBufferPointer(start: buf, count: size)
    }
}

// MARK: - A directory on disk

/// Walks a catalog directory in sorted order and reads its files in blocks.
final class DirectorySource: EntrySource {
    private let root: String
    private var paths: [String] = []
    private var index = 0
    private var fd: Int32 = -1
    private var buffer: UnsafeMutableRawBufferPointer
    private(set) var compressedBytesRead: Int64 = 0
    let isCompressed = false

    /// - Parameter only: read just this file of `root` (a bare feed).
    init(root: String, only: String? = nil) throws {
        self.root = root
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
        if let only {
            paths = [only]
            return
        }
        guard let e = FileManager.default.enumerator(atPath: root) else {
            buffer.deallocate()
            throw LookbookError(.unreadableCatalog, "cannot list catalog directory \(root)")
        }
        while let p = e.nextObject() as? String { paths.append(p) }
        // Shallow first, so the root's catalog.json is seen before any copy in a subfolder.
        paths = paths.map { ($0.split(separator: "/").count, $0) }.sorted { $0 < $1 }.map(\.1)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        buffer.deallocate()
    }

    func nextEntry() throws -> EntryHeader? {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
        guard index < paths.count else { return nil }
        let rel = paths[index]
        index += 1
        let full = root + "/" + rel
        var st = stat()
        guard lstat(full, &st) == 0 else {
            throw LookbookError(.unreadableCatalog, "cannot read \(full)", underlying: "errno \(errno): \(String(cString: strerror(errno)))")
        }
        let kind: EntryHeader.Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        default: kind = .unknown
        }
        if kind == .file {
            fd = open(full, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw LookbookError(.unreadableCatalog, "cannot open \(full)", underlying: "errno \(errno): \(String(cString: strerror(errno)))")
            }
        }
        return EntryHeader(path: rel, kind: kind, declaredSize: kind == .file ? Int64(st.st_size) : nil)
    }

    func readBlock() throws -> UnsafeRawBufferPointer {
        guard fd >= 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw LookbookError(.unreadableCatalog, "cannot read a file of catalog \(root)", underlying: "errno \(errno): \(String(cString: strerror(errno)))")
            }
            compressedBytesRead += Int64(n)
            return UnsafeRawBufferPointer(start: buffer.baseAddress, count: n)
        }
    }
}

// MARK: - A bare LZ4 frame (products.jsonl.lz4)

/// Decodes an LZ4 frame file with liblz4's streaming frame API, one entry.
final class LZ4FrameSource: EntrySource {
    private let path: String
    private let name: String
    private var fd: Int32
    private var context: OpaquePointer?
    private var input: UnsafeMutableRawBufferPointer
    private var output: UnsafeMutableRawBufferPointer
    private var inStart = 0, inEnd = 0
    private var delivered = false
    private var finished = false
    private var expectMore = true
    private(set) var compressedBytesRead: Int64 = 0
    let isCompressed = true

    init(path: String, name: String) throws {
        self.path = path
        self.name = name
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LookbookError(.unreadableCatalog, "cannot open catalog \(path)", underlying: "errno \(errno): \(String(cString: strerror(errno)))")
        }
        input = .allocate(byteCount: 1 << 20, alignment: 16)
        output = .allocate(byteCount: 4 << 20, alignment: 16)
        var ctx: OpaquePointer?
        let rc = LZ4F_createDecompressionContext(&ctx, UInt32(LZ4F_VERSION))
        if LZ4F_isError(rc) != 0 {
            throw LookbookError(.io, "cannot create an LZ4 decoder", underlying: String(cString: LZ4F_getErrorName(rc)))
        }
        context = ctx
    }

    deinit {
        if let context { LZ4F_freeDecompressionContext(context) }
        if fd >= 0 { Glibc.close(fd) }
        input.deallocate()
        output.deallocate()
    }

    func nextEntry() throws -> EntryHeader? {
        if delivered { return nil }
        delivered = true
        return EntryHeader(path: name, kind: .file, declaredSize: nil)
    }

    func readBlock() throws -> UnsafeRawBufferPointer {
        while !finished {
            if inStart == inEnd {
                let n = read(fd, input.baseAddress, input.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw LookbookError(.unreadableCatalog, "cannot read catalog \(path)", underlying: "errno \(errno): \(String(cString: strerror(errno)))")
                }
                if n == 0 {
                    finished = true
                    if expectMore {
                        throw LookbookError(.unreadableCatalog, "LZ4 stream \(path) is truncated",
                                            underlying: "end of file inside an LZ4 frame")
                    }
                    break
                }
                compressedBytesRead += Int64(n)
                inStart = 0; inEnd = n
            }
            var dstSize = output.count
            var srcSize = inEnd - inStart
            let hint = LZ4F_decompress(context, output.baseAddress, &dstSize,
                                       input.baseAddress! + inStart, &srcSize, nil)
            if LZ4F_isError(hint) != 0 {
                throw LookbookError(.unreadableCatalog, "LZ4 stream \(path) is corrupt",
                                    underlying: "liblz4: \(String(cString: LZ4F_getErrorName(hint)))")
            }
            inStart += srcSize
            // hint == 0: a frame ended; another may follow (concatenated frames).
            expectMore = hint != 0
            if dstSize > 0 { return UnsafeRawBufferPointer(start: output.baseAddress, count: dstSize) }
        }
        return UnsafeRawBufferPointer(start: nil, count: 0)
    }
}

// MARK: - Counting file reads for libarchive

/// Feeds a file to libarchive through callbacks, counting the bytes actually read.
///
/// `archive_filter_bytes(a, -1)` counts what the decompressor has *consumed*, which
/// lags far behind for block formats (an LZ4 block of 4 MiB is consumed only once it
/// is fully decoded), so the compression-ratio guard would see absurd ratios early
/// on. Bytes read from disk are the honest denominator.
final class FileFeed {
    let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var bytesRead: Int64 = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LookbookError(.unreadableCatalog, "cannot open catalog \(path)", underlying: "errno \(errno): \(String(cString: strerror(errno)))")
        }
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit {
        Glibc.close(fd)
        buffer.deallocate()
    }

    /// Opens `archive` on this file (read and seek callbacks; the feed must outlive it).
    func attach(to archive: OpaquePointer) -> Int32 {
        archive_read_set_read_callback(archive, fileFeedRead)
        archive_read_set_seek_callback(archive, fileFeedSeek)
        archive_read_set_callback_data(archive, Unmanaged.passUnretained(self).toOpaque())
        return archive_read_open1(archive)
    }

    fileprivate func read(_ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n > 0 { bytesRead += Int64(n) }
            out?.pointee = UnsafeRawPointer(buffer.baseAddress)
            return n
        }
    }

    fileprivate func seek(_ offset: Int64, _ whence: Int32) -> Int64 {
        Int64(lseek(fd, off_t(offset), whence))
    }
}

private func fileFeedRead(_ a: OpaquePointer?, _ data: UnsafeMutableRawPointer?,
                          _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int {
    let feed = Unmanaged<FileFeed>.fromOpaque(data!).takeUnretainedValue()
    return feed.read(out)
}

private func fileFeedSeek(_ a: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ offset: la_int64_t, _ whence: Int32) -> la_int64_t {
    Unmanaged<FileFeed>.fromOpaque(data!).takeUnretainedValue().seek(offset, whence)
}
