import Foundation

/// A byte-level BPE tokenizer (GPT-2 style) for StyleLM.
///
/// Text is UTF-8 bytes and every one of the 256 byte values is a token, so any string
/// encodes without an unknown token. Merges are learned from product text by `train` and
/// never cross a pre-token boundary (see `forEachPreToken`: GPT-2's split, a word with
/// its leading space, CJK runs whole). Case is kept; normalising is the caller's choice.
///
/// Id order of a trained tokenizer: the special tokens first, `0..<specialTokens.count`,
/// in the order given (so `["<pad>", "<bos>", "<eos>"]` makes `<pad>` id 0); then the 256
/// bytes in byte order; then one token per merge in the order learned. A tokenizer read
/// from a tokenizer.json keeps that file's ids, whatever their order.
///
/// Special tokens are never produced by `encode`: their text inside ordinary input is
/// encoded as ordinary bytes, so a product title cannot inject an end-of-sequence.
/// (Python's `tokenizers` does match added tokens in text; set `split_special_tokens`
/// there to get the same ids.)
public struct BPETokenizer: Sendable, Equatable {
    /// One vocabulary entry.
    enum Token: Sendable, Equatable {
        case bytes([UInt8])
        case special(String)
    }

    /// Indexed by id.
    let tokens: [Token]
    /// The merges in rank order: rank `r` joins `merges[r].left` and `merges[r].right`
    /// into `merges[r].result`.
    let merges: [Merge]
    public let specialTokens: [String]
    let specialIDs: [String: Int32]
    /// The id of each single byte.
    let byteIDs: [Int32]
    /// `pairKey(left, right)` → rank in `merges`.
    let mergeRanks: [UInt64: Int32]
    private let cache = EncodeCache()

    struct Merge: Sendable, Equatable {
        var left: Int32
        var right: Int32
        var result: Int32
    }

