import Foundation
import Testing
import LookbookCore
@testable import StyleModel

/// The tiny model with the reference weights (large enough that attention is far from
/// uniform and logits spread over ±2, so a wrong position or mask shows).
private let tinyConfig = StyleLMConfig.tiny()
private let tinyModel: StyleLMInference = try! StyleLMInference(config: tinyConfig, weights: ReferenceWeights.make(tinyConfig))

/// Row `row` of a [rows × vocab] logits array, log-softmaxed in Double.
private func logSoftmaxRow(_ logits: [Float], row: Int, vocab: Int) -> [Double] {
    let r = logits[row * vocab..<(row + 1) * vocab].map(Double.init)
    let m = r.max()!
    let lse = m + log(r.reduce(0) { $0 + exp($1 - m) })
    return r.map { $0 - lse }
}

private func argmax(_ xs: ArraySlice<Float>) -> Int {
    var best = xs.startIndex
    for i in xs.indices where xs[i] > xs[best] { best = i }
    return best - xs.startIndex
}

private func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite struct InferenceGoldenTests {
    /// Swift runs in Float32, numpy in Float64 from the same Float32 weights. Float32 carries
    /// ~6e-8 relative error per operation; through two layers of 16–24-term dot products,
    /// softmax and RMSNorm on values of size ~1 the accumulated error is ~1e-6, so 1e-4
    /// leaves two orders of margin while any real mistake (RoPE pairing, mask, norm
    /// placement) moves logits by 1e-2 or more.
    @Test func logitsMatchTheNumpyReference() throws {
        let golden = try ReferenceWeights.golden()
        #expect(golden.config == StyleLMConfig.tiny())
        let model = try StyleLMInference(config: golden.config, weights: ReferenceWeights.make(golden.config))
        let logits = model.logits(golden.tokens)
        let vocab = golden.config.vocabSize
        #expect(logits.count == golden.tokens.count * vocab)
        var worst = 0.0
        for (r, row) in golden.logits.enumerated() {
            for (c, want) in row.enumerated() { worst = max(worst, abs(Double(logits[r * vocab + c]) - want)) }
        }
        #expect(worst < 1e-4, "max |Swift − numpy| = \(worst)")
    }

    /// Causality: tokens appended later leave the earlier rows unchanged.
    @Test func laterTokensDoNotChangeEarlierRows() throws {
        let golden = try ReferenceWeights.golden()
        let vocab = tinyConfig.vocabSize
        let short = tinyModel.logits(Array(golden.tokens.prefix(4)))
        let full = tinyModel.logits(golden.tokens)
        #expect(maxAbsDifference(short, Array(full.prefix(4 * vocab))) < 1e-5)
        #expect(maxAbsDifference(Array(full[4 * vocab..<5 * vocab]), Array(full[3 * vocab..<4 * vocab])) > 1e-2)
    }
}

@Suite struct InferenceCacheTests {
    let prompt: [Int32] = [3, 14, 15, 9, 26, 5]
    let continuations: [[Int32]] = [[8], [7, 9, 3], [2, 36, 0, 11, 4, 20, 19, 1], [7, 9], [33, 33, 33, 12]]

    /// Each continuation's log-probabilities equal the log-softmax of the uncached logits of
    /// prompt + continuation at the positions that predict its tokens.
    @Test func continuationLogProbsMatchUncachedLogits() {
        let state = tinyModel.prefill(prompt)
        #expect(state.length == prompt.count && state.truncated == 0)
        let scores = tinyModel.continuationLogProbs(state, continuations)
        #expect(scores.map(\.count) == continuations.map(\.count))
        for (c, got) in zip(continuations, scores) {
            let logits = tinyModel.logits(prompt + c)
            for j in 0..<c.count {
                let want = logSoftmaxRow(logits, row: prompt.count - 1 + j, vocab: tinyConfig.vocabSize)[Int(c[j])]
                #expect(abs(Double(got[j]) - want) < 1e-4, "continuation \(c) token \(j): \(got[j]) vs \(want)")
            }
        }
    }

