import Foundation
import LookbookCore

#if canImport(Glibc)
import Glibc
#endif

/// One preference for bag-of-words DPO: the answers are their distinct tokens
/// (`OutfitPrompts.bagOfWords`) and an answer's "log-probability" is its bag score, the
/// one `StyleLMScoring.bagScores` ranks candidates by:
///
///     s(a) = mean (or Σ, `lengthNormalised`) over t ∈ bag(a) of log p_blank(t | look) − prior(t)
///
/// The prior, per calibration: `.contextFree`, log p_blank(t | empty outfit of the slot)
/// under the *same* model, so the policy's prior moves with the policy and is computed
/// under it (`priorPrompt`); `.base`, the base model's (frozen: a constant, `fixedPrior`);
/// `.none`, nothing. The reference's scores are precomputed once.
public struct BagDPOExample: Sendable, Equatable {
    /// The look with the blank of the chosen answer's slot: the score reads the
    /// distribution at its last position.
    public var prompt: [Int32]
    /// The empty outfit's prompt of that slot when the policy's own prior is subtracted.
    public var priorPrompt: [Int32]?
    /// The same two for the rejected answer when it is of another slot (nil: the chosen
    /// answer's). Each answer fills the blank of its own slot, as evaluation scores it.
    public var rejectedPrompt: [Int32]?
    public var rejectedPriorPrompt: [Int32]?
    public var chosen: [Int32]
    public var rejected: [Int32]
    public var referenceChosen: Float
    public var referenceRejected: Float
    /// A prior that does not move with the policy (`.base` calibration), per answer, as
    /// it enters the score (mean or sum over the bag); 0 otherwise.
    public var fixedPriorChosen: Float = 0
    public var fixedPriorRejected: Float = 0

    public init(prompt: [Int32], priorPrompt: [Int32]?, rejectedPrompt: [Int32]? = nil, rejectedPriorPrompt: [Int32]? = nil,
                chosen: [Int32], rejected: [Int32], referenceChosen: Float, referenceRejected: Float,
                fixedPriorChosen: Float = 0, fixedPriorRejected: Float = 0) {
        self.prompt = prompt; self.priorPrompt = priorPrompt
        self.rejectedPrompt = rejectedPrompt; self.rejectedPriorPrompt = rejectedPriorPrompt
        self.chosen = chosen; self.rejected = rejected
        self.referenceChosen = referenceChosen; self.referenceRejected = referenceRejected
        self.fixedPriorChosen = fixedPriorChosen; self.fixedPriorRejected = fixedPriorRejected
    }

