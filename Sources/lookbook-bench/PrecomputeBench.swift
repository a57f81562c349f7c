import ArgumentParser
import CatalogGenerator
import Foundation
import LookbookCore
import LookupStore
import Recommender

/// `lookbook-bench precompute`: the recommend stage at catalog scale. A generated
/// catalog (no photos), a full precompute, then an incremental one after a share of
/// the products changed (same model), with the time per stage, candidates scored per
/// second, peak RSS, the retrieval recall, and an extrapolation to larger catalogs.
/// `--reranker` picks the job's `[recommend] reranker`: with `ppmi-svd` (the default, as
/// in the job file) retrieval ranks in its word-vector space, and the recall of
/// co-occurrence retrieval in front of it is measured too. `--structure` adds the
/// outfit-structure model to PPMI-SVD (`StructuredReranker`, the job's `[recommend]
/// structure`): retrieval stays in the word-vector space, the sum reranks the top M, and
/// the recall "as run" is then against an exhaustive rerank by the sum.
struct PrecomputeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precompute",
        abstract: "Full and incremental precompute on a generated catalog (targets: full ≤ 10 min, incremental ≤ 1 min, RSS ≤ 2 GB at 10,000 products).")

    @Option(help: "Products in the generated catalog.") var products = 10_000
    @Option(help: "Curated outfits (default: 0.4 per product, as the sample catalog).") var outfits: Int?
    @Option(help: "Share of products changed for the incremental run.") var changed = 0.01
    @Option(help: "Runs; medians are printed.") var runs = 3
    @Option(help: "Anchors sampled for the retrieval recall.") var recallSample = 200
    @Option(help: "The reranker: ppmi-svd | cooccurrence (the job's [recommend] reranker).") var reranker = RerankerKind.ppmiSVD.rawValue
    @Option(help: "Only time PPMI-SVD training on a synthetic catalog of this many products whose titles draw from a Zipf vocabulary of 50,000 words (0: the precompute bench).")
    var ppmiScale = 0
    @Flag(help: "With --reranker ppmi-svd: add the outfit-structure model trained on the catalog's outfits, as the nightly run's [recommend] structure does.")
    var structure = false
    @Flag(help: "Give every product a popularity count (a `likes` attribute drawn from its id's hash, up to ~5,000), so the structure term has its popularity part.")
    var likes = false

    func run() throws {
        guard let kind = RerankerKind(rawValue: reranker) else {
            throw ValidationError("--reranker must be one of \(RerankerKind.allCases.map(\.rawValue).joined(separator: ", ")), got \(reranker)")
        }
        if ppmiScale > 0 { return try trainAtScale(products: ppmiScale) }
        if structure && kind != .ppmiSVD { throw ValidationError("--structure needs --reranker ppmi-svd") }
        let outfitCount = outfits ?? products * 2 / 5
        print("generating \(products) products, \(outfitCount) outfits …")
        var (c1, c2) = try benchCatalogDays(products: products, outfits: outfits, changed: changed)
        if likes {
            // The same count for a product on both days: a function of its id.
            func counted(_ products: [Product]) -> [Product] {
                products.map { p in
                    var p = p
                    p.attributes["likes"] = String(Int(exp(Double(StableHash.fnv1a(p.id) % 8_500) / 1_000)))
                    return p
                }
            }
            c1.products = counted(c1.products)
            c2.products = counted(c2.products)
        }

        var model: CooccurrenceModel!
        var train = (0..<runs).map { _ in seconds { model = CooccurrenceModel.train(products: c1.products, outfits: c1.outfits) } }
        line("train (co-occurrence), median", "\(fmt(median(train), 2)) s, \(model.featureCount) features, \(model.trainedOutfits) outfits")
        var words: PPMISVDModel?
        if kind == .ppmiSVD {
            let ppmi = (0..<runs).map { _ in seconds { words = PPMISVDModel.train(products: c1.products, outfits: c1.outfits) } }
            let w = words!
            line("train (ppmi-svd), median", "\(fmt(median(ppmi), 2)) s, \(w.wordCount) words, \(w.nonZeros) PPMI nonzeros, rank \(w.dimension), "
                 + "\(w.trainedOutfits) outfits")
            train = zip(train, ppmi).map { $0 + $1 }
        }
        // The structure model and the spreads, trained and measured on day 1's outfits.
        var structured: StructuredReranker?
        if structure, let w = words {
            let calibrate = try (0..<runs).map { _ in
                try seconds { structured = try StructuredReranker.calibrated(ppmi: PPMISVDReranker(model: w, products: c1.products), catalog: c1) }
            }
            let t = structured!.structure
            line("structure model + spreads, median", "\(fmt(median(calibrate), 2)) s (incl. product vectors), \(t.model.categoryOutfits.count) categories, "
                 + "\(t.model.outfitCount) outfits; ppmi/\(fmt(structured!.ppmiScale, 4)) + "
                 + "\(t.formula { fmt($0, 4) }) from \(t.calibrationQuestions) questions")
        }
        /// The reranker of one day's catalog (vectors of its products computed once), as the nightly run builds it.
        func makeReranker(_ products: [Product]) -> (any Reranker)? {
            guard let w = words else { return nil }
            let ppmi = PPMISVDReranker(model: w, products: products)
            if let s = structured { return StructuredReranker(ppmi: ppmi, structure: s.structure, ppmiScale: s.ppmiScale) }
            return ppmi
        }
        var day1Reranker: (any Reranker)?
        if kind == .ppmiSVD {
            let build = (0..<runs).map { _ in seconds { day1Reranker = makeReranker(c1.products) } }
            line("ppmi-svd product vectors, median", "\(fmt(median(build), 2)) s for \(c1.products.count) products")
        }

        let settings = RecommendSettings()
        let full = Precomputer(model: model, reranker: day1Reranker, settings: settings, feedback: c1.feedback)
        line("reranker, retrieval space", "\(kind.rawValue)\(structure ? "+structure" : ""), \(full.retrievalSpace.name)")
        // One result alive at a time (each holds every list: hundreds of MiB): the
        // previous run's is released before the next starts, the last one is kept.
        var fullWalls: [Double] = [], fullStats: [PrecomputeStats] = []
        var first: Precomputer.Result?
        for r in 0..<runs {
            first = nil
            let wall = seconds { first = full.run(products: c1.products, outfits: c1.outfits, previous: nil) }
            fullWalls.append(wall); fullStats.append(first!.stats)
            print("full run \(r + 1): \(fmt(wall, 2)) s, peak RSS so far \(fmt(peakRSSMiB(), 0)) MiB")
        }
        let fullWall = median(fullWalls)

        let dir = try temporaryDirectory("precompute")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ catalog: Catalog, _ output: Precomputer.Output) throws -> (Double, Int) {
            let content = StoreContent(snapshot: catalog.manifest.snapshot, retailer: catalog.manifest.retailer,
                                       modelVersion: day1Reranker?.version ?? model.version,
                                       captionerVersion: "none", runID: "bench", buildTime: "2026-12-01T00:00:00Z",
                                       products: catalog.products.map { StoreProduct($0) }, outfits: catalog.outfits,
                                       complementary: output.complementary, fitb: output.fitb)
            var rows = 0
            let s = try seconds { rows = content.counts.total; _ = try StorePublisher().publish(content, to: dir + "/out", keep: 1) }
            return (s, rows)
        }
        var fullWrite: [Double] = []
        var rows = 0
        for _ in 0..<runs { let (s, n) = try write(c1, first!.output); fullWrite.append(s); rows = n }
        // The incremental runs need the state alone.
        var previous: PrecomputeState? = first!.state
        first = nil

        print("")
        print("full precompute, \(products) products (median of \(runs))")
        report(fullStats, wall: fullWall, write: median(fullWrite), rows: rows)

        // Incremental: the same model on the next day's catalog.
        let next = Precomputer(model: model, reranker: makeReranker(c2.products), settings: settings, feedback: c1.feedback + c2.feedback)
        var incWalls: [Double] = [], incStats: [PrecomputeStats] = []
        var incOutput: Precomputer.Output?
        for r in 0..<runs {
            incOutput = nil
            var result: Precomputer.Result?
            let wall = seconds { result = next.run(products: c2.products, outfits: c2.outfits, previous: previous) }
            incWalls.append(wall); incStats.append(result!.stats)
            incOutput = result!.output
            result = nil
            print("incremental run \(r + 1): \(fmt(wall, 2)) s, peak RSS so far \(fmt(peakRSSMiB(), 0)) MiB")
        }
        var incWrite: [Double] = []
        for _ in 0..<runs { incWrite.append(try write(c2, incOutput!).0) }
        let inc = incStats[0]
        // What the nightly run would do: it retrains the retrieval model on day 2's outfits.
        let retrained = CooccurrenceModel.train(products: c2.products, outfits: c2.outfits)
        var sameWords = words.map { PPMISVDModel.train(products: c2.products, outfits: c2.outfits).version == $0.version } ?? true
        if let s = structured, let w = words {
            // The nightly run calibrates afresh on day 2: the same version keeps it incremental.
            let again = try? StructuredReranker.calibrated(ppmi: PPMISVDReranker(model: w, products: c2.products), catalog: c2)
            sameWords = sameWords && again?.version == s.version
        }
        let before = Set(c1.outfits.map(\.id)), after = Set(c2.outfits.map(\.id))
        let touched = c1.products.count - c2.products.count
        print("")
        print("incremental precompute after \(fmt(changed * 100, 1)) % of products changed (median of \(runs))")
        line("catalog change", "\(c2.products.count) products (\(touched >= 0 ? "−" : "+")\(abs(touched)) net), \(c2.outfits.count) outfits")
        line("model retrained on day 2's outfits", retrained.version == model.version && sameWords
            ? "same version: the nightly run is incremental as here"
            : "new version (outfits +\(after.subtracting(before).count) −\(before.subtracting(after).count)): the nightly run recomputes all; figures below keep day 1's model")
        line("anchors recomputed", "\(inc.anchorsRecomputed) of \(inc.anchors): " + inc.anchorReasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        line("anchors with a list patched", "\(inc.anchorsPatched) (the rest reused as they were)")
        line("outfits recomputed", "\(inc.outfitsRecomputed) of \(inc.outfits): " + inc.outfitReasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        line("outfits with a blank patched", "\(inc.outfitsPatched)")
        line("lists a change reached", "\(inc.patch.lists): \(inc.patch.rescored) top M changed (newcomers reranked, rules again), \(inc.patch.rewalked) pools walked again, the rest reserve only")
        line("detect (changes vs kept lists), CPU-s", "\(fmt(median(incStats.map(\.seconds.detect)), 2)) s")
        report(incStats, wall: median(incWalls), write: median(incWrite), rows: rows)
        previous = nil
        let same = next.run(products: c2.products, outfits: c2.outfits, previous: nil).output == incOutput!
        line("incremental == full recompute", same ? "yes" : "NO")
        incOutput = nil

        let recall = full.retrievalRecall(products: c1.products, sample: recallSample)
        print("")
        line("retrieval recall@\(recall.k), M = \(recall.m), as run", "\(fmt(recall.recall * 100, 2)) % over \(recall.lists) lists of \(recall.anchors) anchors"
             + (structured == nil ? " (retrieval in the reranker's own space: 100 % by construction)" : " (against an exhaustive rerank by ppmi + structure; target ≥ 95 %)"))
        if kind == .ppmiSVD && structured == nil {
            // The alternative: co-occurrence retrieval in front of the PPMI-SVD reranker, same sample.
            var cooc = full
            cooc.retrieval = .cooccurrence
            let r = cooc.retrievalRecall(products: c1.products, sample: recallSample, alsoAt: [200, 400, 1000])
            line("  if co-occurrence retrieved, M = \(r.m)", "\(fmt(r.recall * 100, 2)) % of the exhaustive ppmi-svd top \(r.k) (target ≥ 95 %)")
            for (m, v) in r.recallAt.sorted(by: { $0.key < $1.key }) { line("  if co-occurrence retrieved, M = \(m)", "\(fmt(v * 100, 2)) %") }
        }
        line("peak RSS", "\(fmt(peakRSSMiB(), 0)) MiB (target ≤ 2048)")

        extrapolate(fullStats, write: median(fullWrite), train: median(train), inc: incStats, incWall: median(incWalls))
    }

    /// PPMI-SVD training alone at a large vocabulary: `products` products with six title
    /// words each drawn from a Zipf(1.1) law over 50,000 words, 0.4 outfits of four
    /// random products per product. Prints the median of `runs` trainings.
    func trainAtScale(products n: Int) throws {
        let vocabulary = 50_000
        // Letters only (`Words.tokens` drops numbers): the rank in base 26.
        let names = (0..<vocabulary).map { r -> String in
            var r = r, s = "w"
            repeat { s.append(Character(UnicodeScalar(UInt8(97 + r % 26)))); r /= 26 } while r > 0
            return s
        }
        var cdf = [Double](repeating: 0, count: vocabulary)
        var total = 0.0
        for r in 0..<vocabulary { total += 1 / pow(Double(r + 1), 1.1); cdf[r] = total }
        var rng = SplitMix64(seed: 17)
        func word() -> String {
            let u = rng.unit() * total
            var lo = 0, hi = vocabulary - 1
            while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < u { lo = mid + 1 } else { hi = mid } }
            return names[lo]
        }
        let catalog = (0..<n).map { i in Product(id: "p\(i)", title: (0..<6).map { _ in word() }.joined(separator: " "), category: "c", slot: .top) }
        let outfits = (0..<(n * 2 / 5)).map { o in Outfit(id: "o\(o)", items: (0..<4).map { _ in catalog[rng.below(n)].id }) }
        print("ppmi-svd training: \(n) products, \(outfits.count) outfits of 4, titles of 6 words from a Zipf vocabulary of \(vocabulary)")
        var model: PPMISVDModel!
        var times: [Double] = []
        for r in 0..<runs {
            times.append(seconds { model = PPMISVDModel.train(products: catalog, outfits: outfits) })
            print("run \(r + 1): \(fmt(times[r], 2)) s, peak RSS so far \(fmt(peakRSSMiB(), 0)) MiB")
        }
        line("train (ppmi-svd), median of \(runs)", "\(fmt(median(times), 2)) s: \(model.wordCount) words in ≥ 2 items, "
             + "\(model.nonZeros) PPMI nonzeros, rank \(model.dimension)")
    }

    func report(_ stats: [PrecomputeStats], wall: Double, write: Double, rows: Int) {
        let s = stats[0]
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        line("wall time (precompute only)", "\(fmt(wall, 2)) s on \(Int(cores)) cores")
        line("retrieval, CPU-s", "\(fmt(median(stats.map(\.seconds.retrieval)), 2)) s, \(s.retrievalScored) candidates scored")
        line("rerank, CPU-s", "\(fmt(median(stats.map(\.seconds.rerank)), 2)) s, \(s.reranked) candidates scored")
        line("rules (dedupe, MMR, why), CPU-s", "\(fmt(median(stats.map(\.seconds.rules)), 2)) s")
        line("store write (publish), wall", "\(fmt(write, 2)) s, \(rows) rows")
        line("candidates scored per second", "\(fmt(Double(s.retrievalScored + s.reranked) / wall, 0)) /s (retrieval + rerank, wall)")
        line("anchors per second", "\(fmt(Double(s.anchorsRecomputed) / wall, 0)) /s")
    }

    /// Costs by how they grow with the catalog size N (slot pools grow with N):
    /// retrieval walks every pool for every anchor and outfit position, O(N²);
    /// rerank and rules see M candidates per list, O(N); the store write is O(N);
    /// training O(outfits) = O(N) at a fixed outfits-per-product share. Incremental:
    /// detection scores each changed product against each anchor, O(changed · N) =
    /// O(N²) at a fixed change share; recompute is O(affected anchors · N).
    func extrapolate(_ full: [PrecomputeStats], write: Double, train: Double, inc: [PrecomputeStats], incWall: Double) {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let retrieval = median(full.map(\.seconds.retrieval)) / cores
        let rerank = median(full.map(\.seconds.rerank)) / cores
        let rules = median(full.map(\.seconds.rules)) / cores
        let detect = median(inc.map(\.seconds.detect))
        let incWork = incWall - detect
        print("")
        print("extrapolation from these per-stage costs (\(Int(cores)) cores; retrieval and detection O(N²), the rest O(N))")
        line("N", "retrieval   rerank   rules   write   train | full total | incremental")
        for n in [products, 100_000, 1_000_000] {
            let f = Double(n) / Double(products)
            let r = retrieval * f * f, k = rerank * f, u = rules * f, w = write * f, t = train * f
            // Incremental: detection O(N²); the recomputed share stays ~constant, each costing O(N).
            let i = detect * f * f + incWork * f * f
            line("  \(n)", "\(dur(r))  \(dur(k))  \(dur(u))  \(dur(w))  \(dur(t)) | \(dur(r + k + u + w + t)) | \(dur(i))")
        }
    }

    func dur(_ s: Double) -> String {
        let text = s < 120 ? "\(fmt(s, 1)) s" : s < 7200 ? "\(fmt(s / 60, 1)) min" : "\(fmt(s / 3600, 1)) h"
        return text.padding(toLength: 9, withPad: " ", startingAt: 0)
    }
}
