import Foundation
import LookbookCore
import Testing
@testable import Recommender

/// The outfit-structure model against an independent reference: the golden numbers come
/// from `Reference/structure_reference.py` (plain Python, the formulas of the type's
/// documentation), on the small catalog built here.
@Suite struct OutfitStructureModelTests {
    static let rows: [(String, String, Slot, Double?)] = [
        ("t1", "Tees", .top, 20), ("t2", "Tees", .top, 30), ("t3", "Blouses", .top, 80),
        ("j1", "Jeans", .bottom, 60), ("j2", "Jeans", .bottom, 50), ("s1", "Skirts", .bottom, 120),
        ("n1", "Sneakers", .shoes, 70), ("n2", "Sneakers", .shoes, 90), ("h1", "Heels", .shoes, 300),
        ("b1", "Totes", .bag, nil), ("b2", "Clutches", .bag, 250),
        ("x1", "Bracelets", .jewellery, 15), ("x2", "Bracelets", .jewellery, 25),
    ]
    static let products = rows.map { Product(id: $0.0, title: $0.1, category: $0.1, price: $0.3, slot: $0.2) }
    static let outfits = [
        ["t1", "j1", "n1"], ["t2", "j2", "n2", "b1"], ["t3", "s1", "h1", "b2"], ["t3", "s1", "h1", "x1", "x2"],
        ["t1", "j2", "n1", "x1"], ["t2"], ["t1", "ghost"],
    ].enumerated().map { Outfit(id: "o\($0.offset)", items: $0.element) }
    let model = OutfitStructureModel.train(products: products, outfits: outfits)

