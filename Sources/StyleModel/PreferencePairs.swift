import Foundation
import LookbookCore

/// One preference: for the blank of `slot` in a look of `context`, `chosen` is a better
/// answer than `rejected`. What DPO learns from and what the export writes.
public struct PreferencePair: Sendable, Hashable {
    public enum Source: String, Sendable, CaseIterable, Codable {
        /// A curated outfit's real item over a random item of the same slot.
        case random
        /// A curated outfit's real item over the same-slot item closest to it in words.
        case hard
        /// A curated outfit's real item over a random item of another slot, each scored as
        /// the blank of its own slot (a second pair of shoes where the look lacks a bottom).
        case otherSlot
        /// A curated outfit's real item over a candidate the model ranked above it.
        case mistake
        /// A merchandiser's verdicts (`feedback.jsonl`).
        case merchandiser
    }

    public var context: [ItemText]
    public var slot: Slot
    public var chosen: ItemText
    public var rejected: ItemText
    public var source: Source

    public init(context: [ItemText], slot: Slot, chosen: ItemText, rejected: ItemText, source: Source) {
        self.context = context; self.slot = slot; self.chosen = chosen; self.rejected = rejected; self.source = source
    }
}

/// Where preference pairs come from. Every function is deterministic for its seed (named
/// SplitMix64 streams), so a round can be reproduced.
public enum PreferencePairs {
    /// Same-slot pools of distinct item texts, with a word index for hard negatives.
    public struct Pool: Sendable {
        public let bySlot: [Slot: [ItemText]]
        /// Every distinct item, in the order given (deterministic, unlike `bySlot`'s keys).
        let all: [ItemText]
        /// Per slot: word → indices into `bySlot[slot]` of the items holding it.
        let postings: [Slot: [String: [Int]]]

        public init(_ items: [ItemText]) {
            var seen = Set<ItemText>()
            var bySlot: [Slot: [ItemText]] = [:]
            var all: [ItemText] = []
            for item in items where seen.insert(item).inserted {
                bySlot[item.slot, default: []].append(item)
                all.append(item)
            }
            var postings: [Slot: [String: [Int]]] = [:]
            for (slot, list) in bySlot {
                var index: [String: [Int]] = [:]
                for (i, item) in list.enumerated() {
                    for word in Set(PreferencePairs.words(item.text)) { index[word, default: []].append(i) }
                }
                postings[slot] = index
            }
            self.bySlot = bySlot
            self.all = all
            self.postings = postings
        }

        /// `count` distinct random items of `slot`, none of whose words equal an excluded text.
        func random(_ slot: Slot, count: Int, excluding: Set<String>, _ rng: inout SplitMix64) -> [ItemText] {
            guard let list = bySlot[slot], !list.isEmpty else { return [] }
            var out: [ItemText] = []
            var tries = 0
            while out.count < count && tries < 8 * count + 8 {
                tries += 1
                let item = list[rng.below(list.count)]
                if excluding.contains(item.text) || out.contains(item) { continue }
                out.append(item)
            }
            return out
        }

        /// `count` distinct random items of any slot but `slot` (each item equally likely,
        /// so a slot as often as it has items), none of whose words equal an excluded text.
        func random(otherThan slot: Slot, count: Int, excluding: Set<String>, _ rng: inout SplitMix64) -> [ItemText] {
            guard all.count > (bySlot[slot]?.count ?? 0) else { return [] }
            var out: [ItemText] = []
            var tries = 0
            while out.count < count && tries < 16 * count + 16 {
                tries += 1
                let item = all[rng.below(all.count)]
                if item.slot == slot || excluding.contains(item.text) || out.contains(item) { continue }
                out.append(item)
            }
            return out
        }