    /// Tokenises `pairs` and scores both answers with `reference` (its options' calibration
    /// and length normalisation; the method is taken to be bag): one prefill per distinct
    /// prompt. Each answer fills the blank of its own slot in the pair's look (a rejected
    /// item of another slot than the chosen one, `PreferencePairs.curated(otherSlot:)`, is
    /// scored under its slot's blank and prior). A pair whose bags are equal under one
    /// blank, or either empty, teaches nothing and is dropped.
    ///
    /// With `frozenPrior`, a context-free prior is the reference's, kept as a constant
    /// (`fixedPrior`) like the base model's.
    public static func make(_ pairs: [PreferencePair], reference: StyleLMScoring, frozenPrior: Bool = false) -> [BagDPOExample] {
        let prompts = reference.prompts, options = reference.options
        let ownPrior = options.calibration == .contextFree && !frozenPrior
        struct Answer { var pair: Int; var rejected: Bool; var slot: Slot; var bag: [Int32] }
        var answersByPrompt: [[Int32]: [Answer]] = [:]
        var order: [[Int32]] = []
        // Per kept pair: both bags and the look's prompt for each answer's slot.
        var kept: [(chosen: [Int32], rejected: [Int32], chosenPrompt: [Int32], rejectedPrompt: [Int32])?] = []
        for (i, pair) in pairs.enumerated() {
            let chosen = reference.bagOfWords(pair.chosen.text), rejected = reference.bagOfWords(pair.rejected.text)
            guard !chosen.isEmpty, !rejected.isEmpty, chosen != rejected || pair.chosen.slot != pair.rejected.slot else {
                kept.append(nil)
                continue
            }
            let chosenPrompt = prompts.prompt(context: pair.context, blank: pair.chosen.slot)
            let rejectedPrompt = pair.rejected.slot == pair.chosen.slot
                ? chosenPrompt : prompts.prompt(context: pair.context, blank: pair.rejected.slot)
            kept.append((chosen, rejected, chosenPrompt, rejectedPrompt))
            for (answer, prompt) in [(Answer(pair: i, rejected: false, slot: pair.chosen.slot, bag: chosen), chosenPrompt),
                                     (Answer(pair: i, rejected: true, slot: pair.rejected.slot, bag: rejected), rejectedPrompt)] {
                if answersByPrompt[prompt] == nil { order.append(prompt) }
                answersByPrompt[prompt, default: []].append(answer)
            }
        }
        var scores = [(chosen: Float, rejected: Float, fixedChosen: Float, fixedRejected: Float)](
            repeating: (0, 0, 0, 0), count: pairs.count)
        for prompt in order {
            let logProbs = reference.inference.prefill(prompt).lastLogProbs
            for answer in answersByPrompt[prompt]! {
                let prior = reference.calibrated ? reference.bagPrior(answer.slot) : nil
                let score = Float(StyleLMScoring.bagScore(answer.bag, logProbs: logProbs, prior: prior,
                                                          lengthNormalised: options.lengthNormalised))
                var fixed: Float = 0
                if options.calibration == .base || frozenPrior, let prior {
                    fixed = Float(StyleLMScoring.bagScore(answer.bag, logProbs: prior, prior: nil, lengthNormalised: options.lengthNormalised))
                }
                if answer.rejected {
                    scores[answer.pair].rejected = score; scores[answer.pair].fixedRejected = fixed
                } else {
                    scores[answer.pair].chosen = score; scores[answer.pair].fixedChosen = fixed
                }
            }
        }
        return pairs.indices.compactMap { i in
            guard let k = kept[i] else { return nil }
            let pair = pairs[i]
            let otherSlot = pair.rejected.slot != pair.chosen.slot
            return BagDPOExample(
                prompt: k.chosenPrompt,
                priorPrompt: ownPrior ? prompts.prompt(context: [], blank: pair.chosen.slot) : nil,
                rejectedPrompt: otherSlot ? k.rejectedPrompt : nil,
                rejectedPriorPrompt: otherSlot && ownPrior ? prompts.prompt(context: [], blank: pair.rejected.slot) : nil,
                chosen: k.chosen, rejected: k.rejected, referenceChosen: scores[i].chosen, referenceRejected: scores[i].rejected,
                fixedPriorChosen: scores[i].fixedChosen, fixedPriorRejected: scores[i].fixedRejected)
        }
    }
}

/// Trains a policy by DPO on bag scores (`BagDPOExample`). A batch runs each distinct
/// prompt once, plus the empty-outfit prompt of every slot in the batch when the
/// calibration is context-free (a few short rows): only their last positions go
/// through the output head. Per pair, the chosen and rejected scores are weighted sums
/// of log-softmax entries of those rows (`bagLogProbs`, `weightedGroupSums`).
///
/// Why the prior is computed under the policy: evaluation subtracts the scoring model's
/// own empty-outfit distribution, so once the policy moves, so does its prior. A prior
/// frozen at the reference would train a quantity that evaluation never computes (the
/// policy could raise an item's words in every look alike, which the prior then takes
/// back). Under the policy, the gradient sees that raising a word everywhere gains
/// nothing, and only what the look adds over the empty outfit counts, as at evaluation.
/// The cost: every pair of a slot pushes on that slot's one empty-outfit row, a cheap
/// global per-token bias. On Polyvore validation at β 0.1 that bias cost compat AUC
/// (−0.072 against −0.024 with `frozenPrior`); at β 5 the two were alike (FITB +0.8
/// and +1.1 points, AUC +0.006 and 0.000), so the exact objective stays the default.
public final class BagDPOTrainer: PreferenceTrainer {
    public let model: StyleLM
    public let settings: DPOSettings
    public let examples: [BagDPOExample]
    public let plan: BatchPlan
    public let padToken: Int32
    public let lengthNormalised: Bool
    public var optimizer = AdamW()

