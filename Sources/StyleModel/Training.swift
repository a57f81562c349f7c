import Foundation
import LookbookCore

/// How one training stage runs. The defaults suit LoRA fine-tuning of the standard model.
public struct TrainingSettings: Codable, Sendable, Equatable {
    /// Passes over the examples (fractions allowed).
    public var epochs: Double = 2
    /// Padded tokens per batch (rows × longest row).
    public var batchTokens: Int = 2048
    public var learningRate: Float = 2e-3
    /// Linear warm-up over this fraction of the steps, then cosine decay.
    public var warmupFraction: Double = 0.05
    /// The cosine ends at learningRate × this.
    public var minLearningRateRatio: Float = 0.1
    /// Decoupled weight decay (AdamW) on matrices; norms are not decayed.
    public var weightDecay: Float = 0.01
    /// Clip the global gradient norm to this (0: no clipping).
    public var clipNorm: Float = 1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.98
    public var epsilon: Float = 1e-8
    public var seed: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case epochs, batchTokens = "batch_tokens", learningRate = "learning_rate", warmupFraction = "warmup_fraction"
        case minLearningRateRatio = "min_learning_rate_ratio", weightDecay = "weight_decay", clipNorm = "clip_norm"
        case beta1, beta2, epsilon, seed
    }

    /// Keys left out take the defaults above, so a recipe file may name only what it changes.
    public init(from decoder: any Decoder) throws {
        try self.init(from: decoder, defaults: TrainingSettings())
    }

    /// Keys left out take their values from `d` (a recipe stage's own defaults).
    public init(from decoder: any Decoder, defaults d: TrainingSettings) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decodeIfPresent(Double.self, forKey: .epochs) ?? d.epochs
        batchTokens = try c.decodeIfPresent(Int.self, forKey: .batchTokens) ?? d.batchTokens
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        warmupFraction = try c.decodeIfPresent(Double.self, forKey: .warmupFraction) ?? d.warmupFraction
        minLearningRateRatio = try c.decodeIfPresent(Float.self, forKey: .minLearningRateRatio) ?? d.minLearningRateRatio
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        clipNorm = try c.decodeIfPresent(Float.self, forKey: .clipNorm) ?? d.clipNorm
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? d.epsilon
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    }

    /// The learning rate at `step` of `total`: linear warm-up, then cosine to the floor.
    public func learningRate(step: Int, total: Int) -> Float {
        let warmup = max(1, Int((warmupFraction * Double(total)).rounded()))
        if step < warmup { return learningRate * Float(step + 1) / Float(warmup) }
        let span = max(1, total - warmup)
        let progress = min(1, Double(step - warmup) / Double(span))
        let cosine = Float(0.5 * (1 + cos(Double.pi * progress)))
        return learningRate * (minLearningRateRatio + (1 - minLearningRateRatio) * cosine)
    }
}

/// Which examples go together, step by step: a pure function of the example lengths,
/// the settings and the seed, so a resumed run sees exactly the batches it would have.
///
/// Each epoch shuffles the examples, sorts windows of them by length (little padding),
/// cuts the windows into batches of at most `batchTokens` padded tokens, and shuffles the
/// batches.
public struct BatchPlan: Sendable, Equatable {
    public let batches: [[Int]]

    public init(lengths: [Int], settings: TrainingSettings) {
        var all: [[Int]] = []
        let wholeEpochs = Int(settings.epochs.rounded(.up))
        for epoch in 0..<wholeEpochs {
            var random = SplitMix64.stream(settings.seed, "batches-\(epoch)")
            var order = Array(lengths.indices)
            random.shuffle(&order)
            var epochBatches: [[Int]] = []
            let window = 64 * max(1, settings.batchTokens / max(1, lengths.max() ?? 1))
            var start = 0
            while start < order.count {
                let slice = order[start..<min(order.count, start + window)].sorted { (lengths[$0], $0) < (lengths[$1], $1) }
                var batch: [Int] = []
                var longest = 0
                for i in slice {
                    let longer = max(longest, lengths[i])
                    if !batch.isEmpty && longer * (batch.count + 1) > settings.batchTokens {
                        epochBatches.append(batch)
                        batch = []
                        longest = 0
                    }
                    batch.append(i)
                    longest = max(longest, lengths[i])
                }
                if !batch.isEmpty { epochBatches.append(batch) }
                start += window
            }
            random.shuffle(&epochBatches)
            let fraction = settings.epochs - Double(epoch)
            if fraction < 1 { epochBatches = Array(epochBatches.prefix(Int((fraction * Double(epochBatches.count)).rounded(.up)))) }
            all += epochBatches
        }
        batches = all
    }
}

