import COpenBLAS
import Foundation
import LookbookCore

/// Why a weight dictionary cannot make a `StyleLMInference`.
public enum StyleLMInferenceError: Error, Equatable, CustomStringConvertible {
    case invalidConfig(String)
    case missingTensor(String)
    case wrongShape(name: String, expected: [Int], count: Int)
    case unexpectedTensor(String)
    case nonFinite(name: String, index: Int)

    public var description: String {
        switch self {
        case .invalidConfig(let why): "invalid StyleLM config: \(why)"
        case .missingTensor(let name): "missing tensor \(name): the checkpoint does not match the config"
        case .wrongShape(let name, let expected, let count):
            "tensor \(name) has \(count) values, expected shape \(expected) (\(expected.reduce(1, *)) values): the checkpoint does not match the config"
        case .unexpectedTensor(let name):
            "unexpected tensor \(name): inference takes base weights only (merge LoRA adapters first; no lm_head with tied embeddings)"
        case .nonFinite(let name, let index): "tensor \(name) has a non-finite value at flat index \(index)"
        }
    }
}

/// A fast, gradient-free forward pass of a StyleLM for scoring and generation.
///
/// Same network as Hugging Face `LlamaForCausalLM` (MHA, no bias, tied embeddings,
/// `rotate_half` RoPE), built from a plain weight dictionary (LoRA already merged). Every
/// matrix product goes through `cblas_sgemm`; the per-layer projections are fused (QKV in
/// one product, gate and up in another) and residual additions ride on sgemm's β = 1.
///
/// Positions: the model never sees a position ≥ `maxPositionEmbeddings`. Longer inputs are
/// cut, never extrapolated: `logits` and `meanHidden` keep the *last* `maxPositionEmbeddings`
/// tokens, `prefill` keeps the last `maxPositionEmbeddings − 1` (room for at least one
/// continuation token), continuations are scored only up to the window's end, and
/// generation stops when the window is full.
///
/// Immutable after `init`; every call allocates its own scratch, so one instance may be
/// used from several threads at once.
public final class StyleLMInference: Sendable {
    public let config: StyleLMConfig

    /// One decoder layer, projections fused row-wise: `qkv` is [3·hidden × hidden] (q, k, v
    /// stacked), `gateUp` is [2·intermediate × hidden] (gate then up).
    struct Layer: Sendable {
        let inputNorm: [Float], postNorm: [Float]
        let qkv: [Float], o: [Float], gateUp: [Float], down: [Float]
    }

    let embedding: [Float]   // [vocab × hidden]
    let finalNorm: [Float]
    let layers: [Layer]
    /// cos/sin of `position · inv_freq_i`, [maxPositionEmbeddings × headDim/2].
    let ropeCos: [Float], ropeSin: [Float]

