import Foundation

/// Prometheus text exposition format (0.0.4) for the node exporter's textfile
/// collector. Written to a temp file and renamed, as the collector requires, so it
/// never reads half a file.
public struct MetricsFile: Sendable {
    public struct Sample: Sendable {
        public var name: String
        public var help: String
        public var type: String  // gauge or counter
        public var labels: [(String, String)]
        public var value: Double
        public init(_ name: String, _ help: String, type: String = "gauge", labels: [(String, String)] = [], _ value: Double) {
            self.name = name; self.help = help; self.type = type; self.labels = labels; self.value = value
        }
    }

    public var samples: [Sample] = []
    public init() {}

    public mutating func add(_ s: Sample) { samples.append(s) }

    public func render() -> String {
        var out = ""
        var described = Set<String>()
        for s in samples {
            if described.insert(s.name).inserted {
                out += "# HELP \(s.name) \(s.help)\n# TYPE \(s.name) \(s.type)\n"
            }
            let labels = s.labels.isEmpty ? "" :
                "{" + s.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
            out += "\(s.name)\(labels) \(format(s.value))\n"
        }
        return out
    }

    private func escape(_ v: String) -> String {
        v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    private func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    public func write(to path: String) throws {
        try writeAtomically(render(), to: path)
    }
}

/// Writes text to `path` through a temp file in the same directory and `rename(2)`.
func writeAtomically(_ text: String, to path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    let tmp = path + ".tmp-\(getpid())"
    try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
    guard rename(tmp, path) == 0 else {
        let e = String(cString: strerror(errno))
        unlink(tmp)
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "rename \(tmp) → \(path): \(e)"])
    }
}
