import CatalogGenerator
import CatalogIngest
import Foundation
import Imaging
import LookbookCore
import Testing

@Suite struct GeneratedPhotoTests {
    static var photographed: [String] {
        Fixtures.small.catalog.products.filter { !$0.images.isEmpty }.map(\.id)
    }

    /// Decoding the written file gives the truth's base colour at the probe.
    @Test(arguments: photographed)
    func photoShowsTheTruthColour(id: String) throws {
        let truth = try #require(Fixtures.small.truth[id])
        let image = try #require(truth.image)
        let bytes = try #require(Fixtures.small.images[image.path])
        let decoded = image.format == .png ? try PNGCodec.decode(bytes) : try JPEGDecoder().decode(bytes)
        #expect(decoded.width == image.width && decoded.height == image.height)
        let c = truth.color.rgb
        #expect(channelError(decoded.mean(x: image.probeX, y: image.probeY, radius: 1), (c.r, c.g, c.b)) < 24,
                "\(truth.color.name) \(truth.kind) \(truth.pattern) \(image.format)")
        if image.transparentBackground {
            #expect(decoded[0, 0].a == 0)
            #expect(decoded[image.probeX, image.probeY].a == 255)
        } else {
            #expect(decoded[0, 0].a == 255)
        }
    }

    @Test func mixesJPEGAndTransparentPNG() {
        let images = Fixtures.small.truth.values.compactMap(\.image)
        #expect(images.count == 50)
        #expect(images.contains { $0.format == .jpeg })
        #expect(images.contains { $0.format == .png && $0.transparentBackground })
        #expect(Set(Fixtures.small.images.keys) == Set(images.map(\.path)))
    }
}

@Suite struct DeterminismTests {
    @Test func sameSeedSameCatalogAndBytes() throws {
        let again = try SampleCatalogGenerator(config: Fixtures.smallConfig, workers: 1).generate()
        #expect(again == Fixtures.small)
    }

    @Test func otherSeedOtherCatalog() throws {
        var c = Fixtures.smallConfig
        c.seed = 8
        let other = try SampleCatalogGenerator(config: c).generate(renderImages: false)
        #expect(other.catalog.products != Fixtures.small.catalog.products)
    }

    @Test func largerCatalogStartsWithTheSameProducts() throws {
        var c = Fixtures.smallConfig
        c.productCount = 80
        let bigger = try SampleCatalogGenerator(config: c).generate(renderImages: false)
        #expect(Array(bigger.catalog.products.prefix(50)) == Array(Fixtures.small.catalog.products.prefix(50)))
    }
}

@Suite struct OutfitRuleTests {
    static var outfitIDs: [String] { Fixtures.sample.catalog.outfits.map(\.id) }

