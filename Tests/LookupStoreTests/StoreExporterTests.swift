import Foundation
import LookbookCore
@testable import LookupStore
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