    /// Batches with no shared prefix, shared prefixes of several depths, and duplicates
    /// (which the prefix tree runs once) all score like one continuation at a time.
    static let batches: [[[Int32]]] = [
        [[8], [7, 9, 3], [2, 36, 0, 11, 4, 20, 19, 1], [33, 33, 33, 12]],
        [[7, 9, 3, 4], [7, 9, 3, 5], [7, 9, 1], [7, 2, 2, 2, 2], [7], [7, 9], [6, 9, 3, 4]],
        [[5, 6, 7], [5, 6, 7], [1, 2], [5, 6, 7], [1, 2, 3]],
    ]

    @Test(arguments: batches)
    func aBatchScoresLikeOneAtATimeAndLikeUncachedLogits(_ batch: [[Int32]]) {
        let state = tinyModel.prefill(prompt)
        let scores = tinyModel.continuationLogProbs(state, batch)
        #expect(scores.map(\.count) == batch.map(\.count))
        for (c, got) in zip(batch, scores) {
            let alone = tinyModel.continuationLogProbs(state, [c])[0]
            #expect(maxAbsDifference(got, alone) < 1e-5, "continuation \(c)")
            let logits = tinyModel.logits(prompt + c)
            for j in 0..<c.count {
                let want = logSoftmaxRow(logits, row: prompt.count - 1 + j, vocab: tinyConfig.vocabSize)[Int(c[j])]
                #expect(abs(Double(got[j]) - want) < 1e-4, "continuation \(c) token \(j)")
            }
        }
    }

    /// The prefix tree runs each distinct prefix once, in segments that attend to their
    /// shared ancestors.
    @Test func sharedPrefixesRunOnce() {
        let batch = ContinuationBatch([[7, 9, 3, 4], [7, 9, 5, 6], [7, 9, 3, 8], [2, 1], [7, 9, 3, 4], [4]])
        // Distinct prefixes without last tokens: 7, 7 9, 7 9 3, 7 9 5, 2.
        #expect(batch.tokens == [7, 9, 3, 5, 2])
        #expect(batch.rows == [[0, 1, 2], [0, 1, 3], [0, 1, 2], [4], [0, 1, 2], []])
        #expect(batch.segments.map(\.start) == [0, 3, 4])
        #expect(batch.segments.map(\.count) == [3, 1, 1])
        #expect(batch.segments.map(\.ancestors) == [[], [0, 1], []])
    }

    @Test func emptyContinuationsAndBatches() {
        let state = tinyModel.prefill(prompt)
        #expect(tinyModel.continuationLogProbs(state, []).isEmpty)
        let scores = tinyModel.continuationLogProbs(state, [[], [4]])
        #expect(scores[0].isEmpty)
        #expect(scores[1] == [state.lastLogProbs[4]])
    }

    @Test func lastLogProbsAreANormalisedDistribution() {
        let state = tinyModel.prefill(prompt)
        let total = state.lastLogProbs.reduce(0.0) { $0 + exp(Double($1)) }
        #expect(abs(total - 1) < 1e-5)
    }
}

/// The scorer splits a batch into chunks of whole prefix subtrees and runs them on two
/// threads (or one after another); every way must give the uncached forward pass's numbers.
@Suite struct InferenceChunkedScoringTests {
    let prompt: [Int32] = [3, 14, 15, 9, 26, 5]
    static let batch: [[Int32]] = [
        [7, 9, 3, 4], [7, 9, 3, 5], [7, 9, 1], [7, 2, 2, 2, 2], [7], [7, 9], [6, 9, 3, 4], [8], [],
        [2, 36, 0, 11, 4, 20, 19, 1], [5, 6, 7], [5, 6, 7], [1, 2], [33, 33, 33, 12], [1, 2, 3], [6, 9, 3, 4],
    ]

