import ArgumentParser
import Foundation
import LookbookCore
import LookupStore

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Print what a storefront would read for a product, as JSON.")

    @Argument(help: "A published store (lookbook.sqlite).")
    var store: String

    @Option(help: "The product id.")
    var product: String

    func run() throws {
        let reader = try StoreReader(path: store)
        guard let view = try reader.productView(id: product) else {
            throw LookbookError(.usage, "product \(product) is not in \(store)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(view), as: UTF8.self))
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
