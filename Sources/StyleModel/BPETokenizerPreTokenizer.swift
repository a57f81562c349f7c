/// GPT-2's pre-tokenisation and byte-level alphabet, the two pieces that make a
/// `BPETokenizer` agree with a Hugging Face `ByteLevel` pre-tokenizer (`use_regex: true`,
/// `add_prefix_space: false`).
///
/// The split is GPT-2's regular expression, implemented by hand over Unicode scalars:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// so a word keeps its leading space (" shirt"), digits and punctuation are separate
/// pre-tokens, and a run of CJK characters (all `\p{L}`) is one pre-token. Keeping CJK
/// runs whole lets frequent Chinese words such as 衬衫 become single tokens although the
/// text has no spaces, and it is what Python tools do when they load the tokenizer.json,
/// so both sides split the same way.
enum ByteLevel {
    /// GPT-2's `bytes_to_unicode`: byte → a printable scalar, so a token's bytes can be a
    /// JSON string key (space is "Ġ", newline "Ċ").
    static let byteToScalar: [Unicode.Scalar] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var scalars = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            scalars.append(256 + extra)
            extra += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, s) in zip(printable, scalars) { table[b] = Unicode.Scalar(UInt32(s))! }
        return table
    }()

    /// The inverse of `byteToScalar`, keyed by scalar value.
    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The byte-level spelling of `bytes`, as it appears in tokenizer.json.
    static func string(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// The bytes of a byte-level spelling, or nil when it uses a scalar outside the alphabet.
    static func bytes(_ string: String) -> [UInt8]? {
        var out: [UInt8] = []
        for s in string.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return nil }
            out.append(b)
        }
        return out
    }
}

/// The classes GPT-2's expression distinguishes.
private enum ScalarClass { case letter, number, space, other }

private func scalarClass(_ s: Unicode.Scalar) -> ScalarClass {
    if s.value < 0x80 {  // fast path for ASCII
        let v = s.value
        if (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) { return .letter }
        if v >= 0x30 && v <= 0x39 { return .number }
        if v == 0x20 || (v >= 0x09 && v <= 0x0D) { return .space }
        return .other
    }
    if s.properties.isWhitespace { return .space }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return .other
    }
}

/// Calls `body` with the UTF-8 byte range of each pre-token of `text`, in order; the
/// ranges tile the text exactly, so concatenating the pre-tokens gives `text` back.
func forEachPreToken(_ text: String, _ body: (Range<Int>) -> Void) {
    var scalars: [Unicode.Scalar] = []
    var offsets: [Int] = []  // UTF-8 offset of each scalar, plus the end
    scalars.reserveCapacity(text.utf8.count)
    offsets.reserveCapacity(text.utf8.count + 1)
    var offset = 0
    for s in text.unicodeScalars {
        scalars.append(s)
        offsets.append(offset)
        offset += UTF8.width(s)
    }
    offsets.append(offset)
    let classes = scalars.map(scalarClass)
    let n = scalars.count
    var pos = 0
    while pos < n {
        let end = preTokenEnd(scalars, classes, pos)
        body(offsets[pos]..<offsets[end])
        pos = end
    }
}

/// The end (exclusive, in scalars) of the pre-token that starts at `pos`.
private func preTokenEnd(_ scalars: [Unicode.Scalar], _ classes: [ScalarClass], _ pos: Int) -> Int {
    let n = scalars.count
    // 's|'t|'re|'ve|'m|'ll|'d
    if scalars[pos] == "'", pos + 1 < n {
        let a = scalars[pos + 1]
        if a == "s" || a == "t" || a == "m" || a == "d" { return pos + 2 }
        if pos + 2 < n {
            let b = scalars[pos + 2]
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return pos + 3 }
        }
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
    var first = pos
    if scalars[pos] == " ", pos + 1 < n, classes[pos + 1] != .space { first = pos + 1 }
    let cls = classes[first]
    if cls != .space {
        var end = first + 1
        while end < n, classes[end] == cls { end += 1 }
        return end
    }
    // `\s+(?!\S)` then `\s+`: a run of spaces leaves its last one to the next word.
    var end = pos + 1
    while end < n, classes[end] == .space { end += 1 }
    if end < n, end - pos >= 2 { return end - 1 }
    return end
}