    static let options: [StyleLMInference.BatchOptions] = [
        StyleLMInference.BatchOptions(threads: 1, chunkRows: 1_000),
        StyleLMInference.BatchOptions(threads: 1, chunkRows: 3, vocabularyRows: 2, vocabularyColumns: 5),
        StyleLMInference.BatchOptions(threads: 2, chunkRows: 1, vocabularyRows: 1, vocabularyColumns: 1),
        StyleLMInference.BatchOptions(threads: 2, chunkRows: 5, vocabularyRows: 3, vocabularyColumns: 8),
        StyleLMInference.BatchOptions(threads: 2),
    ]

    @Test(arguments: options)
    func everyChunkingScoresLikeTheUncachedForwardPass(_ options: StyleLMInference.BatchOptions) {
        let state = tinyModel.prefill(prompt)
        let scores = tinyModel.continuationLogProbs(state, Self.batch, options: options)
        #expect(scores.map(\.count) == Self.batch.map(\.count))
        let reference = tinyModel.continuationLogProbs(state, Self.batch, options: StyleLMInference.BatchOptions(threads: 1, chunkRows: 1_000))
        for (c, (got, want)) in zip(Self.batch, zip(scores, reference)) {
            #expect(maxAbsDifference(got, want) < 1e-5, "continuation \(c)")
            let logits = tinyModel.logits(prompt + c)
            for j in 0..<c.count {
                let exact = logSoftmaxRow(logits, row: prompt.count - 1 + j, vocab: tinyConfig.vocabSize)[Int(c[j])]
                #expect(abs(Double(got[j]) - exact) < 1e-4, "continuation \(c) token \(j): \(got[j]) vs \(exact)")
            }
        }
    }

    /// Chunks cover every row once, hold whole subtrees (no segment attends to a row of
    /// another chunk) and stay within the limit unless one subtree alone is larger.
    @Test(arguments: [1, 2, 3, 4, 7, 100])
    func chunksHoldWholeSubtrees(_ maxRows: Int) {
        let batch = ContinuationBatch(Self.batch)
        let chunks = batch.chunks(maxRows: maxRows)
        #expect(chunks.first?.rows.lowerBound == 0 && chunks.last?.rows.upperBound == batch.tokens.count)
        #expect(chunks.first?.segments.lowerBound == 0 && chunks.last?.segments.upperBound == batch.segments.count)
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            #expect(a.rows.upperBound == b.rows.lowerBound && a.segments.upperBound == b.segments.lowerBound)
        }
        for chunk in chunks {
            #expect(!chunk.rows.isEmpty)
            let segments = batch.segments[chunk.segments]
            #expect(segments.first?.start == chunk.rows.lowerBound)
            #expect(segments.first?.ancestors.isEmpty == true)
            for s in segments {
                #expect(s.ancestors.allSatisfy { chunk.rows.contains($0) })
                #expect(chunk.rows.contains(s.start) && chunk.rows.contains(s.start + s.count - 1))
            }
            let subtrees = segments.filter(\.ancestors.isEmpty).count
            #expect(chunk.rows.count <= maxRows || subtrees == 1, "chunk \(chunk.rows) over \(maxRows) rows with \(subtrees) subtrees")
        }
    }

    /// A head size that is not a multiple of the SIMD width (RoPE's scalar tail), several
    /// heads, and a prompt long enough that continuations hit the window's end.
    @Test func oddHeadSizeAndWindowEnd() throws {
        let config = StyleLMConfig(vocabSize: 41, hiddenSize: 36, intermediateSize: 20, numHiddenLayers: 2,
                                   numAttentionHeads: 3, maxPositionEmbeddings: 14)
        let model = try StyleLMInference(config: config, weights: ReferenceWeights.make(config))
        let prompt: [Int32] = [1, 40, 7, 7, 3, 22, 9, 0]
        let batch: [[Int32]] = [[5, 6, 7, 8, 9, 10, 11], [5, 6, 2], [40, 1], [5, 6, 7, 8, 1], [13]]
        let state = model.prefill(prompt)
        for options in [StyleLMInference.BatchOptions(threads: 2, chunkRows: 2), StyleLMInference.BatchOptions(threads: 1)] {
            let scores = model.continuationLogProbs(state, batch, options: options)
            #expect(scores.map(\.count) == batch.map { min($0.count, config.maxPositionEmbeddings - prompt.count) })
            for (c, got) in zip(batch, scores) {
                let logits = model.logits(prompt + c.prefix(got.count))
                for j in 0..<got.count {
                    let exact = logSoftmaxRow(logits, row: prompt.count - 1 + j, vocab: config.vocabSize)[Int(c[j])]
                    #expect(abs(Double(got[j]) - exact) < 1e-4, "continuation \(c) token \(j)")
                }
            }
        }
    }

    @Test func profileChargesTheStages() {
        let profile = StyleLMInference.BatchProfile()
        let state = tinyModel.prefill(prompt)
        let profiled = tinyModel.continuationLogProbs(state, Self.batch, options: StyleLMInference.BatchOptions(threads: 2, chunkRows: 4), profile: profile)
        #expect(profiled == tinyModel.continuationLogProbs(state, Self.batch, options: StyleLMInference.BatchOptions(threads: 2, chunkRows: 4)))
        let seconds = profile.seconds
        for stage in [StyleLMInference.BatchProfile.Stage.planning, .projections, .attention, .vocabulary, .logSumExp] {
            #expect((seconds[stage] ?? 0) > 0, "\(stage.name)")
        }
        profile.reset()
        #expect(profile.seconds.values.allSatisfy { $0 == 0 })
    }
}