/// AdamW (Loshchilov & Hutter, 2019) over named parameters.
public struct AdamW: Sendable {
    public private(set) var step = 0
    var first: [String: [Float]] = [:]
    var second: [String: [Float]] = [:]

    public init() {}

    /// One update of every parameter from its gradient.
    public mutating func update(_ parameters: [(name: String, tensor: Tensor)], learningRate: Float, settings: TrainingSettings) {
        step += 1
        let b1 = settings.beta1, b2 = settings.beta2
        let correction1 = 1 - Float(pow(Double(b1), Double(step)))
        let correction2 = 1 - Float(pow(Double(b2), Double(step)))
        for (name, tensor) in parameters {
            let n = tensor.count
            var m = first[name] ?? [Float](repeating: 0, count: n)
            var v = second[name] ?? [Float](repeating: 0, count: n)
            let decay = tensor.shape.count >= 2 ? settings.weightDecay : 0
            let eps = settings.epsilon
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    tensor.grad.withUnsafeBufferPointer { g in
                        tensor.value.withUnsafeMutableBufferPointer { w in
                            for i in 0..<n {
                                m[i] = b1 * m[i] + (1 - b1) * g[i]
                                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                                let update = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps)
                                w[i] -= learningRate * (update + decay * w[i])
                            }
                        }
                    }
                }
            }
            first[name] = m
            second[name] = v
        }
    }

    /// The moments as tensors (`m.NAME`, `v.NAME`) for a checkpoint.
    public func state() -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (name, m) in first { out["m." + name] = m }
        for (name, v) in second { out["v." + name] = v }
        return out
    }

    public init(step: Int, state: [String: [Float]]) {
        self.step = step
        for (key, values) in state {
            if key.hasPrefix("m.") { first[String(key.dropFirst(2))] = values }
            if key.hasPrefix("v.") { second[String(key.dropFirst(2))] = values }
        }
    }
}

/// What a training stage did.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var steps = 0
    public var examples = 0
    /// Real (unpadded) tokens through the model.
    public var tokens = 0
    public var seconds = 0.0
    /// Mean loss over the first and the last tenth of the steps.
    public var firstLoss: Double?
    public var lastLoss: Double?
    /// True when the time budget ended the stage before its planned steps.
    public var stoppedByBudget = false

    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }

    public init() {}
}

/// Trains a model's trainable parameters (all of them, or the LoRA adapters) on examples
/// by next-token cross-entropy, weighted per token.
public final class LanguageModelTrainer {
    public let model: StyleLM
    public let settings: TrainingSettings
    public let examples: [TrainingExample]
    public let plan: BatchPlan
    public let padToken: Int32
    public private(set) var optimizer = AdamW()

    public init(model: StyleLM, examples: [TrainingExample], settings: TrainingSettings, padToken: Int32) {
        self.model = model
        self.examples = examples
        self.settings = settings
        self.padToken = padToken
        // A row is the tokens but the last (inputs); its targets are the tokens but the first.
        plan = BatchPlan(lengths: examples.map(\.inputCount), settings: settings)
    }

    public var totalSteps: Int { plan.batches.count }

    /// Continues from a checkpoint's optimizer state (the model already holds its weights).
    public func resume(optimizer: AdamW) { self.optimizer = optimizer }

    /// The loss of one batch and, when `learn`, one optimizer step on it.
    ///
    /// One weighted cross-entropy over every predicted token: each answer token with its
    /// weight, and each target of an example's bag of words from the bag's position with
    /// `bag.weight / targets.count` (that position's row goes through the head once per
    /// target; its gradients add up).
    @discardableResult
    public func step(_ batch: [Int], learningRate: Float, learn: Bool = true) -> (loss: Double, tokens: Int) {
        let tape = Tape()
        let (loss, real) = self.loss(batch, on: tape)
        guard let loss else { return (0, real) }
        guard learn else { return (Double(loss.value[0]), real) }
        let parameters = model.trainableParameters
        for (_, tensor) in parameters { tensor.zeroGrad() }
        tape.backward(loss)
        if settings.clipNorm > 0 { Self.clip(parameters.map(\.tensor), to: settings.clipNorm) }
        optimizer.update(parameters, learningRate: learningRate, settings: settings)
        return (Double(loss.value[0]), real)
    }

