import Foundation
import LookbookCore

/// How a DPO round trains: the preference strength β, the optimizer schedule (the same
/// `TrainingSettings` as pretraining and SFT) and the size of the fresh LoRA adapters.
public struct DPOSettings: Codable, Sendable, Equatable {
    /// β of Rafailov et al. (2023): how far the policy may move from the reference for a
    /// given preference; larger keeps it closer.
    public var beta: Float = 0.1
    /// `batchTokens` weighs a pair as its two rows prompt+chosen and prompt+rejected
    /// padded to the longer, though a step runs them packed as one row (`DPOTrainer`).
    public var training: TrainingSettings = {
        var s = TrainingSettings()
        s.epochs = 1
        s.learningRate = 5e-4
        s.warmupFraction = 0.1
        return s
    }()
    /// The DPO adapters' rank and alpha; their targets follow the SFT adapters' (so the
    /// two fold into one adapter set, see `TunableModel.withAdapters`).
    public var rank = 8
    public var alpha: Float = 16
    /// What the policy's and the reference's "log-probability" of an answer is; nil: the
    /// score the model is evaluated with (`.bag` when its recipe scores by `.bagOfWords`,
    /// else `.sequence`).
    public var objective: DPOObjective?
    /// Train every weight instead of fresh LoRA adapters (only for a model without
    /// adapters, i.e. fully fine-tuned: its weights are its base). Bag-of-words models
    /// learnt their blank head with full fine-tuning; the head is tied to the embedding,
    /// which LoRA never moves.
    public var fullWeights = false
    /// Bag objective with context-free calibration: subtract the reference's empty-outfit
    /// distribution, a constant, instead of the policy's own (which moves with the policy,
    /// as at evaluation). See `BagDPOTrainer` for the trade-off.
    public var frozenPrior = false

    public init() {}
}

/// The quantity DPO moves for an answer.
public enum DPOObjective: String, Codable, Sendable, CaseIterable {
    /// Σ over the answer's tokens (and `</s>`) of log p(token | prompt, earlier tokens).
    case sequence
    /// The bag-of-words score `StyleLMScoring.bagScores` evaluates with, calibration
    /// included (see `BagDPOExample`).
    case bag
}

/// One preference, in tokens, with the frozen reference model's log-probabilities of
/// both answers (summed over the answer's tokens, `</s>` included). The reference never
/// changes during a round, so they are computed once.
public struct DPOExample: Sendable, Equatable {
    public var prompt: [Int32]
    public var chosen: [Int32]
    public var rejected: [Int32]
    public var referenceChosen: Float
    public var referenceRejected: Float

    public init(prompt: [Int32], chosen: [Int32], rejected: [Int32], referenceChosen: Float, referenceRejected: Float) {
        self.prompt = prompt; self.chosen = chosen; self.rejected = rejected
        self.referenceChosen = referenceChosen; self.referenceRejected = referenceRejected
    }

    /// Tokenises `pairs` with the prompt recipe and scores both answers under `reference`.
    /// Pairs that share a prompt share one prefill. A pair whose answers tokenise the same
    /// (different words, same tokens after cutting) teaches nothing and is dropped.
    public static func make(_ pairs: [PreferencePair], prompts: OutfitPrompts, reference: StyleLMInference) -> [DPOExample] {
        var byPrompt: [[Int32]: [Int]] = [:]
        var order: [[Int32]] = []
        var tokenised: [(prompt: [Int32], chosen: [Int32], rejected: [Int32])] = []
        for (i, pair) in pairs.enumerated() {
            let prompt = prompts.prompt(context: pair.context, blank: pair.slot)
            tokenised.append((prompt, prompts.continuation(pair.chosen.text), prompts.continuation(pair.rejected.text)))
            if byPrompt[prompt] == nil { order.append(prompt) }
            byPrompt[prompt, default: []].append(i)
        }
        var reference_ = [(Float, Float)](repeating: (0, 0), count: pairs.count)
        for prompt in order {
            let indices = byPrompt[prompt]!
            let state = reference.prefill(prompt)
            var answers: [[Int32]] = []
            var slot: [[Int32]: Int] = [:]
            for i in indices {
                for answer in [tokenised[i].chosen, tokenised[i].rejected] where slot[answer] == nil {
                    slot[answer] = answers.count
                    answers.append(answer)
                }
            }
            let sums = reference.continuationLogProbs(state, answers).map { $0.reduce(0, +) }
            for i in indices {
                reference_[i] = (sums[slot[tokenised[i].chosen]!], sums[slot[tokenised[i].rejected]!])
            }
        }
        return pairs.indices.compactMap { i in
            let t = tokenised[i]
            guard t.chosen != t.rejected else { return nil }
            return DPOExample(prompt: t.prompt, chosen: t.chosen, rejected: t.rejected,
                              referenceChosen: reference_[i].0, referenceRejected: reference_[i].1)
        }
    }
}

