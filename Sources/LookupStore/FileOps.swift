import Crypto
import LookbookCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX calls publishing relies on, each turning a failure into a
/// `LookbookError(.io)` that names the file and keeps errno's text.
enum FileOps {
    static func ioError(_ what: String, _ path: String, errno code: Int32 = errno) -> LookbookError {
        LookbookError(.io, "cannot \(what) \(path): \(String(cString: strerror(code)))", underlying: "errno \(code)")
    }

    /// Flushes a file's or a directory's data and metadata to stable storage.
    static func fsync(_ path: String, directory: Bool = false) throws(LookbookError) {
        let fd = open(path, O_RDONLY | (directory ? O_DIRECTORY : 0) | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw ioError("fsync", path) }
    }

    /// `rename(2)`: atomic replacement of `to` within one file system.
    static func rename(_ from: String, to: String) throws(LookbookError) {
        guard Glibc.rename(from, to) == 0 else { throw ioError("rename \(from) to", to) }
    }

    static func link(_ from: String, to: String) throws(LookbookError) {
        guard Glibc.link(from, to) == 0 else { throw ioError("hard-link \(from) to", to) }
    }

    /// Removes a file if present; a missing file is not an error.
    static func remove(_ path: String) throws(LookbookError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw ioError("remove", path) }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Creates `path` and any missing parents; an existing directory is fine.
    static func makeDirectory(_ path: String) throws(LookbookError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw LookbookError(.io, "\(path) exists and is not a directory: choose another output directory")
            }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
        }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw ioError("create directory", path) }
    }

    /// Entry names of a directory, without `.` and `..`.
    static func list(_ path: String) throws(LookbookError) -> [String] {
        guard let dir = opendir(path) else { throw ioError("list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Modification time in nanoseconds since the epoch, and size in bytes.
    static func status(_ path: String) throws(LookbookError) -> (modified: Int64, bytes: Int64) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ioError("stat", path) }
        return (Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec), Int64(st.st_size))
    }

    /// Writes `bytes` to a new file and fsyncs it.
    static func write(_ bytes: [UInt8], to path: String) throws(LookbookError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError("create", path) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("write", path)
            }
            offset += n
        }
        guard Glibc.fsync(fd) == 0 else { throw ioError("fsync", path) }
    }

    /// Lower-case hex SHA-256 of a file's bytes, and its length, read in 1 MiB chunks.
    static func sha256(_ path: String) throws(LookbookError) -> (hex: String, bytes: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        var hasher = SHA256()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let n = read(fd, buffer.baseAddress, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("read", path)
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            total += n
        }
        return (hex(hasher.finalize()), total)
    }

    /// Lower-case hex of bytes, two digits each.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
