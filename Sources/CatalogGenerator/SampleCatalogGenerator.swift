import Foundation
import Imaging
import LookbookCore

/// Makes synthetic retailer catalogs: products with titles, categories and photos,
/// curated outfits that follow `OutfitRules`, merchandiser feedback, and the ground
/// truth of every product. Deterministic: the same config gives the same catalog and
/// the same image bytes (on one libjpeg-turbo / libpng version).
///
/// Each product and each outfit draws from its own random stream (seed, index), so a
/// catalog with more products starts with the same products as a smaller one.
public struct SampleCatalogGenerator: Sendable {
    public enum Locale: String, Sendable, Codable, CaseIterable {
        case enUS = "en-US"
        case zhCN = "zh-CN"
    }

    public struct Config: Sendable, Equatable, Codable {
        public var seed: UInt64 = 1
        public var retailer: String = "acme"
        /// RFC 3339; `evolve` moves it one day on.
        public var snapshot: String = "2026-11-28T02:00:00Z"
        public var productCount: Int = 300
        /// Products `0..<imageCount` (in catalog order) have a photo; later ones none.
        public var imageCount: Int = 300
        /// Photo width and height in pixels.
        public var imageSize: Int = 160
        /// libjpeg quality, 1–100.
        public var jpegQuality: Int = 85
        /// Share of photos written as PNG (three in four of those with a transparent
        /// background); the rest are JPEG.
        public var pngShare: Double = 0.2
        public var outfitCount: Int = 120
        /// Titles, categories, colours and descriptions in English or Simplified Chinese;
        /// prices in USD or CNY.
        public var locale: Locale = .enUS
        public var outOfStockShare: Double = 0.08
        /// One feedback verdict per eight outfits (at least three) when true.
        public var includeFeedback: Bool = true

        public init() {}

        public init(seed: UInt64 = 1, retailer: String = "acme", snapshot: String = "2026-11-28T02:00:00Z",
                    productCount: Int = 300, imageCount: Int? = nil, imageSize: Int = 160, jpegQuality: Int = 85,
                    pngShare: Double = 0.2, outfitCount: Int = 120, locale: Locale = .enUS,
                    outOfStockShare: Double = 0.08, includeFeedback: Bool = true) {
            self.seed = seed; self.retailer = retailer; self.snapshot = snapshot
            self.productCount = productCount; self.imageCount = imageCount ?? productCount
            self.imageSize = imageSize; self.jpegQuality = jpegQuality; self.pngShare = pngShare
            self.outfitCount = outfitCount; self.locale = locale; self.outOfStockShare = outOfStockShare
            self.includeFeedback = includeFeedback
        }

        /// The committed sample, `catalogs/sample-2026-11-28.tar.lz4`: the CLI's
        /// `lookbook generate` and the reproducibility test use exactly this.
        public static func sample() -> Config {
            Config(seed: 20261128, retailer: "acme", snapshot: "2026-11-28T02:00:00Z", productCount: 300,
                   imageCount: 280, imageSize: 160, jpegQuality: 82, pngShare: 0.2, outfitCount: 120,
                   locale: .enUS, outOfStockShare: 0.08, includeFeedback: true)
        }

        /// A zh-CN retailer without curated outfits (a new customer): Chinese titles,
        /// categories (`女装 > 上衣 > 衬衫`, `配饰 > 包 > 托特包`) and descriptions, prices
        /// in CNY, some products without a gender, no outfits and no feedback. What
        /// `lookbook generate --locale zh-CN --outfits 0` writes.
        public static func chineseWithoutOutfits(seed: UInt64 = 1, productCount: Int = 300, imageCount: Int? = nil,
                                                 imageSize: Int = 96) -> Config {
            Config(seed: seed, retailer: "xinyi", productCount: productCount, imageCount: imageCount, imageSize: imageSize,
                   outfitCount: 0, locale: .zhCN, includeFeedback: false)
        }