/// What a DPO round did: the optimizer figures of `TrainingSummary` plus the implicit
/// reward margin β((πc − rc) − (πr − rr)), which starts at 0 and grows as the policy
/// learns the preferences.
public struct DPOSummary: Codable, Sendable, Equatable {
    public var training = TrainingSummary()
    /// Mean margin over the first and the last tenth of the steps (training batches).
    public var firstMargin: Double?
    public var lastMargin: Double?
    /// Fraction of pairs with a positive margin in the last tenth of the steps.
    public var lastAccuracy: Double?

    public init() {}
}

/// Trains LoRA adapters on a policy by the DPO loss against precomputed reference
/// log-probabilities. The model must already carry the adapters to train (B = 0 makes
/// the policy start as the reference).
///
/// A batch holds one row per pair: the prompt once, then both answers (`PackedPair`).
/// The policy's per-token log-probabilities (`tokenLogProbs`, computed at the answers'
/// positions only) are summed per answer (`groupSums`) and go into `dpoLoss`. The
/// loss, margins and gradients are those of the two rows prompt+chosen and
/// prompt+rejected, but the prompt runs forward and backward once instead of twice.
public final class DPOTrainer: PreferenceTrainer {
    public let model: StyleLM
    public let settings: DPOSettings
    public let examples: [DPOExample]
    public let plan: BatchPlan
    public let padToken: Int32
    public var optimizer = AdamW()

    /// Every example needs a prompt and two answers of at least one token each (as
    /// `DPOExample.make` makes them: answers end with `</s>`).
    public init(model: StyleLM, examples: [DPOExample], settings: DPOSettings, padToken: Int32) {
        precondition(examples.allSatisfy { !$0.prompt.isEmpty && !$0.chosen.isEmpty && !$0.rejected.isEmpty },
                     "DPOTrainer: every example needs a prompt and non-empty answers")
        self.model = model
        self.examples = examples
        self.settings = settings
        self.padToken = padToken
        // A pair weighs as its two unpacked rows padded to the longer (2·(P + max(C, R) − 1)
        // tokens), so `batch_tokens` makes the same batches, and the same optimisation, as
        // before packing: packing makes a step cheaper, not bigger. (Weighing the packed
        // row would put ~1.7× the pairs in a step and take ~0.6× the steps per epoch.)
        plan = BatchPlan(lengths: examples.map { 2 * ($0.prompt.count + max($0.chosen.count, $0.rejected.count) - 1) },
                         settings: settings.training)
    }

    /// The DPO loss of a batch on `tape`, with each pair's margin and the real tokens the
    /// forward pass ran on (the packed rows without padding: P + C + R − 2 per pair, for
    /// a prompt of P tokens and answers of C and R).
    public func loss(_ batch: [Int], on tape: Tape) -> (loss: Tensor, margins: [Float], tokens: Int) {
        let pairs = batch.map { PackedPair(examples[$0]) }
        let tokens = TokenBatch(rows: pairs.map(\.tokens), pad: padToken, positions: pairs.map(\.positions),
                                hiddenKeys: pairs.map(\.chosenSegment))
        // Each answer token's position goes to its pair's chosen or rejected sum.
        var read: [Int] = [], targets: [Int32] = [], chosenGroup: [Int] = [], rejectedGroup: [Int] = []
        for (p, pair) in pairs.enumerated() {
            for (side, reads) in [(0, pair.chosenReads), (1, pair.rejectedReads)] {
                for (index, target) in reads {
                    read.append(p * tokens.seq + index)
                    targets.append(target)
                    chosenGroup.append(side == 0 ? p : -1)
                    rejectedGroup.append(side == 1 ? p : -1)
                }
            }
        }
        let logProbs = tape.tokenLogProbs(logits: model.logits(tokens, rows: read, on: tape), targets: targets)
        let policyChosen = tape.groupSums(logProbs, groups: chosenGroup, count: batch.count)
        let policyRejected = tape.groupSums(logProbs, groups: rejectedGroup, count: batch.count)
        let referenceChosen = batch.map { examples[$0].referenceChosen }
        let referenceRejected = batch.map { examples[$0].referenceRejected }
        let loss = tape.dpoLoss(policyChosen: policyChosen, policyRejected: policyRejected, referenceChosen: referenceChosen,
                                referenceRejected: referenceRejected, beta: settings.beta)
        let margins = batch.indices.map { p in
            settings.beta * ((policyChosen.value[p] - referenceChosen[p]) - (policyRejected.value[p] - referenceRejected[p]))
        }
        return (loss, margins, tokens.lengths.reduce(0, +))
    }
}

/// A DPO trainer: the loss of a batch of preference pairs on a tape, with each pair's
/// margin β((πc − rc) − (πr − rr)) and the tokens the forward pass ran on. The objective
/// (sequence or bag log-probabilities) lives in `loss`; stepping and running are shared.
public protocol PreferenceTrainer: AnyObject {
    var model: StyleLM { get }
    var settings: DPOSettings { get }
    var plan: BatchPlan { get }
    var optimizer: AdamW { get set }
    func loss(_ batch: [Int], on tape: Tape) -> (loss: Tensor, margins: [Float], tokens: Int)
}

