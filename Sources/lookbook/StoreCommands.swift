import ArgumentParser
import Foundation
import LookbookCore
import LookupStore

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Print what a storefront would read for a product or a curated look, as JSON.",
        discussion: """
            --product prints the product, its complementary lists (one per target slot, best \
            first) and the looks it is part of; --outfit prints a curated look with the \
            candidates for each of its blanks. The JSON shapes are in the README ("The store").
            """)

    @Argument(help: "A published store (lookbook.sqlite).")
    var store: String

    @Option(help: "The product id.")
    var product: String?

    @Option(help: "With --product: only the list of this target slot.")
    var slot: Slot?

    @Option(help: "A curated outfit's id (instead of --product).")
    var outfit: String?

    @Option(help: "With --outfit: only this blank (0-based position).")
    var position: Int?

    func validate() throws {
        guard (product == nil) != (outfit == nil) else {
            throw ValidationError("give either --product ID or --outfit ID")
        }
        if slot != nil, product == nil { throw ValidationError("--slot goes with --product") }
        if position != nil, outfit == nil { throw ValidationError("--position goes with --outfit") }
        if let position, position < 0 { throw ValidationError("--position is 0-based and not negative") }
    }

    func run() throws {
        let reader = try StoreReader(path: store)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json: Data
        if let product {
            guard let view = try reader.productView(id: product, slot: slot) else {
                throw LookbookError(.usage, "product \(product) is not in \(store)")
            }
            json = try encoder.encode(view)
        } else if let outfit {
            guard let view = try reader.outfitView(id: outfit, position: position) else {
                throw LookbookError(.usage, "outfit \(outfit) is not in \(store)")
            }
            if let position, view.blanks.isEmpty {
                throw LookbookError(.usage, "outfit \(outfit) has no position \(position)")
            }
            json = try encoder.encode(view)
        } else {
            return
        }
        print(String(decoding: json, as: UTF8.self))
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the store's recommendation tables for merchandisers (CSV or JSON Lines).")

    @Argument(help: "A published store (lookbook.sqlite).")
    var store: String

    @Option(help: "csv (RFC 4180, UTF-8, opens in a spreadsheet) or jsonl.")
    var format: StoreExporter.Format

    @Option(help: "The output directory.")
    var out: String

    @Option(help: "Only rows whose target slot (complementary) or blank slot (fitb) is this.")
    var slot: Slot?

    @Option(help: "Only anchors whose category is this path or under it (`Women > Shoes`).")
    var category: String?

    func run() throws {
        let files = try StoreExporter.export(storePath: store, format: format, to: out,
                                             slot: slot, category: category)
        for f in files { print(f) }
    }
}

extension Slot: ExpressibleByArgument {}
extension StoreExporter.Format: ExpressibleByArgument {}
