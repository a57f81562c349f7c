/// Token rows padded to one length, the input of a training or scoring step.
///
/// A row may pack several sequences that share a prefix (DPO's prompt + chosen +
/// rejected, see `DPOTrainer`): explicit `positions` restart the rotary positions of a
/// later segment, and a row's `hiddenKeys` hides an earlier segment from it, so each
/// segment computes exactly what it would in a row of its own.
public struct TokenBatch: Sendable, Equatable {
    /// batch·seq ids, row-major; places past a row's length hold the pad id.
    public var tokens: [Int32]
    public var batch: Int, seq: Int
    /// The real length of each row.
    public var lengths: [Int]
    /// batch·seq rotary positions, row-major (0 at padded places); nil means index i of
    /// a row is position i.
    public var positions: [Int32]?
    /// Per row, keys hidden from every query after them: a query at index i ≥
    /// `upperBound` gives the keys in the range zero attention (queries inside or before
    /// the range are causal as usual). nil: plain causal attention.
    public var hiddenKeys: [Range<Int>?]

    /// Pads every row with `pad` to the longest row's length; `positions` (one per token
    /// of each row) and `hiddenKeys` (one per row, within the row) as described above.
    public init(rows: [[Int32]], pad: Int32, positions: [[Int32]]? = nil, hiddenKeys: [Range<Int>?]? = nil) {
        precondition(positions.map { $0.map(\.count) == rows.map(\.count) } ?? true, "TokenBatch: one position per token of each row")
        precondition(hiddenKeys.map { $0.count == rows.count } ?? true, "TokenBatch: \(hiddenKeys?.count ?? 0) hidden key ranges for \(rows.count) rows")
        let seq = rows.map(\.count).max() ?? 0
        func padded<T>(_ rows: [[T]], _ pad: T) -> [T] {
            var out: [T] = []
            out.reserveCapacity(rows.count * seq)
            for row in rows { out += row + [T](repeating: pad, count: seq - row.count) }
            return out
        }
        self.batch = rows.count
        self.seq = seq
        lengths = rows.map(\.count)
        tokens = padded(rows, pad)
        self.positions = positions.map { padded($0, 0) }
        self.hiddenKeys = hiddenKeys ?? [Range<Int>?](repeating: nil, count: rows.count)
    }
}

/// Why weights or adapters cannot make a StyleLM; `tensor` names the culprit.
public struct StyleLMError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case invalidConfig, missingTensor, unexpectedTensor, wrongShape, nonFinite, invalidBatch }
    public var code: Code
    public var tensor: String?
    public var message: String

    public var description: String { message }
}

/// The trainable StyleLM: a LLaMA decoder (RMSNorm, rotary embeddings, causal attention,
/// SwiGLU, tied embeddings) built on `Tape`, so a forward pass records what `backward`
/// needs. It computes the same logits as Hugging Face's `LlamaForCausalLM` on the same
/// tensors. Not thread-safe: one owner trains or scores it at a time.
public final class StyleLM {
    public let config: StyleLMConfig
    /// Exactly the tensors of `StyleLMWeights.shapes(config)`.
    public private(set) var weights: [String: Tensor]
    public private(set) var lora: LoRAConfig?
    /// `LoRAConfig.nameA`/`nameB` names, while LoRA is attached.
    public private(set) var adapters: [String: Tensor] = [:]

    /// Checks every name, shape and value; the base weights start frozen.
    public init(config: StyleLMConfig, weights: [String: [Float]]) throws {
        if let problem = config.problem() {
            throw StyleLMError(code: .invalidConfig, tensor: nil, message: "invalid StyleLM config: \(problem)")
        }
        self.config = config
        self.weights = try Self.validated(weights, shapes: StyleLMWeights.shapes(config), what: "weight")
    }

    /// Fresh weights from `StyleLMWeights.initial` (same seed, same weights).
    public convenience init(config: StyleLMConfig, seed: UInt64) {
        do { try self.init(config: config, weights: StyleLMWeights.initial(config, seed: seed)) }
        catch { preconditionFailure("StyleLMWeights.initial does not fit its own config: \(error)") }
    }

