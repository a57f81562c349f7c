import Crypto
import Foundation
import LookbookCore
@testable import LookupStore
import SQLiteSupport
import Testing

@Suite struct StorePublishTests {
    @Test func publishThenReadBackEveryTable() throws {
        let dir = try TempDirectory()
        let content = Fixtures.content()
        let result = try StorePublisher().publish(content, to: dir.path)
        #expect(result.path == dir.file("lookbook.sqlite"))
        #expect(result.counts == StoreCounts(products: 5, outfits: 2, outfitItems: 5, complementary: 5, fitb: 3))

        let reader = try StoreReader(path: result.path)
        let meta = try reader.meta()
        #expect(meta == StoreMeta(schemaVersion: 1, buildTime: "2026-11-28T03:04:05Z", snapshot: "2026-11-28T02:00:00Z",
                                  retailer: "acme", modelVersion: "stylelm-7", captionerVersion: "embedded@1.2",
                                  runID: "run-1", counts: result.counts))
        for product in content.products {
            #expect(try reader.product(id: product.id) == product)
        }
        #expect(try reader.product(id: "missing") == nil)
        #expect(try reader.productIDs() == content.products.map(\.id).sorted())

        // All target slots, in Slot order (head to toe), each best first.
        let lists = try reader.complementary(for: "top-1")
        #expect(lists.map(\.targetSlot) == [.bottom, .shoes, .bag])
        #expect(lists[0] == content.complementary[1])
        #expect(lists[1] == content.complementary[0])
        #expect(lists[2] == content.complementary[2])
        #expect(try reader.complementary(for: "jeans-1") == [content.complementary[3]])
        #expect(try reader.complementary(for: "bag-1").isEmpty)
        #expect(try reader.complementary(for: "top-1", slot: .bottom) == content.complementary[1])
        #expect(try reader.complementary(for: "top-1", slot: .hat) == nil)

        #expect(try reader.fitbCandidates(outfitID: "look-1") == [content.fitb[1], content.fitb[0]])
        #expect(try reader.fitbCandidates(outfitID: "look-2").isEmpty)
        #expect(try reader.looks(containing: "top-1").map { [$0.outfitID, String($0.position)] } == [["look-1", "0"], ["look-2", "0"]])
        #expect(try reader.looks(containing: "shoe-1").map { [$0.outfitID, String($0.position)] } == [["look-1", "2"]])
        #expect(try reader.outfit(id: "look-1") == content.outfits[0])
        #expect(try reader.outfit(id: "look-2") == content.outfits[1])
        #expect(try reader.outfit(id: "nope") == nil)
    }

    @Test func productViewIsWhatAStorefrontShows() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.path)
        let reader = try StoreReader(path: result.path)
        let view = try #require(try reader.productView(id: "top-1"))
        #expect(view.product.id == "top-1")
        #expect(view.complementary.map(\.slot) == [.bottom, .shoes, .bag])
        #expect(view.complementary[0].items.map(\.rank) == [1, 2])
        #expect(view.complementary[0].items[0] == ProductView.Item(
            rank: 1, id: "jeans-1", title: "Jean droit délavé\nlong", slot: .bottom, image: "images/jeans-1.jpg",
            price: 79, currency: "EUR", inStock: true, url: nil, score: 0.8, reason: "denim with navy"))
        #expect(view.looks.map(\.outfitID) == ["look-1", "look-2"])
        #expect(try reader.productView(id: "missing") == nil)

        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(view)) as? [String: Any]
        #expect(Set(json?.keys ?? [:].keys) == ["product", "complementary", "looks"])
        let product = json?["product"] as? [String: Any]
        #expect(product?["in_stock"] as? Bool == true)
        #expect(product?["image_sha256"] as? String == String(repeating: "a", count: 64))
    }

    /// The storefront SQL of the README, run as plain SQL: reasons come back as text
    /// through the `reasons` table, each distinct text stored once.
    @Test func plainSQLReadsListsWithTheirReasons() throws {
        let dir = try TempDirectory()
        var content = Fixtures.content()
        content.complementary[3].items.append(ScoredProduct(productID: "skirt-1", score: 0.1, reason: "denim with navy"))
        let result = try StorePublisher().publish(content, to: dir.path)
        let db = try SQLiteDatabase("file:\(result.path)?mode=ro&immutable=1", mode: .readOnly, uri: true)
        let lists = try db.prepare("""
            SELECT c.target_slot, c.rank, p.id, p.title, p.image, p.price, c.score, r.text AS reason
            FROM complementary c JOIN products p ON p.id = c.item_id JOIN reasons r ON r.id = c.reason_id
            WHERE c.anchor_id = :product ORDER BY c.target_slot, c.rank
            """)
        try lists.bind("top-1", at: 1)
        var rows: [[String]] = []
        while try lists.step() { rows.append([lists.string(0) ?? "", String(lists.int(1)), lists.string(2) ?? "", lists.string(7) ?? ""]) }
        #expect(rows == [
            ["bag", "1", "bag-1", "carry-all"], ["bottom", "1", "jeans-1", "denim with navy"],
            ["bottom", "2", "skirt-1", "pleats, contrast"], ["shoes", "1", "shoe-1", "boots, \"smart\"\r\ncasual"],
        ])
        let fitb = try db.prepare("""
            SELECT f.rank, f.item_id, f.score, r.text AS reason
            FROM fitb_candidates f JOIN reasons r ON r.id = f.reason_id
            WHERE f.outfit_id = :outfit AND f.position = :position ORDER BY f.rank
            """)
        try fitb.bind("look-1", at: 1)
        try fitb.bind(2, at: 2)
        var candidates: [String] = []
        while try fitb.step() { candidates.append("\(fitb.string(1) ?? "") \(fitb.string(3) ?? "")") }
        #expect(candidates == ["shoe-1 same palette", "bag-1 wrong slot"])
        let texts = try db.prepare("SELECT count(*), count(DISTINCT text) FROM reasons")
        #expect(try texts.step())
        #expect(texts.int(0) == 8 && texts.int(1) == 8, "8 distinct texts in the lists, one used twice, each stored once")
    }

    @Test func publishedFileIsIdentifiedCheckedAndMatchesItsManifest() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.path)
        let db = try SQLiteDatabase(result.path, mode: .readOnly)
        #expect(try db.pragmaInt("application_id") == 0x4C4B_4231)
        #expect(try db.pragmaInt("user_version") == 1)
        #expect(try db.integrityProblems().isEmpty)
        #expect(try db.pragma("journal_mode") == "delete")
        #expect(try db.pragmaInt("freelist_count") == 0)

        let bytes = try dir.bytes("lookbook.sqlite")
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        #expect(result.sha256 == sha)
        #expect(result.bytes == bytes.count)
        #expect(bytes[18] == 1 && bytes[19] == 1, "legacy rollback-journal format, not WAL")

        let manifest = try StoreManifest.read(from: dir.file("lookbook.manifest.json"))
        #expect(manifest.sha256 == sha)
        #expect(manifest.bytes == bytes.count)
        #expect(manifest.file == "stores/lookbook-run-1.sqlite")
        #expect(manifest.counts == result.counts)
        #expect(manifest.schemaVersion == 1)
        #expect(manifest.format == "lookbook-store")
        #expect(manifest.modelVersion == "stylelm-7" && manifest.captionerVersion == "embedded@1.2")
        #expect(try dir.bytes(manifest.file) == bytes)
        // Same inode: lookbook.sqlite is a hard link to the file in stores/.
        let a = try FileManager.default.attributesOfItem(atPath: result.path)[.systemFileNumber] as? Int
        let b = try FileManager.default.attributesOfItem(atPath: dir.file(manifest.file))[.systemFileNumber] as? Int
        #expect(a != nil && a == b)
    }

    @Test func sameContentGivesTheSameBytes() throws {
        let one = try TempDirectory(), two = try TempDirectory()
        let a = try StorePublisher().publish(Fixtures.content(), to: one.path)
        let b = try StorePublisher().publish(Fixtures.content(), to: two.path)
        #expect(a.sha256 == b.sha256)
    }

    @Test func keepPrunesToTheNewestStores() throws {
        let dir = try TempDirectory()
        for n in 1...5 {
            _ = try StorePublisher().publish(Fixtures.content(runID: "run-\(n)"), to: dir.path, keep: 3)
        }
        #expect(try dir.names("stores") == ["lookbook-run-3.sqlite", "lookbook-run-4.sqlite", "lookbook-run-5.sqlite"])
        #expect(try dir.names() == ["lookbook.manifest.json", "lookbook.sqlite", "stores"])
        #expect(try StoreReader(path: dir.file("lookbook.sqlite")).meta().runID == "run-5")
    }

    @Test func keepOneLeavesOnlyThePublishedStore() throws {
        let dir = try TempDirectory()
        _ = try StorePublisher().publish(Fixtures.content(runID: "a"), to: dir.path, keep: 1)
        _ = try StorePublisher().publish(Fixtures.content(runID: "b"), to: dir.path, keep: 1)
        #expect(try dir.names("stores") == ["lookbook-b.sqlite"])
    }

    @Test func publishingTwiceLeavesTheNewest() throws {
        let dir = try TempDirectory()
        let first = try StorePublisher().publish(Fixtures.content(runID: "r", tweak: " v1"), to: dir.path)
        // A reader of the first store keeps reading it while the second is installed.
        let oldReader = try StoreReader(path: first.path)
        let second = try StorePublisher().publish(Fixtures.content(runID: "r", tweak: " v2"), to: dir.path)
        #expect(second.storePath == dir.file("stores/lookbook-r-2.sqlite"), "a republished run id gets a new name")
        #expect(first.sha256 != second.sha256)
        let reader = try StoreReader(path: dir.file("lookbook.sqlite"))
        #expect(try reader.product(id: "top-1")?.title.hasSuffix(" v2") == true)
        #expect(try oldReader.product(id: "top-1")?.title.hasSuffix(" v1") == true)
        #expect(try StoreManifest.read(from: dir.file("lookbook.manifest.json")).sha256 == second.sha256)
    }

    @Test func leftoverTempFilesAreCleanedUp() throws {
        let dir = try TempDirectory()
        _ = try StorePublisher().publish(Fixtures.content(runID: "one"), to: dir.path)
        let leftovers = [".lookbook-tmp-99-1-build.sqlite", ".lookbook-tmp-99-1-build.sqlite-journal",
                         ".lookbook-tmp-99-1-final.sqlite", ".lookbook-tmp-99-1-manifest.json"]
        for name in leftovers { try Data("junk".utf8).write(to: URL(fileURLWithPath: dir.file(name))) }
        try Data("junk".utf8).write(to: URL(fileURLWithPath: dir.file("stores/.lookbook-tmp-99-1-link.sqlite")))
        try Data("mine".utf8).write(to: URL(fileURLWithPath: dir.file("notes.txt")))
        _ = try StorePublisher().publish(Fixtures.content(runID: "two"), to: dir.path)
        #expect(try dir.names() == ["lookbook.manifest.json", "lookbook.sqlite", "notes.txt", "stores"])
        #expect(try dir.names("stores") == ["lookbook-one.sqlite", "lookbook-two.sqlite"])
    }

    /// Every step up to and including the install can fail without touching the
    /// published store or its manifest, and leaves no temp file behind.
    @Test(arguments: [StorePublisher.Step.cleaning, .validating, .building, .compacting, .checking, .hashing, .installing])
    func failureMidwayLeavesThePreviousStoreUnchanged(step: StorePublisher.Step) throws {
        let dir = try TempDirectory()
        _ = try StorePublisher().publish(Fixtures.content(runID: "good"), to: dir.path)
        let store = try dir.bytes("lookbook.sqlite"), manifest = try dir.bytes("lookbook.manifest.json")
        struct Injected: Error {}
        let failing = StorePublisher(progress: { if $0 == step { throw Injected() } })
        #expect(throws: Injected.self) {
            try failing.publish(Fixtures.content(runID: "bad", tweak: "!"), to: dir.path)
        }
        #expect(try dir.bytes("lookbook.sqlite") == store)
        #expect(try dir.bytes("lookbook.manifest.json") == manifest)
        #expect(try dir.names() == ["lookbook.manifest.json", "lookbook.sqlite", "stores"])
        #expect(try dir.names("stores") == ["lookbook-good.sqlite"])
    }

    /// Content the database itself rejects halfway through the bulk insert (a duplicate
    /// primary key) and content the validation rejects up front.
    @Test(arguments: ["duplicate-list", "unknown-item", "unknown-outfit", "bad-position", "duplicate-product", "no-products"])
    func invalidContentLeavesThePreviousStoreUnchanged(kind: String) throws {
        let dir = try TempDirectory()
        _ = try StorePublisher().publish(Fixtures.content(runID: "good"), to: dir.path)
        let store = try dir.bytes("lookbook.sqlite")
        var bad = Fixtures.content(runID: "bad")
        switch kind {
        case "duplicate-list": bad.complementary.append(bad.complementary[0])
        case "unknown-item": bad.complementary[0].items.append(ScoredProduct(productID: "ghost", score: 0, reason: ""))
        case "unknown-outfit": bad.fitb[0].outfitID = "ghost"
        case "bad-position": bad.fitb[0].position = 9
        case "duplicate-product": bad.products.append(bad.products[0])
        default: bad.products = []
        }
        let error = try #require(throws: LookbookError.self) { try StorePublisher().publish(bad, to: dir.path) }
        #expect(error.code == .store)
        if kind == "duplicate-list" {
            #expect(error.underlying?.contains("UNIQUE constraint failed: complementary") == true)
        }
        #expect(try dir.bytes("lookbook.sqlite") == store)
        #expect(try dir.names() == ["lookbook.manifest.json", "lookbook.sqlite", "stores"])
        #expect(try dir.names("stores") == ["lookbook-good.sqlite"])
    }

    @Test func reportsEveryStepInOrder() throws {
        let dir = try TempDirectory()
        final class Steps: @unchecked Sendable { var seen: [StorePublisher.Step] = [] }
        let steps = Steps()
        _ = try StorePublisher(progress: { steps.seen.append($0) }).publish(Fixtures.content(), to: dir.path)
        #expect(steps.seen == StorePublisher.Step.allCases)
    }

    /// Lists are inserted up to 32 items per statement: lengths around that boundary
    /// must come back whole and in order.
    @Test(arguments: [1, 31, 32, 33, 64, 70])
    func longListsRoundTrip(length: Int) throws {
        let dir = try TempDirectory()
        var content = Fixtures.content()
        let items = (0..<length).map { ScoredProduct(productID: "bag-1", score: Double(length - $0), reason: "r\($0)") }
        content.complementary.append(Recommendation(anchorID: "shoe-1", targetSlot: .bag, items: items))
        content.fitb.append(BlankCandidates(outfitID: "look-2", position: 1, items: items))
        let result = try StorePublisher().publish(content, to: dir.path)
        let reader = try StoreReader(path: result.path)
        #expect(try reader.complementary(for: "shoe-1") == [content.complementary.last!])
        #expect(try reader.fitbCandidates(outfitID: "look-2") == [content.fitb.last!])
    }

    @Test func createsMissingOutputDirectories() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.file("a/b/out"))
        #expect(result.path == dir.file("a/b/out/lookbook.sqlite"))
        #expect(try StoreReader(path: result.path).meta().runID == "run-1")
    }

    @Test func anOutputPathThatIsAFileIsRefused() throws {
        let dir = try TempDirectory()
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.file("out")))
        let error = try #require(throws: LookbookError.self) { try StorePublisher().publish(Fixtures.content(), to: dir.file("out")) }
        #expect(error.code == .io)
        #expect(error.message.contains("not a directory"))
    }

    /// The final rename fails (here: a directory sits where the store goes): the new
    /// file must not linger in stores/ as if it had been published.
    @Test func aFailedInstallLeavesNoStoreBehind() throws {
        let dir = try TempDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("lookbook.sqlite/x"), withIntermediateDirectories: true)
        let error = try #require(throws: LookbookError.self) { try StorePublisher().publish(Fixtures.content(), to: dir.path) }
        #expect(error.code == .io)
        #expect(error.message.contains("rename"))
        #expect(try dir.names("stores").isEmpty)
        #expect(try dir.names() == ["lookbook.sqlite", "stores"])
    }

    @Test func keepBelowOneIsRefused() throws {
        let dir = try TempDirectory()
        let error = try #require(throws: LookbookError.self) { try StorePublisher().publish(Fixtures.content(), to: dir.path, keep: 0) }
        #expect(error.message.contains("at least 1"))
        #expect(try dir.names().isEmpty)
    }

    @Test func syntheticContentPublishes() throws {
        let dir = try TempDirectory()
        let content = StoreContent.synthetic(products: 300, outfits: 20)
        let result = try StorePublisher().publish(content, to: dir.path)
        #expect(result.counts.complementary > 300 * 4 * 20)
        #expect(result.counts.fitb == 20 * 4 * 10)
        let reader = try StoreReader(path: result.path)
        #expect(try reader.complementary(for: "P0000000").count == 5)
        #expect(try reader.meta().counts == result.counts)
    }
}