        /// Throws `LookbookError(.usage)` naming the first field out of range.
        public func validate() throws {
            func fail(_ m: String) -> LookbookError { LookbookError(.usage, "generator config: \(m)") }
            guard productCount >= 0 else { throw fail("productCount must be 0 or more, got \(productCount)") }
            guard (0...productCount).contains(imageCount) else {
                throw fail("imageCount must be between 0 and productCount (\(productCount)), got \(imageCount)")
            }
            guard (16...4096).contains(imageSize) else { throw fail("imageSize must be 16…4096 pixels, got \(imageSize)") }
            guard (1...100).contains(jpegQuality) else { throw fail("jpegQuality must be 1…100, got \(jpegQuality)") }
            guard (0...1).contains(pngShare) else { throw fail("pngShare must be between 0 and 1, got \(pngShare)") }
            guard (0...1).contains(outOfStockShare) else {
                throw fail("outOfStockShare must be between 0 and 1, got \(outOfStockShare)")
            }
            guard outfitCount >= 0 else { throw fail("outfitCount must be 0 or more, got \(outfitCount)") }
            guard Product.isValidID(retailer) else {
                throw fail("retailer must be 1–128 characters of A-Za-z0-9._:-, got \"\(retailer)\"")
            }
        }

        /// The committed sample's file name.
        public static let sampleFileName = "sample-2026-11-28.tar.lz4"
    }

    public var config: Config
    /// Threads used to render and encode photos (output does not depend on it). A failed
    /// photo stops all threads; its error is thrown.
    public var workers: Int
    private let renderer: GarmentRenderer

    public init(config: Config, workers: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.config = config
        self.workers = max(1, workers)
        self.renderer = GarmentRenderer()
    }

    /// The same as `SampleCatalogGenerator(config: .sample())`.
    public static func sample() -> Config { Config.sample() }

    // MARK: - Generate

    /// Photos rendered so far, reported from `generate` and `evolve`.
    public struct Progress: Sendable, Equatable {
        public var imagesDone: Int
        public var imagesTotal: Int
        public init(imagesDone: Int, imagesTotal: Int) { self.imagesDone = imagesDone; self.imagesTotal = imagesTotal }
    }

    /// Generates the catalog. With `renderImages: false` the products still reference
    /// their photo paths and the truth describes them, but no bytes are made (fast).
    ///
    /// - Parameter progress: called (one call at a time, from worker threads) every 64
    ///   photos and at the end; throw from it to stop: the error is rethrown as is.
    public func generate(renderImages: Bool = true,
                         progress: (@Sendable (Progress) throws -> Void)? = nil) throws -> GeneratedCatalog {
        try config.validate()
        var products: [Product] = []
        var truth: [String: ProductTruth] = [:]
        products.reserveCapacity(config.productCount)
        for i in 0..<config.productCount {
            let (p, t) = makeProduct(number: i + 1, withImage: i < config.imageCount, updatedAt: config.snapshot)
            products.append(p)
            truth[p.id] = t
        }
        let (outfits, styles) = makeOutfits(products: products, truth: truth, count: config.outfitCount,
                                            firstNumber: 1, stream: 0)
        let feedback = config.includeFeedback
            ? makeFeedback(outfits: outfits, products: products, truth: truth, styles: styles) : []
        let manifest = CatalogManifest(retailer: config.retailer, snapshot: config.snapshot,
                                       locale: config.locale.rawValue, currency: currency)
        let catalog = Catalog(manifest: manifest, products: products, outfits: outfits, feedback: feedback)
        let images = renderImages ? try render(products.compactMap { truth[$0.id]?.image }, progress: progress) : [:]
        return GeneratedCatalog(config: config, catalog: catalog, images: images, truth: truth, outfitStyles: styles)
    }

    /// Writes a generated catalog with `CatalogWriter`: a directory, or an archive when
    /// `path` ends in `.tar`, `.tar.lz4`, `.tar.gz`, `.tar.zst` or `.zip`.
    public static func write(_ generated: GeneratedCatalog, to path: String) throws {
        try CatalogWriterBridge.write(generated, to: path)
    }

    private var currency: String { config.locale == .zhCN ? "CNY" : "USD" }
    private var idWidth: Int { max(6, String(config.productCount).count) }