    @Test(arguments: outfitIDs)
    func outfitFollowsTheStyleRules(id: String) throws {
        let g = Fixtures.sample
        let outfit = try #require(g.catalog.outfits.first { $0.id == id })
        let style = try #require(g.outfitStyles[id])
        let items = try outfit.items.map { item in (id: item, truth: try #require(g.truth[item])) }
        #expect(OutfitRules.violations(items: items, style: style) == [])
    }

    @Test func outfitsAreDistinctAndCountAsConfigured() {
        let outfits = Fixtures.sample.catalog.outfits
        #expect(outfits.count == SampleCatalogGenerator.Config.sample().outfitCount)
        #expect(Set(outfits.map { $0.items.sorted() }).count == outfits.count)
        #expect(outfits.allSatisfy { ($0.likes ?? 0) >= 3 && ($0.likes ?? 0) <= 200 })
    }

    @Test(arguments: Style.allCases)
    func everyStyleHasOutfits(style: Style) {
        #expect(Fixtures.sample.outfitStyles.values.contains(style))
    }

    @Test func rulesCatchAStyleClashAndAColourClash() {
        let red = ProductTruth(kind: .tshirt, slot: .top, color: .named("Red"), pattern: .solid,
                               material: .cotton, style: .casual, gender: "women")
        var green = red
        green.kind = GarmentKind.jeans; green.slot = Slot.bottom; green.color = NamedColor.named("Green"); green.style = Style.street
        var shoes = red
        shoes.kind = GarmentKind.sneakers; shoes.slot = Slot.shoes; shoes.color = NamedColor.named("White")
        let problems = OutfitRules.violations(items: [("a", red), ("b", green), ("c", shoes)], style: .casual)
        #expect(problems.count == 2)
    }

    @Test func feedbackApprovalsComeFromOutfitsAndRejectionsCrossStyles() {
        let g = Fixtures.sample
        #expect(!g.catalog.feedback.isEmpty)
        for f in g.catalog.feedback {
            let a = g.truth[f.anchor]!, b = g.truth[f.item]!
            if f.verdict == .approve {
                #expect(g.catalog.outfits.contains { $0.items.contains(f.anchor) && $0.items.contains(f.item) })
            } else {
                #expect(a.style != b.style)
            }
        }
    }
}

@Suite struct CatalogContentTests {
    @Test func idsAreValidAndReferencesResolve() {
        let c = Fixtures.sample.catalog
        let ids = Set(c.products.map(\.id))
        #expect(ids.count == c.products.count)
        #expect(c.products.allSatisfy { Product.isValidID($0.id) })
        #expect(c.outfits.allSatisfy { Product.isValidID($0.id) && $0.items.count >= 2 && $0.items.allSatisfy(ids.contains) })
        #expect(c.feedback.allSatisfy { ids.contains($0.anchor) && ids.contains($0.item) })
    }

    @Test func productsLookLikeARetailersFeed() {
        let g = Fixtures.sample
        let products = g.catalog.products
        #expect(products.count == 300)
        #expect(products.filter { !$0.images.isEmpty }.count == 280)
        #expect(products.contains { !$0.inStock })
        #expect(products.contains { $0.gender == nil })
        #expect(products.contains { $0.category.hasPrefix("Accessories > Bags") })
        #expect(products.contains { $0.category.hasPrefix("Men > Shoes") })
        for p in products {
            let t = g.truth[p.id]!
            #expect(p.title.hasPrefix(t.color.name))
            #expect(p.attributes["style"] == t.style.rawValue)
            #expect(p.attributes["material"] == t.material.rawValue)
            #expect(p.slot == t.slot)
        }
    }

    @Test func chineseCatalogHasChineseTitlesAndCategories() {
        let c = Fixtures.chinese.catalog
        #expect(c.manifest.locale == "zh-CN")
        #expect(c.manifest.currency == "CNY")
        let cjk: (String) -> Bool = { $0.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } }
        #expect(c.products.allSatisfy { cjk($0.title) && cjk($0.category) })
        let groups = ["上衣", "下装", "鞋", "包"]
        for g in groups { #expect(c.products.contains { $0.category.contains(g) }, "\(g)") }
    }
}

@Suite struct EvolveTests {
    static let next: GeneratedCatalog = {
        let gen = SampleCatalogGenerator(config: Fixtures.smallConfig)
        return try! gen.evolve(Fixtures.small, changeFraction: 0.3, seed: 99)
    }()

    @Test func nextSnapshotIsLaterAndChangesSomeProducts() {
        let before = Fixtures.small.catalog, after = Self.next.catalog
        #expect(after.manifest.snapshot > before.manifest.snapshot)
        let old = Dictionary(uniqueKeysWithValues: before.products.map { ($0.id, $0) })
        let new = Dictionary(uniqueKeysWithValues: after.products.map { ($0.id, $0) })
        let removed = old.keys.filter { new[$0] == nil }
        let added = new.keys.filter { old[$0] == nil }
        let changed = new.keys.filter { old[$0] != nil && old[$0] != new[$0] }
        #expect(!removed.isEmpty)
        #expect(!added.isEmpty)
        #expect(!changed.isEmpty)
        #expect(changed.count + removed.count < before.products.count)
    }

    @Test func referencesStayValidAndImagesMatchProducts() {
        let g = Self.next
        let ids = Set(g.catalog.products.map(\.id))
        #expect(g.catalog.outfits.allSatisfy { $0.items.allSatisfy(ids.contains) })
        #expect(g.catalog.feedback.allSatisfy { ids.contains($0.anchor) && ids.contains($0.item) })
        let paths = Set(g.catalog.products.flatMap(\.images))
        #expect(Set(g.images.keys) == paths)
        #expect(Set(g.truth.keys) == ids)
    }

    @Test func evolveIsDeterministic() throws {
        let again = try SampleCatalogGenerator(config: Fixtures.smallConfig).evolve(Fixtures.small, changeFraction: 0.3, seed: 99)
        #expect(again == Self.next)
    }
}

@Suite struct ProgressTests {
    struct Stop: Error {}

    final class Last: @unchecked Sendable {
        let lock = NSLock()
        var value: SampleCatalogGenerator.Progress?
        func set(_ p: SampleCatalogGenerator.Progress) { lock.lock(); value = p; lock.unlock() }
    }

    @Test func progressEndsAtTheTotal() throws {
        var c = Fixtures.smallConfig
        c.imageSize = 32
        let last = Last()
        _ = try SampleCatalogGenerator(config: c).generate { last.set($0) }
        #expect(last.value == .init(imagesDone: 50, imagesTotal: 50))
    }

    @Test func throwingFromProgressStopsGeneration() {
        var c = Fixtures.smallConfig
        c.imageSize = 32
        c.productCount = 200; c.imageCount = 200
        #expect(throws: Stop.self) {
            try SampleCatalogGenerator(config: c).generate { _ in throw Stop() }
        }
    }
}

@Suite struct WritingTests {
    static func temp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-gen-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    @Test(arguments: ["small.tar.lz4", "small.zip"])
    func streamedArchiveReadsBackAsTheGeneratedCatalog(name: String) throws {
        let path = Self.temp(name)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let written = try SampleCatalogGenerator(config: Fixtures.smallConfig).writeArchive(to: path)
        let read = try CatalogReader.read(path: path)
        #expect(read.diagnostics == [])
        #expect(read.catalog.products.map(\.id) == Fixtures.small.catalog.products.map(\.id))
        #expect(read.catalog.outfits == Fixtures.small.catalog.outfits)
        #expect(read.catalog.feedback == Fixtures.small.catalog.feedback)
        #expect(read.catalog.images.count == Fixtures.small.images.count)
        #expect(written.truth == Fixtures.small.truth)
    }

    @Test func writeGoesThroughCatalogWriter() throws {
        let path = Self.temp("catalog")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        try SampleCatalogGenerator.write(Fixtures.small, to: path)
        for (name, bytes) in Fixtures.small.images.prefix(5) {
            #expect(FileManager.default.contents(atPath: path + "/" + name) == Data(bytes))
        }
    }
}

@Suite struct ConfigTests {
    static var badConfigs: [SampleCatalogGenerator.Config] {
        let base = Fixtures.smallConfig
        var a = base; a.imageSize = 4
        var b = base; b.imageCount = base.productCount + 1
        var c = base; c.jpegQuality = 0
        var d = base; d.pngShare = 1.5
        var e = base; e.retailer = "acme shop"
        var f = base; f.productCount = -1
        return [a, b, c, d, e, f]
    }

    @Test(arguments: badConfigs)
    func badConfigIsAUsageError(config: SampleCatalogGenerator.Config) {
        #expect(throws: LookbookError.self) { try SampleCatalogGenerator(config: config).generate(renderImages: false) }
    }

    @Test func sampleConfigIsValid() throws {
        try SampleCatalogGenerator.sample().validate()
    }
}
