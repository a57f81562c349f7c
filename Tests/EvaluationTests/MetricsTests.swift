import LookbookCore
import Testing
@testable import Evaluation

@Suite struct FITBCreditTests {
    struct Case: Sendable, CustomStringConvertible {
        let scores: [Double], answer: Int, credit: Double
        var description: String { "\(scores) answer \(answer)" }
    }

    @Test(arguments: [
        Case(scores: [0.9, 0.1, 0.2, 0.3], answer: 0, credit: 1),
        Case(scores: [0.9, 0.1, 0.2, 0.3], answer: 3, credit: 0),
        Case(scores: [0.5, 0.5, 0.2, 0.3], answer: 0, credit: 0.5),   // two share the top
        Case(scores: [0.5, 0.5, 0.5, 0.3], answer: 2, credit: 1.0 / 3),
        Case(scores: [0.5, 0.5, 0.5, 0.5], answer: 1, credit: 0.25),  // all tied: chance
        Case(scores: [0.5, 0.5, 0.2, 0.3], answer: 3, credit: 0),     // tie at the top, answer not in it
        Case(scores: [.nan, 0.1, 0.0, 0.0], answer: 1, credit: 1),    // NaN never wins
        Case(scores: [0.1, 0.2], answer: 5, credit: 0),               // out of range
    ])
    func credit(_ c: Case) {
        #expect(abs(Metrics.fitbCredit(scores: c.scores, answer: c.answer) - c.credit) < 1e-12)
    }
}

@Suite struct AUCTests {
    @Test func perfectSeparation() {
        #expect(Metrics.auc(scores: [0.9, 0.8, 0.1, 0.2], labels: [true, true, false, false]) == 1)
    }

    @Test func inverted() {
        #expect(Metrics.auc(scores: [0.1, 0.2, 0.9, 0.8], labels: [true, true, false, false]) == 0)
    }

    @Test func allTiedIsOneHalf() {
        #expect(Metrics.auc(scores: [1, 1, 1, 1], labels: [true, false, true, false]) == 0.5)
    }

    /// Pairs (pos, neg): (3,1) win, (3,2) win, (2,1) win, (2,2) tie → (3 + 0.5) / 4.
    @Test func tieCountsOneHalf() {
        #expect(Metrics.auc(scores: [3, 2, 1, 2], labels: [true, true, false, false]) == 3.5 / 4)
    }

    /// Checked against the O(n²) definition on a small mixed case.
    @Test func matchesPairCounting() {
        let scores: [Double] = [0.3, 0.3, 0.7, 0.1, 0.7, 0.5, 0.3, 0.9]
        let labels = [true, false, true, false, false, true, false, true]
        var wins = 0.0, pairs = 0.0
        for i in scores.indices where labels[i] {
            for j in scores.indices where !labels[j] {
                pairs += 1
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
            }
        }
        #expect(abs(Metrics.auc(scores: scores, labels: labels)! - wins / pairs) < 1e-12)
    }

    @Test func undefinedWithOneClass() {
        #expect(Metrics.auc(scores: [0.1, 0.2], labels: [true, true]) == nil)
    }
}

@Suite struct RankingTests {
    let ranked = (1...20).map { "p\($0)" }

    @Test(arguments: [(10, 1.0), (11, 0.0), (1, 1.0), (20, 0.0)])
    func recallAtTenBoundary(rank: Int, expected: Double) {
        #expect(Metrics.recall(at: 10, ranked: ranked, answer: "p\(rank)") == expected)
    }

    @Test func recallOfUnrankedIsZero() {
        #expect(Metrics.recall(at: 10, ranked: ranked, answer: "absent") == 0)
        #expect(Metrics.reciprocalRank(ranked: ranked, answer: "absent") == 0)
    }

    @Test(arguments: [(1, 1.0), (2, 0.5), (4, 0.25), (10, 0.1)])
    func reciprocalRank(rank: Int, expected: Double) {
        #expect(Metrics.reciprocalRank(ranked: ranked, answer: "p\(rank)") == expected)
    }

    @Test func mrrIsMeanOfReciprocalRanks() {
        let rr = [1, 2, 4].map { Metrics.reciprocalRank(ranked: ranked, answer: "p\($0)") }
        #expect(Metrics.mean(rr) == (1 + 0.5 + 0.25) / 3)
    }

    /// The answer tied with one other product at ranks 10 and 11 gets half the recall
    /// and the mean of 1/10 and 1/11, whichever of the two was written first.
    @Test(arguments: [9, 10])
    func tiesAcrossTheBoundaryShareCredit(answerPosition: Int) {
        var scores = (0..<20).map { Double(100 - $0) }
        scores[10] = scores[9]
        let answer = "p\(answerPosition + 1)"
        #expect(Metrics.recall(at: 10, ranked: ranked, scores: scores, answer: answer) == 0.5)
        #expect(abs(Metrics.reciprocalRank(ranked: ranked, scores: scores, answer: answer) - (1.0 / 10 + 1.0 / 11) / 2) < 1e-12)
    }
}

@Suite struct BootstrapTests {
    @Test func intervalContainsTheMeanAndIsSeeded() {
        let credits = (0..<400).map { $0 % 3 == 0 ? 1.0 : 0.0 }
        let a = Bootstrap(resamples: 500, seed: 7).mean("m", credits)
        let b = Bootstrap(resamples: 500, seed: 7).mean("m", credits)
        #expect(a == b)
        #expect(a.low < a.value && a.value < a.high)
        // Binomial standard error is about 0.0236 here: the 95 % half-width ≈ 0.046.
        #expect(abs((a.high - a.low) / 2 - 0.046) < 0.012)
    }

    @Test func constantCreditsHaveNoWidth() {
        let e = Bootstrap(resamples: 100, seed: 1).mean("m", [1, 1, 1])
        #expect(e.low == 1 && e.high == 1)
    }
}

@Suite struct SplitMixTests {
    /// Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    @Test func matchesReference() {
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func belowStaysInRange() {
        var g = SplitMix64(seed: 3)
        for _ in 0..<1000 { #expect((0..<7).contains(g.below(7))) }
    }
}
