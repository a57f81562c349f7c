import Foundation
import Testing
import LookbookCore
@testable import StyleModel

/// The StyleLM forward pass, its inputs, LoRA and padding.
@Suite struct StyleLMTests {
    static func randomized(_ config: StyleLMConfig = .tiny(), seed: UInt64 = 3) -> StyleLM {
        try! GradientCheck.randomizedModel(config, seed: seed)  // no LoRA: cannot throw
    }

    static func logits(_ model: StyleLM, _ batch: TokenBatch) -> [Float] {
        model.logits(batch, on: Tape()).value
    }

    @Test func matchesTheNumpyReference() throws {
        let golden = try ReferenceWeights.golden()
        let model = try StyleLM(config: golden.config, weights: ReferenceWeights.make(golden.config))
        let logits = model.logits(TokenBatch(rows: [golden.tokens], pad: 0), on: Tape())
        let vocab = golden.config.vocabSize
        #expect(logits.shape == [golden.tokens.count, vocab])
        var worst = 0.0
        for (i, row) in golden.logits.enumerated() {
            for (j, expected) in row.enumerated() { worst = max(worst, abs(Double(logits.value[i * vocab + j]) - expected)) }
        }
        #expect(worst < 1e-4)
    }

    @Test func tokenBatchPadsToTheLongestRow() {
        let batch = TokenBatch(rows: [[4, 5], [1, 2, 3], []], pad: 9)
        #expect(batch.batch == 3 && batch.seq == 3)
        #expect(batch.lengths == [2, 3, 0])
        #expect(batch.tokens == [4, 5, 9, 1, 2, 3, 9, 9, 9])
    }

