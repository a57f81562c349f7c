extension BPETokenizer {
    /// Learns byte-level BPE merges from `texts` until the vocabulary holds `vocabSize`
    /// tokens (specials and the 256 bytes included), or no pair occurs at least
    /// `minFrequency` times — a small corpus stops early, so check `vocabSize` after.
    ///
    /// - `specialTokens`: get ids `0..<count` in this order; duplicates and empty strings
    ///   are dropped. When `vocabSize` is smaller than specials + 256, no merge is learned.
    /// - Deterministic: each distinct pre-token is counted once with its frequency, and
    ///   among pairs of equal count the one whose (left bytes, right bytes) is
    ///   lexicographically smallest is merged first. The result depends on the multiset of
    ///   texts only, not on their order.
    /// - A merge whose token would spell a special token's byte-level form is skipped, so
    ///   the vocabulary stays writable as a tokenizer.json.
    public static func train(_ texts: [String], vocabSize: Int, specialTokens: [String], minFrequency: Int = 2) -> BPETokenizer {
        var specials: [String] = []
        for s in specialTokens where !s.isEmpty && !specials.contains(s) { specials.append(s) }
        let banned = Set(specials.compactMap { ByteLevel.bytes($0) })

        var trainer = PairTrainer(words: countWords(texts))
        let budget = max(0, vocabSize - specials.count - 256)
        trainer.run(newTokens: budget, minFrequency: max(1, minFrequency), banned: banned)

        let offset = Int32(specials.count)
        var tokens = specials.map { Token.special($0) }
        tokens += trainer.tokenBytes.map { Token.bytes($0) }
        let merges = trainer.merges.map { Merge(left: $0.0 + offset, right: $0.1 + offset, result: $0.2 + offset) }
        return BPETokenizer(tokens: tokens, merges: merges, specialTokens: specials,
                            byteIDs: (0..<256).map { Int32($0) + offset })
    }

    /// Distinct pre-tokens with their counts, sorted by bytes so the order is stable.
    static func countWords(_ texts: [String]) -> [(bytes: [UInt8], count: Int)] {
        var counts: [ArraySlice<UInt8>: Int] = [:]
        for text in texts {
            let utf8 = Array(text.utf8)
            forEachPreToken(text) { counts[utf8[$0], default: 0] += 1 }
        }
        return counts.map { (Array($0.key), $0.value) }.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }
}

/// Incremental pair counting: each distinct word is stored once with its frequency, and a
/// merge touches only the words that contain the merged pair (found through `where`).
/// The best pair comes from a max-heap with lazy deletion: an entry whose count is out of
/// date is pushed again with the current count when it reaches the top.
private struct PairTrainer {
    var symbols: [[Int32]]
    var frequency: [Int]
    /// Token id (local: bytes are 0..<256) → its bytes.
    var tokenBytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
    /// Merges in rank order: left, right, result. Two merges can spell the same bytes
    /// ("ab"+"c" and "a"+"bc"); they share one token, as in Hugging Face's trainer.
    var merges: [(Int32, Int32, Int32)] = []
    var idOfBytes: [[UInt8]: Int32] = Dictionary(uniqueKeysWithValues: (0..<256).map { ([UInt8($0)], Int32($0)) })
    var pairCount: [UInt64: Int] = [:]
    /// Words that contained the pair when it was counted (may hold stale or repeated entries).
    var pairWords: [UInt64: [Int32]] = [:]
    var heap = BinaryHeap<HeapEntry>()

    struct HeapEntry { var count: Int; var pair: UInt64 }

    init(words: [(bytes: [UInt8], count: Int)]) {
        symbols = words.map { $0.bytes.map { Int32($0) } }
        frequency = words.map(\.count)
        for (w, syms) in symbols.enumerated() where syms.count > 1 {
            for i in 0..<(syms.count - 1) {
                let key = pairKey(syms[i], syms[i + 1])
                pairCount[key, default: 0] += frequency[w]
                if pairWords[key]?.last != Int32(w) { pairWords[key, default: []].append(Int32(w)) }
            }
        }
        // Sorted keys so the heap's layout, and so any tie handling, never depends on
        // dictionary order.
        for key in pairCount.keys.sorted() { push(HeapEntry(count: pairCount[key]!, pair: key)) }
    }