    func productID(_ number: Int) -> String { "P" + pad(number, idWidth) }

    // MARK: - Products

    /// Product `number` (1-based), drawn from its own stream.
    func makeProduct(number: Int, withImage: Bool, updatedAt: String) -> (Product, ProductTruth) {
        var rng = SeededRandom(seed: config.seed, stream: UInt64(number))
        let style = Style.allCases[rng.weighted([0.30, 0.22, 0.16, 0.16, 0.16])]

        // Slot by catalog share, then a kind of that slot in this style.
        let slotShares: [(Slot, Double)] = [(.top, 0.24), (.bottom, 0.18), (.dress, 0.07), (.outerwear, 0.09),
                                            (.shoes, 0.16), (.bag, 0.10), (.hat, 0.04), (.eyewear, 0.03),
                                            (.jewellery, 0.04), (.accessory, 0.05)]
        let available = slotShares.filter { s in GarmentKind.allCases.contains { $0.slot == s.0 && $0.styles.contains(style) } }
        let slot = available[rng.weighted(available.map(\.1))].0
        let kind = rng.pick(GarmentKind.allCases.filter { $0.slot == slot && $0.styles.contains(style) })

        let gender: String?
        if kind.womenOnly {
            gender = rng.chance(0.03) ? nil : "women"
        } else if kind.isAccessory {
            gender = [Optional("unisex"), "women", "men", nil][rng.weighted([0.5, 0.3, 0.15, 0.05])]
        } else {
            gender = [Optional("women"), "men", "unisex", nil][rng.weighted([0.5, 0.4, 0.06, 0.04])]
        }

        var palette = style.palette
        if kind == .jeans {
            palette = ["Denim Blue", "Navy", "Black", "Light Grey", "White"]
        }
        let color = NamedColor.named(rng.pick(palette))
        let patterns = style.patterns.filter { kind.patterns.contains($0.0) }
        let pattern = patterns.isEmpty ? Pattern.solid : patterns[rng.weighted(patterns.map(\.1))].0
        let materials = kind.materials.filter { style.materials.contains($0) }
        let material = rng.pick(materials.isEmpty ? kind.materials : materials)

        var patternColor: NamedColor? = nil
        var tertiary = NamedColor.named("Yellow")
        if pattern != .solid {
            let light = luminance(color.rgb) > 140
            let choices: [String]
            if pattern == .floral {
                choices = ["Pink", "Red", "White", "Yellow", "Lavender", "Blush", "Burnt Orange"]
            } else {
                choices = light ? ["Navy", "Black", "Charcoal", "Burgundy"] : ["White", "Ivory", "Light Grey", "Mustard"]
            }
            // A pattern colour of another family and clearly different lightness or hue.
            let usable = choices.map(NamedColor.named).filter { $0.family != color.family && distance($0.rgb, color.rgb) > 90 }
            patternColor = usable.isEmpty ? NamedColor.named(light ? "Black" : "White") : rng.pick(usable)
            if pattern == .floral {
                tertiary = NamedColor.named(patternColor?.family == .yellow || color.family == .yellow ? "White" : "Yellow")
            }
        }

        let id = productID(number)
        let zh = config.locale == .zhCN
        // Title: colour, pattern, material, style word (seven in ten), noun.
        let withStyleWord = rng.chance(0.7)
        let title: String
        if zh {
            title = color.zh + (pattern.zh ?? "") + material.zh + (withStyleWord ? style.zh : "") + kind.zhNoun
        } else {
            title = ([color.name, pattern.english, material.english, withStyleWord ? style.english : nil, kind.noun]
                .compactMap { $0 }).joined(separator: " ")
        }
        let category: String
        if zh {
            let dept: String? = kind.isAccessory ? "配饰" : gender.map { ["women": "女装", "men": "男装"][$0] ?? "中性" }
            category = ((dept.map { [$0] } ?? []) + kind.zhCategoryTail).joined(separator: " > ")
        } else {
            let dept: String? = kind.isAccessory ? "Accessories" : gender.map { $0.prefix(1).uppercased() + $0.dropFirst() }
            category = ((dept.map { [$0] } ?? []) + kind.categoryTail).joined(separator: " > ")
        }
        let brand = rng.chance(0.85) ? rng.pick(style.brands) : rng.pick(Style.allCases.flatMap(\.brands))
        var price = rng.double(in: kind.priceRange) * material.priceFactor * (style == .formal ? 1.25 : 1)
        price = zh ? (price * 7 / 10).rounded(.down) * 10 + 9 : price.rounded(.down) + 0.99
        let inStock = !rng.chance(config.outOfStockShare)
        let description = zh
            ? "\(style.zh)风格\(kind.zhNoun)，\(color.zh)\(material.zh)\(pattern.zh.map { "，\($0)图案" } ?? "")。"
            : "A \(style.rawValue) \(kind.noun.lowercased()) in \(color.name.lowercased())"
                + (pattern == .solid ? "" : " \(pattern.rawValue)") + " \(material.rawValue)."

        var imageTruth: ImageTruth? = nil
        if withImage {
            let png = rng.chance(config.pngShare)
            let transparent = png && rng.chance(0.75)
            let path = "images/\(id).\(png ? "png" : "jpg")"
            // White garments are shot on a pale grey backdrop, everything else on white.
            let background = luminance(color.rgb) > 215 ? RGBA(222, 226, 232) : RGBA(250, 250, 248)
            let size = config.imageSize
            let spec = ImageSpec(kind: kind, pattern: pattern, base: color.rgb,
                                 secondary: (patternColor ?? color).rgb, tertiary: tertiary.rgb,
                                 background: background, transparent: transparent, size: size, noiseSeed: rng.next())
            let probe = renderer.probe(kind: kind, size: size)
            imageTruth = ImageTruth(path: path, format: png ? .png : .jpeg, width: size, height: size,
                                    transparentBackground: transparent, background: background,
                                    probeX: probe.x, probeY: probe.y, spec: spec)
        }

        let product = Product(
            id: id, title: title, category: category, description: description, brand: brand,
            color: zh ? color.zh : color.name, gender: gender, price: price, currency: currency, inStock: inStock,
            url: "https://shop.example.com/\(config.retailer)/p/\(id)", images: imageTruth.map { [$0.path] } ?? [],
            attributes: ["material": material.rawValue, "style": style.rawValue], updatedAt: updatedAt, slot: kind.slot)
        let truth = ProductTruth(kind: kind, slot: kind.slot, color: color, patternColor: patternColor, pattern: pattern,
                                 material: material, style: style, gender: gender, image: imageTruth)
        return (product, truth)
    }

