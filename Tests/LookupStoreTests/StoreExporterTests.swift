import Foundation
import LookbookCore
@testable import LookupStore
import SQLiteSupport
import Testing

@Suite struct StoreExporterTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""),
        ("cr\rlf", "\"cr\rlf\""),
        ("", ""),
        ("délavé 百褶裙 👜", "délavé 百褶裙 👜"),
        (" spaced ", " spaced "),
    ])
    func csvFieldEscaping(raw: String, escaped: String) {
        #expect(CSV.field(raw) == escaped)
    }

    @Test(arguments: ["plain", "quote \" and backslash \\", "tab\tnew\nline\rcr", "\u{0}\u{1}\u{1F}\u{7F}", "délavé 百褶裙 👜", "</script>", ""])
    func jsonStringsRoundTrip(text: String) throws {
        var out: [UInt8] = Array("[".utf8)
        JSONText.appendString(Array(text.utf8), to: &out)
        out.append(contentsOf: "]".utf8)
        let parsed = try JSONSerialization.jsonObject(with: Data(out)) as? [String]
        #expect(parsed == [text])
    }

    @Test(arguments: [0.7, -1e-5, 1e300, 3.0, Double.infinity, Double.nan])
    func jsonNumbers(value: Double) throws {
        var out: [UInt8] = Array("[".utf8)
        JSONText.appendNumber(value, to: &out)
        out.append(contentsOf: "]".utf8)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [Any])
        if value.isFinite { #expect((parsed[0] as? NSNumber)?.doubleValue == value) } else { #expect(parsed[0] is NSNull) }
    }

    @Test func csvRowsEndInCRLF() {
        #expect(CSV.row(["a", "b,c", ""]) == Array("a,\"b,c\",\r\n".utf8))
    }

    @Test func csvExportIsRFC4180WithBOM() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.file("out"))
        let files = try StoreExporter.export(storePath: result.path, format: .csv, to: dir.file("export"))
        #expect(files == [dir.file("export/complementary.csv"), dir.file("export/fitb.csv")])
        let bytes = try dir.bytes("export/complementary.csv")
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = try #require(String(data: bytes.dropFirst(3), encoding: .utf8))
        #expect(text.hasPrefix("anchor_id,anchor_title,anchor_slot,target_slot,rank,item_id,item_title,item_slot,item_image,score,reason\r\n"))
        #expect(text.contains("jeans-1,\"Jean droit délavé\nlong\",bottom,top,1,top-1,\"Navy, striped \"\"Breton\"\" shirt\",top,images/top-1.jpg,0.7,classic pairing\r\n"))
        #expect(text.contains(",shoes,1,shoe-1,Ankle boots,shoes,images/shoe-1.png,0.9,\"boots, \"\"smart\"\"\r\ncasual\"\r\n"))
        #expect(text.contains("bag-1,Tote 👜,bag,,0.25,carry-all\r\n"))
        #expect(text.hasSuffix("\r\n"))
        let records = try parseCSV(text)
        #expect(records.count == 1 + 5)
        #expect(records.allSatisfy { $0.count == 11 })
        #expect(records[1][0] == "jeans-1")

        let fitb = try #require(String(data: try dir.bytes("export/fitb.csv").dropFirst(3), encoding: .utf8))
        let fitbRecords = try parseCSV(fitb)
        #expect(fitbRecords.first == ["outfit_id", "outfit_name", "position", "blank_id", "blank_title", "blank_slot", "rank",
                                      "item_id", "item_title", "item_slot", "item_image", "score", "reason"])
        #expect(fitbRecords.dropFirst().map { [$0[0], $0[2], $0[6], $0[7]] } == [
            ["look-1", "0", "1", "top-1"], ["look-1", "2", "1", "shoe-1"], ["look-1", "2", "2", "bag-1"],
        ])
        #expect(fitbRecords[1][1] == "Weekend, easy")
    }

    @Test func jsonlExportHasOneObjectPerRow() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.file("out"))
        try StoreExporter.export(storePath: result.path, format: .jsonl, to: dir.file("export"))
        let text = try #require(String(data: try dir.bytes("export/complementary.jsonl"), encoding: .utf8))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 6 && lines.last == "")
        #expect(lines[0].hasPrefix("{\"anchor_id\":\"jeans-1\",\"anchor_title\":\"Jean droit délavé\\nlong\",\"anchor_slot\":\"bottom\","),
                "keys in column order, text escaped")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["anchor_id"] as? String == "jeans-1")
        #expect(first["item_title"] as? String == "Navy, striped \"Breton\" shirt")
        #expect(first["rank"] as? Int == 1)
        #expect(first["score"] as? Double == 0.7)
        let bag = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(bag["item_id"] as? String == "bag-1")
        #expect(bag["item_image"] is NSNull)
        #expect(FileManager.default.fileExists(atPath: dir.file("export/fitb.jsonl")))
    }

    @Test(arguments: [
        (Slot?.some(.bottom), String?.none, 2, 0),
        (Slot?.none, String?.some("Women > Tops"), 4, 1),
        (Slot?.none, String?.some("Women > Top"), 0, 0),
        (Slot?.some(.shoes), String?.some("Women > Tops > Shirts"), 1, 0),
        (Slot?.some(.shoes), String?.some("Women > Shoes"), 0, 2),
    ])
    func exportFilters(slot: Slot?, category: String?, complementaryRows: Int, fitbRows: Int) throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.file("out"))
        try StoreExporter.export(storePath: result.path, format: .jsonl, to: dir.file("export"), slot: slot, category: category)
        let complementary = try dir.bytes("export/complementary.jsonl").filter { $0 == 0x0A }.count
        let fitb = try dir.bytes("export/fitb.jsonl").filter { $0 == 0x0A }.count
        #expect(complementary == complementaryRows)
        #expect(fitb == fitbRows)
    }

    /// Titles a merchandiser's spreadsheet must get back exactly.
    static let nastyTitles = [
        "Navy, striped", "say \"hi\"", "\"", "\"\"", "two\nlines", "crlf\r\ninside", "lone\rcr",
        "百褶裙，黑色 上衣", "👜 tote 👩🏽‍💻 zwj", " lead and trail ", "trailing comma,", "=SUM(A1:A2)", "tab\tinside",
        "a,\"b\"\r\n,c\"", "Ünïcödé ñ ß — dash",
    ]

    /// A two-product store whose titles, outfit name and reason are all `text`.
    static func nastyStore(_ text: String, in dir: TempDirectory) throws -> String {
        let products = [
            StoreProduct(id: "a", title: text, category: "Women > Tops", slot: .top, image: "images/\(text).jpg"),
            StoreProduct(id: "b", title: text + "-item", category: "Women > Bottoms", slot: .bottom),
        ]
        let content = StoreContent(
            snapshot: "2026-11-28T02:00:00Z", retailer: "acme", modelVersion: "m", captionerVersion: "c@1", runID: "r",
            buildTime: "2026-11-28T03:00:00Z", products: products, outfits: [Outfit(id: "o", items: ["a", "b"], name: text)],
            complementary: [Recommendation(anchorID: "a", targetSlot: .bottom, items: [ScoredProduct(productID: "b", score: 0.5, reason: text)])],
            fitb: [BlankCandidates(outfitID: "o", position: 0, items: [ScoredProduct(productID: "a", score: 0.25, reason: text)])])
        return try StorePublisher().publish(content, to: dir.file("out")).path
    }

    @Test(arguments: nastyTitles)
    func csvRoundTripsNastyText(text: String) throws {
        let dir = try TempDirectory()
        try StoreExporter.export(storePath: try Self.nastyStore(text, in: dir), format: .csv, to: dir.file("export"))
        let bytes = try dir.bytes("export/complementary.csv")
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let records = try parseCSV(try #require(String(data: bytes.dropFirst(3), encoding: .utf8)))
        #expect(records.count == 2)
        #expect(records[1] == ["a", text, "top", "bottom", "1", "b", text + "-item", "bottom", "", "0.5", text])
        let fitbBytes = try dir.bytes("export/fitb.csv")
        let fitb = try parseCSV(try #require(String(data: fitbBytes.dropFirst(3), encoding: .utf8)))
        #expect(fitb.count == 2)
        #expect(fitb[1] == ["o", text, "0", "a", text, "top", "1", "a", text, "top", "images/\(text).jpg", "0.25", text])
    }

    @Test(arguments: nastyTitles)
    func jsonlRoundTripsNastyText(text: String) throws {
        let dir = try TempDirectory()
        try StoreExporter.export(storePath: try Self.nastyStore(text, in: dir), format: .jsonl, to: dir.file("export"))
        let lines = try dir.bytes("export/complementary.jsonl").split(separator: 0x0A)
        #expect(lines.count == 1, "newlines inside values are escaped")
        let row = try #require(try JSONSerialization.jsonObject(with: Data(lines[0])) as? [String: Any])
        #expect(row["anchor_title"] as? String == text)
        #expect(row["item_title"] as? String == text + "-item")
        #expect(row["reason"] as? String == text)
        #expect(row["item_image"] is NSNull)
        let fitb = try dir.bytes("export/fitb.jsonl").split(separator: 0x0A)
        let first = try #require(fitb.first)
        let blank = try #require(try JSONSerialization.jsonObject(with: Data(first)) as? [String: Any])
        #expect(blank["outfit_name"] as? String == text && blank["item_image"] as? String == "images/\(text).jpg")
    }

    /// Streaming: SQLite returns the rows in list-key order straight from the b-tree,
    /// with no temp b-tree that would hold every exported row, whatever the filters.
    @Test(arguments: [StoreExporter.complementarySQL, StoreExporter.fitbSQL])
    func exportQueriesNeedNoSort(sql: String) throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(StoreContent.synthetic(products: 50, outfits: 5), to: dir.path)
        let db = try SQLiteDatabase("file:\(result.path)?mode=ro&immutable=1", mode: .readOnly, uri: true)
        let plan = try db.prepare("EXPLAIN QUERY PLAN " + sql)
        var details: [String] = []
        while try plan.step() { details.append(plan.string(3) ?? "") }
        #expect(!details.isEmpty)
        #expect(!details.contains { $0.contains("TEMP B-TREE") }, "\(details)")
        let scans = details.filter { $0.hasPrefix("SCAN") }
        #expect(scans.allSatisfy { $0.hasPrefix("SCAN l") || $0.hasPrefix("SCAN j VIRTUAL TABLE") },
                "only the lists are scanned (in key order); products, outfits and reasons are searched by key: \(details)")
    }

    /// Exported rows are the reader's lists, item for item, on a store of realistic shape.
    @Test func exportHasEveryListItemOfTheStore() throws {
        let dir = try TempDirectory()
        let content = StoreContent.synthetic(products: 120, slotsPerProduct: 3, itemsPerList: 5, outfits: 10, fitbPerBlank: 3)
        let result = try StorePublisher().publish(content, to: dir.path)
        try StoreExporter.export(storePath: result.path, format: .csv, to: dir.file("export"))
        let records = try parseCSV(try #require(String(data: try dir.bytes("export/complementary.csv").dropFirst(3), encoding: .utf8)))
        #expect(records.count - 1 == content.counts.complementary)
        let reader = try StoreReader(path: result.path)
        var expected: [[String]] = []
        for id in try reader.productIDs() {
            for list in try reader.complementary(for: id).sorted(by: { $0.targetSlot.rawValue < $1.targetSlot.rawValue }) {
                for (n, item) in list.items.enumerated() {
                    expected.append([id, list.targetSlot.rawValue, String(n + 1), item.productID, String(item.score), item.reason])
                }
            }
        }
        #expect(records.dropFirst().map { [$0[0], $0[3], $0[4], $0[5], $0[9], $0[10]] } == expected)
        let fitb = try parseCSV(try #require(String(data: try dir.bytes("export/fitb.csv").dropFirst(3), encoding: .utf8)))
        #expect(fitb.count - 1 == content.counts.fitb)
    }

    /// A small independent RFC 4180 parser, so the writer is not checked against itself.
    func parseCSV(_ text: String) throws -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, chars = Array(text.unicodeScalars), i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" { quoted = true
            } else if c == "," { record.append(field); field = ""
            } else if c == "\r" && i + 1 < chars.count && chars[i + 1] == "\n" {
                record.append(field); records.append(record); record = []; field = ""; i += 1
            } else { field.unicodeScalars.append(c) }
            i += 1
        }
        #expect(record.isEmpty && field.isEmpty, "the last record ends in CRLF")
        chars = []
        return records
    }
}