extension PreferenceTrainer {
    public var totalSteps: Int { plan.batches.count }

    /// The loss of one batch and, when `learn`, one optimizer step on it.
    @discardableResult
    public func step(_ batch: [Int], learningRate: Float, learn: Bool = true) -> (loss: Double, margins: [Float], tokens: Int) {
        let tape = Tape()
        let (loss, margins, tokens) = self.loss(batch, on: tape)
        guard learn else { return (Double(loss.value[0]), margins, tokens) }
        let parameters = model.trainableParameters
        for (_, tensor) in parameters { tensor.zeroGrad() }
        tape.backward(loss)
        if settings.training.clipNorm > 0 { LanguageModelTrainer.clip(parameters.map(\.tensor), to: settings.training.clipNorm) }
        optimizer.update(parameters, learningRate: learningRate, settings: settings.training)
        return (Double(loss.value[0]), margins, tokens)
    }

    /// Runs the plan to the end, or until `deadline`; `progress` gets (step, total, loss).
    public func run(deadline: Date? = nil, progress: (Int, Int, Double) -> Void = { _, _, _ in }) -> DPOSummary {
        var summary = DPOSummary()
        let start = Date()
        let total = totalSteps
        var losses: [Double] = [], margins: [[Float]] = []
        for step in optimizer.step..<total {
            if let deadline, Date() >= deadline {
                summary.training.stoppedByBudget = true
                break
            }
            let batch = plan.batches[step]
            let result = self.step(batch, learningRate: settings.training.learningRate(step: step, total: total))
            losses.append(result.loss)
            margins.append(result.margins)
            summary.training.steps += 1
            summary.training.examples += batch.count
            summary.training.tokens += result.tokens
            progress(step + 1, total, result.loss)
        }
        summary.training.seconds = Date().timeIntervalSince(start)
        guard !losses.isEmpty else { return summary }
        let tenth = max(1, losses.count / 10)
        func mean(_ xs: some Collection<Double>) -> Double { xs.reduce(0, +) / Double(xs.count) }
        summary.training.firstLoss = mean(losses.prefix(tenth))
        summary.training.lastLoss = mean(losses.suffix(tenth))
        let firstMargins = margins.prefix(tenth).flatMap { $0 }.map(Double.init)
        let lastMargins = margins.suffix(tenth).flatMap { $0 }.map(Double.init)
        summary.firstMargin = mean(firstMargins)
        summary.lastMargin = mean(lastMargins)
        summary.lastAccuracy = Double(lastMargins.filter { $0 > 0 }.count) / Double(lastMargins.count)
        return summary
    }

    /// Mean margin and fraction of positive margins over `indices` (no learning).
    public func evaluate(_ indices: [Int], batchSize: Int = 16) -> (meanMargin: Double, accuracy: Double) {
        var all: [Float] = []
        var start = 0
        while start < indices.count {
            let batch = Array(indices[start..<min(indices.count, start + batchSize)])
            all += loss(batch, on: Tape()).margins
            start += batch.count
        }
        guard !all.isEmpty else { return (.nan, .nan) }
        return (Double(all.reduce(0, +)) / Double(all.count), Double(all.filter { $0 > 0 }.count) / Double(all.count))
    }
}

/// One preference pair as one row: the prompt (P tokens) once, then the chosen answer
/// (C tokens) and the rejected answer (R tokens), each without its last token (`</s>`,
/// only ever a target):
///
///     index     0 … P−1        P … P+C−2       P+C−1 … P+C+R−3
///     tokens    p₀ … p_{P−1}   c₀ … c_{C−2}    r₀ … r_{R−2}
///     position  0 … P−1        P … P+C−2       P … P+R−2
///
/// The rejected segment's rotary positions restart at P and its queries do not see the
/// chosen segment (`TokenBatch.hiddenKeys`), so every index computes exactly what it
/// would in the unpacked row prompt+answer. Answer token k is predicted at the index
/// holding the token before it: the prompt's last index for k = 0 of both answers (read
/// twice), the answer's own segment after.
struct PackedPair {
    var tokens: [Int32]
    var positions: [Int32]
    /// The chosen segment, hidden from the rejected one.
    var chosenSegment: Range<Int>
    /// (index, target) of every token of each answer, in order.
    var chosenReads: [(index: Int, target: Int32)]
    var rejectedReads: [(index: Int, target: Int32)]

    init(_ e: DPOExample) {
        let p = e.prompt.count, c = e.chosen.count, r = e.rejected.count
        tokens = e.prompt + e.chosen.dropLast() + e.rejected.dropLast()
        positions = (0..<(p + c - 1)).map { Int32($0) } + (p..<(p + r - 1)).map { Int32($0) }
        chosenSegment = p..<(p + c - 1)
        let rejectedStart = p + c - 1
        chosenReads = e.chosen.enumerated().map { k, token in (p - 1 + k, token) }
        rejectedReads = e.rejected.enumerated().map { k, token in (k == 0 ? p - 1 : rejectedStart + k - 1, token) }
    }
}
