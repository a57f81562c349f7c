import CatalogIngest
import Foundation
import LookbookCore
import Testing
import TestSupport

/// Rows that break the contract are quarantined with file, line, reason and content.
@Suite struct RowValidationTests {
    /// Lenient bad-row limit so single bad rows in tiny files do not fail the read.
    static let lenient: IngestLimits = { var l = IngestLimits(); l.maxBadRowFraction = 1; return l }()

    private func read(_ files: [String: String], bytes: [String: [UInt8]] = [:]) throws -> IngestResult {
        let dir = try TempDirectory()
        let root = try CatalogFixtures.directory(in: dir, files: files)
        for (name, b) in bytes { try dir.write("catalog/\(name)", b) }
        return try CatalogReader.read(path: root, limits: Self.lenient)
    }

    private let good = CatalogFixtures.productLines(3)

    @Test func invalidUTF8() throws {
        var bytes = Array(good.utf8)
        bytes += Array(#"{"id":"bad","title":"caf"#.utf8) + [0xC3, 0x28] + Array(#"","category":"Tops"}"#.utf8) + [0x0A]
        let r = try read([:], bytes: ["products.jsonl": bytes])
        let d = try #require(r.diagnostics.first)
        #expect(r.diagnostics.count == 1)
        #expect(d.code == "invalid-utf8" && d.file == "products.jsonl" && d.line == 4)
        #expect(d.content?.contains("\"id\":\"bad\"") == true)
        #expect(r.catalog.products.count == 3)
    }

    @Test func invalidJSON() throws {
        let r = try read(["products.jsonl": good + "{\"id\": \"x\", \"title\": }\n"])
        #expect(r.diagnostics.map(\.code) == ["invalid-json"])
        #expect(r.diagnostics[0].line == 4)
        #expect(r.diagnostics[0].reason.contains("column"))
    }

    @Test(arguments: ["id", "title", "category"])
    func rowMissingARequiredField(field: String) throws {
        var row: [String: String] = ["id": "x-1", "title": "Tee", "category": "Tops"]
        row[field] = nil
        let json = "{" + row.sorted(by: { $0.key < $1.key }).map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",") + "}"
        let r = try read(["products.jsonl": good + json + "\n"])
        let d = try #require(r.diagnostics.first)
        #expect(d.code == "missing-field")
        #expect(d.reason.contains("\"\(field)\""))
        #expect(d.line == 4)
        #expect(d.content == json)
        #expect(r.stats.rows["products.jsonl"] == .init(read: 4, rejected: 1))
    }