    /// Tensors for `values`, after checking they are exactly `shapes` and finite.
    static func validated(_ values: [String: [Float]], shapes: [String: [Int]], what: String) throws -> [String: Tensor] {
        for name in shapes.keys.sorted() where values[name] == nil {
            throw StyleLMError(code: .missingTensor, tensor: name, message: "missing \(what) '\(name)' (shape \(shapes[name]!))")
        }
        for name in values.keys.sorted() where shapes[name] == nil {
            throw StyleLMError(code: .unexpectedTensor, tensor: name, message: "unexpected \(what) '\(name)': this configuration has no such tensor")
        }
        var tensors: [String: Tensor] = [:]
        for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            let value = values[name]!
            let expected = shape.reduce(1, *)
            guard value.count == expected else {
                throw StyleLMError(code: .wrongShape, tensor: name,
                                   message: "\(what) '\(name)' has \(value.count) values, expected shape \(shape) (\(expected) values)")
            }
            if let bad = value.firstIndex(where: { !$0.isFinite }) {
                throw StyleLMError(code: .nonFinite, tensor: name, message: "\(what) '\(name)' holds a non-finite value (\(value[bad])) at index \(bad)")
            }
            tensors[name] = Tensor(shape: shape, value: value)
        }
        return tensors
    }

    // MARK: - What trains

    /// Freezes the base weights and makes `adapters` (every `LoRAConfig.nameA`/`nameB` of
    /// `lora.targets`, see `LoRAConfig.initial`) the trainable parameters.
    public func attachLoRA(_ lora: LoRAConfig, adapters: [String: [Float]]) throws {
        guard lora.rank > 0, !lora.targets.isEmpty else {
            throw StyleLMError(code: .invalidConfig, tensor: nil, message: "LoRA needs rank > 0 and at least one target projection")
        }
        var shapes: [String: [Int]] = [:]
        for layer in 0..<config.numHiddenLayers {
            for p in Set(lora.targets) {
                let s = StyleLMWeights.shape(p, config)
                shapes[LoRAConfig.nameA(p, layer: layer)] = [lora.rank, s[1]]
                shapes[LoRAConfig.nameB(p, layer: layer)] = [s[0], lora.rank]
            }
        }
        let tensors = try Self.validated(adapters, shapes: shapes, what: "LoRA adapter")
        for t in weights.values { t.requiresGrad = false }
        for t in tensors.values { t.requiresGrad = true }
        self.lora = lora
        self.adapters = tensors
    }

    /// Folds the adapters into the base weights (W += scale·B·A) and removes them.
    public func mergeLoRA() {
        guard let lora else { return }
        let tape = Tape()   // only for its sgemm wrapper
        for layer in 0..<config.numHiddenLayers {
            for p in Set(lora.targets) {
                let w = weights[StyleLMWeights.projection(p, layer: layer)]!
                let a = adapters[LoRAConfig.nameA(p, layer: layer)]!, b = adapters[LoRAConfig.nameB(p, layer: layer)]!
                let (out, inp) = (w.shape[0], w.shape[1])
                a.value.withUnsafeBufferPointer { pa in
                    b.value.withUnsafeBufferPointer { pb in
                        w.value.withUnsafeMutableBufferPointer { pw in
                            tape.gemm(m: out, n: inp, k: lora.rank, alpha: lora.scale, pb.baseAddress!, lda: lora.rank,
                                      pa.baseAddress!, ldb: inp, beta: 1, pw.baseAddress!, ldc: inp)
                        }
                    }
                }
            }
        }
        self.lora = nil
        adapters = [:]
    }

    /// Makes every base weight trainable and drops any adapters.
    public func setFullFineTuning() {
        lora = nil
        adapters = [:]
        for t in weights.values { t.requiresGrad = true }
    }

    /// Every tensor with `requiresGrad`, sorted by name (the optimiser's order).
    public var trainableParameters: [(name: String, tensor: Tensor)] {
        (weights.merging(adapters) { a, _ in a })
            .filter { $0.value.requiresGrad }
            .sorted { $0.key < $1.key }
            .map { (name: $0.key, tensor: $0.value) }
    }

    /// Base weights by name (for checkpoints).
    public func weightValues() -> [String: [Float]] { weights.mapValues(\.value) }
    /// Adapters by name; empty without LoRA.
    public func adapterValues() -> [String: [Float]] { adapters.mapValues(\.value) }

    // MARK: - Forward

    /// Throws when `batch` cannot run on this model (a token id outside the vocabulary,
    /// a position ≥ `max_position_embeddings`, a hidden key range outside its row,
    /// inconsistent sizes). `logits` and `hiddenStates` treat such a batch as a programmer
    /// error, so check batches built from outside data here first.
    public func validate(_ batch: TokenBatch) throws {
        func fail(_ message: String) -> StyleLMError { StyleLMError(code: .invalidBatch, tensor: nil, message: message) }
        guard batch.tokens.count == batch.batch * batch.seq, batch.lengths.count == batch.batch,
              batch.lengths.allSatisfy({ (0...batch.seq).contains($0) }) else {
            throw fail("token batch is inconsistent: \(batch.tokens.count) tokens, \(batch.batch) rows of \(batch.seq), lengths \(batch.lengths)")
        }
        if let positions = batch.positions {
            guard positions.count == batch.tokens.count else {
                throw fail("token batch has \(positions.count) positions for \(batch.tokens.count) tokens")
            }
            if let i = positions.firstIndex(where: { $0 < 0 || Int($0) >= config.maxPositionEmbeddings }) {
                throw fail("position \(positions[i]) at row \(i / batch.seq), index \(i % batch.seq) is outside 0..<\(config.maxPositionEmbeddings) (max_position_embeddings); truncate the row")
            }
        } else if batch.seq > config.maxPositionEmbeddings {
            throw fail("rows of \(batch.seq) tokens exceed max_position_embeddings (\(config.maxPositionEmbeddings)); truncate them")
        }
        guard batch.hiddenKeys.count == batch.batch else {
            throw fail("token batch has \(batch.hiddenKeys.count) hidden key ranges for \(batch.batch) rows")
        }
        for (row, range) in batch.hiddenKeys.enumerated() {
            if let range, range.lowerBound < 0 || range.upperBound > batch.lengths[row] {
                throw fail("hidden keys \(range) of row \(row) are not within its \(batch.lengths[row]) tokens")
            }
        }
        if let i = batch.tokens.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw fail("token id \(batch.tokens[i]) at row \(i / max(batch.seq, 1)), position \(i % max(batch.seq, 1)) is outside the vocabulary 0..<\(config.vocabSize)")
        }
    }

    /// Logits [batch·seq, vocab] (output projection tied to the embedding). Rows at padded
    /// positions are computed but meaningless; real rows do not depend on padding.
    ///
    /// With `rows` (indices b·seq + i), only those positions' logits, in that order:
    /// [rows.count, vocab]. A loss that reads a few positions (an answer after a long
    /// prompt) skips the output head, the largest single product, everywhere else.
    public func logits(_ batch: TokenBatch, rows: [Int]? = nil, on tape: Tape) -> Tensor {
        var hidden = hiddenStates(batch, on: tape)
        if let rows { hidden = tape.gatherRows(hidden, rows: rows) }
        return tape.matmul(hidden, weights[StyleLMWeights.embedding]!)
    }

    /// The final-norm hidden states [batch·seq, hidden]; row b·seq + i is index i of row b.
    /// Rotary positions and hidden keys as `batch` gives them (see `TokenBatch`).
    public func hiddenStates(_ batch: TokenBatch, on tape: Tape) -> Tensor {
        precondition(batch.tokens.count == batch.batch * batch.seq && batch.lengths.count == batch.batch,
                     "TokenBatch: \(batch.tokens.count) tokens for \(batch.batch) rows × \(batch.seq)")
        let positions = batch.positions ?? (0..<batch.batch * batch.seq).map { Int32($0 % max(batch.seq, 1)) }
        precondition(positions.count == batch.tokens.count && positions.allSatisfy { $0 >= 0 && Int($0) < config.maxPositionEmbeddings },
                     "TokenBatch: positions must be one per token, below max_position_embeddings \(config.maxPositionEmbeddings)")
        let c = config
        var h = tape.embedding(weights[StyleLMWeights.embedding]!, ids: batch.tokens)
        for layer in 0..<c.numHiddenLayers {
            let x = tape.rmsNorm(h, weight: weights[StyleLMWeights.inputNorm(layer: layer)]!, eps: c.rmsNormEps)
            let q = tape.rope(project(x, .q, layer, tape), positions: positions, heads: c.numAttentionHeads, theta: c.ropeTheta)
            let k = tape.rope(project(x, .k, layer, tape), positions: positions, heads: c.numAttentionHeads, theta: c.ropeTheta)
            let v = project(x, .v, layer, tape)
            let attention = tape.causalAttention(q: q, k: k, v: v, batch: batch.batch, seq: batch.seq,
                                                 heads: c.numAttentionHeads, lengths: batch.lengths, hiddenKeys: batch.hiddenKeys)
            h = tape.add(h, project(attention, .o, layer, tape))
            let x2 = tape.rmsNorm(h, weight: weights[StyleLMWeights.postAttentionNorm(layer: layer)]!, eps: c.rmsNormEps)
            let mlp = tape.swiglu(gate: project(x2, .gate, layer, tape), up: project(x2, .up, layer, tape))
            h = tape.add(h, project(mlp, .down, layer, tape))
        }
        return tape.rmsNorm(h, weight: weights[StyleLMWeights.finalNorm]!, eps: c.rmsNormEps)
    }

    /// One projection of one layer, with its adapter when LoRA targets it.
    func project(_ x: Tensor, _ p: StyleLMWeights.Projection, _ layer: Int, _ tape: Tape) -> Tensor {
        let w = weights[StyleLMWeights.projection(p, layer: layer)]!
        if let lora, let a = adapters[LoRAConfig.nameA(p, layer: layer)], let b = adapters[LoRAConfig.nameB(p, layer: layer)] {
            return tape.linear(x, w, lora: (a: a, b: b, scale: lora.scale))
        }
        return tape.linear(x, w, lora: nil)
    }
}
