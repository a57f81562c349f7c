import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One tensor of a checkpoint: a row-major shape and its values.
public struct NamedTensor: Sendable, Equatable {
    /// Row-major dimensions; `[]` is a scalar. `values.count` is their product.
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// Why a safetensors file cannot be read or written, with the tensor and byte offset
/// where that is known.
public struct SafeTensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The file ends before its header or its data does.
        case truncated
        /// The header length field is absurd (more than `SafeTensors.maxHeaderLength`).
        case headerTooLarge = "header-too-large"
        /// The header is not the JSON object the format prescribes.
        case badHeader = "bad-header"
        case unknownDtype = "unknown-dtype"
        /// A shape does not match its values or its byte range.
        case shapeMismatch = "shape-mismatch"
        /// A byte range reaches past the data buffer.
        case outOfBounds = "out-of-bounds"
        /// Byte ranges overlap, leave a gap, or leave bytes unclaimed at the end.
        case layout
        case duplicateName = "duplicate-name"
        /// NaN or infinity in a tensor being written: a training bug, not a checkpoint.
        case nonFinite = "non-finite"
        case io
    }

    public var code: Code
    public var message: String
    /// The tensor concerned, if one is.
    public var tensor: String?
    /// The file concerned, set by `read` and `write`.
    public var file: String?

    public init(_ code: Code, _ message: String, tensor: String? = nil, file: String? = nil) {
        self.code = code; self.message = message; self.tensor = tensor; self.file = file
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let tensor { parts.append("tensor '\(tensor)'") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// The safetensors checkpoint format (Hugging Face), which PyTorch, numpy and MLX open.
///
/// Layout: an 8-byte little-endian header length N; N bytes of a JSON object mapping each
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional
/// `"__metadata__"` of string pairs, padded with spaces to a multiple of 8; then the data
/// buffer, where offsets count from the buffer's start. Tensors tile the buffer exactly.
///
/// Writing produces F32 in sorted-name (UTF-8 byte) order with sorted metadata keys and a
/// compact header, as the reference Rust implementation does for same-dtype files, so a
/// checkpoint's bytes depend only on its contents.
public enum SafeTensors {
    /// The largest header accepted: the reference implementation's own limit (100 MB).
    public static let maxHeaderLength = 100_000_000

    enum DType: String {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"
        var size: Int { self == .f32 ? 4 : 2 }
    }

    /// Dtypes the format defines that StyleLM checkpoints never hold.
    static let unsupportedDTypes: Set<String> = [
        "BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F64",
        "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    ]

    // MARK: Encoding

    /// The bytes of a safetensors file holding `tensors` as little-endian F32.
    ///
    /// Throws when a shape does not match its values, a name is empty or reserved, or a
    /// value is NaN or infinite.
    public static func encode(_ tensors: [String: NamedTensor], metadata: [String: String] = [:]) throws(SafeTensorsError) -> [UInt8] {
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            header += pairs.map { jsonString($0.key) + ":" + jsonString($0.value) }.joined(separator: ",")
            header += "}"
        }
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            if name.isEmpty || name == "__metadata__" {
                throw SafeTensorsError(.badHeader, "tensor name '\(name)' is empty or reserved", tensor: name)
            }
            guard let count = elementCount(tensor.shape) else {
                throw SafeTensorsError(.shapeMismatch, "shape \(tensor.shape) has a negative dimension or is too large", tensor: name)
            }
            guard count == tensor.values.count else {
                throw SafeTensorsError(.shapeMismatch, "shape \(tensor.shape) holds \(count) values but \(tensor.values.count) were given", tensor: name)
            }
            if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
                throw SafeTensorsError(.nonFinite,
                    "value \(bad) is \(tensor.values[bad]); a checkpoint must hold finite numbers (NaN or infinity means training diverged)",
                    tensor: name)
            }
            if header.count > 1 { header += "," }
            let end = offset + 4 * count
            header += jsonString(name) + ":{\"dtype\":\"F32\",\"shape\":[" + tensor.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))

        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for name in names {
            for v in tensors[name]!.values {
                withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// `"…"` with the escapes serde_json and Python's `json.dumps(ensure_ascii=False)` use.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The product of `shape`, or nil for a negative dimension or an overflow.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            count = p
        }
        return count
    }

    // MARK: Decoding

    /// Reads a safetensors file: F32, F16 and BF16 tensors, converted to Float.
    ///
    /// Every structural rule is checked before any value is read, and every failure is a
    /// thrown `SafeTensorsError`, whatever the bytes.
    public static func decode(_ bytes: [UInt8]) throws(SafeTensorsError) -> (tensors: [String: NamedTensor], metadata: [String: String]) {
        guard bytes.count >= 8 else {
            throw SafeTensorsError(.truncated, "the file has \(bytes.count) bytes, fewer than the 8 of the header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(maxHeaderLength) else {
            throw SafeTensorsError(.headerTooLarge, "the header length \(length) is beyond the \(maxHeaderLength)-byte limit: not a safetensors file or a corrupt one")
        }
        let headerLength = Int(length)
        guard 8 + headerLength <= bytes.count else {
            throw SafeTensorsError(.truncated, "the header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let headerBytes = bytes[8..<(8 + headerLength)]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw SafeTensorsError(.badHeader, "the header does not start with '{' (byte 8)")
        }
        guard let headerText = String(validating: headerBytes, as: UTF8.self) else {
            throw SafeTensorsError(.badHeader, "the header is not valid UTF-8")
        }
        let root: HeaderJSON
        do {
            var parser = HeaderParser(Array(headerText.utf8))
            root = try parser.parseDocument()
        } catch let failure {
            throw SafeTensorsError(.badHeader, "the header is not valid JSON at header byte \(failure.offset): \(failure.message)")
        }
        guard case .object(let entries) = root else {
            throw SafeTensorsError(.badHeader, "the header is not a JSON object")
        }

        struct Entry { var name: String; var dtype: DType; var shape: [Int]; var begin: Int; var end: Int }
        var metadata: [String: String] = [:]
        var entries_: [Entry] = []
        var seen = Set<String>()
        for (name, value) in entries {
            guard seen.insert(name).inserted else {
                throw SafeTensorsError(.duplicateName, "the header names this tensor more than once", tensor: name)
            }
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw SafeTensorsError(.badHeader, "__metadata__ must be an object of strings")
                }
                for (key, v) in pairs {
                    guard case .string(let s) = v else {
                        throw SafeTensorsError(.badHeader, "__metadata__ value for '\(key)' must be a string")
                    }
                    guard metadata.updateValue(s, forKey: key) == nil else {
                        throw SafeTensorsError(.duplicateName, "__metadata__ has the key '\(key)' more than once")
                    }
                }
                continue
            }
            entries_.append(try parseEntry(name, value))
        }

        func parseEntry(_ name: String, _ value: HeaderJSON) throws(SafeTensorsError) -> Entry {
            guard case .object(let fields) = value else {
                throw SafeTensorsError(.badHeader, "the entry is not an object", tensor: name)
            }
            var dtype: String?, shapeJSON: HeaderJSON?, offsetsJSON: HeaderJSON?
            for (key, v) in fields {
                switch key {
                case "dtype":
                    guard dtype == nil, case .string(let s) = v else { throw SafeTensorsError(.badHeader, "\"dtype\" must be one string", tensor: name) }
                    dtype = s
                case "shape":
                    guard shapeJSON == nil else { throw SafeTensorsError(.badHeader, "\"shape\" is given twice", tensor: name) }
                    shapeJSON = v
                case "data_offsets":
                    guard offsetsJSON == nil else { throw SafeTensorsError(.badHeader, "\"data_offsets\" is given twice", tensor: name) }
                    offsetsJSON = v
                default: continue
                }
            }
            guard let dtype else { throw SafeTensorsError(.badHeader, "the entry has no \"dtype\"", tensor: name) }
            guard let type = DType(rawValue: dtype) else {
                if unsupportedDTypes.contains(dtype) {
                    throw SafeTensorsError(.unknownDtype, "dtype \(dtype) is not supported (only F32, F16 and BF16 are)", tensor: name)
                }
                throw SafeTensorsError(.unknownDtype, "unknown dtype '\(dtype)'", tensor: name)
            }
            guard let shapeJSON, let shape = integers(shapeJSON) else {
                throw SafeTensorsError(.badHeader, "\"shape\" must be an array of non-negative integers", tensor: name)
            }
            guard let offsetsJSON, let offsets = integers(offsetsJSON), offsets.count == 2 else {
                throw SafeTensorsError(.badHeader, "\"data_offsets\" must be two non-negative integers [begin, end]", tensor: name)
            }
            return Entry(name: name, dtype: type, shape: shape, begin: offsets[0], end: offsets[1])
        }

        // Layout: ranges in bounds, of the right size, tiling the buffer with no gap or overlap.
        let bufferStart = 8 + headerLength
        let bufferLength = bytes.count - bufferStart
        for e in entries_ {
            guard e.begin <= e.end else {
                throw SafeTensorsError(.layout, "data_offsets [\(e.begin), \(e.end)] end before they begin", tensor: e.name)
            }
            guard e.end <= bufferLength else {
                throw SafeTensorsError(.outOfBounds, "data_offsets [\(e.begin), \(e.end)] reach past the \(bufferLength)-byte data buffer", tensor: e.name)
            }
            guard let count = elementCount(e.shape), case let (size, overflow) = count.multipliedReportingOverflow(by: e.dtype.size),
                  !overflow, size == e.end - e.begin else {
                throw SafeTensorsError(.shapeMismatch,
                    "shape \(e.shape) of \(e.dtype.rawValue) does not fill data_offsets [\(e.begin), \(e.end)] (\(e.end - e.begin) bytes)", tensor: e.name)
            }
        }
        let ordered = entries_.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for e in ordered {
            if e.begin < expected {
                throw SafeTensorsError(.layout, "data_offsets [\(e.begin), \(e.end)] overlap the tensor before, which ends at \(expected)", tensor: e.name)
            }
            if e.begin > expected {
                throw SafeTensorsError(.layout, "data_offsets [\(e.begin), \(e.end)] leave a gap after byte \(expected)", tensor: e.name)
            }
            expected = e.end
        }
        guard expected == bufferLength else {
            throw SafeTensorsError(.layout, "the tensors cover \(expected) bytes but the data buffer has \(bufferLength)")
        }

        var tensors: [String: NamedTensor] = [:]
        bytes.withUnsafeBytes { raw in
            for e in entries_ {
                let base = bufferStart + e.begin
                let count = (e.end - e.begin) / e.dtype.size
                let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    switch e.dtype {
                    case .f32:
                        for i in 0..<count {
                            out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self)))
                        }
                    case .f16:
                        for i in 0..<count {
                            out[i] = halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self)))
                        }
                    case .bf16:
                        for i in 0..<count {
                            let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self))
                            out[i] = Float(bitPattern: UInt32(bits) << 16)
                        }
                    }
                    initialized = count
                }
                tensors[e.name] = NamedTensor(shape: e.shape, values: values)
            }
        }
        return (tensors, metadata)
    }

    private static func integers(_ value: HeaderJSON) -> [Int]? {
        guard case .array(let items) = value else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .number(let text) = item, let n = Int(text), n >= 0 else { return nil }
            out.append(n)
        }
        return out
    }

    /// IEEE 754 binary16 to binary32, exactly (subnormals, infinities and NaN included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0: return sign * Float(mantissa) * 0x1p-24
        case 31: return Float(bitPattern: (UInt32(h & 0x8000) << 16) | 0x7F80_0000 | (mantissa << 13))
        default: return Float(bitPattern: (UInt32(h & 0x8000) << 16) | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    // MARK: Files

    /// Writes `encode(tensors, metadata:)` to `url` atomically: a temp file in the same
    /// directory, fsynced, then renamed over `url`, so a reader sees the old file or the
    /// whole new one. Nothing touches disk if encoding fails.
    public static func write(_ tensors: [String: NamedTensor], metadata: [String: String] = [:], to url: URL) throws(SafeTensorsError) {
        let bytes: [UInt8]
        do throws(SafeTensorsError) { bytes = try encode(tensors, metadata: metadata) } catch var error {
            error.file = url.path
            throw error
        }
        try DurableFile.replace(url.path, with: bytes)
    }

    /// Reads and decodes the file at `url`; errors name the file.
    public static func read(_ url: URL) throws(SafeTensorsError) -> (tensors: [String: NamedTensor], metadata: [String: String]) {
        let bytes = try DurableFile.read(url.path)
        do throws(SafeTensorsError) { return try decode(bytes) } catch var error {
            error.file = url.path
            throw error
        }
    }
}

