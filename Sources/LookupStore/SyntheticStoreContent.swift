import LookbookCore

extension StoreContent {
    /// Deterministic made-up content of a chosen size, for benchmarks and tests of the
    /// store itself (not for recommendation quality).
    ///
    /// Products cycle through the slots other than `other`; each gets up to
    /// `slotsPerProduct` complementary lists (its compatible slots, in
    /// `SlotCompatibility.default` order) of `itemsPerList` products of the target slot,
    /// with decreasing scores and short templated reasons. Each outfit has four items
    /// and `fitbPerBlank` candidates for every position.
    public static func synthetic(products productCount: Int, slotsPerProduct: Int = 5, itemsPerList: Int = 20,
                                 outfits outfitCount: Int = 0, fitbPerBlank: Int = 10, seed: UInt64 = 1) -> StoreContent {
        var rng = SplitMix64(seed: seed)
        let slots = Slot.allCases.filter { $0 != .other }
        let colors = ["black", "white", "navy", "camel", "olive", "burgundy", "grey", "ivory", "tan", "denim blue"]
        let styles = ["casual", "minimal", "smart", "street", "classic", "boho", "sporty"]
        var products: [StoreProduct] = []
        products.reserveCapacity(productCount)
        var bySlot: [Slot: [String]] = [:]
        for n in 0..<productCount {
            let slot = slots[n % slots.count]
            let id = "P\(String(n, radix: 10).leftPadded(to: 7))"
            let color = colors[Int(rng.next() % UInt64(colors.count))]
            let style = styles[Int(rng.next() % UInt64(styles.count))]
            products.append(StoreProduct(
                id: id, title: "\(color.capitalized) \(style) \(slot.rawValue) \(n)",
                category: "Women > \(slot.rawValue.capitalized) > \(style.capitalized)", slot: slot,
                brand: "Brand \(n % 97)", color: color, gender: n % 3 == 0 ? "unisex" : "women",
                price: Double(1000 + Int(rng.next() % 20000)) / 100, currency: "USD", inStock: n % 10 != 0,
                url: "https://shop.example/p/\(id)", image: "images/\(id).jpg",
                imageSHA256: String(repeating: String(n % 16, radix: 16), count: 64),
                caption: "\(color) \(style) \(slot.rawValue)"))
            bySlot[slot, default: []].append(id)
        }
        var complementary: [Recommendation] = []
        for product in products {
            for target in SlotCompatibility.default.targets(for: product.slot).prefix(slotsPerProduct) {
                guard let pool = bySlot[target], !pool.isEmpty else { continue }
                var items: [ScoredProduct] = []
                items.reserveCapacity(itemsPerList)
                for rank in 0..<min(itemsPerList, pool.count) {
                    let item = pool[Int(rng.next() % UInt64(pool.count))]
                    let color = colors[Int(rng.next() % UInt64(colors.count))]
                    items.append(ScoredProduct(productID: item, score: 1.0 - Double(rank) * 0.01 - Double(rng.next() % 100) / 1e5,
                                               reason: "\(color) balances the look; same \(styles[rank % styles.count]) style"))
                }
                complementary.append(Recommendation(anchorID: product.id, targetSlot: target, items: items))
            }
        }
        var outfits: [Outfit] = []
        var fitb: [BlankCandidates] = []
        if productCount > 0 {
            for n in 0..<outfitCount {
                let items = (0..<4).map { _ in products[Int(rng.next() % UInt64(productCount))].id }
                let id = "O\(String(n, radix: 10).leftPadded(to: 6))"
                outfits.append(Outfit(id: id, items: items, name: "Look \(n)", source: "stylist", likes: Int(rng.next() % 500)))
                for position in items.indices {
                    let candidates = (0..<fitbPerBlank).map { rank in
                        ScoredProduct(productID: products[Int(rng.next() % UInt64(productCount))].id,
                                      score: 1.0 - Double(rank) * 0.05, reason: "fills the \(position + 1). place")
                    }
                    fitb.append(BlankCandidates(outfitID: id, position: position, items: candidates))
                }
            }
        }
        return StoreContent(snapshot: "2026-11-28T02:00:00Z", retailer: "synthetic", modelVersion: "stylelm-synthetic",
                            captionerVersion: "synthetic@1", runID: "synthetic-\(seed)", buildTime: "2026-11-28T03:00:00Z",
                            products: products, outfits: outfits, complementary: complementary, fitb: fitb)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
