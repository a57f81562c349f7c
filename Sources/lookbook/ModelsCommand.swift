import ArgumentParser
import Foundation
import LookbookCore
import Pipeline

/// `lookbook models`: the state's StyleLM versions, and rollback to an earlier one.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the StyleLM versions a state directory trained, or make an earlier one current.",
        discussion: """
            Every model the nightly run trains (supervised, or a preference-tuning refresh) is registered in \
            STATE/models/registry.json with its parent, kind, held-out FITB and the data it saw; the promotion gate \
            decides which one is current. `lookbook models rollback VERSION` makes an earlier kept version current: \
            the next run reranks with it and recomputes every list.
            """,
        subcommands: [List.self, Rollback.self],
        defaultSubcommand: List.self)

    struct Location: ParsableArguments {
        @Option(help: "The state directory.") var state: String?
        @Option(help: "A job file whose [job] state to use.") var job: String?

        func validate() throws {
            guard (state == nil) != (job == nil) else { throw ValidationError("give either --state DIR or --job FILE") }
        }

        func registry() throws -> (ModelRegistry, state: String) {
            let directory = try state ?? JobConfig.load(path: job!).state
            return (ModelRegistry(stateDirectory: directory), directory)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the versions (the default).")
        @OptionGroup var location: Location
        @Flag(help: "The registry as JSON.") var json = false

        func run() throws {
            let (registry, _) = try location.registry()
            let contents = try registry.read()
            if registry.hasUnmigratedModel {
                FileHandle.standardError.write(Data("lookbook: \(registry.trainingDirectory.path) (from before the registry) joins it as the first version at the next run\n".utf8))
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(contents), as: UTF8.self))
                return
            }
            guard !contents.versions.isEmpty else {
                print("no model versions in \(registry.file.path)")
                return
            }
            print(Self.table(contents))
        }

        /// One row per version, oldest first; `*` marks the current one.
        static func table(_ contents: ModelRegistry.Contents) -> String {
            let header = ["VERSION", "KIND", "STATUS", "CREATED", "PARENT", "FITB", "QUESTIONS", "DATA"]
            var rows = [("", header)]
            for e in contents.versions {
                var data: [String] = []
                if let d = e.data {
                    data.append("\(d.outfits) outfits (\(d.heldOutOutfits) held out)")
                    if d.feedback > 0 { data.append("\(d.feedback) verdicts") }
                    if let pairs = d.pairs { data.append("\(pairs.values.reduce(0, +)) pairs") }
                }
                rows.append((e.version == contents.current ? "*" : "",
                             [e.version, e.kind.rawValue, e.status.rawValue + (e.stored ? "" : " (not kept)"), e.createdAt, e.parent ?? "-",
                              e.metrics.map { String(format: "%.3f", $0.fitb) } ?? "-", e.metrics.map { String($0.questions) } ?? "-",
                              data.isEmpty ? "-" : data.joined(separator: ", ")]))
            }
            let widths = header.indices.map { c in rows.map { $0.1[c].count }.max() ?? 0 }
            return rows.map { marker, row in
                let cells = row.indices.map { c in c == row.count - 1 ? row[c] : row[c].padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                return (marker.isEmpty ? "  " : "\(marker) ") + cells.joined(separator: "  ")
            }.joined(separator: "\n")
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback", abstract: "Make an earlier version current; the next run reranks with it.")
        @Argument(help: "The version to make current (as `lookbook models` lists it).") var version: String
        @OptionGroup var location: Location

        func run() throws {
            let (registry, state) = try location.registry()
            // A run writes the registry too: never change it under one.
            let lock = try RunLock(directory: state, now: ISO8601DateFormatter().string(from: Date()))
            defer { withExtendedLifetime(lock) {} }
            let before = try registry.open().current
            let entry = try registry.rollback(to: version)
            print("\(entry.version) is current (was \(before ?? "none")); the next run reranks with it and recomputes every list")
        }
    }
}