/// Whole-file reads and crash-safe writes through POSIX calls, each return code checked.
enum DurableFile {
    static func ioError(_ what: String, _ path: String) -> SafeTensorsError {
        let code = errno
        return SafeTensorsError(.io, "\(what) failed: \(String(cString: strerror(code))) (errno \(code))", file: path)
    }

    static func read(_ path: String) throws(SafeTensorsError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError("stat", path) }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("read", path)
            }
            if n == 0 { bytes.removeLast(size - done); break }
            done += n
        }
        return bytes
    }

    /// Creates `path` (which must not exist), writes `bytes` and fsyncs it.
    static func create(_ path: String, with bytes: [UInt8]) throws(SafeTensorsError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError("create", path) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("write", path)
            }
            done += n
        }
        guard fsync(fd) == 0 else { throw ioError("fsync", path) }
    }

    /// Makes renames and creations inside a directory durable.
    static func syncDirectory(_ path: String) throws(SafeTensorsError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("fsync directory", path) }
    }

    /// Temp file + fsync + `rename(2)` + directory fsync.
    static func replace(_ path: String, with bytes: [UInt8]) throws(SafeTensorsError) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        do throws(SafeTensorsError) {
            try create(temp, with: bytes)
            guard rename(temp, path) == 0 else { throw ioError("rename to", path) }
        } catch {
            unlink(temp)
            throw error
        }
        try syncDirectory(directory)
    }
}

