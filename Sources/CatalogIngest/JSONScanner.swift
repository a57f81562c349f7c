/// A JSON value, as small as row validation needs.
///
/// Numbers keep their text so an integer field (`likes`) can be told from a fraction.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double, integral: Bool)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A strict RFC 8259 parser over raw bytes, one row at a time.
///
/// Why not `JSONDecoder`: a feed of 100k rows is parsed line by line straight out of the
/// archive's buffer; this scanner works on that buffer without copying the line, and
/// reports *where* a row is broken for the quarantine report. The caller validates
/// UTF-8 before parsing, so strings are decoded without repair.
struct JSONScanner {
    struct Failure: Error, Equatable {
        var offset: Int
        var message: String
    }

    private let p: UnsafeRawBufferPointer
    private var i = 0
    private var depth = 0
    private static let maxDepth = 64

    private init(_ p: UnsafeRawBufferPointer) { self.p = p }

    /// Parses one complete JSON text (surrounding whitespace allowed).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> JSONValue {
        var s = JSONScanner(bytes)
        s.skipSpace()
        let v = try s.value()
        s.skipSpace()
        guard s.i == s.p.count else { throw Failure(offset: s.i, message: "unexpected text after the JSON value") }
        return v
    }

    /// A row: an object's members in file order, looked up by a linear scan. Rows have
    /// a dozen short keys; a scan over them beats hashing every key into a dictionary.
    struct Fields {
        var pairs: [(key: String, value: JSONValue)] = []

        subscript(key: String) -> JSONValue? {
            get {
                for p in pairs where p.key == key { return p.value }
                return nil
            }
            set {
                if let i = pairs.firstIndex(where: { $0.key == key }) {
                    if let newValue { pairs[i].value = newValue } else { pairs.remove(at: i) }
                } else if let newValue {
                    pairs.append((key, newValue))
                }
            }
        }
    }

    enum Row {
        case fields(Fields)
        /// The line held valid JSON that is not an object.
        case notAnObject(JSONValue)
    }

    /// Parses one line of a JSON Lines file.
    static func parseRow(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> Row {
        var s = JSONScanner(bytes)
        s.skipSpace()
        let row: Row
        if s.i < s.p.count, s.p[s.i] == UInt8(ascii: "{") {
            row = .fields(try s.objectFields())
        } else {
            row = .notAnObject(try s.value())
        }
        s.skipSpace()
        guard s.i == s.p.count else { throw Failure(offset: s.i, message: "unexpected text after the JSON value") }
        return row
    }

    private mutating func objectFields() throws(Failure) -> Fields {
        i += 1
        var out = Fields()
        out.pairs.reserveCapacity(16)
        skipSpace()
        if i < p.count, p[i] == UInt8(ascii: "}") { i += 1; return out }
        while true {
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw fail("expected a \"key\"") }
            let key = try string()
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
            i += 1
            skipSpace()
            let v = try value()
            for pair in out.pairs where pair.key == key { throw fail("duplicate key \"\(key)\"") }
            out.pairs.append((key, v))
            skipSpace()
            guard i < p.count else { throw fail("unterminated object") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "}") { i += 1; return out }
            throw fail("expected ',' or '}'")
        }
    }

    static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        let result: Result<JSONValue, Failure> = bytes.withUnsafeBytes { raw in
            do throws(Failure) { return .success(try parse(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private mutating func skipSpace() {
        while i < p.count {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    private func fail(_ message: String) -> Failure { Failure(offset: i, message: message) }

    private mutating func value() throws(Failure) -> JSONValue {
        guard i < p.count else { throw fail("unexpected end of line") }
        switch p[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(p[i])))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= p.count else { throw fail("unexpected end of line") }
        let w = word.utf8Start
        for k in 0..<n where p[i + k] != w[k] { throw fail("invalid literal") }
        i += n
    }

    private mutating func object() throws(Failure) -> JSONValue {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        defer { depth -= 1 }
        i += 1
        var out: [String: JSONValue] = [:]
        out.reserveCapacity(16)
        skipSpace()
        if i < p.count, p[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
        while true {
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw fail("expected a \"key\"") }
            let key = try string()
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
            i += 1
            skipSpace()
            let v = try value()
            if out.updateValue(v, forKey: key) != nil { throw fail("duplicate key \"\(key)\"") }
            skipSpace()
            guard i < p.count else { throw fail("unterminated object") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func array() throws(Failure) -> JSONValue {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        defer { depth -= 1 }
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < p.count, p[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
        while true {
            skipSpace()
            out.append(try value())
            skipSpace()
            guard i < p.count else { throw fail("unterminated array") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func string() throws(Failure) -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in string") }
            i += 1
        }
        guard i < p.count else { throw fail("unterminated string") }
        var bytes = [UInt8](UnsafeRawBufferPointer(rebasing: p[start..<i]))
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: bytes, as: UTF8.self)
            }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") { bytes.append(b); i += 1; continue }
            i += 1
            guard i < p.count else { break }
            let e = p[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 1 < p.count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                bytes.append(contentsOf: UTF8.encode(u)!)
            default:
                throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        throw fail("unterminated string")
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= p.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = p[i]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = i
        var integral = true
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < p.count, isDigit(p[i]) else { throw fail("invalid number") }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < p.count, isDigit(p[i]) { i += 1 }
        }
        if i < p.count, p[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard i < p.count, isDigit(p[i]) else { throw fail("invalid number") }
            while i < p.count, isDigit(p[i]) { i += 1 }
        }
        if i < p.count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < p.count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < p.count, isDigit(p[i]) else { throw fail("invalid number") }
            while i < p.count, isDigit(p[i]) { i += 1 }
        }
        let text = UnsafeRawBufferPointer(rebasing: p[start..<i])
        // Short integers (prices in cents, likes) without going through String.
        if integral, text.count <= 15 {
            var v = 0
            var neg = false
            for b in text { if b == UInt8(ascii: "-") { neg = true } else { v = v * 10 + Int(b - 48) } }
            return .number(Double(neg ? -v : v), integral: true)
        }
        guard let d = Double(String(decoding: text, as: UTF8.self)), d.isFinite else {
            throw fail("number out of range")
        }
        return .number(d, integral: integral && d.rounded() == d)
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}

/// UTF-8 validity of a byte range; the ASCII case (most rows) is a single pass.
func isValidUTF8(_ p: UnsafeRawBufferPointer) -> Bool {
    var allASCII = true
    for b in p where b >= 0x80 { allASCII = false; break }
    if allASCII { return true }
    var it = p.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&it) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}
