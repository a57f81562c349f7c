import Foundation
import LookbookCore
import Testing
@testable import StyleModel

@Suite struct PreferencePairTests {
    static let corpus = ToyOutfits.corpus(outfits: 40)
    static var outfits: [[ItemText]] { corpus.outfits.map(\.items) }
    static let pool = PreferencePairs.Pool(corpus.items)

    static func words(_ text: String) -> Set<String> { Set(text.split(separator: " ").map(String.init)) }
    static func jaccard(_ a: String, _ b: String) -> Double {
        let (x, y) = (words(a), words(b))
        return Double(x.intersection(y).count) / Double(x.union(y).count)
    }

    @Test func curatedPairsPreferTheRealItemOverSameSlotOutsiders() {
        let pairs = PreferencePairs.curated(outfits: Self.outfits, pool: Self.pool, random: 2, hard: 1, seed: 4)
        #expect(pairs.filter { $0.source == .random }.count == 40 * 3 * 2)
        #expect(pairs.filter { $0.source == .hard }.count == 40 * 3)
        for pair in pairs {
            #expect(pair.chosen.slot == pair.slot && pair.rejected.slot == pair.slot)
            #expect(pair.context.count == 2 && !pair.context.contains(pair.chosen))
            #expect(!pair.context.map(\.text).contains(pair.rejected.text) && pair.rejected.text != pair.chosen.text)
        }
        // Each leave-one-out's real item is its outfit's missing one.
        let first = Self.outfits[0]
        #expect(pairs.contains { Set($0.context + [$0.chosen]) == Set(first) })
    }

    /// Other-slot negatives are items of any slot but the real one's, never of the outfit;
    /// they follow the same-slot pairs, which stay those of a run without them.
    @Test func otherSlotNegativesComeFromOtherSlotsAndLeaveTheRestAlone() {
        let plain = PreferencePairs.curated(outfits: Self.outfits, pool: Self.pool, random: 1, hard: 1, seed: 4)
        let pairs = PreferencePairs.curated(outfits: Self.outfits, pool: Self.pool, random: 1, hard: 1, otherSlot: 2, seed: 4)
        let other = pairs.filter { $0.source == .otherSlot }
        #expect(other.count == 40 * 3 * 2)
        #expect(pairs.filter { $0.source != .otherSlot } == plain)
        for pair in other {
            #expect(pair.chosen.slot == pair.slot && pair.rejected.slot != pair.slot)
            #expect(!pair.context.map(\.text).contains(pair.rejected.text) && pair.rejected.text != pair.chosen.text)
        }
        // Drawn over every other slot, not always the same one.
        #expect(Set(other.filter { $0.slot == .top }.map(\.rejected.slot)).count > 1)
    }

    /// A hard negative is the same-slot item closest to the real one in words: no other
    /// eligible item overlaps more.
    @Test func hardNegativesAreTheClosestInWords() {
        let pairs = PreferencePairs.curated(outfits: Self.outfits, pool: Self.pool, random: 0, hard: 1, seed: 4)
        #expect(!pairs.isEmpty)
        for pair in pairs {
            let outfitTexts = Set((pair.context + [pair.chosen]).map(\.text))
            let best = Self.pool.bySlot[pair.slot]!.filter { !outfitTexts.contains($0.text) }
                .map { Self.jaccard($0.text, pair.chosen.text) }.max()!
            #expect(Self.jaccard(pair.rejected.text, pair.chosen.text) == best)
            #expect(best > 0)
        }
    }

    @Test func sameSeedSamePairsOtherSeedOthers() {
        let a = PreferencePairs.curated(outfits: Self.outfits, pool: Self.pool, seed: 1)
        #expect(a == PreferencePairs.curated(outfits: Self.outfits, pool: Self.pool, seed: 1))
        #expect(a != PreferencePairs.curated(outfits: Self.outfits, pool: Self.pool, seed: 2))
    }

