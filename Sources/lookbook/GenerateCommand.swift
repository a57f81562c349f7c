import ArgumentParser
import CatalogGenerator
import Foundation

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a synthetic retailer's catalog: rendered product photos, titles, categories, curated outfits.",
        discussion: """
            The catalog is deterministic in its seed. `--sample` writes exactly the committed \
            catalogs/\(SampleCatalogGenerator.Config.sampleFileName). The output is a directory, or an archive \
            when PATH ends in .tar, .tar.gz, .tar.zst, .tar.lz4 or .zip.
            """)

    @Option(help: "Where to write the catalog.") var out: String
    @Flag(help: "The committed sample's settings (other options are ignored).") var sample = false
    @Option(help: "Products.") var products = 300
    @Option(help: "Products with a photo (the first ones).") var images: Int?
    @Option(help: "Curated outfits.") var outfits = 120
    @Option(help: "Photo size in pixels.") var imageSize = 160
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "en-US or zh-CN.") var locale = "en-US"
    @Option(help: "Snapshot time, RFC 3339.") var snapshot = "2026-11-28T02:00:00Z"
    @Option(help: "Retailer name.") var retailer = "acme"

    func validate() throws {
        guard SampleCatalogGenerator.Locale(rawValue: locale) != nil else {
            throw ValidationError("--locale must be en-US or zh-CN")
        }
        guard products > 0, outfits >= 0, imageSize >= 16 else {
            throw ValidationError("--products must be positive, --outfits not negative, --image-size at least 16")
        }
    }

    func run() throws {
        let config = sample ? SampleCatalogGenerator.Config.sample() : SampleCatalogGenerator.Config(
            seed: seed, retailer: retailer, snapshot: snapshot, productCount: products, imageCount: images,
            imageSize: imageSize, outfitCount: outfits, locale: SampleCatalogGenerator.Locale(rawValue: locale)!)
        let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let generated = try SampleCatalogGenerator(config: config).generate()
        try SampleCatalogGenerator.write(generated, to: out)
        print("wrote \(out): \(generated.catalog.products.count) products, \(generated.images.count) images, \(generated.catalog.outfits.count) outfits")
    }
}