    func p(_ id: String) -> Product { Self.products.first { $0.id == id }! }
    func near(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 1e-12 } ?? false }

    @Test func categoryAffinitiesMatchTheReference() {
        #expect(model.outfitCount == 5)  // the one-item outfit and the one with one known item are not counted
        #expect(near(model.categoryAffinity("Tees", "Jeans"), 0.287682072451781))
        #expect(near(model.categoryAffinity("Jeans", "Tees"), 0.287682072451781))
        #expect(near(model.categoryAffinity("Tees", "Heels"), -0.601986402162968))
        #expect(near(model.categoryAffinity("Skirts", "Heels"), 0.47000362924573563))
        #expect(near(model.categoryAffinity("Totes", "Sneakers"), 0.2209163761395196))
        // Two bracelets in one outfit count for the pair (Bracelets, Bracelets); two tees never met.
        #expect(near(model.categoryAffinity("Bracelets", "Bracelets"), 0.09531017980432493))
        #expect(near(model.categoryAffinity("Tees", "Tees"), -0.6931471805599453))
        #expect(model.categoryAffinity("Tees", "Scarves") == 0)
    }

    /// Slot affinities: the category affinity's formula over slots (golden numbers from
    /// the reference). Every counted outfit holds a top and a bottom (affinity exactly 0),
    /// no outfit two tops (strongly negative), one outfit two bracelets.
    @Test func slotAffinitiesMatchTheReference() throws {
        #expect(near(model.slotAffinity(.top, .bottom), 0.0))
        #expect(near(model.slotAffinity(.top, .top), -0.9808292530117262))
        #expect(near(model.slotAffinity(.bag, .jewellery), -0.5108256237659905))
        #expect(near(model.slotAffinity(.jewellery, .bag), -0.5108256237659905))
        #expect(near(model.slotAffinity(.jewellery, .jewellery), 0.09531017980432493))
        #expect(near(model.slotAffinity(.shoes, .bag), 0.0))
        #expect(model.slotAffinity(.top, .outerwear) == 0)   // never seen
        #expect(near(model.slotScore(context: [.top, .bottom], candidate: .shoes), 0.0))
        #expect(near(model.slotScore(context: [.top, .bottom], candidate: .top), -0.4904146265058631))
        #expect(near(model.slotScore(context: [.top, .jewellery], candidate: .bag), -0.25541281188299525))
        // A model encoded before slot affinities decodes without them: every slot affinity 0.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(model)) as! [String: Any]
        #expect(json["slotOutfits"] != nil)
        json["slotOutfits"] = nil; json["slotPairOutfits"] = nil
        let old = try JSONDecoder().decode(OutfitStructureModel.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.slotAffinity(.top, .top) == 0 && old.categoryAffinity("Tees", "Heels") == model.categoryAffinity("Tees", "Heels"))
    }

    @Test func priceTiersAndScoresMatchTheReference() {
        #expect(near(model.priceTier(p("t1")), -0.8781206016640266))
        #expect(near(model.priceTier(p("t3")), 0.5081737594558637))
        #expect(near(model.priceTier(p("h1")), 1.205164608875835))
        #expect(near(model.priceTier(p("x2")), -0.43322289777366096))
        #expect(model.priceTier(p("b1")) == nil)
        #expect(near(model.categoryScore(context: ["Tees", "Jeans"], candidate: "Sneakers"), 0.287682072451781))
        #expect(near(model.categoryScore(context: ["Tees", "Jeans"], candidate: "Heels"), -0.601986402162968))
        let tiers = { (ids: [String]) in ids.map { model.priceTier(p($0)) } }
        #expect(near(model.priceScore(context: tiers(["t1", "j1", "b1"]), candidate: model.priceTier(p("n2"))), -0.4968392049060999))
        #expect(near(model.priceScore(context: tiers(["t1", "j1"]), candidate: model.priceTier(p("h1"))), -1.7008120092320358))
        #expect(model.priceScore(context: tiers(["t1"]), candidate: nil) == nil)
        #expect(model.priceScore(context: tiers(["b1"]), candidate: model.priceTier(p("h1"))) == nil)
        #expect(near(model.categoryCompatibility(["Blouses", "Skirts", "Heels", "Clutches"]), 0.4321161547139354))
        #expect(near(model.priceCompatibility(tiers(["t3", "s1", "h1", "b1"])), -0.44072749226141195))
        #expect(model.priceCompatibility(tiers(["t3", "b1"])) == nil)
    }

    /// Popularity tiers: `log(1 + likes)` less the slot's shrunk mean, the same formulas as
    /// price tiers, against the reference's golden numbers. A count that is not a number
    /// gives no tier; `popularity` is read where there is no `likes`; a model of products
    /// without counts has no popularity at all, and prices are untouched by them.
    @Test func popularityTiersAndScoresMatchTheReference() {
        let likes = ["t1": "120", "t2": "4000", "t3": "15", "j1": "90", "j2": "3500", "s1": "10",
                     "n1": "200", "n2": "5000", "h1": "0", "b2": "bad", "x1": "60"]
        let counted = Self.products.map { p -> Product in
            var q = p
            if let n = likes[p.id] { q.attributes["likes"] = n }
            return q
        }
        let popular = OutfitStructureModel.train(products: counted, outfits: Self.outfits)
        func q(_ id: String) -> Product { counted.first { $0.id == id }! }
        #expect(near(popular.popularityTier(q("t1")), 0.20547688542498133))
        #expect(near(popular.popularityTier(q("n2")), 4.357785026946466))
        #expect(near(popular.popularityTier(q("h1")), -4.159608144472438))
        #expect(near(popular.popularityTier(q("x1")), -0.27395844804582303))
        #expect(popular.popularityTier(q("b2")) == nil && popular.popularityTier(q("x2")) == nil)
        let tiers = { (ids: [String]) in ids.map { popular.popularityTier(q($0)) } }
        #expect(near(popular.popularityScore(context: tiers(["t1", "j1", "b2"]), candidate: popular.popularityTier(q("n2"))), -4.404633648536063))
        #expect(near(popular.popularityScore(context: tiers(["t2", "j2"]), candidate: popular.popularityTier(q("n1"))), -2.38368135367292))
        #expect(popular.popularityScore(context: tiers(["b2"]), candidate: popular.popularityTier(q("n1"))) == nil)
        #expect(near(popular.popularityCompatibility(tiers(["t2", "j2", "n2", "b1"])), -0.5536046064579389))
        var renamed = q("t1")
        renamed.attributes = ["popularity": " 120 "]  // spaces around a count are allowed
        #expect(popular.popularityTier(renamed) == popular.popularityTier(q("t1")))
        #expect(popular.tiers(q("t3")) == .init(price: model.priceTier(p("t3")), popularity: popular.popularityTier(q("t3"))))
        #expect(popular.slotLogPrice == model.slotLogPrice && popular.meanLogPrice == model.meanLogPrice)
        #expect(model.meanLogPopularity == nil && model.popularityTier(p("t1")) == nil)
        #expect(popular.contentHash != model.contentHash)
    }

    /// A catalog whose categories are coarse but whose products name a finer kind in an
    /// attribute (the coarse Polyvore import) learns the same affinities as the fine one.
    @Test func aFinerKindAttributeRefinesACoarseCategory() {
        let coarse = Self.products.map { p in
            var q = p
            q.category = p.slot.rawValue
            q.attributes["subcategory"] = p.category
            return q
        }
        #expect(OutfitStructureModel.kind(of: coarse[0]) == "top > Tees")
        var same = coarse[0]
        same.attributes = ["subcategory": "top"]
        #expect(OutfitStructureModel.kind(of: same) == "top")
        let refined = OutfitStructureModel.train(products: coarse, outfits: Self.outfits)
        #expect(near(refined.categoryAffinity("shoes > Heels", "bottom > Skirts"), 0.47000362924573563))
        #expect(near(refined.categoryAffinity("top > Tees", "top > Tees"), -0.6931471805599453))
    }

    /// The model survives a JSON round trip unchanged (it is stored as its counts).
    @Test func roundTripsThroughJSON() throws {
        let again = try JSONDecoder().decode(OutfitStructureModel.self, from: JSONEncoder().encode(model))
        #expect(again == model)
    }

    /// Nothing to learn from: every affinity 0 and no tiers, never a crash or a NaN.
    @Test func aCatalogWithoutOutfitsOrPricesLearnsNothing() {
        let empty = OutfitStructureModel.train(products: Self.products, outfits: [])
        #expect(empty.categoryAffinity("Tees", "Jeans") == 0)
        #expect(empty.priceTier(p("t1")) == nil)
        let unpriced = Self.products.map { var q = $0; q.price = nil; return q }
        let noPrices = OutfitStructureModel.train(products: unpriced, outfits: Self.outfits)
        #expect(noPrices.priceTier(p("t1")) == nil)
        #expect(noPrices.categoryAffinity("Tees", "Jeans") == model.categoryAffinity("Tees", "Jeans"))
    }
}