/// The SIMD exp against libm's, in Double: tight where softmax, SiLU and log-sum-exp
/// values live, looser near the clamps where results only saturate or vanish.
@Suite struct InferenceKernelTests {
    @Test func simdExpMatchesLibm() {
        var worstNear = 0.0, worstFar = 0.0
        for i in 0...40_000 {
            let x = -87 + 175 * Float(i) / 40_000
            let got = InferenceKernels.exp(SIMD4(repeating: x))[0]
            let relative = abs(Double(got) / Foundation.exp(Double(x)) - 1)
            if abs(x) <= 15 { worstNear = max(worstNear, relative) } else { worstFar = max(worstFar, relative) }
        }
        #expect(worstNear < 1e-6, "relative error \(worstNear) on [−15, 15]")
        #expect(worstFar < 2e-5, "relative error \(worstFar) on [−87, 88]")
        #expect(InferenceKernels.exp(SIMD4(repeating: -200))[0] < 1e-37)
        #expect(InferenceKernels.exp(SIMD4(repeating: 200))[0].isFinite)
    }

    /// Sums with a tail shorter than a vector, far-below-the-maximum values and -∞ free inputs.
    @Test(arguments: [1, 3, 4, 7, 4096])
    func sumExpBelowAndMaximumMatchDoubles(_ n: Int) {
        var random = SplitMix64(seed: UInt64(n))
        let values = (0..<n).map { _ in Float(random.gaussian() * 6) }
        let m = values.withUnsafeBufferPointer { InferenceKernels.maximum($0.baseAddress!, n) }
        #expect(m == values.max()!)
        let got = values.withUnsafeBufferPointer { InferenceKernels.sumExpBelow($0.baseAddress!, n, shift: m) }
        let want = values.reduce(0.0) { $0 + Foundation.exp(Double($1 - m)) }
        #expect(abs(Double(got) / want - 1) < 2e-6)
    }
}

/// Inputs longer than the position window are cut from the left, never extrapolated.
@Suite struct InferenceWindowTests {
    let long: [Int32] = (0..<20).map { Int32(($0 * 7) % 37) }   // maxPositionEmbeddings is 16

    @Test func logitsKeepTheLastTokens() {
        let vocab = tinyConfig.vocabSize
        let logits = tinyModel.logits(long)
        #expect(logits.count == 16 * vocab)
        #expect(logits == tinyModel.logits(Array(long.suffix(16))))
    }

