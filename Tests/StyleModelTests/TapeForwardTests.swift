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
