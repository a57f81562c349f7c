import Foundation
import LookbookCore

extension SampleCatalogGenerator {
    /// The retailer's next snapshot of `previous`, one day later, for incremental-run
    /// tests.
    ///
    /// Each product is, independently with probability `changeFraction`, touched:
    /// one in five touched products is removed; the others change their price, stock,
    /// title, or (for one in ten with a photo) the photo's bytes (same path, new
    /// sensor noise). New products, a fifth as many as touched ones, are appended with
    /// fresh ids, as are new outfits built by `OutfitRules` from the new product set.
    /// Outfits and feedback that name a removed product are dropped. Changed and new
    /// products carry the new snapshot as `updated_at`. Photos are rendered only when
    /// `previous` has photo bytes. The result's `config` carries the new snapshot,
    /// product and outfit counts, and the derived seed its new rows were drawn with.
    public func evolve(_ previous: GeneratedCatalog, changeFraction: Double, seed: UInt64) throws -> GeneratedCatalog {
        var config = previous.config
        config.snapshot = try Self.nextDay(previous.config.snapshot)
        // New products and outfits draw from streams of a seed of their own.
        config.seed = previous.config.seed ^ (seed &* 0xD1B5_4A32_D192_ED03)
        let gen = SampleCatalogGenerator(config: config, workers: workers)
        let renderImages = !previous.images.isEmpty
        let zh = config.locale == .zhCN
        var rng = SeededRandom(seed: seed, stream: 0xE701)

        var products: [Product] = []
        var truth: [String: ProductTruth] = [:]
        var images: [String: [UInt8]] = [:]
        var toRender: [ImageTruth] = []
        var removed = Set<String>()
        var touched = 0
        for var p in previous.catalog.products {
            var t = previous.truth[p.id]!
            let u = rng.unit()
            var newPhoto = false
            if u < changeFraction {
                touched += 1
                if u < changeFraction * 0.2 {
                    removed.insert(p.id)
                    continue
                }
                p.updatedAt = config.snapshot
                var change = rng.weighted([0.4, 0.3, 0.2, 0.1])
                if change == 3, t.image == nil { change = 0 }
                switch change {
                case 0:
                    let factor = rng.pick([0.8, 0.9, 1.1, 1.2])
                    if let price = p.price {
                        p.price = zh ? (price * factor / 10).rounded(.down) * 10 + 9 : (price * factor).rounded(.down) + 0.99
                    }
                case 1:
                    p.inStock.toggle()
                case 2:
                    p.title += zh ? "（限量款）" : " - Limited Edition"
                default:
                    t.image!.spec.noiseSeed = rng.next()
                    toRender.append(t.image!)
                    newPhoto = true
                }
            }
            if let image = t.image, renderImages, !newPhoto {
                images[image.path] = previous.images[image.path]
            }
            products.append(p)
            truth[p.id] = t
        }

        // New products.
        let maxNumber = previous.catalog.products.compactMap { Int($0.id.dropFirst()) }.max() ?? 0
        let imageShare = Double(previous.config.imageCount) / Double(max(1, previous.config.productCount))
        let newCount = max(1, Int((Double(touched) * 0.2).rounded()))
        for k in 1...newCount {
            let (p, t) = gen.makeProduct(number: maxNumber + k, withImage: rng.chance(imageShare), updatedAt: config.snapshot)
            products.append(p)
            truth[p.id] = t
            if let image = t.image { toRender.append(image) }
        }
        config.productCount = products.count

        // Outfits and feedback.
        var outfits = previous.catalog.outfits.filter { !$0.items.contains(where: removed.contains) }
        let kept = Set(outfits.map(\.id))
        var styles = previous.outfitStyles.filter { id, _ in kept.contains(id) }
        if !previous.catalog.outfits.isEmpty {
            let maxOutfit = previous.catalog.outfits.compactMap { Int($0.id.dropFirst()) }.max() ?? 0
            let count = max(1, Int((Double(previous.catalog.outfits.count) * changeFraction * 0.2).rounded()))
            let (more, moreStyles) = gen.makeOutfits(products: products, truth: truth, count: count,
                                                     firstNumber: maxOutfit + 1, stream: 1,
                                                     existing: Set(outfits.map { $0.items.sorted() }))
            outfits += more
            styles.merge(moreStyles) { a, _ in a }
        }
        let feedback = previous.catalog.feedback.filter { !removed.contains($0.anchor) && !removed.contains($0.item) }

        if renderImages {
            images.merge(try gen.render(toRender)) { _, new in new }
        }
        var catalog = previous.catalog
        catalog.manifest.snapshot = config.snapshot
        catalog.products = products
        catalog.outfits = outfits
        catalog.feedback = feedback
        var next = GeneratedCatalog(config: config, catalog: catalog, images: images, truth: truth, outfitStyles: styles)
        next.config.outfitCount = outfits.count
        return next
    }

    /// `snapshot` plus one day, RFC 3339 in UTC.
    static func nextDay(_ snapshot: String) throws -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        guard let date = f.date(from: snapshot) else {
            throw LookbookError(.usage, "snapshot \"\(snapshot)\" is not an RFC 3339 time like 2026-11-28T02:00:00Z")
        }
        return f.string(from: date.addingTimeInterval(86_400))
    }
}