// MARK: Header JSON

/// The JSON of a header: object entries keep their order and duplicates (so duplicate
/// tensor names are caught), numbers keep their text (so offsets stay exact integers).
enum HeaderJSON {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([HeaderJSON])
    case object([(String, HeaderJSON)])
}

/// A strict RFC 8259 parser for headers, with a depth limit so hostile nesting cannot
/// exhaust the stack. Input is valid UTF-8 (checked by the caller).
struct HeaderParser {
    struct Failure: Error { var offset: Int; var message: String }

    private let b: [UInt8]
    private var i = 0
    private var depth = 0
    private static let maxDepth = 32

    init(_ bytes: [UInt8]) { b = bytes }

    mutating func parseDocument() throws(Failure) -> HeaderJSON {
        let value = try parseValue()
        skipSpace()
        guard i == b.count else { throw Failure(offset: i, message: "unexpected text after the header object") }
        return value
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private func fail(_ message: String) -> Failure { Failure(offset: i, message: message) }

    private mutating func expect(_ c: UInt8) throws(Failure) {
        skipSpace()
        guard i < b.count, b[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    private mutating func parseValue() throws(Failure) -> HeaderJSON {
        skipSpace()
        guard i < b.count else { throw fail("unexpected end of header") }
        switch b[i] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            i += 1
            var entries: [(String, HeaderJSON)] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(entries) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try parseString()
                try expect(UInt8(ascii: ":"))
                entries.append((key, try parseValue()))
                skipSpace()
                guard i < b.count else { throw fail("unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(entries) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            i += 1
            var items: [HeaderJSON] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try parseValue())
                skipSpace()
                guard i < b.count else { throw fail("unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: String) throws(Failure) {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<(i + w.count)]) == w else { throw fail("expected \(word)") }
        i += w.count
    }

    private mutating func parseNumber() throws(Failure) -> String {
        let start = i
        func digits(_ i: inout Int, _ b: [UInt8]) -> Int {
            let s = i
            while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
            return i - s
        }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { throw fail("truncated number") }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits(&i, b) == 0 { throw fail("expected a digit") }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&i, b) > 0 else { throw fail("expected a digit after '.'") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&i, b) > 0 else { throw fail("expected a digit in the exponent") }
        }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    private mutating func parseString() throws(Failure) -> String {
        i += 1  // opening quote
        var chunkStart = i
        var out = ""
        func hex4(_ i: inout Int, _ b: [UInt8]) -> UInt32? {
            guard i + 4 <= b.count else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let d = Character(Unicode.Scalar(b[i + k])).hexDigitValue else { return nil }
                v = v << 4 | UInt32(d)
            }
            i += 4
            return v
        }
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                out += String(decoding: b[chunkStart..<i], as: UTF8.self)
                i += 1
                return out
            }
            if c < 0x20 { throw fail("control character in a string") }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            out += String(decoding: b[chunkStart..<i], as: UTF8.self)
            i += 1
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out += "\""
            case UInt8(ascii: "\\"): out += "\\"
            case UInt8(ascii: "/"): out += "/"
            case UInt8(ascii: "b"): out += "\u{08}"
            case UInt8(ascii: "f"): out += "\u{0C}"
            case UInt8(ascii: "n"): out += "\n"
            case UInt8(ascii: "r"): out += "\r"
            case UInt8(ascii: "t"): out += "\t"
            case UInt8(ascii: "u"):
                guard var v = hex4(&i, b) else { throw fail("bad \\u escape") }
                if (0xD800..<0xDC00).contains(v) {
                    guard i + 2 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else { throw fail("lone surrogate") }
                    i += 2
                    guard let low = hex4(&i, b), (0xDC00..<0xE000).contains(low) else { throw fail("lone surrogate") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(v) else { throw fail("lone surrogate") }
                out.unicodeScalars.append(scalar)
            default: throw fail("bad escape")
            }
            chunkStart = i
        }
    }
}
