import LookbookCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `items` text of a list row (`complementary_lists.items`, `fitb_lists.items`):
/// a JSON array of `[item_id, score, reason_id]` triples, best first, so an item's
/// rank is its 1-based position in the array.
///
/// ```json
/// [["P0000042",0.98765,17],["P0001337",0.9,3]]
/// ```
///
/// Written without spaces. A score is written as the shortest decimal that round-trips
/// the score rounded to a `Float` (at most 9 significant digits: `0.8`, `1e-05`,
/// `-0.25`), which keeps the text short, the bytes deterministic and the reader's
/// parse on its fast path (an exact integer times or over an exact power of ten). A
/// score beyond `Float`'s range is written `9e999` / `-9e999`, as SQLite writes
/// infinities. Item ids are JSON strings (`"` `\` and control characters escaped, the
/// rest raw UTF-8); reason ids are non-negative integers.
///
/// The encoding is plain JSON so that SQLite's `json_each` can expand it (the
/// `complementary` and `fitb_candidates` views); the reader uses `ListItemsScanner`
/// instead, because a general JSON parser costs more than the rest of a lookup.
enum ListItems {
    /// Appends the array for `items`, numbering reasons through `reasons`.
    static func append(_ items: [ScoredProduct], reasons: inout ReasonIDs, to out: inout [UInt8]) {
        out.append(0x5B) // [
        for (n, item) in items.enumerated() {
            if n > 0 { out.append(0x2C) }
            out.append(0x5B)
            JSONText.appendString(item.productID.utf8, to: &out)
            out.append(0x2C)
            appendScore(item.score, to: &out)
            out.append(0x2C)
            appendInteger(reasons.id(for: item.reason), to: &out)
            out.append(0x5D)
        }
        out.append(0x5D) // ]
    }

    /// The score as the shortest decimal of its `Float` rounding. NaN is refused by
    /// the builder's validation before anything is written.
    static func appendScore(_ score: Double, to out: inout [UInt8]) {
        let rounded = Float(score)
        if rounded.isFinite {
            out.append(contentsOf: rounded.description.utf8)
        } else {
            out.append(contentsOf: (rounded < 0 ? "-9e999" : "9e999").utf8)
        }
    }

    static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        precondition(value >= 0, "reason ids are positive")
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = value, n = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[n] = UInt8(0x30 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(buffer[i]) }
        }
    }

    /// Decodes a whole array (tests, exports); the reader streams with the scanner.
    static func decode(_ text: String) throws(ListItemsScanner.Malformed) -> [ListItemsScanner.Item] {
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBufferPointer { utf8 -> Result<[ListItemsScanner.Item], ListItemsScanner.Malformed> in
            var scanner = ListItemsScanner(utf8)
            var items: [ListItemsScanner.Item] = []
            do throws(ListItemsScanner.Malformed) {
                while let item = try scanner.next() { items.append(item) }
            } catch {
                return .failure(error)
            }
            return .success(items)
        }
        return try result.get()
    }
}

/// Reads the items of one `items` text in order, straight from SQLite's buffer.
///
/// A hand-written scanner for exactly the shape `ListItems` writes (whitespace between
/// tokens is tolerated, any JSON string escape is decoded): the text is a few hundred
/// bytes and is read on every storefront lookup, where `JSONSerialization` or
/// `JSONDecoder` would cost several times the whole lookup. Ids of up to 15 UTF-8
/// bytes become small `String`s, stored inline without a heap allocation.
///
/// The buffer must stay valid while the scanner is used (SQLite's column text is valid
/// until the statement steps or resets).
struct ListItemsScanner {
    struct Item: Equatable {
        var id: String
        var score: Double
        var reasonID: Int
    }

    /// The text is not an array of `[string, number, integer]` triples.
    struct Malformed: Error, Equatable {
        /// Byte offset where reading stopped.
        var offset: Int
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var started = false
    private var finished = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The next item, or nil after the last one (the closing `]` and nothing after it).
    @inline(__always)
    mutating func next() throws(Malformed) -> Item? {
        if finished { return nil }
        skipSpace()
        if !started {
            try expect(0x5B)
            started = true
            skipSpace()
            if peek() == 0x5D { return try finish() }
        } else {
            if peek() == 0x5D { return try finish() }
            try expect(0x2C)
        }
        skipSpace()
        try expect(0x5B)
        skipSpace()
        let id = try string()
        skipSpace()
        try expect(0x2C)
        skipSpace()
        let score = try number()
        skipSpace()
        try expect(0x2C)
        skipSpace()
        let reasonID = try integer()
        skipSpace()
        try expect(0x5D)
        return Item(id: id, score: score, reasonID: reasonID)
    }

