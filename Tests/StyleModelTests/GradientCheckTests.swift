import Testing
import LookbookCore
@testable import StyleModel

/// Every `Tape` op's backward pass against central finite differences of its forward.
@Suite struct GradientCheckTests {
    typealias G = GradientCheck
    static let tolerance = 1e-2

    @Test func embeddingAccumulatesRepeatedIds() {
        let table = G.random([7, 5], "table")
        let ids: [Int32] = [3, 0, 3, 6, 3]
        let error = G.worstError([table]) { G.project($0.embedding(table, ids: ids), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func matmul() {
        let x = G.random([6, 5], "x"), w = G.random([4, 5], "w")
        let error = G.worstError([x, w]) { G.project($0.matmul(x, w), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func linearWithLoRA() {
        let x = G.random([6, 5], "x"), w = G.random([4, 5], "w")
        let a = G.random([2, 5], "a"), b = G.random([4, 2], "b")
        let error = G.worstError([x, w, a, b]) { G.project($0.linear(x, w, lora: (a: a, b: b, scale: 1.5)), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func linearWithLoRAOnFrozenWeight() {
        let x = G.random([6, 5], "x"), w = G.random([4, 5], "w", requiresGrad: false)
        let a = G.random([2, 5], "a"), b = G.random([4, 2], "b")
        let error = G.worstError([x, a, b]) { G.project($0.linear(x, w, lora: (a: a, b: b, scale: 0.7)), on: $0) }
        #expect(error < Self.tolerance)
        #expect(w.grad.isEmpty)
    }

    @Test func addAndScaled() {
        let a = G.random([3, 4], "a"), b = G.random([3, 4], "b")
        let error = G.worstError([a, b]) { tape in
            G.project(tape.add(tape.scaled(a, by: -2.5), tape.add(b, a)), on: tape)
        }
        #expect(error < Self.tolerance)
    }

    @Test func rmsNorm() {
        let x = G.random([5, 8], "x"), w = G.random([8], "w")
        let error = G.worstError([x, w]) { G.project($0.rmsNorm(x, weight: w, eps: 1e-5), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func rope() {
        let x = G.random([4, 12], "x")
        let positions: [Int32] = [0, 1, 5, 2]
        let error = G.worstError([x]) { G.project($0.rope(x, positions: positions, heads: 2, theta: 100), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func attentionWithPadding() {
        // Two heads of size 3; rows of length 4, 2 and 0 in a batch of seq 4.
        let q = G.random([12, 6], "q"), k = G.random([12, 6], "k"), v = G.random([12, 6], "v")
        let error = G.worstError([q, k, v]) { tape in
            G.project(tape.causalAttention(q: q, k: k, v: v, batch: 3, seq: 4, heads: 2, lengths: [4, 2, 0]), on: tape)
        }
        #expect(error < Self.tolerance)
    }

    @Test func attentionWithHiddenKeys() {
        // Rows of length 6, 5 and 3 in a batch of seq 6: keys 2..<4 hidden from queries
        // 4 and 5 of row 0, none in row 1, key 0 hidden from queries 1 and 2 of row 2.
        let q = G.random([18, 6], "q"), k = G.random([18, 6], "k"), v = G.random([18, 6], "v")
        let error = G.worstError([q, k, v]) { tape in
            G.project(tape.causalAttention(q: q, k: k, v: v, batch: 3, seq: 6, heads: 2, lengths: [6, 5, 3],
                                           hiddenKeys: [2..<4, nil, 0..<1]), on: tape)
        }
        #expect(error < Self.tolerance)
    }

    @Test func swiglu() {
        let g = G.random([4, 6], "g", std: 2), u = G.random([4, 6], "u")
        let error = G.worstError([g, u]) { G.project($0.swiglu(gate: g, up: u), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func swigluOfOneTensor() {
        let x = G.random([3, 5], "x", std: 2)
        let error = G.worstError([x]) { G.project($0.swiglu(gate: x, up: x), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func crossEntropyWithWeights() {
        let logits = G.random([5, 7], "logits", std: 2)
        let targets: [Int32] = [0, 6, 3, 3, 1]
        let weights: [Float] = [1, 0, 2, 0.5, 1]
        let error = G.worstError([logits]) { $0.crossEntropy(logits: logits, targets: targets, weights: weights) }
        #expect(error < Self.tolerance)
    }

    @Test func tokenLogProbs() {
        let logits = G.random([5, 7], "logits", std: 2)
        let error = G.worstError([logits]) { G.project($0.tokenLogProbs(logits: logits, targets: [2, 2, 0, 6, 4]), on: $0) }
        #expect(error < Self.tolerance)
    }

    @Test func weightedRowSums() {
        let x = G.random([12], "x")
        let weights = G.randomValues(12, "w")
        let error = G.worstError([x]) { tape in
            let sums = tape.weightedRowSums(x, weights: weights, rows: 3)
            return tape.weightedRowSums(sums, weights: [0.5, -1, 2], rows: 1)
        }
        #expect(error < Self.tolerance)
    }

    @Test func gatherRowsAddsRepeatedRowsBack() {
        let x = G.random([5, 4], "x")
        let error = G.worstError([x]) { G.project($0.gatherRows(x, rows: [3, 0, 3, 4]), on: $0) }
        #expect(error < Self.tolerance)
        #expect(Tape().gatherRows(x, rows: [4, 1]).value == Array(x.value[16..<20] + x.value[4..<8]))
    }

    @Test func groupSumsSkipMinusOne() {
        let x = G.random([7], "x")
        let groups = [0, 2, -1, 2, 1, 0, -1]
        let error = G.worstError([x]) { G.project($0.groupSums(x, groups: groups, count: 3), on: $0) }
        #expect(error < Self.tolerance)
        let v = x.value
        #expect(Tape().groupSums(x, groups: groups, count: 3).value == [v[0] + v[5], v[4], v[1] + v[3]])
    }

    @Test func dpoLoss() {
        let chosen = G.random([4], "chosen"), rejected = G.random([4], "rejected")
        let error = G.worstError([chosen, rejected]) {
            $0.dpoLoss(policyChosen: chosen, policyRejected: rejected,
                       referenceChosen: [0.1, -0.3, 0.5, 0], referenceRejected: [0.2, 0.4, -1, 0.3], beta: 0.8)
        }
        #expect(error < Self.tolerance)
    }

    @Test func tinyModelFullFineTuning() {
        let model = StyleLM(config: .tiny(), seed: 3)
        model.setFullFineTuning()
        // Larger weights than the initialisation, so every path carries gradient.
        for (name, t) in model.weights where !name.hasSuffix("norm.weight") {
            t.value = G.random(t.shape, name, std: 0.3).value
        }
        let batch = TokenBatch(rows: [[1, 5, 9, 2, 30], [4, 4, 17]], pad: 0)
        let targets: [Int32] = [5, 9, 2, 30, 0, 4, 17, 1, 0, 0]
        let weights: [Float] = [1, 1, 1, 1, 0, 1, 1, 0, 0, 0]
        let names = [StyleLMWeights.embedding, StyleLMWeights.finalNorm, StyleLMWeights.inputNorm(layer: 0),
                     StyleLMWeights.postAttentionNorm(layer: 1)]
            + StyleLMWeights.Projection.allCases.map { StyleLMWeights.projection($0, layer: $0 == .q || $0 == .down ? 0 : 1) }
        let error = G.worstError(names.map { model.weights[$0]! }, sample: 12) { tape in
            tape.crossEntropy(logits: model.logits(batch, on: tape), targets: targets, weights: weights)
        }
        #expect(error < Self.tolerance)
    }

    @Test func tinyModelWithLoRA() throws {
        let model = try G.randomizedModel(lora: LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v, .down]))
        let batch = TokenBatch(rows: [[1, 5, 9, 2], [4, 17]], pad: 0)
        let targets: [Int32] = [5, 9, 2, 30, 17, 1, 0, 0]
        let weights: [Float] = [1, 1, 1, 1, 1, 1, 0, 0]
        let tensors = model.trainableParameters.map(\.tensor)
        #expect(tensors.count == 12)
        let error = G.worstError(tensors, sample: 8) { tape in
            tape.crossEntropy(logits: model.logits(batch, on: tape), targets: targets, weights: weights)
        }
        #expect(error < Self.tolerance)
    }
}
