import ArgumentParser
import Captioning
import CatalogIngest
import Foundation
import LookbookCore
import Pipeline

struct CaptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Caption a catalog's product images: one JSON line per product with an image.",
        discussion: #"Each line: {"id", "caption", "attributes": {"color", "color_family", "pattern", ...}, "captioner": "NAME@VERSION"}."#)

    @Option(help: "The catalog.") var catalog: String
    @Option(help: "Where to write the captions (JSON Lines).") var out: String
    @Flag(help: "Ignore titles and all other text: attributes from pixels alone.") var imageOnly = false
    @Option(help: "A job file whose [captioner] and [limits] apply.") var job: String?

    func run() async throws {
        let config = try job.map { try JobConfig.load(path: $0) } ?? JobConfig()
        let read = try CatalogReader.read(path: catalog, limits: config.limits, slotRules: SlotRules(overrides: config.slotOverrides))
        printDiagnostics(read.diagnostics)
        let stage = CaptionStage(captioner: try CaptionerFactory.make(config.captioner, maxPixels: config.limits.maxImagePixels), concurrency: config.captioner.concurrency)
        let output = try await stage.run(catalog: read.catalog, catalogPath: catalog, cached: [:], imageOnly: imageOnly)
        printDiagnostics(output.diagnostics)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        var written = 0
        for p in read.catalog.products {
            guard let c = output.captions[p.id], let path = p.images.first, read.catalog.images[path] != nil else { continue }
            let line = CaptionLine(id: p.id, caption: c.text, attributes: c.attributes, captioner: c.captioner)
            text += String(decoding: try encoder.encode(line), as: UTF8.self) + "\n"
            written += 1
        }
        let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        FileHandle.standardError.write(Data("wrote \(out): \(written) captions (\(output.diagnostics.count) images could not be captioned)\n".utf8))
    }
}

/// One line of `lookbook caption`'s output (the stable CLI spec).
struct CaptionLine: Codable {
    var id: String
    var caption: String
    var attributes: [String: String]
    var captioner: String
}
