import ArgumentParser
import COpenBLAS
import Foundation
import LookbookCore
import StyleModel

/// Speed of a DPO training step on the standard StyleLM with LoRA adapters (the policy;
/// the base weights frozen), on random (prompt, chosen, rejected) triples of realistic
/// lengths, through `DPOTrainer.step` as `lookbook tune` runs it (forward and backward of
/// one packed row per pair, prompt + chosen + rejected, see `DPOTrainer`; clipping,
/// AdamW). Printed next to plain
/// `cblas_sgemm` on the model's matrix sizes measured in the same run, and with the
/// frozen reference model's log-probability pass per pair (`StyleLMInference`, as
/// `DPOExample.make` runs it before training).
///
/// FLOPs are counted two ways:
/// - executed: every `cblas_sgemm` of the step's tape, forward and backward (2·M·N·K
///   each), as `stylelm-step` counts them. It includes padding (packed rows are padded
///   to the batch's longest) and the full l×l attention blocks.
/// - useful: per real token of the packed row (the prompt once), forward 2·P + backward
///   2·P for the frozen projections (the input gradients must still flow through every
///   layer; no weight gradients), the same for the tied output head at each distinct
///   position the loss reads (C + R − 1 per pair: the prompt's last position predicts
///   both answers' first token), 6·r·(in+out) per LoRA adapter (forward, dA, dB and its
///   input gradient), and attention 12·d per layer and visible (query, key) pair
///   (forward q·kᵀ and p·v 4·d, backward twice that): a causal triangle over prompt +
///   chosen, and each rejected query sees the prompt and the rejected tokens up to
///   itself. Padding, the upper triangle and the hidden chosen keys are not counted.
///   This is the number a GPU "MFU" figure would use.
///
/// Tokens are the real tokens the step runs on (P + C + R − 2 per pair, as `lookbook
/// tune` counts them); the unpacked count (two rows, the prompt twice: 2P + C + R − 2)
/// is printed too, to compare with figures from before packing.
struct DPOStepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo-step",
        abstract: "DPO step (LoRA policy, forward+backward of prompt+chosen+rejected packed rows) tokens/s and GFLOP/s vs plain cblas_sgemm; reference log-prob pass per pair.")

    @Option(help: "Vocabulary size of the standard config.") var vocab = 4096
    @Option(help: "Mean prompt tokens (uniform ±20 %).") var prompt = 60
    @Option(help: "Mean answer tokens, </s> included (uniform ±33 %).") var answer = 12
    @Option(help: "LoRA rank of the DPO adapters (alpha = 2·rank, every projection).") var rank = DPOSettings().rank
    @Option(help: "Padded tokens per batch (DPO's batch_tokens).") var batchTokens = DPOSettings().training.batchTokens
    @Option(help: "DPO steps per run.") var steps = 3
    @Option(help: "Pairs sharing one prompt in the reference pass (curated: a random and a hard negative).") var pairsPerPrompt = 2
    @Option(help: "Prompts per run of the reference pass.") var referencePrompts = 32
    @Option(help: "Runs; medians are printed.") var runs = 3
    @Flag(help: "Print seconds per op kind of one profiled step.") var profile = false

    func validate() throws {
        guard vocab >= 8, prompt >= 2, answer >= 2, rank >= 1, batchTokens >= 1, steps > 0, runs > 0,
              pairsPerPrompt >= 1, referencePrompts >= 1 else {
            throw ValidationError("need vocab ≥ 8, prompt ≥ 2, answer ≥ 2, rank ≥ 1, batch-tokens ≥ 1, steps, runs, pairs-per-prompt, reference-prompts > 0")
        }
        let config = StyleLMConfig.standard(vocabSize: vocab)
        let longest = Int((Double(prompt) * 1.2).rounded(.up)) + Int((Double(answer) * 4 / 3).rounded(.up))
        guard longest <= config.maxPositionEmbeddings else {
            throw ValidationError("prompt + answer can reach \(longest) tokens, beyond max_position_embeddings \(config.maxPositionEmbeddings); shorten --prompt or --answer")
        }
    }

    func run() throws {
        let config = StyleLMConfig.standard(vocabSize: vocab)
        let base = StyleLMWeights.initial(config, seed: 1)
        let lora = LoRAConfig(rank: rank, alpha: Float(2 * rank))
        var settings = DPOSettings()
        settings.rank = rank
        settings.alpha = lora.alpha
        settings.training.batchTokens = batchTokens

        // Random triples: token ids ≥ 5 (past the special tokens), answers end with </s>.
        var rng = SplitMix64(seed: 7)
        func tokens(_ mean: Int, spread: Double) -> [Int32] {
            let low = max(1, Int((Double(mean) * (1 - spread)).rounded())), high = Int((Double(mean) * (1 + spread)).rounded())
            let n = low + rng.below(high - low + 1)
            return (0..<n).map { _ in Int32(5 + rng.below(vocab - 5)) }
        }
        func triple() -> (prompt: [Int32], chosen: [Int32], rejected: [Int32]) {
            let p = tokens(prompt, spread: 0.2)
            var c = tokens(answer - 1, spread: 1.0 / 3), r = tokens(answer - 1, spread: 1.0 / 3)
            c.append(2); r.append(2)
            return (p, c, r)
        }

        // The frozen reference: the base weights, scored by the inference engine.
        let reference = try StyleLMInference(config: config, weights: base)
        let referenceSet = (0..<referencePrompts).map { _ in
            (prompt: tokens(prompt, spread: 0.2), answers: (0...pairsPerPrompt).map { _ in tokens(answer - 1, spread: 1.0 / 3) + [2] })
        }

        // The policy: base frozen, fresh adapters (B = 0, so it starts as the reference;
        // the step's cost does not depend on the values).
        let policy = try StyleLM(config: config, weights: base)
        try policy.attachLoRA(lora, adapters: lora.initial(config, seed: 0xD9))
        let pairsPerBatch = max(1, batchTokens / (2 * (prompt + answer - 1)))   // a pair weighs as two unpacked rows in the plan
        let examples = (0..<(pairsPerBatch * (steps + 1) * 2)).map { _ -> DPOExample in
            let t = triple()
            return DPOExample(prompt: t.prompt, chosen: t.chosen, rejected: t.rejected, referenceChosen: -30, referenceRejected: -30)
        }
        let trainer = DPOTrainer(model: policy, examples: examples, settings: settings, padToken: 0)
        let batches = trainer.plan.batches
        guard batches.count > steps else { throw ValidationError("the plan made \(batches.count) batches; need more than --steps") }

        // Counting pass, untimed: the executed sgemm FLOPs and the real and padded tokens of each batch.
        var executed: [Double] = [], realTokens: [Int] = [], paddedTokens: [Int] = [], useful: [Double] = [], unpackedTokens: [Int] = []
        for batch in batches {
            let tape = Tape()
            let (loss, _, real) = trainer.loss(batch, on: tape)
            for (_, t) in policy.trainableParameters { t.zeroGrad() }
            tape.backward(loss)
            executed.append(tape.matmulFlops)
            realTokens.append(real)
            let lengths = batch.map { examples[$0].prompt.count + examples[$0].chosen.count + examples[$0].rejected.count - 2 }
            paddedTokens.append(batch.count * lengths.max()!)
            unpackedTokens.append(zip(batch, lengths).reduce(0) { $0 + examples[$1.0].prompt.count + $1.1 })
            useful.append(batch.reduce(0.0) { $0 + usefulFlops(config, lora, examples[$1]) })
        }
        let adapterParameters = policy.trainableParameters.reduce(0) { $0 + $1.tensor.count }
        print("model: \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), MLP \(config.intermediateSize), \(config.numAttentionHeads) heads, vocab \(vocab), \(config.parameterCount) parameters (frozen); LoRA rank \(rank) on every projection, \(adapterParameters) trainable")
        let stepPairs = batches.prefix(steps + 1).map(\.count)
        print("pairs: prompt ~\(prompt) tokens (±20 %), answers ~\(answer) (±33 %); batches of ≤ \(batchTokens) tokens counted as two padded unpacked rows per pair (one packed row each): \(stepPairs.map(String.init).joined(separator: "/")) pairs; \(steps) DPO steps per run after a warm-up step; OpenBLAS threads \(openblas_get_num_threads())")

        // Plain sgemm on the rows of a typical timed batch (the plan's first batch may be a short remainder).
        let n = paddedTokens[1...steps].sorted()[steps / 2], d = config.hiddenSize, m = config.intermediateSize
        let shapes = [(n, 3 * d, d), (n, m, d), (n, d, m), (n, vocab, d)]
        var modelRates: [Double] = [], usefulRates: [Double] = [], sgemmRates: [Double] = [], tokenRates: [Double] = []
        var ratios: [Double] = [], stepSeconds: [Double] = [], pairRates: [Double] = [], referencePerPair: [Double] = []
        var unpackedRates: [Double] = []
        trainer.step(batches[0], learningRate: 1e-4)   // warm-up
        for run in 0..<runs {
            var flops = 0.0, usefulSum = 0.0, real = 0, unpacked = 0, pairs = 0
            let t = seconds {
                for s in 1...steps {
                    let result = trainer.step(batches[s], learningRate: 1e-4)
                    flops += executed[s]
                    usefulSum += useful[s]
                    real += result.tokens
                    unpacked += unpackedTokens[s]
                    pairs += batches[s].count
                }
            }
            let reference_ = seconds {
                for item in referenceSet {
                    let state = reference.prefill(item.prompt)
                    _ = reference.continuationLogProbs(state, item.answers)
                }
            }
            let reference = shapes.map { sgemmRate(m: $0.0, n: $0.1, k: $0.2) }
            let plain = median(reference)
            modelRates.append(flops / t / 1e9)
            usefulRates.append(usefulSum / t / 1e9)
            sgemmRates.append(plain)
            tokenRates.append(Double(real) / t)
            unpackedRates.append(Double(unpacked) / t)
            pairRates.append(Double(pairs) / t)
            ratios.append(flops / t / 1e9 / plain)
            stepSeconds.append(t / Double(steps))
            referencePerPair.append(reference_ / Double(referencePrompts * pairsPerPrompt))
            let sizes = zip(shapes, reference).map { "\($0.0.0)×\($0.0.2)·\($0.0.2)×\($0.0.1) \(fmt($0.1))" }.joined(separator: ", ")
            print("run \(run + 1): executed \(fmt(flops / t / 1e9)) GFLOP/s (useful \(fmt(usefulSum / t / 1e9))), \(fmt(Double(real) / t, 0)) tokens/s, \(fmt(Double(pairs) / t, 1)) pairs/s, \(fmt(t / Double(steps), 3)) s/step; reference \(fmt(1000 * referencePerPair.last!, 2)) ms/pair; plain sgemm GFLOP/s: \(sizes); ratio \(fmt(100 * ratios.last!, 0)) %")
        }
        let real = realTokens[1...steps].reduce(0, +), padded = paddedTokens[1...steps].reduce(0, +)
        line("DPO step executed GFLOP/s, median", fmt(median(modelRates)))
        line("DPO step useful GFLOP/s, median", fmt(median(usefulRates)))
        line("plain cblas_sgemm GFLOP/s, median", fmt(median(sgemmRates)))
        line("executed / plain sgemm, median ratio", "\(fmt(100 * median(ratios), 0)) %")
        line("tokens/s (real tokens, as `lookbook tune`)", fmt(median(tokenRates), 0))
        line("tokens/s counted unpacked (prompt twice)", fmt(median(unpackedRates), 0))
        line("pairs/s (training), median", fmt(median(pairRates), 1))
        line("seconds per DPO step, median", fmt(median(stepSeconds), 3))
        line("real / padded tokens of the timed batches", "\(real) / \(padded) (\(fmt(100 * Double(real) / Double(padded), 0)) %)")
        line("GFLOP per step: executed, useful", "\(fmt(executed[1...steps].reduce(0, +) / Double(steps) / 1e9, 2)), \(fmt(useful[1...steps].reduce(0, +) / Double(steps) / 1e9, 2))")
        line("reference log-probs, ms per pair, median", "\(fmt(1000 * median(referencePerPair), 2)) (\(pairsPerPrompt) pairs share a prompt: one prefill, \(pairsPerPrompt + 1) answers)")
        let training = 1 / median(pairRates), referencePair = median(referencePerPair)
        line("projected s per 10,000 pairs (ref + train)", "\(fmt(10_000 * referencePair, 0)) + \(fmt(10_000 * training, 0)) = \(fmt(10_000 * (referencePair + training), 0))")
        if profile {
            let tape = Tape()
            tape.profile = true
            let (loss, _, _) = trainer.loss(batches[1], on: tape)
            for (_, t) in policy.trainableParameters { t.zeroGrad() }
            tape.backward(loss)
            for (op, s) in tape.secondsByOp.sorted(by: { $0.value > $1.value }) {
                line("  \(op)", "\(fmt(s * 1000, 1)) ms")
            }
        }
    }

    /// Useful forward+backward FLOPs of one pair's packed row through a LoRA policy with
    /// frozen base weights (see the type's comment).
    func usefulFlops(_ c: StyleLMConfig, _ lora: LoRAConfig, _ e: DPOExample) -> Double {
        let d = Double(c.hiddenSize), m = Double(c.intermediateSize), layers = Double(c.numHiddenLayers)
        let p = e.prompt.count, chosen = e.chosen.count, rejected = e.rejected.count
        let l = Double(p + chosen + rejected - 2)
        let frozen = layers * (4 * d * d + 3 * d * m)                                  // projections
        let head = Double(chosen + rejected - 1) * 4 * Double(c.vocabSize) * d         // tied head, distinct answer positions only
        let r = Double(lora.rank)
        let adapters = layers * r * (4 * (d + d) + 2 * (d + m) + (m + d))       // q,k,v,o; gate, up; down
        // Visible (query, key) pairs: the causal triangle over prompt + chosen, then the
        // k-th rejected query (k = 1…R−1) sees the prompt and k rejected tokens.
        let triangle = (p + chosen - 1) * (p + chosen) / 2
        let visible = Double(triangle + (rejected - 1) * p + (rejected - 1) * rejected / 2)
        // Forward q·kᵀ and p·v 4·d per pair; backward (dP, dV, dQ, dK) twice that.
        let attentionFlops = layers * 12 * d * visible
        return l * (4 * frozen + 6 * adapters) + head + attentionFlops
    }
}