    // MARK: - Outfits

    /// Curated outfits following `OutfitRules`, numbered from `firstNumber`. `stream`
    /// separates the outfit streams of `evolve` from those of `generate`.
    func makeOutfits(products: [Product], truth: [String: ProductTruth], count: Int, firstNumber: Int,
                     stream: UInt64, existing: Set<[String]> = []) -> ([Outfit], [String: Style]) {
        // Index: style → slot → candidates, in catalog order.
        struct Candidate { let id: String; let family: ColorFamily; let gender: Gender }
        var index: [Style: [Slot: [Candidate]]] = [:]
        for p in products {
            guard let t = truth[p.id] else { continue }
            index[t.style, default: [:]][t.slot, default: []]
                .append(Candidate(id: p.id, family: t.colorFamily, gender: Gender(retailerWord: t.gender)))
        }
        var outfits: [Outfit] = []
        var styles: [String: Style] = [:]
        var seen = existing
        let zh = config.locale == .zhCN
        var number = firstNumber
        var attempt: UInt64 = 0
        let maxAttempts = UInt64(max(100, count * 20))
        while outfits.count < count, attempt < maxAttempts {
            defer { attempt += 1 }
            var rng = SeededRandom(seed: config.seed, stream: (1 << 40) &+ (stream << 32) &+ attempt)
            let style = Style.allCases[rng.weighted([0.30, 0.22, 0.16, 0.16, 0.16])]
            let gender: Gender = rng.chance(0.6) ? .women : .men
            // The first non-neutral item fixes the accent family; one outfit in four is
            // all neutrals.
            let neutralOnly = rng.chance(0.25)
            var accent: ColorFamily? = nil
            var items: [String] = []
            func fits(_ c: Candidate) -> Bool {
                guard c.gender.goes(with: gender) else { return false }
                if c.family.isNeutral { return true }
                return !neutralOnly && (accent == nil || c.family == accent)
            }
            /// A uniformly drawn fitting product of `slot`: rejection sampling, then an
            /// exhaustive filter when fitting products are rare.
            func draw(_ slot: Slot) -> String? {
                guard let all = index[style]?[slot], !all.isEmpty else { return nil }
                for _ in 0..<24 {
                    let c = all[rng.int(below: all.count)]
                    if fits(c) { return c.id }
                }
                let fitting = all.filter(fits)
                return fitting.isEmpty ? nil : rng.pick(fitting).id
            }
            func add(_ id: String) {
                items.append(id)
                let family = truth[id]!.colorFamily
                if !family.isNeutral { accent = family }
            }
            if gender == .women, rng.chance(0.35), let dress = draw(.dress) {
                add(dress)
            } else {
                guard let top = draw(.top) else { continue }
                add(top)
                guard let bottom = draw(.bottom) else { continue }
                add(bottom)
            }
            guard let shoes = draw(.shoes) else { continue }
            add(shoes)
            for (slot, p) in [(Slot.outerwear, 0.4), (.bag, 0.5)] where rng.chance(p) {
                if let id = draw(slot) { add(id) }
            }
            if rng.chance(0.45), let id = draw(rng.pick([Slot.hat, .eyewear, .jewellery, .accessory])) {
                add(id)
            }
            let key = items.sorted()
            guard seen.insert(key).inserted else { continue }

            let id = "O" + pad(number, 6)
            number += 1
            let occasion = rng.pick(occasions(style))
            let accentName = accent.map { a in
                items.lazy.compactMap { truth[$0] }.first { $0.colorFamily == a }?.color
            } ?? nil
            let name: String
            if zh {
                name = style.zh + "·" + occasion.zh + (accentName.map { "（\($0.zh)点缀）" } ?? "")
            } else {
                name = "\(style.rawValue.prefix(1).uppercased() + style.rawValue.dropFirst()) \(occasion.en)"
                    + (accentName.map { " in \($0.name)" } ?? "")
            }
            let source = ["stylist", "editorial", "customer"][rng.weighted([0.6, 0.25, 0.15])]
            let likes = Int(4.0 / (rng.unit() + 0.02))
            outfits.append(Outfit(id: id, items: items, name: name, source: source, likes: likes))
            styles[id] = style
        }
        return (outfits, styles)
    }