    /// The loss of one batch recorded on `tape` (nil when nothing in it is weighted), and
    /// the real tokens that went in.
    func loss(_ batch: [Int], on tape: Tape) -> (loss: Tensor?, tokens: Int) {
        let rows = batch.map { Array(examples[$0].tokens.prefix(examples[$0].inputCount)) }
        let tokenBatch = TokenBatch(rows: rows, pad: padToken)
        var targets = [Int32](repeating: padToken, count: tokenBatch.batch * tokenBatch.seq)
        var weights = [Float](repeating: 0, count: targets.count)
        var bagRows: [Int] = [], bagTargets: [Int32] = [], bagWeights: [Float] = []
        var real = 0
        for (r, i) in batch.enumerated() {
            let example = examples[i]
            for t in 0..<(example.tokens.count - 1) {
                targets[r * tokenBatch.seq + t] = example.tokens[t + 1]
                weights[r * tokenBatch.seq + t] = example.weights[t + 1]
            }
            if let bag = example.bag, bag.weight != 0, !bag.targets.isEmpty {
                let each = bag.weight / Float(bag.targets.count)
                for target in bag.targets {
                    bagRows.append(r * tokenBatch.seq + bag.position)
                    bagTargets.append(target)
                    bagWeights.append(each)
                }
            }
            real += example.inputCount
        }
        guard weights.contains(where: { $0 > 0 }) || bagWeights.contains(where: { $0 > 0 }) else { return (nil, real) }
        // Only the positions the loss reads (the answer's and the bags', not the prompt's) go through the head.
        let read = weights.indices.filter { weights[$0] != 0 }
        let logits = model.logits(tokenBatch, rows: read + bagRows, on: tape)
        let loss = tape.crossEntropy(logits: logits, targets: read.map { targets[$0] } + bagTargets,
                                     weights: read.map { weights[$0] } + bagWeights)
        return (loss, real)
    }

    /// Runs the plan from the optimizer's step to the end, or until `deadline` or after
    /// `stepLimit` steps of this call. `checkpoint` is called every `checkpointEvery`
    /// steps and when the call ends, to save.
    public func run(deadline: Date? = nil, stepLimit: Int? = nil, checkpointEvery: Int = 0,
                    checkpoint: ((Int) throws -> Void)? = nil,
                    progress: ((Int, Int, Double) -> Void)? = nil) rethrows -> TrainingSummary {
        var summary = TrainingSummary()
        let start = Date()
        let total = totalSteps
        var losses: [Double] = []
        for step in optimizer.step..<total {
            if let deadline, Date() >= deadline {
                summary.stoppedByBudget = true
                break
            }
            if let stepLimit, summary.steps >= stepLimit {
                summary.stoppedByBudget = true
                break
            }
            let batch = plan.batches[step]
            let (loss, tokens) = self.step(batch, learningRate: settings.learningRate(step: step, total: total))
            losses.append(loss)
            summary.steps += 1
            summary.examples += batch.count
            summary.tokens += tokens
            progress?(step + 1, total, loss)
            if checkpointEvery > 0, (step + 1) % checkpointEvery == 0, step + 1 < total { try checkpoint?(step + 1) }
        }
        try checkpoint?(optimizer.step)
        summary.seconds = Date().timeIntervalSince(start)
        let tenth = max(1, losses.count / 10)
        if !losses.isEmpty {
            summary.firstLoss = losses.prefix(tenth).reduce(0, +) / Double(min(tenth, losses.count))
            summary.lastLoss = losses.suffix(tenth).reduce(0, +) / Double(min(tenth, losses.count))
        }
        return summary
    }

    /// Scales every gradient so their joint L2 norm is at most `limit`; returns the norm.
    @discardableResult
    public static func clip(_ tensors: [Tensor], to limit: Float) -> Float {
        var squares = 0.0
        for t in tensors { for g in t.grad { squares += Double(g) * Double(g) } }
        let norm = Float(squares.squareRoot())
        guard norm > limit, norm.isFinite else { return norm }
        let scale = limit / norm
        for t in tensors {
            t.grad.withUnsafeMutableBufferPointer { g in
                for i in g.indices { g[i] *= scale }
            }
        }
        return norm
    }
}
