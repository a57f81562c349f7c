import ArgumentParser
import CatalogGenerator
import Foundation
import LookbookCore
import Recommender
import StyleModel

/// `lookbook-bench precompute-stylelm`: the recommend stage with StyleLM as reranker on
/// the generated catalog of `precompute` (same seed and sizes). Prints the retrieval
/// stage's recall@10 against an exhaustive StyleLM rerank at several depths M (the
/// co-occurrence reranker alongside: 100 % by construction), and the precompute time
/// with StyleLM measured on a sample of anchors and scaled to the whole catalog, 100,000
/// and 1,000,000 products by the full co-occurrence run of the same catalog. `--full
/// --combine-ppmi-svd [--structure]` runs the nightly job's hybrid (with the
/// outfit-structure model) full and incremental instead.
struct StyleLMPrecomputeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precompute-stylelm",
        abstract: "Retrieval recall@10 vs an exhaustive StyleLM rerank, and the precompute time with StyleLM (sampled, extrapolated).")

    @Option(help: "A StyleLM model directory (lookbook train).") var model: String
    @Option(help: "Products in the generated catalog.") var products = 10_000
    @Option(help: "Curated outfits (default: 0.4 per product).") var outfits: Int?
    @Option(help: "Anchors sampled for the recall (each costs an exhaustive StyleLM rerank of its pools).") var recallSample = 20
    @Option(help: "Anchors precomputed with StyleLM to time it.") var timeSample = 40
    @Option(help: "Retrieval depths M to report the recall at (besides the job's 100), prior source as shipped.") var depths = "50,200,400"
    @Option(help: "Pairs M/prior M to report the recall at (prior 0: co-occurrence alone).")
    var grid = "100/0,200/0,400/0,100/200,100/300,100/400,100/500,200/300,200/400"
    @Option(help: "Candidates per list from StyleLM's prior (the job's retrieval_prior_m; 0: co-occurrence alone).")
    var priorM = RecommendSettings().retrievalPriorM
    @Option(help: "Cascade depths R: the as-run candidates ranked by the prior+first proxy, only the top R reranked (empty: not measured).")
    var cascade = ""
    @Option(help: "Also measure the cascade with the prior+prefix proxy at these prefix lengths (tokens; each costs another exhaustive rerank).")
    var cascadePrefix = ""
    @Flag(help: "Also measure the StyleLM proxies of the recall study (each costs another exhaustive rerank).") var proxies = false
    @Flag(help: "A real full precompute in the reranker's retrieval space (the bag space for a bag-scoring model), then an incremental one after --changed of the products changed, the recall on --recall-sample anchors and the extrapolation (instead of the sampled study).")
    var full = false
    @Option(help: "With --full: share of products changed for the incremental run.") var changed = 0.01
    @Option(help: "With --full: incremental runs from the same previous state (each timed; the median is reported).")
    var incrementalRuns = 1
    @Flag(help: "With --full: skip the check that the incremental output equals a full recompute (another full run).")
    var skipEqualityCheck = false
    @Option(help: "With --full: looks whose greedy description (the sequence model's why) is timed, to compare.") var describeSample = 40
    @Flag(name: .customLong("combine-ppmi-svd"),
          help: "With --full: rerank as the nightly job does with a bag-scoring model, combined with PPMI-SVD trained on the catalog (HybridReranker, retrieval in its word vectors); the recall is against an exhaustive hybrid rerank, also at --depths.")
    var combinePPMISVD = false
    @Flag(help: "With --combine-ppmi-svd: add the outfit-structure model trained on the catalog's outfits, as the nightly job's [recommend] structure does; the recall is against an exhaustive rerank by the three-way sum.")
    var structure = false

    func run() throws {
        if structure && !(full && combinePPMISVD) { throw ValidationError("--structure needs --full --combine-ppmi-svd") }
        if full { return try runFull() }
        let outfitCount = outfits ?? products * 2 / 5
        print("generating \(products) products, \(outfitCount) outfits …")
        let config = SampleCatalogGenerator.Config(seed: 42, productCount: products, imageCount: 0, outfitCount: outfitCount)
        let catalog = try SampleCatalogGenerator(config: config).generate(renderImages: false).catalog
        let retrieval = CooccurrenceModel.train(products: catalog.products, outfits: catalog.outfits)
        var scoring: StyleLMScoring!
        let load = try seconds { scoring = try StyleLMScoring(directory: URL(fileURLWithPath: model)) }
        let params = scoring.inference.config.parameterCount
        line("StyleLM", "\(scoring.version), \(params) parameters, loaded in \(fmt(load, 2)) s")
        let reranker = StyleLMReranker(scoring: scoring)
        var settings = RecommendSettings()
        settings.retrievalPriorM = priorM
        let extra = depths.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let pairs = grid.split(separator: ",").compactMap { pair -> RetrievalRecall.Depth? in
            let parts = pair.split(separator: "/").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return parts.count == 2 ? .init(m: parts[0], prior: parts[1]) : nil
        }

        // Same run reference: the co-occurrence reranker on the same sample.
        let cooc = Precomputer(model: retrieval, settings: settings, feedback: catalog.feedback)
            .retrievalRecall(products: catalog.products, sample: recallSample, alsoAt: extra)
        let stylelm = Precomputer(model: retrieval, reranker: reranker, settings: settings, feedback: catalog.feedback)
        let cascadeR = cascade.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let cascadeProxy = cascadeR.isEmpty ? nil : StyleLMRetrievalProxy(scoring: scoring, mode: .priorFirst, products: catalog.products)
        var recall: RetrievalRecall!
        let recallTime = seconds {
            recall = stylelm.retrievalRecall(products: catalog.products, sample: recallSample, alsoAt: extra, grid: pairs,
                                             cascade: cascadeProxy, cascadeR: cascadeR) { done, total in
                if done % 5 == 0 || done == total { FileHandle.standardError.write(Data("recall: \(done)/\(total) anchors\n".utf8)) }
            }
        }
        print("")
        print("retrieval recall@\(recall.k) vs an exhaustive rerank, \(recall.lists) lists of \(recall.anchors) anchors")
        line("  co-occurrence reranker, M = \(recall.m)", "\(fmt(cooc.recall * 100, 2)) % (by construction)")
        line("  StyleLM reranker, M = \(recall.m) ∪ prior \(recall.priorM) (as run)", "\(fmt(recall.recall * 100, 2)) % (target ≥ 95 %)")
        for (m, r) in recall.recallAt.sorted(by: { $0.key < $1.key }) {
            line("  StyleLM reranker, M = \(m) ∪ prior \(recall.priorM)", "\(fmt(r * 100, 2)) %")
        }
        for (d, r) in recall.recallGrid.sorted(by: { $0.key < $1.key }) {
            line("  StyleLM reranker, M = \(d.m) ∪ prior \(d.prior)", "\(fmt(r * 100, 2)) %")
        }
        for (r, v) in recall.recallCascade.sorted(by: { $0.key < $1.key }) {
            line("  cascade, prior+first top R = \(r)", "\(fmt(v * 100, 2)) % (as run: \(fmt(Double(recall.retrieved) / Double(max(1, recall.lists)), 0)) candidates per list)")
        }
        line("  exhaustive rerank", "\(recall.exhaustiveScored) candidates in \(fmt(recallTime, 1)) s (\(fmt(Double(recall.exhaustiveScored) / recallTime, 0)) /s)")
        for k in cascadePrefix.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) where !cascadeR.isEmpty {
            let proxy = StyleLMRetrievalProxy(scoring: scoring, mode: .priorPrefix, products: catalog.products, prefixTokens: k)
            // Its per-product tables (prior, empty-outfit prefix) once per run, outside the timing, as the run's priors are.
            let warm = seconds {
                for slot in Slot.allCases { if let q = catalog.products.first(where: { $0.slot == slot }) { _ = proxy.scores(context: [q], slot: slot, candidates: [q]) } }
            }
            line("  cascade, \(proxy.name), per-product tables", "\(fmt(warm, 1)) s wall (once per run)")
            var r: RetrievalRecall!
            let t = seconds { r = stylelm.retrievalRecall(products: catalog.products, sample: recallSample, alsoAt: extra, cascade: proxy, cascadeR: cascadeR, cascadeTiming: true) }
            let byR = r.recallCascade.sorted(by: { $0.key < $1.key }).map { "R \($0.key): \(fmt($0.value * 100, 1)) %" }.joined(separator: ", ")
            line("  cascade, \(proxy.name)", byR + " (\(fmt(t, 1)) s with the exhaustive rerank)")
            // Thread-seconds on the same lists: the proxy over the as-run candidates vs the reranker over them.
            let perList = Double(r.retrieved) / Double(max(1, r.lists))
            let ratio = r.cascadeProxySeconds / max(1e-9, r.asRunRerankSeconds)
            let costs = cascadeR.map { R in "R \(R): \(fmt(ratio + min(1, Double(R) / perList), 2))×" }.joined(separator: ", ")
            line("    cost vs the as-run rerank", "proxy \(fmt(r.cascadeProxySeconds, 1)) s vs rerank \(fmt(r.asRunRerankSeconds, 1)) s of \(fmt(perList, 0)) candidates per list (\(fmt(ratio, 2))×); proxy + top R: " + costs)
        }
        // Other retrieval spaces on the same sample: a share of M from a StyleLM proxy, the rest co-occurrence.
        for (mode, share) in proxies ? [(StyleLMRetrievalProxy.Mode.first, 1.0), (.prior, 0.5), (.priorFirst, 0.5), (.priorFirst, 1.0)] : [] {
            do {
                let proxy = StyleLMRetrievalProxy(scoring: scoring, mode: mode, products: catalog.products)
                let r = stylelm.retrievalRecall(products: catalog.products, sample: recallSample, alsoAt: extra, proxy: proxy, proxyShare: share)
                let others = r.recallAt.sorted(by: { $0.key < $1.key }).map { "M = \($0.key): \(fmt($0.value * 100, 1)) %" }.joined(separator: ", ")
                line("  \(Int(share * 100)) % \(proxy.name)", "M = \(r.m): \(fmt(r.recall * 100, 2)) %; " + others)
            }
        }

        // Precompute time with StyleLM: a sample of anchors, scaled by the full
        // co-occurrence run's reranked candidates (the lists are the same).
        var ids = catalog.products.map(\.id)
        var rng = SplitMix64(seed: 7)
        rng.shuffle(&ids)
        let sample = Array(ids.prefix(timeSample))
        // The priors of every product: once per run, inside `sampleStats` too.
        let priorWall = stylelm.priorM > 0 ? seconds { _ = Precomputer.priors(reranker, products: catalog.products) } : 0
        var stats: PrecomputeStats!
        let wall = seconds { stats = stylelm.sampleStats(products: catalog.products, anchors: sample) } - priorWall
        // Candidates per list grow with the prior source: scale the co-occurrence run's count by the sample's ratio.
        let coocSample = Precomputer(model: retrieval, settings: settings, feedback: catalog.feedback)
            .sampleStats(products: catalog.products, anchors: sample)
        let growth = Double(stats.reranked) / Double(max(1, coocSample.reranked))
        var full: Precomputer.Result!
        let coocWall = seconds {
            full = Precomputer(model: retrieval, settings: settings, feedback: catalog.feedback)
                .run(products: catalog.products, outfits: catalog.outfits, previous: nil)
        }
        let coocTotal = full.stats.reranked
        let total = Int((Double(coocTotal) * growth).rounded())
        full = nil
        let rate = Double(stats.reranked) / wall
        let rerankWall = Double(total) / rate + priorWall
        print("")
        print("precompute with StyleLM reranking")
        line("  sample", "\(stats.anchors) anchors, \(stats.reranked) candidates reranked in \(fmt(wall, 1)) s wall: \(fmt(rate, 0)) candidates/s")
        line("  thread-s in the sample", "retrieval \(fmt(stats.seconds.retrieval, 2)), rerank \(fmt(stats.seconds.rerank, 1)), rules \(fmt(stats.seconds.rules, 2))")
        line("  prior source", "M = \(stylelm.priorM): \(fmt(growth, 2))× the candidates per list of co-occurrence alone (sample); priors of all products in \(fmt(priorWall, 1)) s wall")
        line("  full co-occurrence run, same catalog", "\(fmt(coocWall, 1)) s wall, \(coocTotal) candidates reranked (complementary + FITB)")
        print("  estimated full precompute with StyleLM = co-occurrence run + \(total) candidates at \(fmt(rate, 0))/s + priors:")
        for n in [products, 100_000, 1_000_000] {
            let f = Double(n) / Double(products)
            // The co-occurrence run's own cost stands in for retrieval and rules (O(N²) retrieval dominates it at scale).
            let estimate = coocWall * f * f + rerankWall * f
            line("    N = \(n)", "\(dur(estimate)) (rerank \(dur(rerankWall * f)), the rest \(dur(coocWall * f * f)))")
        }
        line("peak RSS", "\(fmt(peakRSSMiB(), 0)) MiB")
    }

    /// `--full`: the precompute as the nightly run makes it with this model, on the
    /// generated catalog, full then incremental, with every stage timed.
    func runFull() throws {
        let outfitCount = outfits ?? products * 2 / 5
        print("generating \(products) products, \(outfitCount) outfits, and the next day with \(fmt(changed * 100, 1)) % changed …")
        let (c1, c2) = try benchCatalogDays(products: products, outfits: outfits, changed: changed)
        let retrieval = CooccurrenceModel.train(products: c1.products, outfits: c1.outfits)
        var scoring: StyleLMScoring!
        let load = try seconds { scoring = try StyleLMScoring(directory: URL(fileURLWithPath: model)) }
        line("StyleLM", "\(scoring.version), \(scoring.inference.config.parameterCount) parameters, loaded in \(fmt(load, 2)) s")
        let o = scoring.options
        line("  scoring", "\(o.method.rawValue), calibration \(o.calibration.rawValue)\(o.lengthNormalised ? ", per token" : "")"
             + (o.cacheWeight > 0 ? ", the look's cache at λ \(o.cacheWeight)" : ""))
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        line("OPENBLAS_NUM_THREADS, cores", "\(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset"), \(Int(cores))")
        var settings = RecommendSettings()
        settings.retrievalPriorM = priorM
        var reranker: any Reranker = StyleLMReranker(scoring: scoring)
        if combinePPMISVD {
            guard o.method == .bagOfWords else { throw ValidationError("--combine-ppmi-svd needs a bag-scoring model (as the nightly job); \(model) scores by \(o.method.rawValue)") }
            var hybrid: HybridReranker!
            let t = try seconds {
                let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: c1.products, outfits: c1.outfits), products: c1.products)
                hybrid = try HybridReranker.calibrated(ppmi: ppmi, stylelm: StyleLMReranker(scoring: scoring), catalog: c1)
            }
            line("combined with PPMI-SVD", "\(hybrid.ppmi.model.version), rank \(hybrid.ppmi.model.dimension): ppmi/\(fmt(hybrid.ppmiScale, 4)) + \(hybrid.weight) × stylelm/\(fmt(hybrid.stylelmScale, 4)) (\(hybrid.calibrationQuestions) calibration questions; trained and calibrated in \(fmt(t, 1)) s)")
            if structure {
                // The structure model and its spreads, trained and measured on day 1's outfits (the nightly's order).
                var term: StructureTerm!
                let ts = try seconds { term = try HybridReranker.calibratedStructure(catalog: c1) }
                hybrid = hybrid.adding(structure: term)
                line("and the outfit-structure model", "structure@1:\(term.model.contentHash), \(term.model.categoryOutfits.count) categories, \(term.model.outfitCount) outfits: + \(term.formula { fmt($0, 4) }) (\(term.calibrationQuestions) questions; trained and calibrated in \(fmt(ts, 2)) s)")
            }
            reranker = hybrid
        } else if structure {
            throw ValidationError("--structure needs --combine-ppmi-svd (the structure model joins the StyleLM + PPMI-SVD hybrid)")
        }
        let pre = Precomputer(model: retrieval, reranker: reranker, settings: settings, feedback: c1.feedback)
        line("retrieval space", "\(pre.retrievalSpace.name) (\(pre.retrievalSpace.version(retrieval))), prior source M = \(pre.priorM)")
        print("load average before: \(loadAverage())")

        var first: Precomputer.Result?
        let fullWall = seconds {
            first = pre.run(products: c1.products, outfits: c1.outfits, previous: nil) { stage, done, total in
                if done == total || done % 2048 < 32 { FileHandle.standardError.write(Data("\(stage): \(done)/\(total)\n".utf8)) }
            }
        }
        let fs = first!.stats
        let lists = first!.state.anchors.values.reduce(0) { $0 + $1.retrieved.count } + first!.state.outfits.values.reduce(0) { $0 + $1.retrieved.count }
        print("")
        print("full precompute, \(c1.products.count) products, \(c1.outfits.count) outfits (load average after: \(loadAverage()))")
        stageReport(fs, wall: fullWall, lists: lists, cores: cores)
        line("peak RSS so far", "\(fmt(peakRSSMiB(), 0)) MiB (target ≤ 2048)")
        let previous = first!.state
        first = nil

        // Incremental: the same model on the next day's catalog.
        let next = Precomputer(model: retrieval, reranker: reranker, settings: settings,
                               feedback: c1.feedback + c2.feedback)
        var inc: Precomputer.Result?
        var incWalls: [Double] = [], incStats: [PrecomputeStats] = []
        for r in 0..<max(1, incrementalRuns) {
            inc = nil
            incWalls.append(seconds { inc = next.run(products: c2.products, outfits: c2.outfits, previous: previous) })
            incStats.append(inc!.stats)
            if incrementalRuns > 1 {
                FileHandle.standardError.write(Data("incremental run \(r + 1): \(fmt(incWalls[r], 1)) s, CPU-s rerank \(fmt(inc!.stats.seconds.rerank, 1)), prefill \(fmt(inc!.stats.seconds.prefill, 1)) (load \(loadAverage()))\n".utf8))
            }
        }
        // The median run by wall time: its wall and its stages.
        let median = incWalls.indices.sorted { incWalls[$0] < incWalls[$1] }[incWalls.count / 2]
        let incWall = incWalls[median]
        let s = incStats[median]
        print("")
        print("incremental precompute after \(fmt(changed * 100, 1)) % of products changed (load average after: \(loadAverage()))")
        if incWalls.count > 1 {
            line("incremental runs, wall", incWalls.map { fmt($0, 1) }.joined(separator: ", ") + " s: median \(fmt(incWall, 1)) s (run \(median + 1); its stages below)")
        }
        line("catalog change", "\(c2.products.count) products, \(c2.outfits.count) outfits; full run: \(s.full ? "yes, " + (s.fullReason ?? "") : "no")")
        line("anchors recomputed", "\(s.anchorsRecomputed) of \(s.anchors): " + s.anchorReasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        line("anchors with a list patched", "\(s.anchorsPatched)")
        line("outfits recomputed / patched", "\(s.outfitsRecomputed) / \(s.outfitsPatched) of \(s.outfits)")
        line("lists a change reached", "\(s.patch.lists): \(s.patch.rescored) top M changed, \(s.patch.rewalked) pools walked again")
        stageReport(s, wall: incWall, lists: nil, cores: cores)
        if !skipEqualityCheck {
            let incOutput = inc!.output
            inc = nil
            let same = next.run(products: c2.products, outfits: c2.outfits, previous: nil).output == incOutput
            line("incremental == full recompute", same ? "yes" : "NO")
        }
        inc = nil

        // Recall against an exhaustive rerank of every allowed candidate of the pools.
        var recall: RetrievalRecall!
        let alsoAt = combinePPMISVD ? depths.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } : []
        let recallWall = seconds { recall = pre.retrievalRecall(products: c1.products, sample: recallSample, alsoAt: alsoAt) }
        print("")
        if combinePPMISVD {
            print("recall against an exhaustive rerank by " + (structure ? "ppmi + stylelm + structure" : "ppmi + stylelm"))
        }
        line("retrieval recall@\(recall.k), M = \(recall.m), as run", "\(fmt(recall.recall * 100, 2)) % over \(recall.lists) lists of \(recall.anchors) anchors (exhaustive rerank of \(recall.exhaustiveScored) candidates in \(fmt(recallWall, 1)) s)")
        for (m, r) in recall.recallAt.sorted(by: { $0.key < $1.key }) {
            line("retrieval recall@\(recall.k), M = \(m)", "\(fmt(r * 100, 2)) %")
        }

        // What the greedy description (the why of a sequence model) would cost per list.
        var ids = c1.products.map(\.id)
        var rng = SplitMix64(seed: 7)
        rng.shuffle(&ids)
        let byID = Dictionary(uniqueKeysWithValues: c1.products.map { ($0.id, $0) })
        let compatibility = SlotCompatibility.default
        let looks = ids.compactMap { id -> (Product, Slot)? in byID[id].flatMap { p in compatibility.targets(for: p.slot).first.map { (p, $0) } } }
            .prefix(describeSample)
        var describeCPU = 0.0
        for (p, slot) in looks {
            let t0 = threadCPUSeconds()
            _ = scoring.describe(context: [scoring.prompts.item(p)], slot: slot)
            describeCPU += threadCPUSeconds() - t0
        }
        let perList = describeCPU / Double(max(1, looks.count))
        line("greedy description (sequence why), per list", "\(fmt(perList * 1000, 2)) ms CPU: \(fmt(perList * Double(lists) / cores / 60, 1)) min wall for the \(lists) lists of the full run (the bag why: \(fmt(fs.seconds.why, 1)) CPU-s)")
        line("peak RSS", "\(fmt(peakRSSMiB(), 0)) MiB (target ≤ 2048)")

        // Growth with the catalog size N, from CPU-seconds per stage over the cores (what an
        // idle machine takes; the wall time above includes other processes' load): lists
        // (one forward pass each), rules and reasons O(N); the walk scores every allowed
        // candidate of each pool, O(N²). Incremental at a fixed change share: the forward
        // passes of the lists a change may reach O(N), the bounds of the changed products
        // against every kept look (detect) O(N²), the rest O(N).
        let prefill = fs.seconds.prefill / cores, walk = fs.seconds.retrieval / cores
        let rules = (fs.seconds.rules + fs.seconds.rerank + fs.seconds.detect) / cores, why = fs.seconds.why / cores
        let incPrefill = s.seconds.prefill / cores, incDetect = s.seconds.detect / cores
        let incRest = (s.seconds.retrieval + s.seconds.rerank + s.seconds.rules + s.seconds.why) / cores
        print("")
        print("extrapolation from the measured CPU-s per stage over \(Int(cores)) idle cores (walk and incremental detect O(N²), the rest O(N))")
        line("  measured here (loaded machine)", "full \(dur(fullWall)) wall vs \(dur(prefill + walk + rules + why)) of CPU over \(Int(cores)) cores; incremental \(dur(incWall)) vs \(dur(incPrefill + incDetect + incRest))")
        line("N", "prefill   walk      rules     why       | full      | incremental (prefill, detect)")
        for n in [products, 100_000, 1_000_000] {
            let f = Double(n) / Double(products)
            let p = prefill * f, w = walk * f * f, u = rules * f, y = why * f
            let ip = incPrefill * f, id = incDetect * f * f, ir = incRest * f
            line("  \(n)", "\(pad(dur(p)))\(pad(dur(w)))\(pad(dur(u)))\(pad(dur(y)))| \(pad(dur(p + w + u + y)))| \(dur(ip + id + ir)) (\(dur(ip)), \(dur(id)))")
        }
        line("forward passes, full / incremental", "\(fs.prefills) / \(s.prefills)")

        // Last: the state's size as the nightly run stores it (one JSON row per anchor and
        // outfit), which needs memory of its own (not in the peak RSS above).
        var rows = 0, bytes = 0, lookBytes = 0
        let encoder = JSONEncoder()
        for a in previous.anchors.values {
            bytes += try encoder.encode(a).count; rows += 1
            for r in a.retrieved.values { if let l = r.look { lookBytes += try encoder.encode(l).count } }
        }
        for o in previous.outfits.values {
            bytes += try encoder.encode(o).count; rows += 1
            for r in o.retrieved.values { if let l = r.look { lookBytes += try encoder.encode(l).count } }
        }
        line("state rows (JSON)", "\(rows) rows, \(fmt(Double(bytes) / 1_048_576, 1)) MiB, of which the stored looks \(fmt(Double(lookBytes) / 1_048_576, 1)) MiB")
    }

    func stageReport(_ s: PrecomputeStats, wall: Double, lists: Int?, cores: Double) {
        line("wall time", "\(fmt(wall, 1)) s (\(dur(wall)))")
        let sec = s.seconds
        if let w = s.wall {
            line("wall by phase", "setup \(fmt(w.setup, 1)) (products, retrieval spaces, changes), lists \(fmt(w.lists, 1)), output and state \(fmt(w.total - w.setup - w.lists, 1))")
        }
        line("CPU-s by stage", "prefill \(fmt(sec.prefill, 1)), walk \(fmt(sec.retrieval, 1)), rerank \(fmt(sec.rerank, 1)), rules \(fmt(sec.rules, 1)), why \(fmt(sec.why, 1)), detect \(fmt(sec.detect, 1))")
        if let lists {
            line("lists (one prefill each)", "\(lists): \(fmt(sec.prefill / Double(max(1, lists)) * 1000, 2)) ms CPU per prefill")
        }
        line("candidates scored", "\(s.retrievalScored) by retrieval (exact bag scores), \(s.reranked) handed to the rerank stage")
        line("candidates scored per second", "\(fmt(Double(s.retrievalScored) / wall, 0)) /s wall, \(fmt(Double(s.retrievalScored) / max(1e-9, sec.retrieval + sec.prefill), 0)) /s per CPU-s of prefill + walk")
    }

    func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    func pad(_ s: String) -> String { s.padding(toLength: 10, withPad: " ", startingAt: 0) }

    func dur(_ s: Double) -> String {
        s < 120 ? "\(fmt(s, 1)) s" : s < 7200 ? "\(fmt(s / 60, 1)) min" : s < 172_800 ? "\(fmt(s / 3600, 1)) h" : "\(fmt(s / 86400, 1)) days"
    }
}