    private func occasions(_ style: Style) -> [(en: String, zh: String)] {
        switch style {
        case .casual: [("Weekend", "周末"), ("Brunch", "早午餐"), ("City Stroll", "城市漫步"), ("Coffee Run", "咖啡时光")]
        case .formal: [("Office", "办公室"), ("Board Meeting", "会议"), ("Evening", "晚宴"), ("Gallery Opening", "画展")]
        case .sporty: [("Gym", "健身"), ("Morning Run", "晨跑"), ("Trail Day", "徒步")]
        case .boho: [("Festival", "音乐节"), ("Beach Day", "海边"), ("Market Day", "市集")]
        case .street: [("Skate Park", "滑板场"), ("Night Out", "夜出"), ("Downtown", "街区")]
        }
    }

    // MARK: - Feedback

    /// Merchandiser verdicts: `approve` pairs two items of one curated outfit (so
    /// they obey `OutfitRules`); `reject` pairs an outfit item with a product of
    /// another style whose slot the anchor's slot pairs with (`SlotCompatibility.default`).
    func makeFeedback(outfits: [Outfit], products: [Product], truth: [String: ProductTruth],
                      styles: [String: Style]) -> [Feedback] {
        guard !outfits.isEmpty else { return [] }
        let count = max(3, outfits.count / 8)
        var out: [Feedback] = []
        var seen = Set<[String]>()
        var attempt: UInt64 = 0
        while out.count < count, attempt < UInt64(count * 20) {
            defer { attempt += 1 }
            var rng = SeededRandom(seed: config.seed, stream: (2 << 40) &+ attempt)
            let outfit = rng.pick(outfits)
            let anchor = rng.pick(outfit.items)
            let anchorTruth = truth[anchor]!
            let item: String
            let verdict: Feedback.Verdict
            if rng.chance(0.6) {
                let others = outfit.items.filter { $0 != anchor && SlotCompatibility.default.isCompatible(anchorTruth.slot, truth[$0]!.slot) }
                guard !others.isEmpty else { continue }
                item = rng.pick(others); verdict = .approve
            } else {
                let targets = SlotCompatibility.default.targets(for: anchorTruth.slot)
                guard !targets.isEmpty else { continue }
                let slot = rng.pick(targets)
                // A bounded random probe of the catalog for a product of that slot and another style.
                var found: String? = nil
                for _ in 0..<200 {
                    let p = rng.pick(products)
                    if let t = truth[p.id], t.slot == slot, t.style != anchorTruth.style { found = p.id; break }
                }
                guard let f = found else { continue }
                item = f; verdict = .reject
            }
            guard seen.insert([anchor, item]).inserted else { continue }
            out.append(Feedback(anchor: anchor, item: item, verdict: verdict, slot: truth[item]!.slot.rawValue,
                                at: config.snapshot))
        }
        return out
    }