    public init(config: StyleLMConfig, weights: [String: [Float]]) throws {
        if let problem = config.problem() { throw StyleLMInferenceError.invalidConfig(problem) }
        let shapes = StyleLMWeights.shapes(config)
        for name in weights.keys.sorted() where shapes[name] == nil {
            throw StyleLMInferenceError.unexpectedTensor(name)
        }
        for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            guard let values = weights[name] else { throw StyleLMInferenceError.missingTensor(name) }
            let count = shape.reduce(1, *)
            if values.count != count { throw StyleLMInferenceError.wrongShape(name: name, expected: shape, count: values.count) }
            if let bad = values.firstIndex(where: { !$0.isFinite }) { throw StyleLMInferenceError.nonFinite(name: name, index: bad) }
        }
        self.config = config
        embedding = weights[StyleLMWeights.embedding]!
        finalNorm = weights[StyleLMWeights.finalNorm]!
        layers = (0..<config.numHiddenLayers).map { l in
            func w(_ p: StyleLMWeights.Projection) -> [Float] { weights[StyleLMWeights.projection(p, layer: l)]! }
            return Layer(inputNorm: weights[StyleLMWeights.inputNorm(layer: l)]!,
                         postNorm: weights[StyleLMWeights.postAttentionNorm(layer: l)]!,
                         qkv: w(.q) + w(.k) + w(.v), o: w(.o), gateUp: w(.gate) + w(.up), down: w(.down))
        }
        let half = config.headDim / 2
        var cosTable = [Float](repeating: 0, count: config.maxPositionEmbeddings * half)
        var sinTable = cosTable
        for pos in 0..<config.maxPositionEmbeddings {
            for i in 0..<half {
                let invFreq = pow(Double(config.ropeTheta), -2 * Double(i) / Double(config.headDim))
                let angle = Double(pos) * invFreq
                cosTable[pos * half + i] = Float(cos(angle))
                sinTable[pos * half + i] = Float(sin(angle))
            }
        }
        ropeCos = cosTable
        ropeSin = sinTable
    }

    // MARK: - Public API

    /// Logits, row-major [n × vocab] where n = min(tokens.count, maxPositionEmbeddings):
    /// row i predicts the token after `tokens[tokens.count − n + i]` (longer inputs keep
    /// their last tokens). No cache: the reference path the others are tested against.
    public func logits(_ tokens: [Int32]) -> [Float] {
        let kept = window(tokens, config.maxPositionEmbeddings)
        guard !kept.isEmpty else { return [] }
        var x = embed(kept)
        _ = decode(&x, segments: [Segment(start: 0, count: kept.count)], past: nil, keepCache: false)
        normalize(&x, rows: kept.count, weight: finalNorm)
        var out = [Float](repeating: 0, count: kept.count * config.vocabSize)
        projectToVocabulary(x, rows: kept.count, into: &out)
        return out
    }

    /// A prompt run once: its keys and values for every layer, and what its last position
    /// predicts. Continuations and generation start from here without redoing the prompt.
    public struct PromptState: Sendable {
        /// Tokens kept (the prompt's last `maxPositionEmbeddings − 1` at most).
        public let length: Int
        /// Tokens cut from the prompt's start to fit the position window.
        public let truncated: Int
        /// Log-softmax over the vocabulary after the prompt's last token.
        public let lastLogProbs: [Float]
        /// Final-norm hidden state of the last prompt position.
        let lastHidden: [Float]
        /// Per layer, rotated keys and values, [length × hidden].
        let keys: [[Float]], values: [[Float]]
    }

    /// Runs `prompt` (non-empty; token ids in 0..<vocab) and keeps its cache.
    public func prefill(_ prompt: [Int32]) -> PromptState {
        precondition(!prompt.isEmpty, "prefill needs at least one token")
        let kept = window(prompt, config.maxPositionEmbeddings - 1)
        let n = kept.count, h = config.hiddenSize
        var x = embed(kept)
        let cache = decode(&x, segments: [Segment(start: 0, count: n)], past: nil, keepCache: true)!
        var last = Array(x[(n - 1) * h..<n * h])
        normalize(&last, rows: 1, weight: finalNorm)
        var logits = [Float](repeating: 0, count: config.vocabSize)
        projectToVocabulary(last, rows: 1, into: &logits)
        logSoftmaxInPlace(&logits)
        return PromptState(length: n, truncated: prompt.count - n, lastLogProbs: logits, lastHidden: last,
                           keys: cache.keys, values: cache.values)
    }

    /// For each continuation, log P(token j | prompt, continuation[..<j]) for each of its
    /// tokens. Continuations go through the layers together: their rows are stacked so each
    /// projection is one sgemm per chunk of rows, and each attends to the shared cached
    /// prompt plus its own causal prefix. The last token of a continuation is never run
    /// (nothing reads it), and a prefix several continuations share (or a duplicate) is run
    /// once (`ContinuationBatch`). The vocabulary projection is blocked, with a running
    /// log-sum-exp, so no row's full logits are kept. Chunks run on two threads
    /// (`BatchOptions`; OpenBLAS is held at one thread per call meanwhile). A continuation
    /// reaching past the position window is scored on the tokens that fit (its array is
    /// shorter); an empty continuation gives [].
    public func continuationLogProbs(_ state: PromptState, _ continuations: [[Int32]]) -> [[Float]] {
        continuationLogProbs(state, continuations, options: BatchOptions())
    }

    /// Final-norm hidden state of the prompt's last position, [hidden]: a retrieval embedding.
    public func lastHidden(_ state: PromptState) -> [Float] { state.lastHidden }

    /// Mean over positions of the final-norm hidden states of `tokens` (the last
    /// `maxPositionEmbeddings` of them), [hidden]; zeros for an empty sequence.
    public func meanHidden(_ tokens: [Int32]) -> [Float] {
        let kept = window(tokens, config.maxPositionEmbeddings)
        let h = config.hiddenSize
        var mean = [Float](repeating: 0, count: h)
        guard !kept.isEmpty else { return mean }
        var x = embed(kept)
        _ = decode(&x, segments: [Segment(start: 0, count: kept.count)], past: nil, keepCache: false)
        normalize(&x, rows: kept.count, weight: finalNorm)
        for r in 0..<kept.count { for c in 0..<h { mean[c] += x[r * h + c] } }
        let inv = 1 / Float(kept.count)
        for c in 0..<h { mean[c] *= inv }
        return mean
    }

    /// Continues the prompt. `topK` ≤ 1 (or `temperature` ≤ 0) is greedy (ties go to the
    /// lowest id); otherwise samples among the `topK` most likely tokens with probabilities
    /// ∝ exp(logit / temperature), drawn from `SplitMix64(seed:)`, so a seed always gives
    /// the same text. Stops after `maxTokens`, at a token in `stop` (not returned), or when
    /// the position window is full.
    public func generate(_ state: PromptState, maxTokens: Int, stop: Set<Int32>, topK: Int = 1,
                         temperature: Float = 1, seed: UInt64 = 0) -> [Int32] {
        var keys = state.keys, values = state.values
        var logProbs = state.lastLogProbs
        var length = state.length
        var random = SplitMix64(seed: seed)
        var out: [Int32] = []
        let h = config.hiddenSize
        while out.count < maxTokens, length < config.maxPositionEmbeddings {
            let token = pick(logProbs, topK: topK, temperature: temperature, random: &random)
            if stop.contains(token) { break }
            out.append(token)
            if out.count == maxTokens || length + 1 >= config.maxPositionEmbeddings { break }
            var x = embed([token])
            let past = Cache(length: length, keys: keys, values: values)
            let step = decode(&x, segments: [Segment(start: 0, count: 1)], past: past, keepCache: true)!
            for l in 0..<config.numHiddenLayers {
                keys[l] += step.keys[l][0..<h]
                values[l] += step.values[l][0..<h]
            }
            length += 1
            normalize(&x, rows: 1, weight: finalNorm)
            var logits = [Float](repeating: 0, count: config.vocabSize)
            projectToVocabulary(x, rows: 1, into: &logits)
            logSoftmaxInPlace(&logits)
            logProbs = logits
        }
        return out
    }

    // MARK: - The decoder stack

    /// Consecutive rows of one batch that form one causal sequence, continuing the earlier
    /// batch rows `ancestors` (a shared prefix, in order; empty for a plain sequence).
    struct Segment {
        var start: Int, count: Int
        var ancestors: [Int] = []
    }

    /// Keys and values of earlier positions, shared by every segment of a batch.
    struct Cache { var length: Int, keys: [[Float]], values: [[Float]] }

    /// Runs every layer over `x` ([rows × hidden] embeddings; afterwards the last layer's
    /// residual stream, before the final norm). Row j of a segment sits at position
    /// `past.length + ancestors.count + j` and attends to all past positions, to its
    /// segment's ancestor rows and to its segment's rows 0...j.
    /// With `keepCache`, returns the rotated keys and values of the rows (one segment only).
    func decode(_ x: inout [Float], segments: [Segment], past: Cache?, keepCache: Bool) -> Cache? {
        let rows = x.count / config.hiddenSize
        let workspace = InferenceWorkspace()
        return x.withUnsafeMutableBufferPointer { xb in
            decode(xb.baseAddress!, rows: rows, segments: segments, past: past, keepCache: keepCache,
                   workspace: workspace, parallel: true)
        }
    }

    /// `decode` over `rows` rows at `x`, with the scratch of `workspace` (grown as needed,
    /// never freed between calls, so a scoring thread allocates nothing per chunk).
    /// `parallel` lets the element-wise work between sgemm calls use both cores (when the
    /// caller is not already running one chunk per core).
    func decode(_ x: UnsafeMutablePointer<Float>, rows: Int, segments: [Segment], past: Cache?, keepCache: Bool,
                workspace ws: InferenceWorkspace, parallel: Bool) -> Cache? {
        let h = config.hiddenSize, hd = config.headDim, heads = config.numAttentionHeads
        let inter = config.intermediateSize, half = hd / 2
        let p = past?.length ?? 0
        let longest = segments.map(\.count).max() ?? 0
        let deepest = segments.map(\.ancestors.count).max() ?? 0
        let scale = 1 / Float(hd).squareRoot()
        precondition(segments.allSatisfy { p + $0.ancestors.count + $0.count <= config.maxPositionEmbeddings },
                     "positions must stay below max_position_embeddings")

        let xn = ws.xn.reserve(rows * h)
        let qkv = ws.qkv.reserve(rows * 3 * h)
        let attn = ws.attn.reserve(rows * h)
        let gateUp = ws.gateUp.reserve(rows * 2 * inter)
        // Attention scratch for one head (running heads in parallel measured slower: the
        // small sgemm calls then contend with the BLAS threads).
        let scoresPast = ws.scoresPast.reserve(max(rows * p, 1))
        let scoresOwn = ws.scoresOwn.reserve(rows * longest)
        let scoresAncestors = ws.scoresAncestors.reserve(max(rows * deepest, 1))
        let gathered = ws.gathered.reserve(max(deepest * hd, 1))   // ancestor keys or values
        // Position of each row, for RoPE.
        var positions = [Int](repeating: 0, count: rows)
        for s in segments { for j in 0..<s.count { positions[s.start + j] = p + s.ancestors.count + j } }

        var kept = keepCache ? Cache(length: rows, keys: [], values: []) : nil
        let rowBlocks = parallel && rows >= 16 ? 2 : 1
        func rowRange(_ block: Int) -> Range<Int> { (block * rows / rowBlocks)..<((block + 1) * rows / rowBlocks) }
        ws.lap(.other)
        for (l, layer) in layers.enumerated() {
            // Attention block.
            rmsNorm(x, xn, rows: rows, weight: layer.inputNorm)
            ws.lap(.elementwise)
            layer.qkv.withUnsafeBufferPointer { w in
                sgemm(rows, 3 * h, h, xn, h, w.baseAddress!, h, transposeB: true, qkv, 3 * h)
            }
            ws.lap(.projections)
            ropeCos.withUnsafeBufferPointer { cosT in
                ropeSin.withUnsafeBufferPointer { sinT in
                    for r in 0..<rows {
                        let c = cosT.baseAddress! + positions[r] * half, sn = sinT.baseAddress! + positions[r] * half
                        for part in 0..<2 {   // q then k
                            for head in 0..<heads {
                                InferenceKernels.rotate(qkv + r * 3 * h + part * h + head * hd, half, cos: c, sin: sn)
                            }
                        }
                    }
                }
            }
            if keepCache {
                var k = [Float](repeating: 0, count: rows * h), v = k
                for r in 0..<rows {
                    for c in 0..<h {
                        k[r * h + c] = qkv[r * 3 * h + h + c]
                        v[r * h + c] = qkv[r * 3 * h + 2 * h + c]
                    }
                }
                kept!.keys.append(k)
                kept!.values.append(v)
            }
            withPast(past, layer: l) { pastK, pastV in
                for head in 0..<heads {
                    let q = qkv + head * hd, k = qkv + h + head * hd, v = qkv + 2 * h + head * hd
                    let out = attn + head * hd
                    // Scores against the past, the ancestors and the own rows; one softmax over all three.
                    if p > 0 {
                        sgemm(rows, p, hd, q, 3 * h, pastK! + head * hd, h, transposeB: true, scoresPast, p, alpha: scale)
                    }
                    for s in segments {
                        let a = s.ancestors.count, anc = scoresAncestors + s.start * deepest
                        if a > 0 {
                            gather(s.ancestors, from: k, stride: 3 * h, width: hd, into: gathered)
                            sgemm(s.count, a, hd, q + s.start * 3 * h, 3 * h, gathered, hd, transposeB: true, anc, deepest, alpha: scale)
                        }
                        sgemm(s.count, s.count, hd, q + s.start * 3 * h, 3 * h, k + s.start * 3 * h, 3 * h,
                              transposeB: true, scoresOwn + s.start * longest, longest, alpha: scale)
                        for j in 0..<s.count {
                            softmaxRow(past: scoresPast + (s.start + j) * p, p, ancestors: anc + j * deepest, a,
                                       own: scoresOwn + (s.start + j) * longest, visible: j + 1, width: s.count)
                        }
                    }
                    // Weighted values: the past for every row at once, then each segment's ancestors and own rows.
                    if p > 0 {
                        sgemm(rows, hd, p, scoresPast, p, pastV! + head * hd, h, transposeB: false, out, h)
                    }
                    for s in segments {
                        let a = s.ancestors.count
                        if a > 0 {
                            gather(s.ancestors, from: v, stride: 3 * h, width: hd, into: gathered)
                            sgemm(s.count, hd, a, scoresAncestors + s.start * deepest, deepest, gathered, hd, transposeB: false,
                                  out + s.start * h, h, beta: p > 0 ? 1 : 0)
                        }
                        sgemm(s.count, hd, s.count, scoresOwn + s.start * longest, longest, v + s.start * 3 * h, 3 * h,
                              transposeB: false, out + s.start * h, h, beta: p > 0 || a > 0 ? 1 : 0)
                    }
                }
            }
            ws.lap(.attention)
            layer.o.withUnsafeBufferPointer { w in
                sgemm(rows, h, h, attn, h, w.baseAddress!, h, transposeB: true, x, h, beta: 1)
            }
            ws.lap(.projections)
            // MLP block.
            rmsNorm(x, xn, rows: rows, weight: layer.postNorm)
            ws.lap(.elementwise)
            layer.gateUp.withUnsafeBufferPointer { w in
                sgemm(rows, 2 * inter, h, xn, h, w.baseAddress!, h, transposeB: true, gateUp, 2 * inter)
            }
            ws.lap(.projections)
            concurrentPerform(rowBlocks, when: rowBlocks > 1) { block in
                for r in rowRange(block) {
                    let g = gateUp + r * 2 * inter
                    InferenceKernels.swiGLU(g, g + inter, inter)
                }
            }
            ws.lap(.elementwise)
            layer.down.withUnsafeBufferPointer { w in
                sgemm(rows, h, inter, gateUp, 2 * inter, w.baseAddress!, inter, transposeB: true, x, h, beta: 1)
            }
            ws.lap(.projections)
        }
        return kept
    }

    /// Calls `body` with the past keys and values of `layer` (nil pointers without a past).
    private func withPast(_ past: Cache?, layer: Int,
                          _ body: (UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void) {
        guard let past, past.length > 0 else { return body(nil, nil) }
        past.keys[layer].withUnsafeBufferPointer { k in
            past.values[layer].withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) }
        }
    }

    /// Softmax over `p` past scores, `a` ancestor scores and the first `visible` of `width`
    /// own scores, in place; the masked own scores become 0 so the value product can run
    /// over the full width.
    @inline(__always)
    private func softmaxRow(past: UnsafeMutablePointer<Float>, _ p: Int, ancestors: UnsafeMutablePointer<Float>, _ a: Int,
                            own: UnsafeMutablePointer<Float>, visible: Int, width: Int) {
        typealias K = InferenceKernels
        let m = max(K.maximum(past, p), K.maximum(ancestors, a), K.maximum(own, visible))
        let sum = K.expInPlace(past, p, minus: m) + K.expInPlace(ancestors, a, minus: m) + K.expInPlace(own, visible, minus: m)
        let inv = 1 / sum
        K.scale(past, p, by: inv)
        K.scale(ancestors, a, by: inv)
        K.scale(own, visible, by: inv)
        for i in visible..<width { own[i] = 0 }
    }

    /// Copies `width` floats of each listed row (rows `stride` apart) into consecutive rows.
    @inline(__always)
    private func gather(_ rows: [Int], from base: UnsafePointer<Float>, stride: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        for (i, row) in rows.enumerated() { (out + i * width).update(from: base + row * stride, count: width) }
    }

    // MARK: - Small kernels

    /// Keeps the last `limit` tokens and checks the ids.
    private func window(_ tokens: [Int32], _ limit: Int) -> [Int32] {
        checkIDs(tokens)
        return tokens.count > limit ? Array(tokens.suffix(limit)) : tokens
    }

    /// Token ids come from the model's own tokenizer, so one outside the vocabulary is a
    /// programming error (a tokenizer and checkpoint that do not belong together).
    func checkIDs(_ tokens: [Int32]) {
        for t in tokens { precondition(t >= 0 && Int(t) < config.vocabSize, "token id \(t) outside the vocabulary 0..<\(config.vocabSize)") }
    }

    private func embed(_ tokens: [Int32]) -> [Float] {
        let h = config.hiddenSize
        var x = [Float](repeating: 0, count: tokens.count * h)
        for (r, t) in tokens.enumerated() {
            let base = Int(t) * h
            for c in 0..<h { x[r * h + c] = embedding[base + c] }
        }
        return x
    }

    /// out = x / sqrt(mean(x²) + eps) · weight, row by row.
    func rmsNorm(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, weight: [Float]) {
        let h = config.hiddenSize, eps = config.rmsNormEps
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows { InferenceKernels.rmsNorm(x + r * h, w.baseAddress!, out + r * h, h, eps: eps) }
        }
    }

    private func normalize(_ x: inout [Float], rows: Int, weight: [Float]) {
        let copy = x
        copy.withUnsafeBufferPointer { src in
            x.withUnsafeMutableBufferPointer { dst in rmsNorm(src.baseAddress!, dst.baseAddress!, rows: rows, weight: weight) }
        }
    }

    /// out[rows × vocab] = x · embeddingᵀ (tied output projection).
    private func projectToVocabulary(_ x: [Float], rows: Int, into out: inout [Float]) {
        let h = config.hiddenSize, v = config.vocabSize
        x.withUnsafeBufferPointer { xb in
            embedding.withUnsafeBufferPointer { e in
                out.withUnsafeMutableBufferPointer { o in
                    sgemm(rows, v, h, xb.baseAddress!, h, e.baseAddress!, h, transposeB: true, o.baseAddress!, v)
                }
            }
        }
    }

    private func logSoftmaxInPlace(_ x: inout [Float]) {
        x.withUnsafeMutableBufferPointer { b in
            let lse = logSumExp(b.baseAddress!, b.count)
            for i in 0..<b.count { b[i] -= lse }
        }
    }

    @inline(__always)
    func logSumExp(_ row: UnsafePointer<Float>, _ n: Int) -> Float {
        let m = InferenceKernels.maximum(row, n)
        return m + logf(InferenceKernels.sumExpBelow(row, n, shift: m))
    }

    /// Greedy or top-k sampling from log-probabilities.
    private func pick(_ logProbs: [Float], topK: Int, temperature: Float, random: inout SplitMix64) -> Int32 {
        if topK <= 1 || !(temperature > 0) {
            var best = 0
            for i in 1..<logProbs.count where logProbs[i] > logProbs[best] { best = i }
            return Int32(best)
        }
        let k = min(topK, logProbs.count)
        // Stable order: higher log-probability first, lower id on ties.
        let top = logProbs.indices.sorted { logProbs[$0] != logProbs[$1] ? logProbs[$0] > logProbs[$1] : $0 < $1 }.prefix(k)
        let m = logProbs[top.first!]
        let weights = top.map { Double(expf((logProbs[$0] - m) / temperature)) }
        var u = random.unit() * weights.reduce(0, +)
        for (i, w) in zip(top, weights) {
            u -= w
            if u < 0 { return Int32(i) }
        }
        return Int32(top.last!)
    }
}

/// Runs `body(0..<n)` on GCD's worker threads (at most one per core) when `parallel`,
/// else in order on this thread. The element-wise work between sgemm calls runs here, so
/// the second core is not left to the idle BLAS thread.
@inline(__always)
func concurrentPerform(_ n: Int, when parallel: Bool, _ body: (Int) -> Void) {
    guard parallel else { for i in 0..<n { body(i) }; return }
    // The iterations write disjoint slices of the caller's buffers, which is what makes
    // handing the non-Sendable body to other threads safe.
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(value: body)
        DispatchQueue.concurrentPerform(iterations: n) { work.value($0) }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable { let value: T }

/// Row-major C = α·A·op(B) + β·C through `cblas_sgemm`, with leading dimensions so that
/// column slices (one head of a fused QKV block) need no copy.
@inline(__always)
func sgemm(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                   _ b: UnsafePointer<Float>, _ ldb: Int, transposeB: Bool,
                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, alpha: Float = 1, beta: Float = 0) {
    guard m > 0, n > 0, k > 0 else { return }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
