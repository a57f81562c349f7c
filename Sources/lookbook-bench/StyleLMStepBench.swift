import ArgumentParser
import COpenBLAS
import Foundation
import LookbookCore
import StyleModel

/// Forward+backward speed of the standard StyleLM (full fine-tuning, cross-entropy) on
/// random token batches, against plain `cblas_sgemm` on matrices of the model's sizes
/// measured in the same run. Target: model GFLOP/s ≥ 40 % of plain sgemm.
struct StyleLMStepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stylelm-step",
        abstract: "StyleLM forward+backward GFLOP/s and tokens/s vs plain cblas_sgemm (target ≥ 40 %).")

    @Option(help: "Sequences per batch.") var batch = 16
    @Option(help: "Tokens per sequence.") var seq = 96
    @Option(help: "Vocabulary size of the standard config.") var vocab = 4096
    @Option(help: "Training steps per run.") var steps = 3
    @Option(help: "Runs; medians are printed.") var runs = 3
    @Flag(help: "Print seconds per op kind (median run's tape).") var profile = false

    func validate() throws {
        guard batch > 0, seq >= 2, seq <= 192, vocab >= 2, steps > 0, runs > 0 else {
            throw ValidationError("need batch > 0, 2 ≤ seq ≤ 192 (max_position_embeddings), vocab ≥ 2, steps > 0, runs > 0")
        }
    }

    func run() throws {
        let config = StyleLMConfig.standard(vocabSize: vocab)
        let model = StyleLM(config: config, seed: 1)
        model.setFullFineTuning()
        var rng = SplitMix64(seed: 7)
        let rows = (0..<batch).map { _ in (0..<seq).map { _ in Int32(rng.below(vocab)) } }
        let tokens = TokenBatch(rows: rows, pad: 0)
        let targets: [Int32] = rows.flatMap { Array($0.dropFirst()) + [0] }
        let weights: [Float] = rows.flatMap { [Float](repeating: 1, count: $0.count - 1) + [0] }
        print("model: \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), MLP \(config.intermediateSize), \(config.numAttentionHeads) heads, vocab \(vocab), \(config.parameterCount) parameters")
        print("batch: \(batch) × \(seq) tokens, \(steps) forward+backward steps per run, OpenBLAS threads \(openblas_get_num_threads())")

        let n = batch * seq, d = config.hiddenSize, m = config.intermediateSize
        let shapes = [(n, m, d), (n, d, m), (n, vocab, d), (1024, 1024, 1024)]
        var modelRates: [Double] = [], sgemmRates: [Double] = [], tokenRates: [Double] = [], ratios: [Double] = []
        var lastTape = Tape()
        step(model, tokens, targets, weights, profile: false)   // warm-up
        for run in 0..<runs {
            var flops = 0.0
            var profiled: Tape?
            let t = seconds {
                for s in 0..<steps {
                    let tape = step(model, tokens, targets, weights, profile: profile && s == steps - 1)
                    flops += tape.matmulFlops
                    profiled = tape
                }
            }
            let reference = shapes.map { sgemmRate(m: $0.0, n: $0.1, k: $0.2) }
            let plain = median(reference)
            modelRates.append(flops / t / 1e9)
            sgemmRates.append(plain)
            tokenRates.append(Double(n * steps) / t)
            ratios.append(flops / t / 1e9 / plain)
            if let profiled { lastTape = profiled }
            let sizes = zip(shapes, reference).map { "\($0.0.0)×\($0.0.2)·\($0.0.2)×\($0.0.1) \(fmt($0.1))" }.joined(separator: ", ")
            print("run \(run + 1): model \(fmt(flops / t / 1e9)) GFLOP/s, \(fmt(Double(n * steps) / t, 0)) tokens/s, \(fmt(t / Double(steps), 3)) s/step; plain sgemm GFLOP/s: \(sizes); ratio \(fmt(100 * ratios.last!, 0)) %")
        }
        line("model forward+backward GFLOP/s, median", fmt(median(modelRates)))
        line("plain cblas_sgemm GFLOP/s, median", fmt(median(sgemmRates)))
        line("model / plain sgemm, median per-run ratio", "\(fmt(100 * median(ratios), 0)) % (target ≥ 40 %)")
        line("tokens/s (forward+backward), median", fmt(median(tokenRates), 0))
        line("matmul GFLOP per step (fwd+bwd, counted)", fmt(lastTape.matmulFlops / 1e9, 2))
        if profile {
            for (op, s) in lastTape.secondsByOp.sorted(by: { $0.value > $1.value }) {
                line("  \(op)", "\(fmt(s * 1000, 1)) ms")
            }
        }
    }

    /// One forward+backward step; returns its tape (for the flop count and profile).
    @discardableResult
    func step(_ model: StyleLM, _ tokens: TokenBatch, _ targets: [Int32], _ weights: [Float], profile: Bool) -> Tape {
        let tape = Tape()
        tape.profile = profile
        for (_, t) in model.trainableParameters { t.zeroGrad() }
        let loss = tape.crossEntropy(logits: model.logits(tokens, on: tape), targets: targets, weights: weights)
        tape.backward(loss)
        return tape
    }
}

/// GFLOP/s of C[m×n] = A[m×k]·B[k×n]: median over calls for about 0.2 s after a
/// warm-up, so the reference sees the same machine load as the model steps (shared by
/// `stylelm-step` and `dpo-step`).
func sgemmRate(m: Int, n: Int, k: Int) -> Double {
    var rng = SplitMix64(seed: 3)
    let a = (0..<(m * k)).map { _ in Float(rng.unit()) }, b = (0..<(k * n)).map { _ in Float(rng.unit()) }
    var c = [Float](repeating: 0, count: m * n)
    var times: [Double] = []
    var spent = 0.0
    while times.count < 4 || spent < 0.2 {
        times.append(seconds {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k), 1, a, blasint(k), b, blasint(n), 0, &c, blasint(n))
        })
        spent += times.last!
    }
    return 2 * Double(m * n * k) / median(Array(times.dropFirst())) / 1e9
}