    // MARK: - Images

    /// Renders and encodes photos on `workers` threads; the result does not depend on
    /// the thread count. The first encoder failure is thrown after all threads stop.
    func render(_ images: [ImageTruth], progress: (@Sendable (Progress) throws -> Void)? = nil) throws -> [String: [UInt8]] {
        guard !images.isEmpty else { return [:] }
        let results = ResultBox(count: images.count, progress: progress)
        let renderer = self.renderer
        let quality = config.jpegQuality
        let n = min(workers, images.count)
        DispatchQueue.concurrentPerform(iterations: n) { w in
            do {
                let jpeg = try JPEGEncoder()
                var i = w
                while i < images.count, !results.stopped {
                    let t = images[i]
                    let raster = renderer.render(t.spec)
                    let bytes = t.format == .png ? try PNGCodec.encode(raster) : try jpeg.encode(raster, quality: quality)
                    results.set(i, bytes)
                    i += n
                }
            } catch {
                results.fail(error)
            }
        }
        if let e = results.error { throw e }
        var out: [String: [UInt8]] = [:]
        out.reserveCapacity(images.count)
        for (i, t) in images.enumerated() { out[t.path] = results.values[i] }
        return out
    }

    /// Renders one product photo (RGBA, before encoding), e.g. for tests.
    public func raster(for image: ImageTruth) -> RGBAImage { renderer.render(image.spec) }
}

/// Collects per-index results from worker threads and reports progress, one call at a time.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [[UInt8]]
    private(set) var error: (any Error)?
    private var done = 0
    private let progress: (@Sendable (SampleCatalogGenerator.Progress) throws -> Void)?

    init(count: Int, progress: (@Sendable (SampleCatalogGenerator.Progress) throws -> Void)?) {
        values = Array(repeating: [], count: count)
        self.progress = progress
    }

    var stopped: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }

    func set(_ i: Int, _ v: [UInt8]) {
        lock.lock(); defer { lock.unlock() }
        values[i] = v
        done += 1
        guard let progress, error == nil, done % 64 == 0 || done == values.count else { return }
        do { try progress(.init(imagesDone: done, imagesTotal: values.count)) } catch { self.error = error }
    }

    func fail(_ e: any Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
}

func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

func luminance(_ c: RGBA) -> Double { 0.2126 * Double(c.r) + 0.7152 * Double(c.g) + 0.0722 * Double(c.b) }

func distance(_ a: RGBA, _ b: RGBA) -> Double {
    let dr = Double(a.r) - Double(b.r), dg = Double(a.g) - Double(b.g), db = Double(a.b) - Double(b.b)
    return (dr * dr + dg * dg + db * db).squareRoot()
}
