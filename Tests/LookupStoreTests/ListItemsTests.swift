import Foundation
import LookbookCore
@testable import LookupStore
import SQLiteSupport
import Testing

/// The `items` text of a list row: what the builder writes, the reader's scanner and
/// SQLite's own JSON functions must read back the same.
@Suite struct ListItemsTests {
    private static func encode(_ items: [ScoredProduct]) -> (text: String, reasons: [String]) {
        var reasons = ReasonIDs()
        var bytes: [UInt8] = []
        ListItems.append(items, reasons: &reasons, to: &bytes)
        return (String(decoding: bytes, as: UTF8.self), reasons.texts)
    }

    @Test func writesCompactJSON() {
        let (text, reasons) = Self.encode([
            ScoredProduct(productID: "P0001", score: 0.8123, reason: "a"),
            ScoredProduct(productID: "P0042", score: 0.79, reason: "b"),
            ScoredProduct(productID: "P0007", score: 1, reason: "a"),
        ])
        #expect(text == #"[["P0001",0.8123,1],["P0042",0.79,2],["P0007",1.0,1]]"#)
        #expect(reasons == ["a", "b"])
        #expect(Self.encode([]).text == "[]")
    }

    /// Ids that need escaping or are long, non-ASCII or empty come back unchanged.
    @Test(arguments: ["", "P1", "exactly15bytes!", "sixteen-bytes-id", #"quo"te"#, #"back\slash"#, "tab\tnew\nline\r",
                      "\u{1}\u{1F}ctl", "ünï", "百褶裙-42", "👜 tote", "/slash", String(repeating: "x", count: 300)])
    func oddIDsRoundTrip(id: String) throws {
        let (text, _) = Self.encode([ScoredProduct(productID: id, score: 0.5, reason: "r")])
        #expect(try ListItems.decode(text) == [ListItemsScanner.Item(id: id, score: 0.5, reasonID: 1)])
        #expect(try Self.sqliteIDs(text) == [id], "SQLite's json_each reads the same id")
    }

    /// Scores are stored to Float precision: the reader gets back the shortest decimal
    /// of the score's Float rounding, read as a Double.
    @Test(arguments: [0.0, -0.0, 1, -1, 0.5, -0.25, 0.1, 0.8123, -0.1, 1e-5, -3.5e-7, 1e-30, 1e-38, 1e-45, 3e-39,
                      12345.678, 16777216, 1e20, -3.4028234e38, 0.969580000000004, 123456789])
    func scoresRoundTripAtFloatPrecision(score: Double) throws {
        let (text, _) = Self.encode([ScoredProduct(productID: "a", score: score, reason: "r")])
        let expected = Double(Float(score).description)!
        let item = try #require(try ListItems.decode(text).first)
        #expect(item.score.bitPattern == expected.bitPattern, "\(text)")
        #expect(Float(item.score) == Float(score))
        #expect(try Self.sqliteScores(text) == [expected])
    }

    @Test func scoresBeyondFloatRangeAreInfinite() throws {
        let (text, _) = Self.encode([ScoredProduct(productID: "a", score: 1e300, reason: "r"),
                                     ScoredProduct(productID: "b", score: -.infinity, reason: "r")])
        #expect(text == #"[["a",9e999,1],["b",-9e999,1]]"#)
        #expect(try ListItems.decode(text).map(\.score) == [.infinity, -.infinity])
        #expect(try Self.sqliteScores(text) == [.infinity, -.infinity])
    }

    @Test func sameItemsGiveTheSameBytes() {
        let items = (0..<50).map { ScoredProduct(productID: "P\($0)", score: 1 / Double($0 + 3), reason: "r\($0 % 7)") }
        #expect(Self.encode(items).text == Self.encode(items).text)
    }

    @Test(arguments: [0, 1, 20, 1000])
    func manyItemsRoundTrip(count: Int) throws {
        let items = (0..<count).map { n in
            ScoredProduct(productID: "P\(String(n * 7919 % 100_000))", score: Double(Float(1 - Double(n) / 1000)), reason: "reason \(n % 13)")
        }
        let (text, reasons) = Self.encode(items)
        let decoded = try ListItems.decode(text)
        #expect(decoded.map(\.id) == items.map(\.productID))
        #expect(decoded.map(\.score) == items.map { Double(Float($0.score).description)! })
        #expect(decoded.map { reasons[$0.reasonID - 1] } == items.map(\.reason))
    }

    /// JSON that another writer could produce: whitespace and `\u` escapes, a
    /// surrogate pair included.
    @Test func readsWhitespaceAndUnicodeEscapes() throws {
        let text = " [ [ \"a\\u00e9\\ud83d\\udc5c\" , 1.5e1 , 7 ] ,\n[\"b\\/c\",-2E-1,0] ] "
        #expect(try ListItems.decode(text) == [
            ListItemsScanner.Item(id: "aé👜", score: 15, reasonID: 7), ListItemsScanner.Item(id: "b/c", score: -0.2, reasonID: 0),
        ])
    }

    @Test(arguments: ["", "[", "[[", #"[["a",1,2]"#, #"[["a",1,2],]"#, #"[["a",1,2]]x"#, #"[["a",1]]"#, #"[["a","1",2]]"#,
                      #"[["a",1,-2]]"#, #"[["a",1,2.5]]"#, #"[["a",.5,2]]"#, #"[["a",1.,2]]"#, #"[["a",1e,2]]"#,
                      #"[[a,1,2]]"#, #"[["a\q",1,2]]"#, #"[["a\ud800",1,2]]"#, #"[["a\u12",1,2]]"#, #"[["a,1,2]]"#, "{}"])
    func refusesMalformedText(text: String) {
        #expect(throws: ListItemsScanner.Malformed.self) { try ListItems.decode(text) }
    }

    // MARK: SQLite's reading of the same text

    private static func sqlite(_ text: String, _ column: String) throws -> SQLiteStatement {
        let db = try SQLiteDatabase(":memory:")
        let s = try db.prepare("SELECT json_extract(value, '$[\(column)]') FROM json_each(?) ORDER BY key")
        try s.bind(text, at: 1)
        return s
    }

    private static func sqliteIDs(_ text: String) throws -> [String] {
        let s = try sqlite(text, "0")
        var ids: [String] = []
        while try s.step() { ids.append(s.string(0) ?? "<null>") }
        return ids
    }

    private static func sqliteScores(_ text: String) throws -> [Double] {
        let s = try sqlite(text, "1")
        var scores: [Double] = []
        while try s.step() { scores.append(s.double(0)) }
        return scores
    }
}