        /// The `count` items of `item`'s slot with the highest word overlap (Jaccard of
        /// word sets) with it, other than excluded texts. Searched among at most
        /// `budget` items that share a word with it (each word's postings sampled
        /// from a seeded offset), rarest words first, so a large catalog stays cheap.
        func hard(_ item: ItemText, count: Int, excluding: Set<String>, budget: Int = 256, _ rng: inout SplitMix64) -> [ItemText] {
            guard let list = bySlot[item.slot], let index = postings[item.slot] else { return [] }
            let words = Set(PreferencePairs.words(item.text))
            var candidates = Set<Int>()
            for word in words.sorted(by: { (index[$0]?.count ?? 0, $0) < (index[$1]?.count ?? 0, $1) }) {
                guard let hits = index[word], !hits.isEmpty else { continue }
                let take = min(hits.count, max(1, budget / max(1, words.count)))
                let offset = rng.below(hits.count)
                for k in 0..<take { candidates.insert(hits[(offset + k) % hits.count]) }
                if candidates.count >= budget { break }
            }
            // Ties are broken by a seeded draw, not by the words, so no one item is every
            // look's hard negative.
            let scored = candidates.sorted().compactMap { i -> (Double, UInt64, ItemText)? in
                let other = list[i]
                guard !excluding.contains(other.text) else { return nil }
                let o = Set(PreferencePairs.words(other.text))
                let jaccard = Double(words.intersection(o).count) / Double(max(1, words.union(o).count))
                return (jaccard, rng.next(), other)
            }
            return scored.sorted { ($0.0, $0.1) > ($1.0, $1.1) }.prefix(count).map(\.2)
        }
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }

    /// Every leave-one-out of every outfit: the real item is chosen over `random` random
    /// items and `hard` hard negatives of its slot, and over `otherSlot` random items of
    /// other slots (never an item of the outfit itself, never the same words). Hard
    /// negatives are the same-slot items sharing the most words with the real item
    /// (Jaccard over word sets): a cheap stand-in for "closest in the retrieval space"
    /// that needs no embedding. Other-slot negatives teach which slot a look lacks, which
    /// same-slot pairs never ask (questions with negatives of any category do).
    public static func curated(outfits: [[ItemText]], pool: Pool, random: Int = 1, hard: Int = 1, otherSlot: Int = 0,
                               seed: UInt64) -> [PreferencePair] {
        var pairs: [PreferencePair] = []
        for (o, outfit) in outfits.enumerated() where outfit.count >= 2 {
            var rng = SplitMix64.stream(seed, "curated-\(o)")
            // A stream of their own, so the same-slot pairs stay those of a run without them.
            var otherRNG = SplitMix64.stream(seed, "curated-other-slot-\(o)")
            let texts = Set(outfit.map(\.text))
            for i in outfit.indices {
                var context = outfit
                let real = context.remove(at: i)
                for negative in pool.random(real.slot, count: random, excluding: texts, &rng) {
                    pairs.append(PreferencePair(context: context, slot: real.slot, chosen: real, rejected: negative, source: .random))
                }
                for negative in pool.hard(real, count: hard, excluding: texts, &rng) {
                    pairs.append(PreferencePair(context: context, slot: real.slot, chosen: real, rejected: negative, source: .hard))
                }
                for negative in pool.random(otherThan: real.slot, count: otherSlot, excluding: texts, &otherRNG) {
                    pairs.append(PreferencePair(context: context, slot: real.slot, chosen: real, rejected: negative, source: .otherSlot))
                }
            }
        }
        return pairs
    }

