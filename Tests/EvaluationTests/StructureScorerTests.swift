import Foundation
import LookbookCore
import Recommender
import Testing
@testable import Evaluation

/// The outfit-structure scorer: categories and price tiers, each over its spread.
@Suite struct StructureScorerTests {
    /// The three looks of `Fixtures.catalog`, each with its own kind of item in every slot
    /// and its own price tier (casual cheap, evening dear, winter between), prices spread
    /// ±30 % within a tier.
    static let kinds: [[String: String]] = [
        ["Tops": "Tees", "Bottoms": "Jeans", "Shoes": "Sneakers", "Bags": "Backpacks"],
        ["Tops": "Blouses", "Bottoms": "Skirts", "Shoes": "Heels", "Bags": "Clutches"],
        ["Tops": "Sweaters", "Bottoms": "Trousers", "Shoes": "Boots", "Bags": "Totes"],
    ]
    static let tierPrice: [Double] = [25, 400, 100]

    static func catalog(outfits: Int = 60, prices: Bool = true) -> Catalog {
        var c = Fixtures.catalog(outfits: outfits)
        var rng = SplitMix64(seed: 9)
        c.products = c.products.map { p in
            var p = p
            let look = (Int(p.id.prefix(4))! - 1000) % 3
            p.category = kinds[look][p.category]!
            if prices { p.price = (tierPrice[look] * (0.7 + 0.6 * Double(rng.below(1000)) / 1000)).rounded() }
            return p
        }
        return c
    }

    func content(_ p: Product) -> Product { ContentView.of(p) }

    /// The scorer trained on `all`'s first 60 outfits, asked about the 12 after them: each
    /// blank's candidates are the real item and three of its slot from the other looks'
    /// outfits. Returns the scorer, how many it got right, and whether a real outfit went
    /// together better than one of three looks.
    func heldOut(_ all: Catalog) -> (scorer: StructureScorer, right: Int, asked: Int, realAboveMixed: Bool) {
        var train = all
        train.outfits = Array(all.outfits.prefix(60))
        let scorer = StructureScorer.train(train, seed: 3)
        let products = Dictionary(uniqueKeysWithValues: all.products.map { ($0.id, $0) })
        var right = 0, asked = 0
        for (o, outfit) in all.outfits.dropFirst(60).enumerated() {
            let items = outfit.items.map { products[$0]! }
            let blank = o % items.count
            let others = all.outfits.dropFirst(60).filter { ($0.id as NSString).integerValue % 3 != (outfit.id as NSString).integerValue % 3 }
            let negatives = others.prefix(3).map { products[$0.items[blank]]! }
            let candidates = [items[blank]] + negatives
            let context = items.enumerated().filter { $0.offset != blank }.map(\.element)
            let s = scorer.scores(context: context.map { scorer.encode(content($0)) }, candidates: candidates.map { scorer.encode(content($0)) })
            right += s[0] > s[1...].max()! ? 1 : 0
            asked += 1
        }
        let real = all.outfits[61].items.map { scorer.encode(content(products[$0]!)) }
        let mixed = zip(all.outfits[60...62], 0...).map { scorer.encode(content(products[$0.0.items[$0.1]]!)) }
        return (scorer, right, asked, scorer.compatibility(real) > scorer.compatibility(mixed))
    }

    /// Held-out outfits of the looks (`heldOut`): the categories and tiers alone pick the
    /// real item, and a real outfit goes together better than one of three looks.
    @Test func learnsWhichCategoriesAndPriceTiersGoTogether() throws {
        let (scorer, right, asked, realAboveMixed) = heldOut(Self.catalog(outfits: 72))
        #expect(scorer.categoryWeight == StructureScorer.defaultCategoryWeight && scorer.priceWeight == StructureScorer.defaultPriceWeight)
        #expect(asked == 12)
        #expect(right >= 11, "\(right) of \(asked)")
        #expect(realAboveMixed)
    }

    /// Popularity alone (every look's items of one category per slot, no prices, each look
    /// at its own popularity tier in the `likes` attribute, counts spread ±30 % within a
    /// tier): the tiers pick the real item, and a real outfit scores above a mixed one.
    @Test func learnsWhichPopularityTiersGoTogether() throws {
        var all = Self.catalog(outfits: 72, prices: false)
        var rng = SplitMix64(seed: 11)
        let tierLikes: [Double] = [30, 5000, 600]
        all.products = all.products.map { p in
            var p = p
            let look = (Int(p.id.prefix(4))! - 1000) % 3
            p.category = p.slot.rawValue
            p.attributes["likes"] = String(Int(tierLikes[look] * (0.7 + 0.6 * Double(rng.below(1000)) / 1000)))
            return p
        }
        let (scorer, right, asked, realAboveMixed) = heldOut(all)
        #expect(scorer.popularityWeight == StructureTerm.defaultPopularityWeight && scorer.priceWeight == 0)
        #expect(asked == 12 && right >= 11, "\(right) of \(asked)")
        #expect(realAboveMixed)
        #expect(StructureScorer.train(Self.catalog(prices: false)).popularityWeight == 0)
    }

