import Foundation
import Testing
@testable import StyleModel

/// Known answers for forward passes whose gradients `GradientCheckTests` checks.
@Suite struct TapeForwardTests {
    @Test func ropeTurnsByPositionTimesFrequency() {
        // One head of size 2: inv_freq = 1, so (1, 0) at position p becomes (cos p, sin p).
        let x = Tensor(shape: [3, 2], value: [1, 0, 1, 0, 0.5, 2])
        let y = Tape().rope(x, positions: [0, 1, 3], heads: 1, theta: 10_000).value
        let expected: [Float] = [1, 0, cosf(1), sinf(1), 0.5 * cosf(3) - 2 * sinf(3), 2 * cosf(3) + 0.5 * sinf(3)]
        #expect(zip(y, expected).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func attentionFirstQuerySeesOnlyItselfAndPaddingIsZero() {
        let q = GradientCheck.random([6, 4], "q"), k = GradientCheck.random([6, 4], "k"), v = GradientCheck.random([6, 4], "v")
        let out = Tape().causalAttention(q: q, k: k, v: v, batch: 2, seq: 3, heads: 2, lengths: [3, 1]).value
        #expect(Array(out[0..<4]) == Array(v.value[0..<4]))        // row 0, position 0
        #expect(Array(out[12..<16]) == Array(v.value[12..<16]))    // row 1, position 0
        #expect(out[16..<24].allSatisfy { $0 == 0 })               // row 1, padded positions
    }

    /// Two packed rows (prompt, chosen segment, rejected segment; the second with an
    /// empty chosen segment and padding) against plain causal attention over the four
    /// sequences they pack, built from the same q, k, v rows.
    @Test func hiddenKeysEqualAttentionOverUnpackedSequences() {
        let q = GradientCheck.random([16, 4], "q"), k = GradientCheck.random([16, 4], "k"), v = GradientCheck.random([16, 4], "v")
        // Row 0: prompt 0..<3, chosen 3..<5, rejected 5..<8. Row 1 (indices 8…): prompt 0..<2, rejected 2..<4.
        let packed = Tape().causalAttention(q: q, k: k, v: v, batch: 2, seq: 8, heads: 2, lengths: [8, 4],
                                            hiddenKeys: [3..<5, 2..<2]).value
        let sequences = [[0, 1, 2, 3, 4], [0, 1, 2, 5, 6, 7], [8, 9], [8, 9, 10, 11]]
        // Each sequence's rows of t, padded with zeros to 6 rows.
        func unpacked(_ t: Tensor) -> Tensor {
            var rows: [Float] = []
            for indices in sequences {
                for index in indices { rows += t.value[index * 4..<(index + 1) * 4] }
                rows += [Float](repeating: 0, count: (6 - indices.count) * 4)
            }
            return Tensor(shape: [24, 4], value: rows)
        }
        let plain = Tape().causalAttention(q: unpacked(q), k: unpacked(k), v: unpacked(v), batch: 4, seq: 6, heads: 2,
                                           lengths: sequences.map(\.count)).value
        for (s, indices) in sequences.enumerated() {
            for (i, index) in indices.enumerated() {
                let worst = (0..<4).map { abs(packed[index * 4 + $0] - plain[(s * 6 + i) * 4 + $0]) }.max()!
                #expect(worst < 1e-6, "sequence \(s), token \(i) (packed index \(index)): \(worst)")
            }
        }
        #expect(packed[12 * 4..<16 * 4].allSatisfy { $0 == 0 })   // row 1's padding
    }

    @Test func crossEntropyOfUniformLogitsIsLogVocab() {
        let logits = Tensor(shape: [2, 5], value: [Float](repeating: 0.3, count: 10))
        let loss = Tape().crossEntropy(logits: logits, targets: [1, 4], weights: [1, 0]).value[0]
        #expect(abs(loss - logf(5)) < 1e-6)
    }

    @Test func dpoLossIsStableForHugeMargins() {
        let tape = Tape()
        let chosen = Tensor(shape: [2], value: [500, -500]), rejected = Tensor(shape: [2], value: [-500, 500])
        let loss = tape.dpoLoss(policyChosen: chosen, policyRejected: rejected, referenceChosen: [0, 0], referenceRejected: [0, 0], beta: 1).value[0]
        // Pair 1: −log σ(1000) ≈ 0; pair 2: −log σ(−1000) = 1000.
        #expect(abs(loss - 500) < 1e-3)
    }
}
