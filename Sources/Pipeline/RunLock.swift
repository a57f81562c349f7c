import Foundation
import LookbookCore

/// An exclusive, non-blocking lock on the state directory, so a second run started by
/// cron while the first is still going exits at once. `flock(2)` locks die with the
/// process, so a killed run never leaves a stale lock behind; the file only records
/// who holds it, for the message.
public final class RunLock {
    private let fd: Int32
    public let path: String

    public init(directory: String, now: String) throws {
        path = (directory as NSString).appendingPathComponent("lookbook.lock")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LookbookError(.io, "cannot open lock file \(path)", underlying: String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw LookbookError(.locked, "another lookbook run is using \(directory) (\(holder.isEmpty ? "holder unknown" : holder)); wait for it to finish")
        }
        let line = "pid \(getpid()) since \(now)\n"
        _ = ftruncate(fd, 0)
        _ = line.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
