import CatalogGenerator
import Imaging
import LookbookCore
import Testing
@testable import Captioning

@Test func captionsFollowThePapersOrderFromPixelsAndText() async throws {
    let config = SampleCatalogGenerator.Config(seed: 2, productCount: 40, imageCount: 40, imageSize: 128, pngShare: 0.3, outfitCount: 0,
                                               includeFeedback: false)
    let generated = try SampleCatalogGenerator(config: config).generate()
    let captioner = EmbeddedCaptioner()
    var familyHits = 0
    for p in generated.catalog.products {
        let truth = try #require(generated.truth[p.id])
        let path = try #require(p.images.first)
        let bytes = try #require(generated.images[path])
        let c = try await captioner.caption(CaptionRequest(product: p, image: bytes))
        #expect(c.captioner == "embedded@5")
        #expect(LookbookCore.ColorFamily(rawValue: c.attributes["color_family"] ?? "") != nil)
        #expect(["solid", "striped", "checked", "dotted", "floral", "printed"].contains(c.attributes["pattern"] ?? ""))
        if TextAttributes.materials.contains(where: { $0.1 == truth.material.rawValue }) {
            #expect(c.attributes["material"] == truth.material.rawValue)
        }
        #expect(c.attributes["style"] == truth.style.rawValue)
        // Colour first, type last.
        #expect(c.text.hasPrefix(c.attributes["color"] ?? "∅"))
        if let type = c.attributes["type"] { #expect(c.text.hasSuffix(type)) }
        if c.attributes["color_family"] == truth.colorFamily.rawValue { familyHits += 1 }
    }
    #expect(familyHits >= 28, "\(familyHits) of 40 colour families right")
}

@Test func imageOnlyIgnoresTheText() async throws {
    let config = SampleCatalogGenerator.Config(seed: 3, productCount: 5, imageCount: 5, imageSize: 96, outfitCount: 0, includeFeedback: false)
    let generated = try SampleCatalogGenerator(config: config).generate()
    let p = generated.catalog.products[0]
    let path = try #require(p.images.first)
        let bytes = try #require(generated.images[path])
    var lying = p
    lying.title = "Yellow Silk Boho Scarf"
    let c = try await EmbeddedCaptioner().caption(CaptionRequest(product: lying, image: bytes, imageOnly: true))
    #expect(c.attributes["material"] == nil)
    #expect(c.attributes["style"] == nil)
    #expect(c.attributes["type"] == nil)
    #expect(c.attributes["color"] != nil)
}

@Test func withoutAnImageTheTextDecides() async throws {
    let p = Product(id: "x", title: "Navy Striped Cotton Casual Shirt", category: "Men > Shirts", slot: .top)
    let c = try await EmbeddedCaptioner().caption(CaptionRequest(product: p))
    #expect(c.text == "navy striped cotton casual shirt")
    #expect(c.attributes["color_family"] == "blue")
}

@Test func anUndecodableImageIsAReasonNotACrash() async throws {
    let p = Product(id: "x", title: "", category: "")
    await #expect(throws: CaptionError.self) {
        try await EmbeddedCaptioner().caption(CaptionRequest(product: p, image: [0xFF, 0xD8, 0xFF, 0x00], imageOnly: true))
    }
}
