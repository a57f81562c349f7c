import Foundation

/// A fresh directory under the system temp folder, removed when the value goes away.
public final class TempDirectory: @unchecked Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(_ label: String = "lookbook-test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// A path inside the directory (not created).
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` inside the directory, creating folders; returns the path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file.path
    }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }
}

/// The project's shared research data (`../shared/data`), which is never copied into
/// the repository. Tests that need it are disabled, with this reason, when it is absent.
public enum SharedData {
    public static let missingReason = "shared data (../shared/data or $LOOKBOOK_SHARED_DATA) is absent"

    /// The data folder, or nil when it is not on this machine.
    public static var root: URL? {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["LOOKBOOK_SHARED_DATA"] {
            candidates.append(URL(fileURLWithPath: env))
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data"))
        candidates.append(URL(fileURLWithPath: "/work/shared/data"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("README.md").path) }
    }

    public static var isAvailable: Bool { root != nil }

    /// A file of the shared data, or nil when absent.
    public static func file(_ relative: String) -> URL? {
        guard let url = root?.appendingPathComponent(relative),
              FileManager.default.fileExists(atPath: url.path) else { return nil }
        return url
    }
}
