import Foundation
import LookbookCore
import LookupStore
import Testing
import TestSupport

/// `lookbook query` and `lookbook export` on a store published by a real `lookbook run`,
/// and the bad input of a retailer's catalog carried through ingest into the store.
@Suite struct StorefrontCLITests {
    /// A hand-written catalog with the awkward cases of issue 7:
    /// - `X1` has a category and title no slot rule knows (`Home > Gadgets`);
    /// - outfit `O3` has one item;
    /// - every shoe (`S1`…`S4`) is out of stock;
    /// - `E1` has no title (no text) and no image.
    /// The job allows that many bad rows so the run goes on with what is good.
    static func badCatalogRun() throws -> (Workspace, CLI.Result) {
        let w = try Workspace()
        try """
            [job]
            name = "bad-input"
            inbox = "inbox"
            state = "state"
            out = "out"
            [limits]
            max_bad_row_fraction = 0.5
            """.write(toFile: w.job, atomically: true, encoding: .utf8)
        let dir = w.path("inbox/shop")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try #"{"format": "lookbook-catalog", "version": 1, "retailer": "acme", "snapshot": "2026-11-28T02:00:00Z", "locale": "en-US", "currency": "USD"}"#
            .write(toFile: dir + "/catalog.json", atomically: true, encoding: .utf8)
        var products: [String] = []
        for i in 1...6 { products.append(#"{"id": "T\#(i)", "title": "Navy cotton shirt \#(i)", "category": "Women > Tops > Shirts", "gender": "women"}"#) }
        for i in 1...6 { products.append(#"{"id": "B\#(i)", "title": "Blue denim jeans \#(i)", "category": "Women > Bottoms > Jeans", "gender": "women"}"#) }
        for i in 1...4 {
            products.append(#"{"id": "S\#(i)", "title": "Black leather ankle boots \#(i)", "category": "Women > Shoes > Boots", "gender": "women", "in_stock": false}"#)
        }
        for i in 1...3 { products.append(#"{"id": "G\#(i)", "title": "Tan leather tote \#(i)", "category": "Accessories > Bags"}"#) }
        products.append(#"{"id": "X1", "title": "Smart thermostat", "category": "Home > Gadgets"}"#)
        products.append(#"{"id": "E1", "title": "", "category": "Women > Tops"}"#)
        try (products.joined(separator: "\n") + "\n").write(toFile: dir + "/products.jsonl", atomically: true, encoding: .utf8)
        let outfits = [
            #"{"id": "O1", "items": ["T1", "B1", "S1"], "name": "Boots, \"smart\""}"#, #"{"id": "O2", "items": ["T2", "B2", "G1"]}"#,
            #"{"id": "O3", "items": ["T3"]}"#, #"{"id": "O4", "items": ["T4", "B3", "S2", "G2"]}"#,
            #"{"id": "O5", "items": ["T5", "B4", "G3"]}"#, #"{"id": "O6", "items": ["T6", "B5", "S3"]}"#,
            #"{"id": "O7", "items": ["T1", "B6", "X1"]}"#,
        ]
        try (outfits.joined(separator: "\n") + "\n").write(toFile: dir + "/outfits.jsonl", atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", w.job, "--no-progress"])
        return (w, run)
    }

    static func quarantine(_ w: Workspace) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: w.path("state/reports/run-1.quarantine.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    static func allLists(_ reader: StoreReader) throws -> [Recommendation] {
        try reader.productIDs().flatMap { try reader.complementary(for: $0) }
    }

    @Test func aProductOfUnknownSlotIsKeptWithoutLists() throws {
        let (w, run) = try Self.badCatalogRun()
        #expect(run.exitCode == 0, "\(run.stderr)")
        let reader = try StoreReader(path: w.store)
        let gadget = try #require(try reader.product(id: "X1"))
        #expect(gadget.slot == .other)
        #expect(try reader.complementary(for: "X1").isEmpty)
        #expect(try Self.allLists(reader).allSatisfy { list in !list.items.contains { $0.productID == "X1" } },
                "nothing recommends a product of no known slot")
        #expect(try reader.looks(containing: "X1").map(\.outfitID) == ["O7"], "its curated look is kept")
        let query = try CLI.run(["query", w.store, "--product", "X1"])
        #expect(query.exitCode == 0, "\(query.stderr)")
        let view = try JSONDecoder().decode(ProductView.self, from: Data(query.stdout.utf8))
        #expect(view.product.slot == .other && view.complementary.isEmpty)
    }

    @Test func anOutfitWithOneItemIsSetAsideWithADiagnostic() throws {
        let (w, run) = try Self.badCatalogRun()
        #expect(run.exitCode == 0, "\(run.stderr)")
        let problems = try Self.quarantine(w).filter { $0["code"] as? String == "too-few-items" }
        #expect(problems.count == 1)
        #expect(problems.first?["file"] as? String == "outfits.jsonl" && problems.first?["line"] as? Int == 3)
        #expect((problems.first?["reason"] as? String)?.contains("outfit O3 has fewer than 2 distinct items") == true)
        let reader = try StoreReader(path: w.store)
        #expect(try reader.outfit(id: "O3") == nil)
        #expect(try reader.meta().counts.outfits == 6)
        #expect(try reader.fitbCandidates(outfitID: "O2").isEmpty == false, "the other outfits get their blanks filled")
        let query = try CLI.run(["query", w.store, "--outfit", "O3"])
        #expect(query.exitCode == 2 && query.stderr.contains("outfit O3 is not in"))
    }

    @Test func aWholeSlotOutOfStockLeavesTheOtherListsFilled() throws {
        let (w, run) = try Self.badCatalogRun()
        #expect(run.exitCode == 0, "\(run.stderr)")
        let reader = try StoreReader(path: w.store)
        let lists = try Self.allLists(reader)
        #expect(!lists.contains { $0.targetSlot == .shoes }, "no list of out-of-stock shoes")
        for id in ["T1", "T2", "T3", "T4", "T5", "T6"] {
            #expect(try reader.complementary(for: id, slot: .bottom)?.items.isEmpty == false, "\(id) still gets bottoms")
        }
        #expect(try reader.complementary(for: "S1").isEmpty == false, "an out-of-stock shoe's page still completes its look")
        #expect(try reader.product(id: "S1")?.inStock == false)
        let blank = try #require(try reader.outfitView(id: "O1", position: 2)?.blanks.first)
        #expect(blank.product?.id == "S1" && blank.candidates.isEmpty, "no in-stock shoe can fill the blank")
    }

    @Test func aProductWithNoTextAndNoImageIsQuarantinedWithAClearReason() throws {
        let (w, run) = try Self.badCatalogRun()
        #expect(run.exitCode == 0, "\(run.stderr)")
        let problem = try #require(try Self.quarantine(w).first { ($0["content"] as? String)?.contains(#""id": "E1""#) == true })
        #expect(problem["code"] as? String == "missing-field")
        #expect(problem["file"] as? String == "products.jsonl" && problem["line"] as? Int == 21)
        #expect((problem["reason"] as? String)?.contains("title is empty; give every product a title") == true)
        let reader = try StoreReader(path: w.store)
        #expect(try reader.product(id: "E1") == nil)
        #expect(try reader.meta().counts.products == 20)
    }

    /// `query` prints exactly the reader's typed views, and says what is wrong with its arguments.
    @Test func queryPrintsTheReadersViews() throws {
        let (w, run) = try Self.badCatalogRun()
        #expect(run.exitCode == 0, "\(run.stderr)")
        let reader = try StoreReader(path: w.store)
        let decoder = JSONDecoder()
        for args in [["--product", "T1"], ["--product", "T1", "--slot", "bottom"]] {
            let r = try CLI.run(["query", w.store] + args)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let printed = try decoder.decode(ProductView.self, from: Data(r.stdout.utf8))
            #expect(printed == (try reader.productView(id: "T1", slot: args.count > 2 ? .bottom : nil)), "\(args)")
        }
        for args in [["--outfit", "O1"], ["--outfit", "O1", "--position", "1"]] {
            let r = try CLI.run(["query", w.store] + args)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let printed = try decoder.decode(OutfitView.self, from: Data(r.stdout.utf8))
            #expect(printed == (try reader.outfitView(id: "O1", position: args.count > 2 ? 1 : nil)), "\(args)")
            #expect(printed.name == #"Boots, "smart""#)
        }
    }

    @Test(arguments: [
        ["--product", "T1", "--outfit", "O1"], [], ["--outfit", "O1", "--slot", "top"], ["--product", "T1", "--position", "0"],
        ["--outfit", "O1", "--position", "-1"], ["--product", "T1", "--slot", "sock"],
    ])
    func queryUsageErrorsExitTwo(arguments: [String]) throws {
        let r = try CLI.run(["query", "store.sqlite"] + arguments)
        #expect(r.exitCode == 2)
        #expect(!r.stderr.isEmpty)
    }

    @Test func exportFiltersBySlotAndCategoryThroughTheCLI() throws {
        let (w, run) = try Self.badCatalogRun()
        #expect(run.exitCode == 0, "\(run.stderr)")
        let out = w.path("export")
        let r = try CLI.run(["export", w.store, "--format", "jsonl", "--out", out, "--slot", "bottom", "--category", "Women > Tops"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout == out + "/complementary.jsonl\n" + out + "/fitb.jsonl\n")
        let rows = try String(contentsOfFile: out + "/complementary.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(Set(rows.compactMap { $0["anchor_id"] as? String }) == ["T1", "T2", "T3", "T4", "T5", "T6"])
        #expect(rows.allSatisfy { $0["target_slot"] as? String == "bottom" && $0["anchor_slot"] as? String == "top" })
        let fitb = try String(contentsOfFile: out + "/fitb.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(fitb.isEmpty, "no bottom blank sits in a `Women > Tops` category")

        let csv = try CLI.run(["export", w.store, "--format", "csv", "--out", w.path("csv"), "--slot", "top"])
        #expect(csv.exitCode == 0, "\(csv.stderr)")
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: w.path("csv/fitb.csv"))), as: UTF8.self)
        #expect(text.hasPrefix("\u{FEFF}outfit_id,outfit_name,position,blank_id,"))
        #expect(text.contains("\r\nO1,\"Boots, \"\"smart\"\"\",0,T1,Navy cotton shirt 1,top,1,"), "the outfit name quoted per RFC 4180")
    }
}
