import Foundation

/// Runs the built `lookbook` executable, as a user or cron would.
public enum CLI {
    public struct Result: Sendable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The build folder holding the test bundle also holds the executables.
    public static var binary: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // On Linux the test bundle is `.build/debug/LookbookPackageTests.xctest`; on
        // macOS it is a bundle directory deeper down.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("lookbook").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("lookbook")
    }

    /// The package's root folder (for `jobs/`, `catalogs/`).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Starts `lookbook ARGS` without waiting.
    public static func start(_ arguments: [String], cwd: URL? = nil) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, out, err)
    }

    /// Runs `lookbook ARGS` to completion.
    @discardableResult
    public static func run(_ arguments: [String], cwd: URL? = nil) throws -> Result {
        let (p, out, err) = try start(arguments, cwd: cwd)
        // Read both pipes before waiting so a chatty child never blocks on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(exitCode: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