    /// Checked by `init(json:)` or built by `train`; `byteIDs` must cover all 256 bytes.
    init(tokens: [Token], merges: [Merge], specialTokens: [String], byteIDs: [Int32]) {
        precondition(byteIDs.count == 256, "a byte-level tokenizer needs an id for each byte")
        self.tokens = tokens
        self.merges = merges
        self.specialTokens = specialTokens
        self.byteIDs = byteIDs
        var specials: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() {
            if case .special(let s) = token { specials[s] = Int32(id) }
        }
        specialIDs = specials
        var ranks: [UInt64: Int32] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, m) in merges.enumerated() where ranks[pairKey(m.left, m.right)] == nil {
            ranks[pairKey(m.left, m.right)] = Int32(rank)
        }
        mergeRanks = ranks
    }

    /// Every token, the special tokens included.
    public var vocabSize: Int { tokens.count }

    /// The id of a special token, or nil when `token` is not one of `specialTokens`.
    public func id(ofSpecial token: String) -> Int32? { specialIDs[token] }

    /// Ids of ordinary text. Special-token text inside it encodes as ordinary bytes.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 1)
        let utf8 = Array(text.utf8)
        forEachPreToken(text) { range in
            let word = utf8[range]
            if let hit = cache.lookup(word) {
                ids.append(contentsOf: hit)
            } else {
                let pieces = encodeWord(word)
                cache.store(word, pieces)
                ids.append(contentsOf: pieces)
            }
        }
        return ids
    }

    /// BPE on one pre-token: repeatedly apply the lowest-ranked merge among adjacent pairs.
    func encodeWord(_ word: ArraySlice<UInt8>) -> [Int32] {
        word.count > Self.shortWord ? encodeLongWord(word) : encodeShortWord(word)
    }

    /// Up to this many bytes, rescanning the word after each merge beats keeping a heap.
    static let shortWord = 48

    /// Scans all pairs for the lowest rank, then joins its occurrences left to right:
    /// O(length × merges applied), fast for words.
    func encodeShortWord(_ word: ArraySlice<UInt8>) -> [Int32] {
        var symbols = word.map { byteIDs[Int($0)] }
        while symbols.count > 1 {
            var bestRank = Int32.max
            var bestAt = -1
            for i in 0..<(symbols.count - 1) {
                if let rank = mergeRanks[pairKey(symbols[i], symbols[i + 1])], rank < bestRank {
                    bestRank = rank
                    bestAt = i
                }
            }
            if bestAt < 0 { break }
            let m = merges[Int(bestRank)]
            // Join every non-overlapping occurrence of this pair, left to right, in place.
            var read = bestAt, write = bestAt
            while read < symbols.count {
                if read + 1 < symbols.count, symbols[read] == m.left, symbols[read + 1] == m.right {
                    symbols[write] = m.result
                    read += 2
                } else {
                    symbols[write] = symbols[read]
                    read += 1
                }
                write += 1
            }
            symbols.removeLast(symbols.count - write)
        }
        return symbols
    }

    /// The same result as `encodeShortWord` in O(n log n), for long pre-tokens (a page of
    /// Chinese without spaces, a long run of punctuation): a linked list of symbols and a
    /// min-heap of (rank, position) candidates, stale ones skipped when popped. Equal ranks
    /// pop leftmost first, which is the left-to-right order of the short version.
    func encodeLongWord(_ word: ArraySlice<UInt8>) -> [Int32] {
        var ids = word.map { byteIDs[Int($0)] }
        let n = ids.count
        var next = Array(1...n)  // n = none
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        // rank << 32 | position: one integer comparison orders by rank, then leftmost.
        var heap = BinaryHeap<UInt64>()
        func candidate(_ i: Int) {
            let j = next[i]
            if j < n, let rank = mergeRanks[pairKey(ids[i], ids[j])] { heap.push(pairKey(rank, Int32(i)), by: <) }
        }
        for i in 0..<n { candidate(i) }
        while let top = heap.pop(by: <) {
            let rank = Int32(truncatingIfNeeded: top >> 32), i = Int(UInt32(truncatingIfNeeded: top)), j = next[i]
            guard alive[i], j < n, mergeRanks[pairKey(ids[i], ids[j])] == rank else { continue }
            ids[i] = merges[Int(rank)].result
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0 { candidate(prev[i]) }
            candidate(i)
        }
        var out: [Int32] = []
        var i = 0
        while i < n { out.append(ids[i]); i = next[i] }
        return out
    }

    /// The text of `ids`. Special tokens decode to their string; bytes that do not form
    /// valid UTF-8 (a sequence cut in the middle of a character) and unknown ids decode
    /// as U+FFFD.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        for id in ids {
            guard id >= 0, Int(id) < tokens.count else {
                bytes.append(contentsOf: replacement)
                continue
            }
            switch tokens[Int(id)] {
            case .bytes(let b): bytes.append(contentsOf: b)
            case .special(let s): bytes.append(contentsOf: s.utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A readable form for debugging: a special token's string, or an ordinary token's
    /// byte-level spelling as in tokenizer.json ("Ġshirt" for " shirt"); nil for an
    /// unknown id.
    public func token(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        switch tokens[Int(id)] {
        case .bytes(let b): return ByteLevel.string(b)
        case .special(let s): return s
        }
    }

    public static func == (a: BPETokenizer, b: BPETokenizer) -> Bool {
        a.tokens == b.tokens && a.merges == b.merges && a.specialTokens == b.specialTokens
    }
}

/// A binary heap whose order the caller gives at each call (`before(x, y)`: x leaves
/// first), so an order that reads outside state — the trainer's byte strings — needs no
/// copy of it. Both the long-word encoder and the trainer use it.
struct BinaryHeap<Element> {
    private(set) var items: [Element] = []

    mutating func push(_ e: Element, by before: (Element, Element) -> Bool) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop(by before: (Element, Element) -> Bool) -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, before(items[l], items[best]) { best = l }
                if r < items.count, before(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}

@inline(__always) func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
}

/// Pre-token bytes → ids, shared by copies of one tokenizer. Bounded: cleared when full,
/// so a long stream of distinct words cannot grow memory without limit. Long pre-tokens
/// are not cached.
final class EncodeCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ArraySlice<UInt8>: [Int32]] = [:]
    static let capacity = 200_000
    static let longestKey = 64

    func lookup(_ word: ArraySlice<UInt8>) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func store(_ word: ArraySlice<UInt8>, _ ids: [Int32]) {
        guard word.count <= Self.longestKey else { return }
        let key = ArraySlice(Array(word))  // do not keep the caller's whole text alive
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = ids
    }
}
