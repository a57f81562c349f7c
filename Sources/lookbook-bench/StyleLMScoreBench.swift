import ArgumentParser
import COpenBLAS
import Foundation
import LookbookCore
import StyleModel

/// StyleLM candidate scoring: one prompt prefilled once, then every candidate continuation
/// scored in one batch against its KV cache (`StyleLMInference.continuationLogProbs`), with
/// the standard model and random weights. The reference in the same run is a plain
/// `cblas_sgemm` of the shape that dominates scoring (the fused gate/up projection of the
/// whole candidate batch), so the achieved GFLOP/s can be read against what the BLAS does.
struct StyleLMScoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stylelm-score",
        abstract: "StyleLM scoring candidates/s (shared prompt, KV cache, batched; target ≥ 5,000/s), prefill ms, GFLOP/s vs plain sgemm.")

    @Option(help: "Prompt tokens.") var promptLength = 60
    @Option(help: "Candidates per prompt.") var candidates = 200
    @Option(help: "Mean candidate tokens (lengths vary by ±2).") var candidateLength = 12
    @Option(help: "Leading tokens shared by each group of 10 candidates (0: all random), as captions of one slot often start alike; shared prefixes run once.")
    var shared = 0
    @Option(help: "Prompts per run.") var prompts = 5
    @Option(help: "Runs; medians are printed.") var runs = 3

    func run() throws {
        let config = StyleLMConfig.standard(vocabSize: 4096)
        let model = try StyleLMInference(config: config, weights: StyleLMWeights.initial(config, seed: 1))
        var random = SplitMix64(seed: 42)
        let work: [(prompt: [Int32], candidates: [[Int32]])] = (0..<prompts).map { _ in
            let prompt = (0..<promptLength).map { _ in Int32(random.below(config.vocabSize)) }
            var groupPrefix: [Int32] = []
            let cands = (0..<candidates).map { i in
                if i % 10 == 0 { groupPrefix = (0..<shared).map { _ in Int32(random.below(config.vocabSize)) } }
                let length = max(1, candidateLength - 2 + random.below(5))
                return Array((groupPrefix + (0..<length).map { _ in Int32(random.below(config.vocabSize)) }).prefix(length))
            }
            return (prompt, cands)
        }
        let flops = work.reduce(0.0) { $0 + Self.scoringFLOPs(config, prompt: $1.prompt.count, candidates: $1.candidates) }
        let rows = work[0].candidates.reduce(0) { $0 + max($1.count - 1, 0) }
        let distinctRows = Self.runPrefixes(work[0].candidates).count
        print("model: standard, vocab \(config.vocabSize), \(config.parameterCount) parameters; \(prompts) prompts × \(promptLength) tokens, \(candidates) candidates of ~\(candidateLength) tokens, groups of 10 sharing \(shared) leading tokens (\(rows) rows per batch, \(distinctRows) distinct)")
        _ = model.continuationLogProbs(model.prefill(work[0].prompt), work[0].candidates)   // warm-up

        var rates: [Double] = [], scoreOnly: [Double] = [], prefills: [Double] = [], gflops: [Double] = [], reference: [Double] = []
        for run in 0..<runs {
            var prefillTime = 0.0, scoreTime = 0.0
            for (prompt, cands) in work {
                var state: StyleLMInference.PromptState?
                prefillTime += seconds { state = model.prefill(prompt) }
                scoreTime += seconds { _ = model.continuationLogProbs(state!, cands) }
            }
            let total = Double(prompts * candidates)
            rates.append(total / (prefillTime + scoreTime))
            scoreOnly.append(total / scoreTime)
            prefills.append(prefillTime / Double(prompts) * 1000)
            gflops.append(flops / scoreTime / 1e9)
            reference.append(Self.plainSgemmGFLOPs(m: distinctRows, n: 2 * config.intermediateSize, k: config.hiddenSize))
            print("run \(run + 1): \(fmt(rates.last!, 0)) candidates/s (scoring alone \(fmt(scoreOnly.last!, 0))/s), prefill \(fmt(prefills.last!, 2)) ms, \(fmt(gflops.last!, 1)) GFLOP/s (plain sgemm \(fmt(reference.last!, 1)))")
        }
        let perCandidate = flops / Double(prompts * candidates)
        line("candidates/s incl. prefill, median of \(runs)", "\(fmt(median(rates), 0)) (target ≥ 5,000)")
        line("candidates/s, batch scoring alone", fmt(median(scoreOnly), 0))
        line("prefill ms per \(promptLength)-token prompt", fmt(median(prefills), 2))
        line("scoring GFLOP/s", fmt(median(gflops), 1))
        line("reference: plain sgemm \(distinctRows)×\(2 * config.intermediateSize)×\(config.hiddenSize)", "\(fmt(median(reference), 1)) GFLOP/s")
        line("scoring / plain sgemm", fmt(median(gflops) / median(reference), 2))
        line("MFLOP per candidate", fmt(perCandidate / 1e6, 1))
        line("ceiling at plain-sgemm speed", "\(fmt(median(reference) * 1e9 / perCandidate, 0)) candidates/s")
    }

    /// Floating-point operations of one `continuationLogProbs` call (multiply-add = 2):
    /// every projection, attention over prompt + own prefix, and the vocabulary projection,
    /// for the rows actually run: one per distinct candidate prefix (a candidate's last
    /// token is never run, a shared prefix runs once).
    static func scoringFLOPs(_ c: StyleLMConfig, prompt: Int, candidates: [[Int32]]) -> Double {
        let h = Double(c.hiddenSize), i = Double(c.intermediateSize), v = Double(c.vocabSize)
        return runPrefixes(candidates).reduce(0.0) { total, prefix in
            let keys = Double(prompt + prefix.count)
            let layer = 2 * (4 * h * h + 3 * h * i) + 2 * 2 * keys * h
            return total + Double(c.numHiddenLayers) * layer + 2 * h * v
        }
    }

    /// The distinct prefixes the scorer runs, one row each: lengths 1..<count of every candidate.
    static func runPrefixes(_ candidates: [[Int32]]) -> Set<[Int32]> {
        Set(candidates.flatMap { c in (1..<max(c.count, 1)).map { Array(c.prefix($0)) } })
    }

    /// GFLOP/s of `C = A·Bᵀ` with A [m × k], B [n × k], median of 5.
    static func plainSgemmGFLOPs(m: Int, n: Int, k: Int) -> Double {
        var random = SplitMix64(seed: 3)
        let a = (0..<(m * k)).map { _ in Float(random.unit()) }, b = (0..<(n * k)).map { _ in Float(random.unit()) }
        var c = [Float](repeating: 0, count: m * n)
        let times = (0..<5).map { _ in
            seconds {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
            }
        }
        return 2 * Double(m) * Double(n) * Double(k) / median(times) / 1e9
    }
}
