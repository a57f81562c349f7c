import CatalogGenerator
import LookbookCore

/// Catalogs shared by the tests, generated once per process.
enum Fixtures {
    /// The committed sample's metadata (no photos: fast).
    static let sample: GeneratedCatalog = {
        try! SampleCatalogGenerator(config: .sample()).generate(renderImages: false)
    }()

    /// A small catalog with photos, mixing JPEG and PNG.
    static let smallConfig = SampleCatalogGenerator.Config(
        seed: 7, retailer: "test", productCount: 60, imageCount: 50, imageSize: 96, pngShare: 0.4, outfitCount: 20)

    static let small: GeneratedCatalog = {
        try! SampleCatalogGenerator(config: smallConfig).generate()
    }()

    static let chinese: GeneratedCatalog = {
        var c = smallConfig
        c.locale = .zhCN
        return try! SampleCatalogGenerator(config: c).generate(renderImages: false)
    }()
}

/// Largest per-channel difference between a measured mean colour and an expected one.
func channelError(_ m: (r: Double, g: Double, b: Double, a: Double), _ e: (UInt8, UInt8, UInt8)) -> Double {
    max(abs(m.r - Double(e.0)), abs(m.g - Double(e.1)), abs(m.b - Double(e.2)))
}