    mutating func run(newTokens budget: Int, minFrequency: Int, banned: Set<[UInt8]>) {
        var stamp = [Int](repeating: -1, count: symbols.count)
        while tokenBytes.count - 256 < budget, let top = pop() {
            let current = pairCount[top.pair] ?? 0
            if current != top.count {
                if current > 0 { push(HeapEntry(count: current, pair: top.pair)) }
                continue
            }
            if current < minFrequency { break }
            let a = Int32(truncatingIfNeeded: top.pair >> 32), b = Int32(truncatingIfNeeded: top.pair)
            let merged = tokenBytes[Int(a)] + tokenBytes[Int(b)]
            if banned.contains(merged) { pairCount[top.pair] = nil; continue }
            let n: Int32
            if let existing = idOfBytes[merged] {
                n = existing
            } else {
                n = Int32(tokenBytes.count)
                tokenBytes.append(merged)
                idOfBytes[merged] = n
            }
            merges.append((a, b, n))

            var touched: [UInt64] = []
            for w in pairWords.removeValue(forKey: top.pair) ?? [] where stamp[Int(w)] != merges.count {
                stamp[Int(w)] = merges.count
                mergeWord(Int(w), a, b, n, &touched)
            }
            pairCount[top.pair] = nil
            for key in Set(touched).sorted() {
                if let c = pairCount[key], c > 0 { push(HeapEntry(count: c, pair: key)) }
            }
        }
    }

    /// Replaces each non-overlapping `a b` in word `w` by `n`, left to right, and moves
    /// the word's frequency from the pairs that disappear to the pairs that appear.
    mutating func mergeWord(_ w: Int, _ a: Int32, _ b: Int32, _ n: Int32, _ touched: inout [UInt64]) {
        var syms: [Int32] = []
        swap(&syms, &symbols[w])  // edit in place without a copy
        let f = frequency[w]
        var read = 0, write = 0
        let count = syms.count
        while read < count {
            if read + 1 < count, syms[read] == a, syms[read + 1] == b {
                if write > 0 {
                    let left = syms[write - 1]  // already merged, if it was
                    add(pairKey(left, a), -f)
                    add(pairKey(left, n), f, word: w, &touched)
                }
                if read + 2 < count {
                    add(pairKey(b, syms[read + 2]), -f)
                    add(pairKey(n, syms[read + 2]), f, word: w, &touched)
                }
                syms[write] = n
                read += 2
            } else {
                syms[write] = syms[read]
                read += 1
            }
            write += 1
        }
        syms.removeLast(count - write)
        swap(&syms, &symbols[w])
    }

    private mutating func add(_ key: UInt64, _ delta: Int) {
        pairCount[key, default: 0] += delta
    }

    private mutating func add(_ key: UInt64, _ delta: Int, word: Int, _ touched: inout [UInt64]) {
        pairCount[key, default: 0] += delta
        if pairWords[key]?.last != Int32(word) { pairWords[key, default: []].append(Int32(word)) }
        touched.append(key)
    }

    // MARK: Max-heap: higher count first, then the lexicographically smaller pair of byte strings.

    private static func before(_ x: HeapEntry, _ y: HeapEntry, _ tokenBytes: [[UInt8]]) -> Bool {
        if x.count != y.count { return x.count > y.count }
        let xa = tokenBytes[Int(x.pair >> 32)], ya = tokenBytes[Int(y.pair >> 32)]
        if xa != ya { return xa.lexicographicallyPrecedes(ya) }
        return tokenBytes[Int(x.pair & 0xFFFF_FFFF)].lexicographicallyPrecedes(tokenBytes[Int(y.pair & 0xFFFF_FFFF)])
    }

    private mutating func push(_ e: HeapEntry) {
        let bytes = tokenBytes  // the order reads it while the heap changes
        heap.push(e) { Self.before($0, $1, bytes) }
    }

    private mutating func pop() -> HeapEntry? {
        let bytes = tokenBytes
        return heap.pop { Self.before($0, $1, bytes) }
    }
}