    public init(model: StyleLM, examples: [BagDPOExample], settings: DPOSettings, padToken: Int32, lengthNormalised: Bool) {
        precondition(examples.allSatisfy { !$0.prompt.isEmpty && !$0.chosen.isEmpty && !$0.rejected.isEmpty && $0.priorPrompt?.isEmpty != true
                         && $0.rejectedPrompt?.isEmpty != true && $0.rejectedPriorPrompt?.isEmpty != true },
                     "BagDPOTrainer: every example needs a prompt and non-empty bags")
        self.model = model
        self.examples = examples
        self.settings = settings
        self.padToken = padToken
        self.lengthNormalised = lengthNormalised
        // A pair costs about one prompt row (its prior rows are shared by the batch); one
        // whose rejected item is of another slot runs a second look row that this leaves
        // uncounted, so such batches hold more tokens than `batchTokens` (measured at the
        // validated setting: peak RSS 616 MiB for half the pairs of other slots).
        plan = BatchPlan(lengths: examples.map { $0.prompt.count }, settings: settings.training)
    }

    public func loss(_ batch: [Int], on tape: Tape) -> (loss: Tensor, margins: [Float], tokens: Int) {
        let (policyChosen, policyRejected, tokens) = scores(batch, on: tape)
        // A fixed prior (base calibration) is the same in the policy's score: it joins the reference's side.
        let referenceChosen = batch.map { examples[$0].referenceChosen + examples[$0].fixedPriorChosen }
        let referenceRejected = batch.map { examples[$0].referenceRejected + examples[$0].fixedPriorRejected }
        let loss = tape.dpoLoss(policyChosen: policyChosen, policyRejected: policyRejected, referenceChosen: referenceChosen,
                                referenceRejected: referenceRejected, beta: settings.beta)
        let margins = batch.indices.map { p in
            settings.beta * ((policyChosen.value[p] - referenceChosen[p]) - (policyRejected.value[p] - referenceRejected[p]))
        }
        return (loss, margins, tokens)
    }

    /// The policy's bag scores of a batch's chosen and rejected answers ([batch.count]
    /// each; without a fixed prior, which `loss` accounts for), and the real tokens run.
    public func scores(_ batch: [Int], on tape: Tape) -> (chosen: Tensor, rejected: Tensor, tokens: Int) {
        var rows: [[Int32]] = [], rowOf: [[Int32]: Int] = [:]
        func row(_ tokens: [Int32]) -> Int {
            if let r = rowOf[tokens] { return r }
            rowOf[tokens] = rows.count
            rows.append(tokens)
            return rows.count - 1
        }
        var readRows: [Int] = [], targets: [Int32] = [], weights: [Float] = []
        var chosenGroup: [Int] = [], rejectedGroup: [Int] = []
        for (p, i) in batch.enumerated() {
            let e = examples[i]
            let look = row(e.prompt)
            let prior = e.priorPrompt.map(row)
            let rejectedLook = e.rejectedPrompt.map(row) ?? look
            let rejectedPrior = e.rejectedPrompt == nil ? prior : e.rejectedPriorPrompt.map(row)
            for (side, bag) in [(0, e.chosen), (1, e.rejected)] {
                let w: Float = lengthNormalised ? 1 / Float(bag.count) : 1
                for (r, sign) in [(side == 0 ? look : rejectedLook, Float(1)), (side == 0 ? prior : rejectedPrior, Float(-1))] {
                    guard let r else { continue }
                    for t in bag {
                        readRows.append(r); targets.append(t); weights.append(sign * w)
                        chosenGroup.append(side == 0 ? p : -1)
                        rejectedGroup.append(side == 1 ? p : -1)
                    }
                }
            }
        }
        let tokens = TokenBatch(rows: rows, pad: padToken)
        let last = rows.indices.map { $0 * tokens.seq + rows[$0].count - 1 }
        let logits = model.logits(tokens, rows: last, on: tape)
        let logProbs = tape.bagLogProbs(logits: logits, rows: readRows, targets: targets)
        let policyChosen = tape.weightedGroupSums(logProbs, groups: chosenGroup, weights: weights, count: batch.count)
        let policyRejected = tape.weightedGroupSums(logProbs, groups: rejectedGroup, weights: weights, count: batch.count)
        return (policyChosen, policyRejected, tokens.lengths.reduce(0, +))
    }
}
