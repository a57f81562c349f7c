@testable import CatalogIngest
import Testing

@Suite struct ParsingTests {
    private func lines(_ text: String, blockSize: Int) -> [(String, Int)] {
        var splitter = LineSplitter()
        var out: [(String, Int)] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let block = Array(bytes[i..<min(bytes.count, i + blockSize)])
            block.withUnsafeBytes { splitter.feed($0) { out.append((String(decoding: $0, as: UTF8.self), $1)) } }
            i += blockSize
        }
        splitter.finish { out.append((String(decoding: $0, as: UTF8.self), $1)) }
        return out
    }

    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func linesSplitAcrossBlocks(blockSize: Int) {
        let got = lines("\u{FEFF}first\r\nsecond line\n\nlast, no newline", blockSize: blockSize)
        #expect(got.map(\.0) == ["first", "second line", "", "last, no newline"])
        #expect(got.map(\.1) == [1, 2, 3, 4])
    }

    @Test(arguments: [1, 5, 4096])
    func csvRecordsAcrossBlocks(blockSize: Int) {
        var scanner = CSVScanner()
        var records: [CSVScanner.Record] = []
        let bytes = Array("a,b\r\n\"x, \"\"y\"\"\nz\",2\n\nlast,3".utf8)
        var i = 0
        while i < bytes.count {
            Array(bytes[i..<min(bytes.count, i + blockSize)]).withUnsafeBytes { scanner.feed($0) { records.append($0) } }
            i += blockSize
        }
        scanner.finish { records.append($0) }
        #expect(records.map { $0.fields.map { String(decoding: $0, as: UTF8.self) } } == [["a", "b"], ["x, \"y\"\nz", "2"], ["last", "3"]])
        #expect(records.map(\.line) == [1, 2, 5])
    }

    @Test(arguments: [
        ("{\"a\":1}", true), ("[1,2.5,-3e2,true,false,null,\"x\"]", true), ("{\"a\":{\"b\":[]}}", true),
        ("{\"a\":1,}", false), ("{'a':1}", false), ("[01]", false), ("\"\\x\"", false), ("{\"a\":1} x", false),
        ("{\"a\":1,\"a\":2}", false), ("\"tab\there\"", false), ("[1.]", false), ("", false),
        (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), false),
    ])
    func jsonAcceptsExactlyValidJSON(text: String, valid: Bool) {
        let ok = (try? JSONScanner.parse(Array(text.utf8))) != nil
        #expect(ok == valid)
    }

    @Test func jsonValues() throws {
        let v = try JSONScanner.parse(Array(#"{"s":"a\"b\\c\/\n\u00e9","n":-12,"f":1.5,"big":12345678901234567890}"#.utf8))
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o["s"] == .string("a\"b\\c/\né"))
        #expect(o["n"] == .number(-12, integral: true))
        #expect(o["f"] == .number(1.5, integral: false))
        // A number past Int64 is read as the nearest Double (12345678901234567890 is not one).
        #expect(o["big"] == .number(12_345_678_901_234_567_168, integral: true))
    }

    @Test(arguments: [([0x61, 0x62], true), ([0xC3, 0xA9], true), ([0xC3, 0x28], false), ([0xED, 0xA0, 0x80], false), ([0xF0, 0x9F, 0x91], false)])
    func utf8Validation(bytes: [UInt8], valid: Bool) {
        #expect(bytes.withUnsafeBytes { isValidUTF8($0) } == valid)
    }
}
