import Foundation
import LookbookCore
@testable import LookupStore
import SQLiteSupport
import Testing

/// The storefront side of the reader: looks per product, FITB by position, and the
/// product and outfit views `lookbook query` prints, checked against the typed results
/// and against plain SQL on the same file.
@Suite struct StorefrontReaderTests {
    private static func publish(_ content: StoreContent, in dir: TempDirectory) throws -> (StoreReader, SQLiteDatabase, String) {
        let result = try StorePublisher().publish(content, to: dir.path)
        let db = try SQLiteDatabase("file:\(result.path)?mode=ro&immutable=1", mode: .readOnly, uri: true)
        return (try StoreReader(path: result.path), db, result.path)
    }

    /// Synthetic outfits draw their items at random, so some product is in several
    /// looks and some look holds a product twice.
    private static let synthetic = StoreContent.synthetic(products: 60, slotsPerProduct: 3, itemsPerList: 4, outfits: 40)

    @Test func looksCarryEveryItemOfTheLook() throws {
        let dir = try TempDirectory()
        let (reader, _, _) = try Self.publish(Fixtures.content(), in: dir)
        let weekend = [Look.Item(position: 0, id: "top-1", slot: .top), Look.Item(position: 1, id: "jeans-1", slot: .bottom),
                       Look.Item(position: 2, id: "shoe-1", slot: .shoes)]
        #expect(try reader.looks(containing: "top-1") == [
            Look(outfitID: "look-1", position: 0, name: "Weekend, easy", source: "stylist", likes: 12, items: weekend),
            Look(outfitID: "look-2", position: 0, items: [Look.Item(position: 0, id: "top-1", slot: .top),
                                                          Look.Item(position: 1, id: "skirt-1", slot: .bottom)]),
        ])
        #expect(try reader.looks(containing: "shoe-1").map(\.position) == [2])
        #expect(try reader.looks(containing: "bag-1").isEmpty)
        #expect(try reader.looks(containing: "no-such-product").isEmpty)
    }

    /// Every (product, look, position) the outfits imply, and nothing else.
    @Test func looksOfEveryProductMatchTheOutfits() throws {
        let dir = try TempDirectory()
        let content = Self.synthetic
        let (reader, _, _) = try Self.publish(content, in: dir)
        var expected: [String: [Look]] = [:]
        let slots = Dictionary(uniqueKeysWithValues: content.products.map { ($0.id, $0.slot) })
        for outfit in content.outfits.sorted(by: { $0.id < $1.id }) {
            let items = outfit.items.enumerated().map { Look.Item(position: $0.offset, id: $0.element, slot: slots[$0.element]!) }
            for (position, id) in outfit.items.enumerated() {
                expected[id, default: []].append(Look(outfitID: outfit.id, position: position, name: outfit.name,
                                                      source: outfit.source, likes: outfit.likes, items: items))
            }
        }
        #expect(expected.values.contains { looks in Set(looks.map(\.outfitID)).count < looks.count },
                "the fixture has a product twice in one look")
        for product in content.products {
            #expect(try reader.looks(containing: product.id) == expected[product.id] ?? [], "\(product.id)")
        }
    }

    /// Plain SQL's `product_looks` view says what the reader says.
    @Test func productLooksViewEqualsTheReader() throws {
        let dir = try TempDirectory()
        let content = Self.synthetic
        let (reader, db, _) = try Self.publish(content, in: dir)
        let view = try db.prepare("""
            SELECT outfit_id, position, outfit_name, source, likes, item_position, item_id, item_slot
            FROM product_looks WHERE product_id = ? ORDER BY outfit_id, position, item_position
            """)
        var rows = 0
        for product in content.products {
            try view.bind(product.id, at: 1)
            var flat: [[String]] = []
            while try view.step() { flat.append((0..<8).map { view.string($0) ?? "-" }) }
            view.reset()
            let fromReader = try reader.looks(containing: product.id).flatMap { look in
                look.items.map { [look.outfitID, String(look.position), look.name ?? "-", look.source ?? "-",
                                  look.likes.map(String.init) ?? "-", String($0.position), $0.id, $0.slot.rawValue] }
            }
            #expect(flat == fromReader, "\(product.id)")
            rows += flat.count
        }
        let expectedRows = content.outfits.reduce(0) { $0 + $1.items.count * $1.items.count }
        #expect(rows == expectedRows)
    }

    /// One query, through the index: no scan of `outfit_items` or `outfits`.
    @Test func productLooksLookupSearchesTheIndex() throws {
        let dir = try TempDirectory()
        let (_, db, _) = try Self.publish(Self.synthetic, in: dir)
        let plan = try db.prepare("""
            EXPLAIN QUERY PLAN SELECT * FROM product_looks WHERE product_id = 'P0000001'
            ORDER BY outfit_id, position, item_position
            """)
        var details: [String] = []
        while try plan.step() { details.append(plan.string(3) ?? "") }
        #expect(details.contains { $0.contains("USING COVERING INDEX outfit_items_by_product (product_id=?)") }, "\(details)")
        #expect(!details.contains { $0.hasPrefix("SCAN") }, "\(details)")
        // The ORDER BY sorts only the product's own rows (looks × items, a few dozen).
    }

    /// A version-1 store published before `product_looks` existed still reads: the
    /// reader uses the tables, so the view did not need a new `user_version`.
    @Test func aStoreWithoutTheLooksViewStillReads() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.path)
        let before = try StoreReader(path: result.path).looks(containing: "top-1")
        do {
            let db = try SQLiteDatabase(result.path, mode: .readWrite)
            try db.execute("DROP VIEW product_looks")
        }
        let reader = try StoreReader(path: result.path)
        #expect(try reader.looks(containing: "top-1") == before)
        #expect(before.count == 2)
    }

    @Test func fitbCandidatesByPositionAreTheOutfitsLists() throws {
        let dir = try TempDirectory()
        let content = Self.synthetic
        let (reader, _, _) = try Self.publish(content, in: dir)
        for outfit in content.outfits {
            let all = try reader.fitbCandidates(outfitID: outfit.id)
            #expect(all.map(\.position) == Array(outfit.items.indices))
            for list in all {
                #expect(try reader.fitbCandidates(outfitID: outfit.id, position: list.position) == list)
            }
            #expect(try reader.fitbCandidates(outfitID: outfit.id, position: outfit.items.count) == nil)
        }
        #expect(try reader.fitbCandidates(outfitID: "look-none", position: 0) == nil)
    }

    /// The product page is `complementary(for:)` with each item's product fields from
    /// `product(id:)`, and the looks from `looks(containing:)`: what a storefront would
    /// assemble itself from the typed results.
    @Test(arguments: [false, true])
    func productViewIsTheTypedResultsAssembled(synthetic: Bool) throws {
        let dir = try TempDirectory()
        let content = synthetic ? Self.synthetic : Fixtures.content()
        let (reader, _, _) = try Self.publish(content, in: dir)
        for product in content.products {
            let view = try #require(try reader.productView(id: product.id))
            let assembled = try Self.assemble(reader, product.id)
            #expect(view == assembled, "\(product.id)")
            for list in view.complementary {
                let one = try #require(try reader.productView(id: product.id, slot: list.slot))
                #expect(one.complementary == [list])
                #expect(one.product == view.product && one.looks == view.looks)
            }
        }
        if !synthetic { #expect(try reader.productView(id: "top-1", slot: .hat)?.complementary == []) }
    }

    private static func assemble(_ reader: StoreReader, _ id: String) throws -> ProductView {
        let product = try #require(try reader.product(id: id))
        var lists: [ProductView.SlotList] = []
        for list in try reader.complementary(for: id) {
            var items: [ProductView.Item] = []
            for (n, scored) in list.items.enumerated() {
                let p = try #require(try reader.product(id: scored.productID))
                items.append(ProductView.Item(rank: n + 1, id: p.id, title: p.title, slot: p.slot, image: p.image,
                                              price: p.price, currency: p.currency, inStock: p.inStock, url: p.url,
                                              score: scored.score, reason: scored.reason))
            }
            lists.append(ProductView.SlotList(slot: list.targetSlot, items: items))
        }
        return ProductView(product: product, complementary: lists, looks: try reader.looks(containing: id))
    }

    @Test func outfitViewHasEveryBlankWithItsCandidates() throws {
        let dir = try TempDirectory()
        let content = Fixtures.content()
        let (reader, _, _) = try Self.publish(content, in: dir)
        let view = try #require(try reader.outfitView(id: "look-1"))
        #expect(view.id == "look-1" && view.name == "Weekend, easy" && view.source == "stylist" && view.likes == 12)
        #expect(view.blanks.map(\.position) == [0, 1, 2])
        #expect(view.blanks.map { $0.product?.id } == ["top-1", "jeans-1", "shoe-1"])
        #expect(view.blanks[1].candidates == [], "no list for position 1")
        #expect(view.blanks[2].candidates.map(\.id) == ["shoe-1", "bag-1"])
        #expect(view.blanks[2].candidates.map(\.rank) == [1, 2])
        #expect(view.blanks[2].candidates[1] == ProductView.Item(
            rank: 2, id: "bag-1", title: "Tote 👜", slot: .bag, image: nil, price: nil, currency: nil, inStock: true,
            url: nil, score: -0.1, reason: "wrong slot"))
        let one = try #require(try reader.outfitView(id: "look-1", position: 2))
        #expect(one.blanks == [view.blanks[2]])
        #expect(try reader.outfitView(id: "look-1", position: 7)?.blanks == [])
        #expect(try reader.outfitView(id: "nope") == nil)
    }

    /// The JSON keys a storefront reads (documented in the README's "The store").
    @Test func viewsEncodeToTheDocumentedJSON() throws {
        let dir = try TempDirectory()
        let (reader, _, _) = try Self.publish(Fixtures.content(), in: dir)
        let encoder = JSONEncoder()
        let productView = try #require(try reader.productView(id: "top-1"))
        let page = try #require(try JSONSerialization.jsonObject(with: encoder.encode(productView)) as? [String: Any])
        #expect(Set(page.keys) == ["product", "complementary", "looks"])
        let list = try #require((page["complementary"] as? [[String: Any]])?.first)
        #expect(Set(list.keys) == ["slot", "items"])
        let item = try #require((list["items"] as? [[String: Any]])?.first)
        #expect(Set(item.keys) == ["rank", "id", "title", "slot", "image", "price", "currency", "in_stock", "score", "reason"],
                "nil fields (url) are left out")
        let look = try #require((page["looks"] as? [[String: Any]])?.first)
        #expect(Set(look.keys) == ["outfit_id", "position", "name", "source", "likes", "items"])
        #expect(Set(((look["items"] as? [[String: Any]])?.first ?? [:]).keys) == ["position", "id", "slot"])

        let outfitView = try #require(try reader.outfitView(id: "look-1"))
        let outfit = try #require(try JSONSerialization.jsonObject(with: encoder.encode(outfitView)) as? [String: Any])
        #expect(Set(outfit.keys) == ["id", "name", "source", "likes", "blanks"])
        let blank = try #require((outfit["blanks"] as? [[String: Any]])?.last)
        #expect(Set(blank.keys) == ["position", "product", "candidates"])
    }
}