    /// Every score is `wc · category / σc + wp · price / σp + ws · slot / σs` from the
    /// model's own terms, a missing price counting as the calibration questions' mean price
    /// score.
    @Test func scoresAreTheWeightedTermsOverTheirSpreads() throws {
        let catalog = Self.catalog()
        let scorer = StructureScorer.train(catalog)
        #expect(scorer.categoryScale > 0 && scorer.priceScale > 0 && scorer.priceNeutral < 0)
        let m = scorer.model
        let items = catalog.outfits[4].items.map { id in catalog.products.first { $0.id == id }! }
        var unpriced = items[3]
        unpriced.price = nil
        let context = Array(items[0..<2]), candidates = [items[2], unpriced]
        let s = scorer.scores(context: context.map { scorer.encode(content($0)) }, candidates: candidates.map { scorer.encode(content($0)) })
        for (i, c) in candidates.enumerated() {
            let category = m.categoryScore(context: context.map(\.category), candidate: c.category)
            let price = m.priceScore(context: context.map(m.priceTier), candidate: m.priceTier(c)) ?? scorer.priceNeutral
            let slot = m.slotScore(context: context.map(\.slot), candidate: c.slot)
            #expect(abs(s[i] - (0.5 * category / scorer.categoryScale + 0.3 * price / scorer.priceScale
                                + scorer.slotWeight * slot / scorer.slotScale)) < 1e-12)
        }
        // Same seed, same scales; the spreads are those of the calibration questions.
        let again = StructureScorer.train(catalog)
        #expect(again.categoryScale == scorer.categoryScale && again.priceScale == scorer.priceScale)
    }

    /// Which slot a look lacks: with every product of its own kind (the kinds say nothing)
    /// and no prices, candidates of the look's other slots lose to the one of its missing
    /// slot, because no outfit holds two of a slot. Without the slot term they tie, and the
    /// term is the same for every candidate of one slot, so it never reorders those.
    @Test func theSlotTermPicksTheSlotALookLacks() {
        var catalog = Self.catalog(prices: false)
        catalog.products = catalog.products.map { var p = $0; p.category = "kind " + p.id; return p }
        var train = catalog
        train.outfits = Array(catalog.outfits.prefix(40))
        let scorer = StructureScorer.train(train)
        let flat = StructureScorer(term: scorer.term)
        #expect(scorer.slotWeight == StructureScorer.defaultSlotWeight && scorer.slotScale > 0 && flat.slotWeight == 0)
        #expect(scorer.model.slotAffinity(.shoes, .shoes) < -1 && abs(scorer.model.slotAffinity(.shoes, .top)) < 1e-12)
        let products = Dictionary(uniqueKeysWithValues: catalog.products.map { ($0.id, $0) })
        for o in 40..<44 {
            let items = catalog.outfits[o].items.map { products[$0]! }
            let blank = o % 4
            let context = items.enumerated().filter { $0.offset != blank }.map { scorer.encode(content($0.element)) }
            // The real item and one item of each other slot, from another held-out outfit.
            let others = catalog.outfits[o + 10].items.map { products[$0]! }
            let candidates = [items[blank]] + others.enumerated().filter { $0.offset != blank }.map(\.element)
            let s = scorer.scores(context: context, candidates: candidates.map { scorer.encode(content($0)) })
            #expect(s[0] > s[1...].max()! + 0.5, "outfit \(o): \(s)")
            let f = flat.scores(context: context, candidates: candidates.map { scorer.encode(content($0)) })
            #expect(f.allSatisfy { $0 == f[0] }, "outfit \(o): \(f)")   // kinds never seen in training: all 0
            // Candidates of one slot: the same difference with and without the term.
            let sameSlot = [items[blank], others[blank]].map { scorer.encode(content($0)) }
            let a = scorer.scores(context: context, candidates: sameSlot), b = flat.scores(context: context, candidates: sameSlot)
            #expect(abs((a[0] - a[1]) - (b[0] - b[1])) < 1e-12)
        }
    }

    /// A catalog without prices leaves the price term out instead of dividing by a zero spread.
    @Test func aTermWithoutSpreadIsLeftOut() {
        let scorer = StructureScorer.train(Self.catalog(prices: false))
        #expect(scorer.priceWeight == 0 && scorer.categoryWeight > 0)
        let c = Self.catalog(prices: false)
        let items = c.outfits[0].items.map { id in c.products.first { $0.id == id }! }
        let s = scorer.scores(context: items.dropLast().map { scorer.encode(content($0)) }, candidates: [scorer.encode(content(items[3]))])
        #expect(s.allSatisfy { $0.isFinite })
        var none = c
        none.outfits = []
        let blank = StructureScorer.train(none)
        #expect(blank.categoryWeight == 0 && blank.priceWeight == 0)
        #expect(blank.compatibility(items.map { blank.encode(content($0)) }) == 0)
    }

    /// As a baseline model directory (`lookbook train --baseline structure`) it loads back
    /// the same scorer.
    @Test func aBaselineDirectoryLoadsTheSameScorer() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-structure-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let catalog = Self.catalog()
        try BaselineModelFile.write(.structure, seed: 4, train: catalog, to: directory)
        let loaded = try #require(try BaselineModelFile.load(from: directory) as? StructureScorer)
        let direct = StructureScorer.train(catalog, seed: 4)
        #expect(loaded.model == direct.model)
        #expect(loaded.categoryScale == direct.categoryScale && loaded.priceScale == direct.priceScale)
        #expect(loaded.priceNeutral == direct.priceNeutral && loaded.slotScale == direct.slotScale && loaded.slotWeight == direct.slotWeight)
    }
}