    @Test(arguments: [
        (#"{"id":"a","title":"T","category":"Tops","price":"12.00"}"#, "price"),
        (#"{"id":"a","title":"T","category":"Tops","in_stock":"yes"}"#, "in_stock"),
        (#"{"id":"a","title":"T","category":"Tops","images":"images/a.jpg"}"#, "images"),
        (#"{"id":7,"title":"T","category":"Tops"}"#, "id"),
        (#"{"id":"a","title":"T","category":"Tops","attributes":{"fit":{"x":1}}}"#, "attributes.fit"),
    ])
    func wrongType(row: String, field: String) throws {
        let r = try read(["products.jsonl": good + row + "\n"])
        #expect(r.diagnostics.map(\.code) == ["wrong-type"])
        #expect(r.diagnostics.first?.reason.contains("\"\(field)\"") == true)
    }

    @Test(arguments: ["has space", "", String(repeating: "x", count: 129), "slash/id", "ünï"])
    func badProductID(id: String) throws {
        let r = try read(["products.jsonl": good + #"{"id":"\#(id)","title":"T","category":"Tops"}"# + "\n"])
        #expect(r.diagnostics.map(\.code) == ["bad-id"])
    }

    @Test func duplicateProductIDKeepsTheFirst() throws {
        let rows = #"{"id":"a","title":"First","category":"Tops"}"# + "\n" + good
            + #"{"id":"a","title":"Second","category":"Tops"}"# + "\n"
        let r = try read(["products.jsonl": rows])
        #expect(r.diagnostics.map(\.code) == ["duplicate-id"])
        #expect(r.diagnostics[0].line == 5)
        #expect(r.diagnostics[0].reason.contains("line 1"))
        #expect(r.catalog.products.first { $0.id == "a" }?.title == "First")
        #expect(r.catalog.products.count == 4)
    }

    @Test func outfitNamingAnUnknownProduct() throws {
        let outfits = #"{"id":"o1","items":["p-0","p-1"]}"# + "\n" + #"{"id":"o2","items":["p-0","ghost"]}"# + "\n"
        let r = try read(["products.jsonl": good, "outfits.jsonl": outfits])
        #expect(r.diagnostics.map(\.code) == ["unknown-product"])
        #expect(r.diagnostics[0].file == "outfits.jsonl" && r.diagnostics[0].line == 2)
        #expect(r.diagnostics[0].reason.contains("ghost"))
        #expect(r.catalog.outfits.map(\.id) == ["o1"])
        #expect(r.stats.rows["outfits.jsonl"] == .init(read: 2, rejected: 1))
    }

    @Test(arguments: [#"{"id":"o1","items":["p-0"]}"#, #"{"id":"o1","items":["p-0","p-0"]}"#])
    func outfitWithFewerThanTwoItems(row: String) throws {
        let r = try read(["products.jsonl": good, "outfits.jsonl": row + "\n"])
        #expect(r.diagnostics.map(\.code) == ["too-few-items"])
        #expect(r.catalog.outfits.isEmpty)
    }

    @Test func outfitsBeforeProductsInTheStreamAreStillChecked() throws {
        let dir = try TempDirectory()
        let w = try ArchiveWriter(path: dir.path("d.tar"), format: .tar, filter: .none)
        try w.addFile("outfits.jsonl", data: Array((#"{"id":"o1","items":["p-0","p-1"],"likes":3}"# + "\n").utf8))
        try w.addFile("catalog.json", data: try CatalogWriter.manifestJSON(CatalogFixtures.manifest))
        try w.addFile("products.jsonl", data: Array(good.utf8))
        try w.close()
        let r = try CatalogReader.read(path: dir.path("d.tar"))
        #expect(r.catalog.outfits == [Outfit(id: "o1", items: ["p-0", "p-1"], likes: 3)])
    }

    @Test(arguments: [
        (#"{"anchor":"p-0","item":"ghost","verdict":"approve"}"#, "unknown-product"),
        (#"{"anchor":"p-0","item":"p-1","verdict":"maybe"}"#, "bad-verdict"),
        (#"{"anchor":"p-0","verdict":"reject"}"#, "missing-field"),
    ])
    func badFeedback(row: String, code: String) throws {
        let ok = #"{"anchor":"p-0","item":"p-1","verdict":"reject"}"#
        let r = try read(["products.jsonl": good, "feedback.jsonl": ok + "\n" + row + "\n"])
        #expect(r.diagnostics.map(\.code) == [code])
        #expect(r.diagnostics[0].line == 2)
        #expect(r.catalog.feedback == [Feedback(anchor: "p-0", item: "p-1", verdict: .reject)])
    }

    @Test func missingImageIsDroppedFromTheProduct() throws {
        let rows = #"{"id":"a","title":"Tee","category":"Tops","images":["images/gone.jpg","images/ok.png"]}"# + "\n"
        let r = try read(["products.jsonl": rows], bytes: ["images/ok.png": ImageFixtures.png(width: 1, height: 1)])
        #expect(r.diagnostics.map(\.code) == ["missing-image"])
        #expect(r.diagnostics[0].severity == .warning)
        #expect(r.catalog.products[0].images == ["images/ok.png"])
    }

    @Test func undecodableImageIsDroppedFromTheProduct() throws {
        let rows = #"{"id":"a","title":"Tee","category":"Tops","images":["images/bad.jpg"]}"# + "\n"
        let r = try read(["products.jsonl": rows], bytes: ["images/bad.jpg": Array("GIF89a not really".utf8)])
        #expect(r.diagnostics.map(\.code) == ["bad-image", "undecodable-image"])
        #expect(r.catalog.products[0].images.isEmpty)
        #expect(r.catalog.images.isEmpty)
    }

    @Test func imageDeclaringTooManyPixels() throws {
        let dir = try TempDirectory()
        let root = try CatalogFixtures.directory(in: dir, files: ["products.jsonl": good])
        try dir.write("catalog/images/huge.png", ImageFixtures.pngHeader(width: 60_000, height: 60_000))
        let r = try CatalogReader.read(path: root)
        #expect(r.diagnostics.map(\.code) == ["image-too-large"])
        #expect(r.catalog.images.isEmpty)
    }

    @Test func productsCSVWithQuotedCommasAndNewlines() throws {
        let csv = """
        id,title,category,price,in_stock,images,attributes,description\r
        a-1,"Shirt, striped",Men > Tops > Shirts,19.99,yes,images/a.png|images/b.png,"{""fit"":""slim""}","Two lines:\r
        soft ""oxford"" cotton"\r
        a-2,Jeans,Men > Jeans,,0,,,\r
        a-3,Broken,Tops,abc,1,,,\r
        a-4,Boots,Shoes,89,true,,,\r

        """
        let r = try read(["products.csv": csv])
        #expect(r.catalog.products.map(\.id) == ["a-1", "a-2", "a-4"])
        let a = r.catalog.products[0]
        #expect(a.title == "Shirt, striped")
        #expect(a.price == 19.99)
        #expect(a.inStock)
        #expect(a.attributes == ["fit": "slim"])
        #expect(a.description == "Two lines:\r\nsoft \"oxford\" cotton")
        #expect(a.slot == .top)
        #expect(r.catalog.products[1].inStock == false && r.catalog.products[1].price == nil)
        let bad = r.diagnostics.filter { $0.code == "wrong-type" }
        #expect(bad.count == 1 && bad.first?.line == 5 && bad.first?.file == "products.csv")
        #expect(r.stats.rows["products.csv"] == .init(read: 4, rejected: 1))
        // The images do not exist in this catalog: warned and dropped.
        #expect(r.diagnostics.filter { $0.code == "missing-image" }.count == 2)
    }

    @Test func csvUnterminatedQuote() throws {
        let csv = "id,title,category\na,Tee,Tops\nb,\"Never closed,Tops\n"
        let r = try read(["products.csv": csv])
        #expect(r.diagnostics.map(\.code) == ["bad-csv"])
        #expect(r.diagnostics[0].line == 3)
    }

    @Test func blankLinesAndCRLFAreFine() throws {
        let rows = "\r\n" + #"{"id":"a","title":"T","category":"Tops"}"# + "\r\n\r\n" + #"{"id":"b","title":"T","category":"Tops"}"#
        let r = try read(["products.jsonl": rows])
        #expect(r.catalog.products.map(\.id) == ["a", "b"])
        #expect(r.diagnostics.isEmpty)
        #expect(r.stats.rows["products.jsonl"]?.read == 2)
    }

    @Test func unicodeEscapesAndOptionalFields() throws {
        let row = #"{"id":"a","title":"Caf\u00e9 \ud83d\udc57 dress","category":"Women > Dresses","price":12,"gender":null,"extra":[1,2,{"x":true}]}"#
        let r = try read(["products.jsonl": row + "\n"])
        #expect(r.catalog.products.first?.title == "Café 👗 dress")
        #expect(r.catalog.products.first?.price == 12)
        #expect(r.catalog.products.first?.gender == nil)
        #expect(r.diagnostics.isEmpty)
    }
}