    /// The model's own mistakes: for leave-one-outs of (at most `limit`) outfits, the
    /// real item and `candidates` random same-slot items are scored by `score(context,
    /// slot, candidates)` (higher is better); every candidate scored above the real
    /// item becomes a rejected answer. The outfits are sampled by the seed.
    public static func mistakes(outfits: [[ItemText]], pool: Pool, candidates: Int = 7, limit: Int = 500, seed: UInt64,
                                score: ([ItemText], Slot, [ItemText]) -> [Double]) -> [PreferencePair] {
        var order = outfits.indices.filter { outfits[$0].count >= 2 }
        var shuffle = SplitMix64.stream(seed, "mistakes-order")
        shuffle.shuffle(&order)
        var pairs: [PreferencePair] = []
        for o in order.prefix(limit) {
            let outfit = outfits[o]
            var rng = SplitMix64.stream(seed, "mistakes-\(o)")
            let i = rng.below(outfit.count)
            var context = outfit
            let real = context.remove(at: i)
            let negatives = pool.random(real.slot, count: candidates, excluding: Set(outfit.map(\.text)), &rng)
            guard !negatives.isEmpty else { continue }
            let scores = score(context, real.slot, [real] + negatives)
            for (negative, s) in zip(negatives, scores.dropFirst()) where s > scores[0] {
                pairs.append(PreferencePair(context: context, slot: real.slot, chosen: real, rejected: negative, source: .mistake))
            }
        }
        return pairs
    }

    /// What merchandisers said, as pairs for each anchor (the context is the anchor alone):
    /// an approved item is chosen over every rejected item of its slot for that anchor, and
    /// over `random` random items of its slot; a rejected item with no approved rival is
    /// rejected in favour of the anchor's curated partner of that slot when an outfit has
    /// one. Verdicts naming unknown products are skipped and counted.
    public static func merchandiser(feedback: [Feedback], products: [Product], outfits: [Outfit], pool: Pool,
                                    random: Int = 1, format: ItemText.Format, seed: UInt64) -> (pairs: [PreferencePair], skipped: Int) {
        var byID: [String: ItemText] = [:]
        for p in products { byID[p.id] = ItemText(p, format: format) }
        // The latest verdict per (anchor, item) wins; the file's order is time order.
        var verdicts: [String: [String: Feedback.Verdict]] = [:]
        var anchors: [String] = []
        var skipped = 0
        for f in feedback {
            guard byID[f.anchor] != nil, byID[f.item] != nil, f.anchor != f.item else { skipped += 1; continue }
            if verdicts[f.anchor] == nil { anchors.append(f.anchor) }
            verdicts[f.anchor, default: [:]][f.item] = f.verdict
        }
        var partners: [String: [String]] = [:]
        for outfit in outfits {
            for a in outfit.items where verdicts[a] != nil {
                partners[a, default: []] += outfit.items.filter { $0 != a && byID[$0] != nil }
            }
        }
        var pairs: [PreferencePair] = []
        for anchor in anchors {
            let anchorText = byID[anchor]!
            var rng = SplitMix64.stream(seed, "merchandiser-\(anchor)")
            let items = verdicts[anchor]!.sorted { $0.key < $1.key }
            let approved = items.filter { $0.value == .approve }.map { byID[$0.key]! }
            let rejected = items.filter { $0.value == .reject }.map { byID[$0.key]! }
            let judged = Set(items.map { byID[$0.key]!.text }).union([anchorText.text])
            for a in approved {
                for r in rejected where r.slot == a.slot && r.text != a.text {
                    pairs.append(PreferencePair(context: [anchorText], slot: a.slot, chosen: a, rejected: r, source: .merchandiser))
                }
                for negative in pool.random(a.slot, count: random, excluding: judged, &rng) {
                    pairs.append(PreferencePair(context: [anchorText], slot: a.slot, chosen: a, rejected: negative, source: .merchandiser))
                }
            }
            for r in rejected where !approved.contains(where: { $0.slot == r.slot }) {
                let mates = (partners[anchor] ?? []).compactMap { byID[$0] }.filter { $0.slot == r.slot && !judged.contains($0.text) }
                if let mate = mates.sorted(by: { $0.text < $1.text }).first {
                    pairs.append(PreferencePair(context: [anchorText], slot: r.slot, chosen: mate, rejected: r, source: .merchandiser))
                }
            }
        }
        return (pairs, skipped)
    }

    /// How many pairs of each source, in `Source.allCases` order (for reports).
    public static func counts(_ pairs: [PreferencePair]) -> [(PreferencePair.Source, Int)] {
        PreferencePair.Source.allCases.map { source in (source, pairs.filter { $0.source == source }.count) }
    }
}