    @Test func paddingDoesNotChangeRealPositions() {
        let model = Self.randomized()
        let row: [Int32] = [3, 8, 1, 20]
        let alone = Self.logits(model, TokenBatch(rows: [row], pad: 0))
        let padded = Self.logits(model, TokenBatch(rows: [[7, 7, 7, 7, 7, 7, 7], row, [2]], pad: 11))
        let vocab = model.config.vocabSize
        let second = Array(padded[(7 * vocab)..<(7 * vocab + row.count * vocab)])
        let worst = zip(alone, second).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5)
    }

    @Test func sameSeedSameWeights() {
        let a = StyleLM(config: .tiny(), seed: 42).weightValues()
        let b = StyleLM(config: .tiny(), seed: 42).weightValues()
        let c = StyleLM(config: .tiny(), seed: 43).weightValues()
        #expect(a == b)
        #expect(a != c)
        #expect(Set(a.keys) == Set(StyleLMWeights.shapes(.tiny()).keys))
    }

    enum BadWeights: String, CaseIterable { case missing, unexpected, wrongShape, nonFinite }

    @Test(arguments: BadWeights.allCases)
    func initNamesTheBadTensor(_ bad: BadWeights) {
        let config = StyleLMConfig.tiny()
        var weights = StyleLMWeights.initial(config, seed: 1)
        let name = StyleLMWeights.projection(.up, layer: 1)
        var culprit = name
        switch bad {
        case .missing: weights[name] = nil
        case .unexpected: culprit = "lm_head.weight"; weights[culprit] = [1, 2]
        case .wrongShape: weights[name]!.removeLast()
        case .nonFinite: weights[name]![5] = .nan
        }
        do {
            _ = try StyleLM(config: config, weights: weights)
            Issue.record("accepted \(bad) weights")
        } catch let error as StyleLMError {
            #expect(error.tensor == culprit)
            #expect(error.message.contains(culprit))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func validateRejectsBadBatches() throws {
        let model = StyleLM(config: .tiny(), seed: 1)
        try model.validate(TokenBatch(rows: [[1, 2], [36]], pad: 0))
        #expect(throws: StyleLMError.self) { try model.validate(TokenBatch(rows: [[1, 37]], pad: 0)) }
        #expect(throws: StyleLMError.self) { try model.validate(TokenBatch(rows: [[1, -1]], pad: 0)) }
        #expect(throws: StyleLMError.self) { try model.validate(TokenBatch(rows: [[Int32](repeating: 1, count: 17)], pad: 0)) }
        var broken = TokenBatch(rows: [[1, 2]], pad: 0)
        broken.lengths = [3]
        #expect(throws: StyleLMError.self) { try model.validate(broken) }
    }

    @Test func invalidConfigIsAnError() {
        var config = StyleLMConfig.tiny()
        config.numAttentionHeads = 3
        #expect(throws: StyleLMError.self) { try StyleLM(config: config, weights: [:]) }
    }

    @Test func wrongAdapterShapeIsAnError() {
        let config = StyleLMConfig.tiny()
        let model = StyleLM(config: config, seed: 1)
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: [.q])
        var adapters = lora.initial(config, seed: 2)
        adapters[LoRAConfig.nameA(.q, layer: 0)]!.append(0)
        #expect(throws: StyleLMError.self) { try model.attachLoRA(lora, adapters: adapters) }
        #expect(model.lora == nil)
    }

    @Test func loRAWithZeroBGivesTheBaseLogits() throws {
        let model = Self.randomized()
        let batch = TokenBatch(rows: [[1, 2, 3, 4, 5], [9, 8]], pad: 0)
        let base = Self.logits(model, batch)
        let lora = LoRAConfig(rank: 4, alpha: 8)
        try model.attachLoRA(lora, adapters: lora.initial(model.config, seed: 9))
        #expect(Self.logits(model, batch) == base)
    }

    @Test func mergeGivesTheAdaptedLogits() throws {
        let model = Self.randomized()
        let batch = TokenBatch(rows: [[1, 2, 3, 4, 5], [9, 8]], pad: 0)
        let base = Self.logits(model, batch)
        let lora = LoRAConfig(rank: 3, alpha: 6, targets: [.q, .k, .o, .gate, .down])
        var adapters = lora.initial(model.config, seed: 9)
        for name in adapters.keys where name.contains("lora_B") {
            adapters[name] = GradientCheck.randomValues(adapters[name]!.count, name).map { $0 * 0.2 }
        }
        try model.attachLoRA(lora, adapters: adapters)
        let adapted = Self.logits(model, batch)
        #expect(zip(adapted, base).map { abs($0 - $1) }.max()! > 1e-3, "the adapters should change the logits")
        model.mergeLoRA()
        #expect(model.lora == nil && model.adapters.isEmpty)
        let merged = Self.logits(model, batch)
        #expect(zip(adapted, merged).map { abs($0 - $1) }.max()! < 1e-5)
    }

    @Test func frozenBaseWeightsGetNoGradient() throws {
        let model = Self.randomized()
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: [.v, .up])
        var adapters = lora.initial(model.config, seed: 9)
        for name in adapters.keys where name.contains("lora_B") {
            adapters[name] = GradientCheck.randomValues(adapters[name]!.count, name)
        }
        try model.attachLoRA(lora, adapters: adapters)
        let tape = Tape()
        let batch = TokenBatch(rows: [[1, 2, 3]], pad: 0)
        tape.backward(tape.crossEntropy(logits: model.logits(batch, on: tape), targets: [2, 3, 4], weights: [1, 1, 1]))
        #expect(model.weights.values.allSatisfy { !$0.requiresGrad && $0.grad.isEmpty })
        #expect(model.trainableParameters.map(\.name) == adapters.keys.sorted())
        #expect(model.adapters.values.allSatisfy { $0.grad.contains { $0 != 0 } })
    }

    @Test func fullFineTuningTrainsEveryWeight() throws {
        let model = Self.randomized()
        let lora = LoRAConfig(rank: 2, alpha: 4)
        try model.attachLoRA(lora, adapters: lora.initial(model.config, seed: 1))
        model.setFullFineTuning()
        #expect(model.adapters.isEmpty && model.lora == nil)
        #expect(model.trainableParameters.map(\.name) == StyleLMWeights.shapes(model.config).keys.sorted())
        let tape = Tape()
        let batch = TokenBatch(rows: [[1, 2, 3]], pad: 0)
        tape.backward(tape.crossEntropy(logits: model.logits(batch, on: tape), targets: [2, 3, 4], weights: [1, 1, 1]))
        #expect(model.weights.values.allSatisfy { $0.grad.contains { $0 != 0 } })
    }
}