    /// Every candidate the scorer puts above the real item, and only those, is rejected.
    @Test func mistakesAreTheCandidatesRankedAboveTheRealItem() {
        // A scorer that likes "red" and dislikes everything else.
        var questions = 0
        let pairs = PreferencePairs.mistakes(outfits: Self.outfits, pool: Self.pool, candidates: 5, limit: 10, seed: 3) { _, _, candidates in
            questions += 1
            return candidates.map { $0.text.hasPrefix("red") ? 1 : 0 }
        }
        #expect(questions == 10)
        #expect(!pairs.isEmpty)
        for pair in pairs {
            #expect(pair.source == .mistake)
            #expect(pair.rejected.text.hasPrefix("red") && !pair.chosen.text.hasPrefix("red"))
        }
        let none = PreferencePairs.mistakes(outfits: Self.outfits, pool: Self.pool, limit: 10, seed: 3) { _, _, c in
            c.indices.map { $0 == 0 ? 1 : 0 }  // the real item always first
        }
        #expect(none.isEmpty)
    }

    static let products = [
        Product(id: "shirt", title: "White cotton shirt", category: "tops", slot: .top),
        Product(id: "jeans", title: "Blue jeans", category: "bottoms", slot: .bottom),
        Product(id: "skirt", title: "Red skirt", category: "bottoms", slot: .bottom),
        Product(id: "trousers", title: "Navy trousers", category: "bottoms", slot: .bottom),
        Product(id: "loafers", title: "Black loafers", category: "shoes", slot: .shoes),
        Product(id: "boots", title: "Brown boots", category: "shoes", slot: .shoes),
    ]

    @Test func merchandiserApprovalsBeatRejectionsForTheirAnchor() {
        let feedback = [
            Feedback(anchor: "shirt", item: "jeans", verdict: .approve),
            Feedback(anchor: "shirt", item: "skirt", verdict: .reject),
            Feedback(anchor: "shirt", item: "boots", verdict: .reject),      // no approved shoes: the curated partner wins
            Feedback(anchor: "shirt", item: "ghost", verdict: .approve),     // unknown product
        ]
        let outfits = [Outfit(id: "o1", items: ["shirt", "trousers", "loafers"])]
        let pool = PreferencePairs.Pool(Self.products.map { ItemText($0, format: .words) })
        let (pairs, skipped) = PreferencePairs.merchandiser(feedback: feedback, products: Self.products, outfits: outfits, pool: pool,
                                                            random: 1, format: .words, seed: 0)
        #expect(skipped == 1)
        let shirt = ItemText(Self.products[0], format: .words)
        #expect(pairs.allSatisfy { $0.source == .merchandiser && $0.context == [shirt] })
        let text = { (id: String) in ItemText(Self.products.first { $0.id == id }!, format: .words).text }
        #expect(pairs.contains { $0.chosen.text == text("jeans") && $0.rejected.text == text("skirt") && $0.slot == .bottom })
        // Over a random bottom that no verdict named: only the trousers are left.
        #expect(pairs.contains { $0.chosen.text == text("jeans") && $0.rejected.text == text("trousers") })
        #expect(pairs.contains { $0.chosen.text == text("loafers") && $0.rejected.text == text("boots") && $0.slot == .shoes })
        #expect(!pairs.contains { $0.rejected.text == text("jeans") || $0.chosen.text == text("skirt") })
        #expect(pairs.count == 3)
    }

    /// A later verdict on the same anchor and item replaces an earlier one.
    @Test func theLatestVerdictWins() {
        let feedback = [Feedback(anchor: "shirt", item: "skirt", verdict: .reject),
                        Feedback(anchor: "shirt", item: "skirt", verdict: .approve),
                        Feedback(anchor: "shirt", item: "jeans", verdict: .reject)]
        let pool = PreferencePairs.Pool(Self.products.map { ItemText($0, format: .words) })
        let (pairs, _) = PreferencePairs.merchandiser(feedback: feedback, products: Self.products, outfits: [], pool: pool, random: 0, format: .words, seed: 0)
        #expect(pairs.map(\.chosen.text) == ["red skirt"])
        #expect(pairs.map(\.rejected.text) == ["blue jeans"])
    }
}