    private mutating func finish() throws(Malformed) -> Item? {
        i += 1
        skipSpace()
        guard i == bytes.count else { throw Malformed(offset: i) }
        finished = true
        return nil
    }

    @inline(__always)
    private func peek() -> UInt8 { i < bytes.count ? bytes[i] : 0 }

    @inline(__always)
    private mutating func expect(_ byte: UInt8) throws(Malformed) {
        guard i < bytes.count, bytes[i] == byte else { throw Malformed(offset: i) }
        i += 1
    }

    @inline(__always)
    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    @inline(__always)
    private mutating func string() throws(Malformed) -> String {
        try expect(0x22)
        let start = i
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x22 {
                i += 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)]), as: UTF8.self)
            }
            if byte == 0x5C { return try escapedString(from: start) }
            i += 1
        }
        throw Malformed(offset: i)
    }

    /// The rare id with an escape: decoded byte by byte.
    @inline(never)
    private mutating func escapedString(from start: Int) throws(Malformed) -> String {
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            switch byte {
            case 0x22: return String(decoding: out, as: UTF8.self)
            case 0x5C:
                guard i < bytes.count else { throw Malformed(offset: i) }
                let escape = bytes[i]
                i += 1
                switch escape {
                case 0x22, 0x5C, 0x2F: out.append(escape)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by `\u` and a low one.
                        guard i + 1 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else { throw Malformed(offset: i) }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Malformed(offset: i) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw Malformed(offset: i) }
                    out.append(contentsOf: UTF8.encode(unicode)!)
                default: throw Malformed(offset: i - 1)
                }
            default: out.append(byte)
            }
        }
        throw Malformed(offset: i)
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard i + 4 <= bytes.count else { throw Malformed(offset: i) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw Malformed(offset: i)
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }

    /// Exact powers of ten as doubles: 10^0 … 10^22 are all representable.
    private static let powersOfTen: [Double] = (0...22).map { n in (0..<n).reduce(1.0) { r, _ in r * 10 } }

    /// A JSON number. Fast path (Clinger): at most 15 significant digits and a decimal
    /// exponent within ±22, where one multiplication or division of two exact doubles
    /// is correctly rounded. Anything else goes to `strtod`.
    @inline(__always)
    private mutating func number() throws(Malformed) -> Double {
        let start = i
        var negative = false
        if peek() == 0x2D { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, exponent = 0
        let intStart = i
        while i < bytes.count, bytes[i] &- 0x30 < 10 {
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 0x30)
                if mantissa != 0 { digits += 1 }
            } else {
                exponent += 1
            }
            i += 1
        }
        guard i > intStart else { throw Malformed(offset: i) }
        if peek() == 0x2E {
            i += 1
            let fracStart = i
            while i < bytes.count, bytes[i] &- 0x30 < 10 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 0x30)
                    if mantissa != 0 { digits += 1 }
                    exponent -= 1
                }
                i += 1
            }
            guard i > fracStart else { throw Malformed(offset: i) }
        }
        if peek() | 0x20 == 0x65 { // e or E
            i += 1
            var expNegative = false
            if peek() == 0x2D { expNegative = true; i += 1 } else if peek() == 0x2B { i += 1 }
            let expStart = i
            var e = 0
            while i < bytes.count, bytes[i] &- 0x30 < 10 {
                if e < 100_000 { e = e * 10 + Int(bytes[i] &- 0x30) }
                i += 1
            }
            guard i > expStart else { throw Malformed(offset: i) }
            exponent += expNegative ? -e : e
        }
        if digits <= 15, (-22...22).contains(exponent) {
            var value = Double(mantissa)
            if exponent < 0 { value /= Self.powersOfTen[-exponent] } else { value *= Self.powersOfTen[exponent] }
            return negative ? -value : value
        }
        return slowNumber(from: start)
    }

    /// Correctly rounded by the C library, for the rare score the fast path cannot
    /// take (a tiny or huge exponent, `9e999`).
    @inline(never)
    private func slowNumber(from start: Int) -> Double {
        var text = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        text.append(0)
        return text.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { strtod($0, nil) }
        }
    }

    @inline(__always)
    private mutating func integer() throws(Malformed) -> Int {
        let start = i
        var value = 0
        while i < bytes.count, bytes[i] &- 0x30 < 10 {
            guard i - start < 18 else { throw Malformed(offset: i) }
            value = value * 10 + Int(bytes[i] &- 0x30)
            i += 1
        }
        guard i > start else { throw Malformed(offset: i) }
        return value
    }
}