    @Test func prefillKeepsRoomForOneToken() {
        let state = tinyModel.prefill(long)
        #expect(state.length == 15 && state.truncated == 5)
        #expect(state.lastLogProbs == tinyModel.prefill(Array(long.suffix(15))).lastLogProbs)
        // Only the first continuation token fits at position 15.
        let scores = tinyModel.continuationLogProbs(state, [[1, 2, 3]])
        #expect(scores == [[state.lastLogProbs[1]]])
        #expect(tinyModel.generate(state, maxTokens: 10, stop: []).count == 1)
    }

    @Test func continuationsAreCutAtTheWindowEnd() {
        let state = tinyModel.prefill(Array(long.prefix(12)))
        let scores = tinyModel.continuationLogProbs(state, [[1, 2, 3, 4, 5, 6], [7]])
        #expect(scores.map(\.count) == [4, 1])
        #expect(tinyModel.generate(state, maxTokens: 100, stop: []).count == 4)
    }
}

@Suite struct InferenceGenerationTests {
    let prompt: [Int32] = [1, 5, 36, 0, 17]

    @Test func greedyIsArgmaxOfTheUncachedLogitsStepByStep() {
        let generated = tinyModel.generate(tinyModel.prefill(prompt), maxTokens: 8, stop: [])
        #expect(generated.count == 8)
        var sequence = prompt
        for token in generated {
            let logits = tinyModel.logits(sequence)
            let vocab = tinyConfig.vocabSize
            let want = argmax(logits[(sequence.count - 1) * vocab..<sequence.count * vocab])
            #expect(Int(token) == want)
            sequence.append(token)
        }
    }

    @Test func stopsAtAStopTokenWithoutReturningIt() {
        let state = tinyModel.prefill(prompt)
        let free = tinyModel.generate(state, maxTokens: 8, stop: [])
        let stopped = tinyModel.generate(state, maxTokens: 8, stop: [free[2]])
        let firstStop = free.firstIndex(of: free[2])!
        #expect(stopped == Array(free.prefix(firstStop)))
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func topKIsDeterministicForASeedAndStaysInTheTopK(seed: UInt64) {
        let state = tinyModel.prefill(prompt)
        let k = 4
        let a = tinyModel.generate(state, maxTokens: 8, stop: [], topK: k, temperature: 1.5, seed: seed)
        let b = tinyModel.generate(state, maxTokens: 8, stop: [], topK: k, temperature: 1.5, seed: seed)
        #expect(a == b)
        #expect(a.count == 8)
        var sequence = prompt
        let vocab = tinyConfig.vocabSize
        for token in a {
            let logits = tinyModel.logits(sequence)
            let row = Array(logits[(sequence.count - 1) * vocab..<sequence.count * vocab])
            let rank = row.filter { $0 > row[Int(token)] }.count
            #expect(rank < k, "token \(token) has rank \(rank)")
            sequence.append(token)
        }
    }

    @Test func seedsChangeTheSampleAndGreedyDoesNot() {
        let state = tinyModel.prefill(prompt)
        let samples = Set((0..<8).map { tinyModel.generate(state, maxTokens: 6, stop: [], topK: 8, temperature: 2, seed: UInt64($0)) })
        #expect(samples.count > 1)
        let greedy = Set((0..<3).map { tinyModel.generate(state, maxTokens: 6, stop: [], topK: 1, seed: UInt64($0)) })
        #expect(greedy.count == 1)
    }
}

@Suite struct InferenceHiddenTests {
    let tokens: [Int32] = [4, 8, 15, 16, 23, 35]

