import Foundation
import LookbookCore
@testable import LookupStore
import SQLiteSupport
import Testing

/// Plain SQL reads the one-row-per-list tables through the `complementary` and
/// `fitb_candidates` views; they must say exactly what the reader says.
@Suite struct StoreViewTests {
    private static func publish(_ content: StoreContent, in dir: TempDirectory) throws -> (StoreReader, SQLiteDatabase) {
        let result = try StorePublisher().publish(content, to: dir.path)
        let db = try SQLiteDatabase("file:\(result.path)?mode=ro&immutable=1", mode: .readOnly, uri: true)
        return (try StoreReader(path: result.path), db)
    }

    private static var synthetic: StoreContent {
        var content = StoreContent.synthetic(products: 200, outfits: 15)
        // Ids and scores that need escaping or the slow number path.
        content.products.append(StoreProduct(id: #"odd "id" \ 👜"#, title: "Odd", category: "Women > Bags", slot: .bag))
        content.complementary.append(Recommendation(anchorID: "P0000000", targetSlot: .hat, items: [
            ScoredProduct(productID: #"odd "id" \ 👜"#, score: 1e-40, reason: "tiny"),
            ScoredProduct(productID: "P0000001", score: -12.5, reason: "negative"),
        ]))
        return content
    }

    @Test(arguments: [false, true])
    func complementaryViewEqualsTheReader(synthetic: Bool) throws {
        let dir = try TempDirectory()
        let content = synthetic ? Self.synthetic : Fixtures.content()
        let (reader, db) = try Self.publish(content, in: dir)
        let view = try db.prepare("""
            SELECT c.target_slot, c.rank, c.item_id, c.score, r.text FROM complementary c JOIN reasons r ON r.id = c.reason_id
            WHERE c.anchor_id = ? ORDER BY c.target_slot, c.rank
            """)
        var compared = 0
        for id in try reader.productIDs() {
            try view.bind(id, at: 1)
            var lists: [Slot: [ScoredProduct]] = [:]
            var ranks: [Slot: [Int]] = [:]
            while try view.step() {
                let slot = try #require(Slot(rawValue: view.string(0) ?? ""))
                lists[slot, default: []].append(ScoredProduct(productID: view.string(2) ?? "", score: view.double(3), reason: view.string(4) ?? ""))
                ranks[slot, default: []].append(view.int(1))
            }
            view.reset()
            let expected = try reader.complementary(for: id)
            #expect(expected.count == lists.count)
            for list in expected {
                #expect(lists[list.targetSlot] == list.items, "\(id) \(list.targetSlot)")
                #expect(ranks[list.targetSlot] == Array(1...list.items.count))
                compared += list.items.count
            }
        }
        #expect(compared == content.counts.complementary)
    }

    @Test(arguments: [false, true])
    func fitbViewEqualsTheReader(synthetic: Bool) throws {
        let dir = try TempDirectory()
        let content = synthetic ? Self.synthetic : Fixtures.content()
        let (reader, db) = try Self.publish(content, in: dir)
        let view = try db.prepare("""
            SELECT f.position, f.rank, f.item_id, f.score, r.text FROM fitb_candidates f JOIN reasons r ON r.id = f.reason_id
            WHERE f.outfit_id = ? ORDER BY f.position, f.rank
            """)
        var compared = 0
        for outfit in content.outfits {
            try view.bind(outfit.id, at: 1)
            var lists: [BlankCandidates] = []
            while try view.step() {
                let item = ScoredProduct(productID: view.string(2) ?? "", score: view.double(3), reason: view.string(4) ?? "")
                if lists.last?.position == view.int(0) {
                    #expect(view.int(1) == lists[lists.count - 1].items.count + 1)
                    lists[lists.count - 1].items.append(item)
                } else {
                    #expect(view.int(1) == 1)
                    lists.append(BlankCandidates(outfitID: outfit.id, position: view.int(0), items: [item]))
                }
            }
            view.reset()
            #expect(try reader.fitbCandidates(outfitID: outfit.id) == lists)
            compared += lists.reduce(0) { $0 + $1.items.count }
        }
        #expect(compared == content.counts.fitb)
    }

    /// The views count what `meta` and the manifest count (list items), and every
    /// stored `items` text is JSON SQLite accepts.
    @Test func viewsCountTheListItems() throws {
        let dir = try TempDirectory()
        let content = Self.synthetic
        let (reader, db) = try Self.publish(content, in: dir)
        func int(_ sql: String) throws -> Int {
            let s = try db.prepare(sql)
            return try s.step() ? s.int(0) : -1
        }
        let counts = try reader.meta().counts
        #expect(try int("SELECT count(*) FROM complementary") == counts.complementary)
        #expect(try int("SELECT count(*) FROM fitb_candidates") == counts.fitb)
        #expect(try int("SELECT count(*) FROM complementary_lists") == content.complementary.count)
        #expect(try int("SELECT count(*) FROM fitb_lists") == content.fitb.count)
        #expect(try int("SELECT count(*) FROM complementary_lists WHERE NOT json_valid(items)") == 0)
        #expect(try int("SELECT count(*) FROM fitb_lists WHERE NOT json_valid(items)") == 0)
        #expect(try int("SELECT count(*) FROM complementary WHERE typeof(score) <> 'real' OR typeof(reason_id) <> 'integer'") == 0)
    }

    /// A lookup is a search of the lists' primary key, not a scan of the view.
    @Test func viewLookupUsesThePrimaryKey() throws {
        let dir = try TempDirectory()
        let (_, db) = try Self.publish(Fixtures.content(), in: dir)
        let plan = try db.prepare("EXPLAIN QUERY PLAN SELECT * FROM complementary WHERE anchor_id = 'top-1'")
        var details: [String] = []
        while try plan.step() { details.append(plan.string(3) ?? "") }
        #expect(details.contains { $0.contains("SEARCH l USING PRIMARY KEY (anchor_id=?)") }, "\(details)")
    }

    @Test func aScoreOfNaNIsRefused() throws {
        let dir = try TempDirectory()
        var content = Fixtures.content()
        content.complementary[0].items[0].score = .nan
        let error = try #require(throws: LookbookError.self) { try StorePublisher().publish(content, to: dir.path) }
        #expect(error.message.contains("NaN"))
    }

    @Test func malformedItemsAreReportedAsACorruptStore() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.path)
        do {
            let db = try SQLiteDatabase(result.path, mode: .readWrite)
            try db.execute(#"UPDATE complementary_lists SET items = '[["shoe-1",0.9' WHERE anchor_id = 'top-1' AND target_slot = 'shoes'"#)
        }
        let reader = try StoreReader(path: result.path)
        let error = try #require(throws: LookbookError.self) { try reader.complementary(for: "top-1") }
        #expect(error.message.contains("malformed list items"))
        #expect(try reader.complementary(for: "jeans-1").count == 1)
    }
}
