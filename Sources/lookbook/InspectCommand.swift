import ArgumentParser
import CatalogIngest
import Foundation
import LookbookCore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate and summarise a catalog without publishing anything.",
        discussion: "Prints counts, the slot histogram and every problem with file, line and reason. Exits 1 when the catalog cannot be used.")

    @Argument(help: "A catalog: directory, archive or bare products feed.")
    var catalog: String

    @Option(help: "A job file whose [limits] and [slots] apply.")
    var job: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        let config = try job.map { try JobConfig.load(path: $0) } ?? JobConfig()
        let result = try CatalogReader.read(path: catalog, limits: config.limits,
                                            slotRules: SlotRules(overrides: config.slotOverrides))
        let summary = CatalogSummary(result)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(summary.text)
        }
    }
}

/// What `inspect` reports.
struct CatalogSummary: Codable {
    var retailer: String
    var snapshot: String
    var products: Int
    var inStock: Int
    var outfits: Int
    var feedback: Int
    var images: Int
    var slots: [String: Int]
    /// Categories that fell to `other`, with counts: candidates for `[slots] overrides`.
    var unmappedCategories: [String: Int]
    var problems: [Diagnostic]
    var uncompressedBytes: Int64
    var seconds: Double

    init(_ r: IngestResult) {
        let c = r.catalog
        retailer = c.manifest.retailer
        snapshot = c.manifest.snapshot
        products = c.products.count
        inStock = c.products.filter(\.inStock).count
        outfits = c.outfits.count
        feedback = c.feedback.count
        images = c.images.count
        slots = Dictionary(grouping: c.products, by: \.slot.rawValue).mapValues(\.count)
        unmappedCategories = Dictionary(grouping: c.products.filter { $0.slot == .other }, by: \.category).mapValues(\.count)
        problems = r.diagnostics
        uncompressedBytes = r.stats.uncompressedBytes
        seconds = r.stats.seconds
    }

    var text: String {
        var lines = [
            "catalog    \(retailer) @ \(snapshot)",
            "products   \(products) (\(inStock) in stock)",
            "outfits    \(outfits)",
            "feedback   \(feedback)",
            "images     \(images)",
            "slots",
        ]
        for slot in Slot.allCases where slots[slot.rawValue] != nil {
            lines.append("  \(slot.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(slots[slot.rawValue]!)")
        }
        if !unmappedCategories.isEmpty {
            lines.append("categories mapped to other (add [slots] overrides):")
            for (cat, n) in unmappedCategories.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }).prefix(20) {
                lines.append("  \(n)\t\(cat)")
            }
        }
        lines.append("problems   \(problems.count)")
        for d in problems.prefix(50) { lines.append("  \(d.severity.rawValue): \(d)") }
        if problems.count > 50 { lines.append("  … \(problems.count - 50) more (use --json for all)") }
        return lines.joined(separator: "\n")
    }
}
