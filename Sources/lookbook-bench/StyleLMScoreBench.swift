import ArgumentParser
import COpenBLAS
import Dispatch
import Foundation
import LookbookCore
import StyleModel

/// StyleLM candidate scoring: one prompt prefilled once, then every candidate continuation
/// scored in one batch against its KV cache (`StyleLMInference.continuationLogProbs`), with
/// the recipe's standard and small networks and random weights (speed does not depend on
/// the weights). Next to it, in the same run, the sgemm ceiling of this machine for the
/// shape that dominates scoring (the fused gate/up projection), measured both ways the
/// scorer may use two cores: OpenBLAS's two threads on one call, and two single-threaded
/// calls side by side. FLOPs count the rows actually run (one per distinct candidate
/// prefix; a candidate's last token is never run).
struct StyleLMScoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stylelm-score",
        abstract: "StyleLM scoring candidates/s (shared prompt, KV cache, batched; target ≥ 5,000/s), FLOPs per candidate, GFLOP/s vs same-run sgemm, where the time goes.")

    @Option(help: "Recipes to measure, comma-separated: standard, small.") var models = "standard,small"
    @Option(help: "Prompt tokens.") var promptLength = 60
    @Option(help: "Candidates per prompt.") var candidates = 200
    @Option(help: "Mean candidate tokens (lengths vary by ±2).") var candidateLength = 12
    @Option(help: "Leading tokens shared by each group of 10 candidates (0: all random), as captions of one slot often start alike; shared prefixes run once.")
    var shared = 0
    @Option(help: "Prompts per run.") var prompts = 5
    @Option(help: "Runs; medians are printed.") var runs = 3
    @Option(help: "Scoring threads to compare, comma-separated (2: two chunk threads with single-threaded OpenBLAS; 1: one thread, OpenBLAS's own threads). The first is the headline.")
    var threads = "2,1"
    @Option(help: "sequence: every candidate's words through the model (the above) | bag: one pass per prompt, then each candidate's distinct tokens looked up in the blank's distribution against a prior kept per slot (StyleLMScoring.bagScore).")
    var method = "sequence"
    @Option(help: "Rows per chunk (0: the default).") var chunkRows = 0
    @Option(help: "Rows per vocabulary-projection block (0: the default).") var vocabularyRows = 0
    @Option(help: "Vocabulary columns per vocabulary-projection block (0: the default).") var vocabularyColumns = 0

    func run() throws {
        let modes = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !modes.isEmpty else { throw ValidationError("--threads needs at least one count, e.g. 2,1") }
        for name in models.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let recipe: StyleLMRecipe
            switch name {
            case "standard": recipe = StyleLMRecipe()
            case "small": recipe = .small
            default: throw ValidationError("unknown model \(name): use standard or small")
            }
            switch method {
            case "sequence": try measure(name, recipe.config(vocabSize: recipe.vocabSize), modes: modes)
            case "bag": try measureBag(name, recipe.config(vocabSize: recipe.vocabSize))
            default: throw ValidationError("--method must be sequence or bag, got \(method)")
            }
            print("")
        }
    }

    func measure(_ name: String, _ config: StyleLMConfig, modes: [Int]) throws {
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
        var defaults = StyleLMInference.BatchOptions()
        if chunkRows > 0 { defaults.chunkRows = chunkRows }
        if vocabularyRows > 0 { defaults.vocabularyRows = vocabularyRows }
        if vocabularyColumns > 0 { defaults.vocabularyColumns = vocabularyColumns }
        let options = modes.map { t in var o = defaults; o.threads = t; return o }

        let parts = work.map { Self.scoringFLOPs(config, prompt: $0.prompt.count, candidates: $0.candidates) }
        let flops = parts.reduce(0.0) { $0 + $1.total }
        let total = Double(prompts * candidates)
        let rows = work[0].candidates.reduce(0) { $0 + max($1.count - 1, 0) }
        let distinctRows = Self.runPrefixes(work[0].candidates).count
        print("model: \(name) (hidden \(config.hiddenSize), intermediate \(config.intermediateSize), \(config.numHiddenLayers) layers, \(config.numAttentionHeads) heads, vocab \(config.vocabSize)), \(config.parameterCount) parameters; \(prompts) prompts × \(promptLength) tokens, \(candidates) candidates of ~\(candidateLength) tokens, groups of 10 sharing \(shared) leading tokens (\(rows) rows per batch, \(distinctRows) distinct); OpenBLAS threads \(openblas_get_num_threads())")
        for o in options { _ = model.continuationLogProbs(model.prefill(work[0].prompt), work[0].candidates, options: o) }   // warm-up

        var rates = [[Double]](repeating: [], count: modes.count), scoreOnly = rates, gflops = rates, perCore = rates
        var prefills: [Double] = [], blasTwo: [Double] = [], sideBySide: [Double] = []
        for run in 0..<runs {
            var report: [String] = []
            for (m, o) in options.enumerated() {
                var prefillTime = 0.0, scoreTime = 0.0, cpuTime = 0.0
                for (prompt, cands) in work {
                    var state: StyleLMInference.PromptState?
                    prefillTime += seconds { state = model.prefill(prompt) }
                    let cpu = Self.processCPUSeconds()
                    scoreTime += seconds { _ = model.continuationLogProbs(state!, cands, options: o) }
                    cpuTime += Self.processCPUSeconds() - cpu
                }
                perCore[m].append(total / cpuTime)
                rates[m].append(total / (prefillTime + scoreTime))
                scoreOnly[m].append(total / scoreTime)
                gflops[m].append(flops / scoreTime / 1e9)
                if m == 0 { prefills.append(prefillTime / Double(prompts) * 1000) }
                report.append("threads \(o.threads): \(fmt(rates[m].last!, 0)) candidates/s (scoring alone \(fmt(scoreOnly[m].last!, 0))/s, \(fmt(gflops[m].last!, 1)) GFLOP/s, \(fmt(perCore[m].last!, 0)) per CPU-second)")
            }
            blasTwo.append(Self.plainSgemmGFLOPs(m: distinctRows, n: 2 * config.intermediateSize, k: config.hiddenSize))
            sideBySide.append(Self.sideBySideSgemmGFLOPs(m: defaults.chunkRows, n: 2 * config.intermediateSize, k: config.hiddenSize))
            print("run \(run + 1): " + report.joined(separator: "; ") + "; sgemm: OpenBLAS 2 threads \(fmt(blasTwo.last!, 1)), 2 × 1 thread side by side \(fmt(sideBySide.last!, 1)) GFLOP/s")
        }
        let reference = max(median(blasTwo), median(sideBySide))
        let perCandidate = flops / total
        line("candidates/s incl. prefill, median of \(runs)", "\(fmt(median(rates[0]), 0)) (threads \(modes[0]); target ≥ 5,000)")
        for m in modes.indices.dropFirst() {
            line("  with threads \(modes[m])", "\(fmt(median(rates[m]), 0)) candidates/s, \(fmt(median(gflops[m]), 1)) GFLOP/s, \(fmt(median(perCore[m]), 0)) per CPU-second")
        }
        line("candidates/s, batch scoring alone", fmt(median(scoreOnly[0]), 0))
        line("candidates per CPU-second (scoring)", "\(fmt(median(perCore[0]), 0)) (× 2 cores = \(fmt(2 * median(perCore[0]), 0))/s if no one else runs)")
        line("prefill ms per \(promptLength)-token prompt", fmt(median(prefills), 2))
        line("scoring GFLOP/s", fmt(median(gflops[0]), 1))
        line("sgemm \(distinctRows)×\(2 * config.intermediateSize)×\(config.hiddenSize), OpenBLAS 2 threads", "\(fmt(median(blasTwo), 1)) GFLOP/s")
        line("sgemm \(defaults.chunkRows)×\(2 * config.intermediateSize)×\(config.hiddenSize), 2 × 1 thread", "\(fmt(median(sideBySide), 1)) GFLOP/s")
        line("scoring / best same-run sgemm", fmt(median(gflops[0]) / reference, 2))
        let share = parts.reduce((0.0, 0.0, 0.0)) { ($0.0 + $1.projections, $0.1 + $1.attention, $0.2 + $1.vocabulary) }
        line("MFLOP per candidate", "\(fmt(perCandidate / 1e6, 1)) (layer projections \(fmt(share.0 / total / 1e6, 1)), attention \(fmt(share.1 / total / 1e6, 1)), vocabulary \(fmt(share.2 / total / 1e6, 1)))")
        line("ceiling at best same-run sgemm speed", "\(fmt(reference * 1e9 / perCandidate, 0)) candidates/s")
        line("GFLOP/s that 5,000 candidates/s needs", fmt(5000 * perCandidate / 1e9, 0))

        // Where the time goes: one more pass with per-stage clocks (thread-seconds).
        let profile = StyleLMInference.BatchProfile()
        var wall = 0.0
        for (prompt, cands) in work {
            let state = model.prefill(prompt)
            wall += seconds { _ = model.continuationLogProbs(state, cands, options: options[0], profile: profile) }
        }
        let stageSeconds = profile.seconds
        let busy = stageSeconds.values.reduce(0, +)
        print("where the time goes (threads \(modes[0]), thread-seconds per candidate; \(fmt(busy / wall, 2)) threads busy on average):")
        let stageFLOPs: [StyleLMInference.BatchProfile.Stage: Double] = [.projections: share.0, .attention: share.1, .vocabulary: share.2]
        for stage in StyleLMInference.BatchProfile.Stage.allCases {
            let s = stageSeconds[stage] ?? 0
            var text = "\(fmt(s / total * 1e6, 1)) µs (\(fmt(100 * s / busy, 1)) %)"
            if let f = stageFLOPs[stage], s > 0 { text += ", \(fmt(f / s / 1e9, 1)) GFLOP/s per thread" }
            line("  " + stage.name, text)
        }
    }

    /// Bag-of-words scoring: per prompt one prefill (its last position's distribution is
    /// the blank's), then per candidate the mean over its distinct tokens of log p − log
    /// prior. The prior (one pass per slot, kept by the scorer) is computed once outside
    /// the clock, as it is in a run after the first question of a slot.
    func measureBag(_ name: String, _ config: StyleLMConfig) throws {
        let model = try StyleLMInference(config: config, weights: StyleLMWeights.initial(config, seed: 1))
        var random = SplitMix64(seed: 42)
        let work: [(prompt: [Int32], candidates: [[Int32]])] = (0..<prompts).map { _ in
            let prompt = (0..<promptLength).map { _ in Int32(random.below(config.vocabSize)) }
            let cands = (0..<candidates).map { _ in
                let length = max(1, candidateLength - 2 + random.below(5))
                var seen = Set<Int32>()
                return (0..<length).map { _ in Int32(random.below(config.vocabSize)) }.filter { seen.insert($0).inserted }
            }
            return (prompt, cands)
        }
        let prior = model.prefill(Array(work[0].prompt.prefix(3))).lastLogProbs
        print("model: \(name) (hidden \(config.hiddenSize), \(config.numHiddenLayers) layers, vocab \(config.vocabSize)), method bag; \(prompts) prompts × \(promptLength) tokens, \(candidates) candidates of ~\(candidateLength) tokens; OpenBLAS threads \(openblas_get_num_threads())")
        _ = model.prefill(work[0].prompt)  // warm-up
        var rates: [Double] = [], prefills: [Double] = [], lookups: [Double] = []
        var checksum = 0.0
        for run in 0..<runs {
            var prefillTime = 0.0, lookupTime = 0.0
            for (prompt, cands) in work {
                var logProbs: [Float] = []
                prefillTime += seconds { logProbs = model.prefill(prompt).lastLogProbs }
                lookupTime += seconds {
                    for c in cands { checksum += StyleLMScoring.bagScore(c, logProbs: logProbs, prior: prior, lengthNormalised: true) }
                }
            }
            let total = Double(prompts * candidates)
            rates.append(total / (prefillTime + lookupTime))
            prefills.append(prefillTime / Double(prompts) * 1000)
            lookups.append(total / lookupTime)
            print("run \(run + 1): \(fmt(rates.last!, 0)) candidates/s incl. prefill (prefill \(fmt(prefills.last!, 2)) ms per prompt, look-ups \(fmt(lookups.last!, 0)) candidates/s)")
        }
        line("candidates/s incl. prefill, median of \(runs)", "\(fmt(median(rates), 0)) (\(candidates) candidates per prompt; target ≥ 5,000)")
        line("prefill ms per \(promptLength)-token prompt", fmt(median(prefills), 2))
        line("candidates/s, look-ups alone", fmt(median(lookups), 0))
        line("prompts/s (any number of candidates)", fmt(1000 / median(prefills), 0))
        if !checksum.isFinite { print("(checksum \(checksum))") }
    }

    struct FLOPs {
        var projections = 0.0, attention = 0.0, vocabulary = 0.0
        var total: Double { projections + attention + vocabulary }
    }

    /// Floating-point operations of one `continuationLogProbs` call (multiply-add = 2):
    /// every projection, attention over prompt + own prefix (scores and weighted values),
    /// and the vocabulary projection, for the rows actually run: one per distinct candidate
    /// prefix (a candidate's last token is never run, a shared prefix runs once).
    static func scoringFLOPs(_ c: StyleLMConfig, prompt: Int, candidates: [[Int32]]) -> FLOPs {
        let h = Double(c.hiddenSize), i = Double(c.intermediateSize), v = Double(c.vocabSize), l = Double(c.numHiddenLayers)
        var f = FLOPs()
        for prefix in runPrefixes(candidates) {
            let keys = Double(prompt + prefix.count)
            f.projections += l * 2 * (4 * h * h + 3 * h * i)
            f.attention += l * 2 * 2 * keys * h
            f.vocabulary += 2 * h * v
        }
        return f
    }

    /// The distinct prefixes the scorer runs, one row each: lengths 1..<count of every candidate.
    static func runPrefixes(_ candidates: [[Int32]]) -> Set<[Int32]> {
        Set(candidates.flatMap { c in (1..<max(c.count, 1)).map { Array(c.prefix($0)) } })
    }

    /// GFLOP/s of `C = A·Bᵀ` with A [m × k], B [n × k] with OpenBLAS's own threads, median of 5.
    static func plainSgemmGFLOPs(m: Int, n: Int, k: Int) -> Double {
        let (a, b) = operands(m: m, n: n, k: k)
        var c = [Float](repeating: 0, count: m * n)
        let times = (0..<5).map { _ in
            seconds {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
            }
        }
        return 2 * Double(m) * Double(n) * Double(k) / median(times) / 1e9
    }

    /// GFLOP/s of two threads each running single-threaded `C = A·Bᵀ` (A [m × k], B [n × k])
    /// 8 times side by side, as the scorer's two chunk threads do; median of 5.
    static func sideBySideSgemmGFLOPs(m: Int, n: Int, k: Int) -> Double {
        let (a, b) = operands(m: m, n: n, k: k)
        let repeats = 8
        let saved = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(saved) }
        let times = (0..<5).map { _ in
            seconds {
                DispatchQueue.concurrentPerform(iterations: 2) { _ in
                    var c = [Float](repeating: 0, count: m * n)
                    for _ in 0..<repeats {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
                    }
                }
            }
        }
        return 2 * Double(repeats) * 2 * Double(m) * Double(n) * Double(k) / median(times) / 1e9
    }

    /// User + system CPU seconds of this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    static func operands(m: Int, n: Int, k: Int) -> ([Float], [Float]) {
        var random = SplitMix64(seed: 3)
        return ((0..<(m * k)).map { _ in Float(random.unit()) }, (0..<(n * k)).map { _ in Float(random.unit()) })
    }
}