    /// The tied output projection turns the hidden states into the logits, so lastHidden and
    /// meanHidden are checked through `logits`: h·Eᵀ is the last row, mean(h)·Eᵀ the mean row.
    @Test func hiddenStatesProjectToTheLogits() throws {
        let weights = ReferenceWeights.make(tinyConfig)
        let embedding = weights[StyleLMWeights.embedding]!
        let h = tinyConfig.hiddenSize, vocab = tinyConfig.vocabSize
        func project(_ x: [Float]) -> [Float] {
            (0..<vocab).map { v in (0..<h).reduce(Float(0)) { $0 + x[$1] * embedding[v * h + $1] } }
        }
        let logits = tinyModel.logits(tokens)
        let last = tinyModel.lastHidden(tinyModel.prefill(tokens))
        #expect(last.count == h)
        #expect(maxAbsDifference(project(last), Array(logits[(tokens.count - 1) * vocab..<tokens.count * vocab])) < 1e-4)
        let mean = tinyModel.meanHidden(tokens)
        #expect(mean.count == h)
        let meanRow = (0..<vocab).map { v in (0..<tokens.count).reduce(Float(0)) { $0 + logits[$1 * vocab + v] } / Float(tokens.count) }
        #expect(maxAbsDifference(project(mean), meanRow) < 1e-4)
    }

    @Test func deterministicAndEmptySafe() {
        #expect(tinyModel.meanHidden(tokens) == tinyModel.meanHidden(tokens))
        #expect(tinyModel.lastHidden(tinyModel.prefill(tokens)) == tinyModel.lastHidden(tinyModel.prefill(tokens)))
        #expect(tinyModel.meanHidden([]) == [Float](repeating: 0, count: tinyConfig.hiddenSize))
        #expect(tinyModel.logits([]).isEmpty)
    }

    /// Several threads share one engine.
    @Test func concurrentCallsAgree() async {
        let want = tinyModel.continuationLogProbs(tinyModel.prefill(tokens), [[1, 2, 3], [4]])
        let results = await withTaskGroup(of: [[Float]].self) { group in
            for _ in 0..<4 { group.addTask { tinyModel.continuationLogProbs(tinyModel.prefill(tokens), [[1, 2, 3], [4]]) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 == want })
    }
}

@Suite struct InferenceWeightErrorTests {
    let q0 = StyleLMWeights.projection(.q, layer: 0)

    @Test func missingTensorIsNamed() {
        var weights = ReferenceWeights.make(tinyConfig)
        weights[q0] = nil
        #expect(throws: StyleLMInferenceError.missingTensor(q0)) { try StyleLMInference(config: tinyConfig, weights: weights) }
    }

    @Test func wrongShapeIsNamed() {
        var weights = ReferenceWeights.make(tinyConfig)
        weights[StyleLMWeights.embedding]!.removeLast()
        let error = #expect(throws: StyleLMInferenceError.self) { try StyleLMInference(config: tinyConfig, weights: weights) }
        #expect(error == .wrongShape(name: StyleLMWeights.embedding, expected: [37, 16], count: 37 * 16 - 1))
        #expect(error?.description.contains(StyleLMWeights.embedding) == true)
    }

    @Test func unmergedLoRAIsRejected() {
        var weights = ReferenceWeights.make(tinyConfig)
        let name = LoRAConfig.nameA(.q, layer: 0)
        weights[name] = [0]
        let error = #expect(throws: StyleLMInferenceError.self) { try StyleLMInference(config: tinyConfig, weights: weights) }
        #expect(error == .unexpectedTensor(name))
        #expect(error?.description.contains("merge LoRA") == true)
    }

    @Test func nonFiniteValueIsNamed() {
        var weights = ReferenceWeights.make(tinyConfig)
        weights[StyleLMWeights.finalNorm]![3] = .nan
        #expect(throws: StyleLMInferenceError.nonFinite(name: StyleLMWeights.finalNorm, index: 3)) {
            try StyleLMInference(config: tinyConfig, weights: weights)
        }
    }

    @Test func invalidConfigIsRejected() {
        var config = tinyConfig
        config.numAttentionHeads = 3
        let error = #expect(throws: StyleLMInferenceError.self) { try StyleLMInference(config: config, weights: [:]) }
        #expect(error?.description.contains("num_attention_heads") == true)
    }
}
