import Dispatch
import Foundation
import LookbookCore
import StyleModel

/// Precomputes what the store ships: complementary lists per product and target slot,
/// and candidates for every blank of every curated outfit, in two stages.
///
/// 1. **Retrieval** narrows each (anchor, target slot) pool and each (outfit, position)
///    pool to `settings.retrievalM` candidates by a cheap score over the whole pool
///    (`RetrievalSpace`: the co-occurrence model's, or the PPMI-SVD reranker's own),
///    walking only candidates the pair rules allow (see `Rules`).
/// 2. **Rerank**: the `Reranker` scores those candidates, one batched call per list.
/// 3. **Rules** pick the shown list: approved items lead, near-duplicates go, MMR keeps
///    it diverse; each entry gets the reranker's "why" or the slots that matched.
///
/// Merchandiser verdicts are final: a rejected item never appears in that anchor's
/// lists, an approved one always reaches the reranker and leads its slot's list. Ties
/// break by product id, so the output is deterministic and does not depend on threads.
///
/// Incremental runs (`run(products:outfits:previous:)`) reuse the previous lists of
/// anchors whose inputs did not change; see `PrecomputeState` for the exact rule.
public struct Precomputer: Sendable {
    /// The co-occurrence model: the default retrieval space and reranker, and the
    /// feature sets of the list rules (MMR similarity).
    public var model: CooccurrenceModel
    /// nil: `CooccurrenceReranker` over `model`.
    public var reranker: (any Reranker)?
    /// Where retrieval ranks; nil: `retrievalSpace`'s default.
    public var retrieval: RetrievalSpace?
    public var compatibility: SlotCompatibility
    public var settings: RecommendSettings
    public var captions: [String: String]
    /// SHA-256 of each product's primary image, by product id (near-duplicate rule).
    public var imageHashes: [String: String]
    /// The latest verdict per anchor and item.
    public internal(set) var verdicts: [String: [String: Feedback.Verdict]]

    /// `feedback` is applied oldest first, so a later verdict on the same pair wins.
    public init(model: CooccurrenceModel, reranker: (any Reranker)? = nil, retrieval: RetrievalSpace? = nil,
                compatibility: SlotCompatibility = .default, settings: RecommendSettings = RecommendSettings(),
                captions: [String: String] = [:], imageHashes: [String: String] = [:], feedback: [Feedback] = []) {
        self.model = model; self.reranker = reranker; self.retrieval = retrieval
        self.compatibility = compatibility; self.settings = settings
        self.captions = captions; self.imageHashes = imageHashes
        verdicts = Self.verdictMap(feedback)
    }

    /// The latest verdict per anchor and item, applying `feedback` oldest first.
    public static func verdictMap(_ feedback: [Feedback]) -> [String: [String: Feedback.Verdict]] {
        var v: [String: [String: Feedback.Verdict]] = [:]
        for f in feedback { v[f.anchor, default: [:]][f.item] = f.verdict }
        return v
    }

    /// The format of `PrecomputeState` (what it keeps per list): another one recomputes all.
    static let stateFormat = "precompute@2"

    /// The retrieval space this precompute uses: `retrieval` when set, else the word
    /// vectors of a `PPMISVDReranker` (or of the PPMI-SVD part of a `HybridReranker` or
    /// a `StructuredReranker`, whose sum then reranks the top M) or the bag-of-words score of a `StyleLMReranker`
    /// that scores by bag (retrieval then ranks by the reranker's own score, so it loses
    /// nothing of its top k), else co-occurrence.
    public var retrievalSpace: RetrievalSpace {
        if let retrieval { return retrieval }
        if let r = reranker as? PPMISVDReranker { return .wordVectors(r.model) }
        if let r = reranker as? HybridReranker { return .wordVectors(r.ppmi.model) }
        if let r = reranker as? StructuredReranker { return .wordVectors(r.ppmi.model) }
        if let r = reranker as? StyleLMReranker, r.scoring.options.method == .bagOfWords { return .styleLMBag(r.scoring) }
        return .cooccurrence
    }

    /// Everything that, when it changes, may change every list: the retrieval model's
    /// version, the reranker's, the state format, the settings (and the prior source's
    /// depth when it is on) and the slot table.
    public var fingerprint: String {
        let slots = Slot.allCases.map { "\($0.rawValue):" + compatibility.targets(for: $0).map(\.rawValue).joined(separator: ",") }
        let prior = priorM > 0 ? " prior=\(priorM)" : ""
        let space = retrievalSpace
        return "retrieval=\(space.version(model)) rerank=\(reranker?.version ?? model.version) state=\(Self.stateFormat) [\(settings)]\(prior) slots=\(slots.joined(separator: ";"))"
    }

    /// Candidates per list from the reranker's prior (`PriorReranker`): 0 when the
    /// reranker has none (the co-occurrence one), `retrieval_prior_m` is 0, or retrieval
    /// ranks by StyleLM's bag score (every candidate is scored exactly: a prior adds nothing).
    public var priorM: Int {
        if case .styleLMBag = retrievalSpace { return 0 }
        return reranker is any PriorReranker ? settings.retrievalPriorM : 0
    }

    public struct Output: Sendable, Equatable {
        public var complementary: [Recommendation]
        public var fitb: [BlankCandidates]
    }

    public struct Result: Sendable {
        public var output: Output
        /// What the next incremental run starts from.
        public var state: PrecomputeState
        public var stats: PrecomputeStats
    }

    /// Progress: (stage, done, total). Called from worker threads; keep it cheap.
    public typealias Progress = @Sendable (String, Int, Int) -> Void

    /// A full precompute.
    public func run(products: [Product], outfits: [Outfit], progress: Progress? = nil) -> Output {
        run(products: products, outfits: outfits, previous: nil, progress: progress).output
    }

    /// Recomputes the anchors and outfits whose inputs changed since `previous` (all of
    /// them when `previous` is nil or its fingerprint differs), patches the lists that a
    /// changed product reaches, and reuses the rest (see `PrecomputeState`). The output
    /// equals a full run's on the same inputs.
    public func run(products: [Product], outfits: [Outfit], previous: PrecomputeState?, progress: Progress? = nil) -> Result {
        let began = DispatchTime.now().uptimeNanoseconds
        func since(_ t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }
        var wall = PrecomputeStats.Wall()
        let ctx = RunContext(self, products: products)
        var stats = PrecomputeStats()
        stats.anchors = products.count
        stats.outfits = outfits.count
        let fingerprint = self.fingerprint
        let clock = StageClock()
        var anchors: [String: AnchorResult] = [:]
        anchors.reserveCapacity(products.count)
        var outfitResults: [String: OutfitResult] = [:]

        if let previous, previous.fingerprint == fingerprint {
            let start = DispatchTime.now().uptimeNanoseconds
            let changes = ctx.changes(since: previous)
            let detect = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            wall.setup = since(began)
            let listsBegan = DispatchTime.now().uptimeNanoseconds
            let anchorOutcomes = parallelMap(count: products.count, progress: { progress?("complementary", $0, products.count) }) { i in
                ctx.incremental(anchor: i, previous: previous, changes: changes, clock: clock)
            }
            let outfitOutcomes = parallelMap(count: outfits.count, progress: { progress?("fitb", $0, outfits.count) }) { o in
                ctx.incremental(outfit: outfits[o], previous: previous, changes: changes, clock: clock)
            }
            wall.lists = since(listsBegan)
            for (i, outcome) in anchorOutcomes.enumerated() {
                let id = products[i].id
                switch outcome {
                case .reuse: anchors[id] = previous.anchors[id]
                case .patched(let r, let counts):
                    anchors[id] = r; stats.anchorsPatched += 1; stats.patch = stats.patch + counts.patch
                    stats.patchedAnchorIDs.append(id)
                case .recomputed(let r, let reason):
                    anchors[id] = r; stats.anchorReasons[reason, default: 0] += 1; stats.recomputedAnchorIDs.append(id)
                }
            }
            for (o, outcome) in outfitOutcomes.enumerated() {
                let id = outfits[o].id
                switch outcome {
                case .reuse: outfitResults[id] = previous.outfits[id]
                case .patched(let r, let counts):
                    outfitResults[id] = r; stats.outfitsPatched += 1; stats.patch = stats.patch + counts.patch
                    stats.patchedOutfitIDs.append(id)
                case .recomputed(let r, let reason):
                    outfitResults[id] = r; stats.outfitReasons[reason, default: 0] += 1; stats.recomputedOutfitIDs.append(id)
                }
            }
            stats.removedAnchorIDs = previous.anchors.keys.filter { ctx.position[$0] == nil }.sorted()
            let current = Set(outfits.map(\.id))
            stats.removedOutfitIDs = previous.outfits.keys.filter { !current.contains($0) }.sorted()
            clock.read(into: &stats)
            stats.seconds.detect += detect
        } else {
            stats.full = true
            stats.fullReason = previous == nil ? "no previous results" : Self.why(previous!.fingerprint, fingerprint)
            wall.setup = since(began)
            let listsBegan = DispatchTime.now().uptimeNanoseconds
            let newAnchors = parallelMap(count: products.count, progress: { progress?("complementary", $0, products.count) }) { i in
                ctx.complementary(for: i, clock: clock)
            }
            let newOutfits = parallelMap(count: outfits.count, progress: { progress?("fitb", $0, outfits.count) }) { o in
                ctx.blanks(for: outfits[o], clock: clock)
            }
            wall.lists = since(listsBegan)
            for (i, p) in products.enumerated() { anchors[p.id] = newAnchors[i] }
            for (o, outfit) in outfits.enumerated() { outfitResults[outfit.id] = newOutfits[o] }
            stats.anchorReasons["full recompute"] = products.count
            stats.outfitReasons["full recompute"] = outfits.count
            stats.recomputedAnchorIDs = products.map(\.id)
            stats.recomputedOutfitIDs = outfits.map(\.id)
            clock.read(into: &stats)
        }
        stats.anchorsRecomputed = stats.recomputedAnchorIDs.count
        stats.outfitsRecomputed = stats.recomputedOutfitIDs.count

        let output = Output(complementary: products.flatMap { anchors[$0.id]?.lists ?? [] },
                            fitb: outfits.flatMap { outfitResults[$0.id]?.blanks ?? [] })
        let state = PrecomputeState(fingerprint: fingerprint, inputs: ctx.inputs, verdicts: verdicts,
                                    anchors: anchors, outfits: outfitResults)
        wall.total = since(began)
        stats.wall = wall
        return Result(output: output, state: state, stats: stats)
    }

    /// Names what differs between two fingerprints, for the run report.
    static func why(_ old: String, _ new: String) -> String {
        func parts(_ s: String) -> [String: String] {
            var d: [String: String] = [:]
            for key in ["retrieval", "rerank", "state"] {
                if let r = s.range(of: key + "=") {
                    d[key] = String(s[r.upperBound...].prefix { $0 != " " })
                }
            }
            // A version with spaces (a hybrid's names its parts): everything up to ` state=`.
            if let r = s.range(of: " rerank="), let e = s.range(of: " state=", range: r.upperBound..<s.endIndex) {
                d["rerank"] = String(s[r.upperBound..<e.lowerBound])
            }
            return d
        }
        let a = parts(old), b = parts(new)
        if a["retrieval"] != b["retrieval"] { return "new retrieval model \(b["retrieval"] ?? "?") (was \(a["retrieval"] ?? "?"))" }
        if a["rerank"] != b["rerank"] { return "new reranker version \(b["rerank"] ?? "?") (was \(a["rerank"] ?? "?"))" }
        if a["state"] != b["state"] { return "the previous results are of another format (\(a["state"] ?? "before precompute@2"))" }
        return "recommendation settings or slot table changed"
    }
}

/// Where the retrieval stage ranks each pool.
public enum RetrievalSpace: Sendable {
    /// Mean PPMI between content features: `Precomputer.model`'s score (sparse lookups).
    case cooccurrence
    /// Cosine of PPMI-SVD word vectors (`PPMISVDModel`, dense dot products of
    /// `dimension` floats): the `PPMISVDReranker`'s own score.
    case wordVectors(PPMISVDModel)
    /// StyleLM's bag-of-words score (`StyleLMScoring.bagScores`, whatever the scoring's
    /// method): one forward pass per look (the blank's distribution), then per candidate
    /// a look-up per distinct token. With a `StyleLMReranker` of the same scoring that
    /// scores by bag, this is the reranker's own score, to the bit.
    case styleLMBag(StyleLMScoring)

    /// The version of the model that ranks (the fingerprint's `retrieval=`).
    public func version(_ cooccurrence: CooccurrenceModel) -> String {
        switch self {
        case .cooccurrence: cooccurrence.version
        case .wordVectors(let m): m.version
        case .styleLMBag(let s):
            "\(s.version)+bag-\(s.options.calibration.rawValue)\(s.options.lengthNormalised ? "" : "-sum")\(s.options.cacheSuffix)"
        }
    }

    public var name: String {
        switch self {
        case .cooccurrence: "cooccurrence"
        case .wordVectors: "ppmi-svd word vectors"
        case .styleLMBag: "stylelm bag of words"
        }
    }
}

/// The StyleLM bag-of-words retrieval space of one run: every item's distinct tokens in
/// one flat buffer (CSR), computed once. A look's query is the model's log-probabilities
/// at its blank with the look's cache mixed in (`StyleLMScoring.withCache`), the
/// calibration's prior (zeros when uncalibrated) and the blank's hidden state, then, with
/// a cache, the log-probabilities before it ([2 × vocabulary + hidden (+ vocabulary)]):
/// one forward pass per (look, slot).
///
/// Each kept list stores that hidden state (`BagLook`), so an incremental run bounds a
/// changed product's score under the look without running the model (`upperBound`), and
/// for the lists the bound cannot rule out rebuilds the look's distribution from the
/// state alone (`query(look:slot:)`: the forward pass's last step, the same bits).
struct BagSpace: Sendable {
    let scoring: StyleLMScoring
    let captions: [String: String]
    let offsets: [Int]
    let tokens: [Int32]
    let vocab: Int
    let hidden: Int
    /// The output projection [vocabulary × hidden].
    let projection: [Float]
    let calibrated: Bool
    let lengthNormalised: Bool
    /// `StyleLMScoring.Options.cacheWeight`: a query then carries the model's own
    /// log-probabilities after its hidden state, for `sketch`.
    let cacheWeight: Double

    init(scoring: StyleLMScoring, products: [Product], captions: [String: String]) {
        self.scoring = scoring; self.captions = captions
        vocab = scoring.inference.config.vocabSize
        hidden = scoring.inference.config.hiddenSize
        projection = scoring.outputProjection
        calibrated = scoring.calibrated
        lengthNormalised = scoring.options.lengthNormalised
        cacheWeight = scoring.options.cacheWeight
        let bags = parallelMap(count: products.count) { i in
            scoring.bagTokens(StyleLMReranker.itemText(products[i], caption: captions[products[i].id], format: scoring.prompts.itemFormat))
        }
        var offsets = [0]
        offsets.reserveCapacity(products.count + 1)
        var tokens: [Int32] = []
        tokens.reserveCapacity(bags.reduce(0) { $0 + $1.count })
        for b in bags { tokens += b; offsets.append(tokens.count) }
        self.offsets = offsets; self.tokens = tokens
    }

    /// The distinct tokens of a product outside the run (an old version), as for the run's.
    func bag(of product: Product, caption: String?) -> [Int32] {
        scoring.bagTokens(StyleLMReranker.itemText(product, caption: caption, format: scoring.prompts.itemFormat))
    }

    /// Item `j`'s distinct tokens.
    func tokens(of j: Int) -> ArraySlice<Int32> { tokens[offsets[j]..<offsets[j + 1]] }

    /// The look's products as the model reads them (its item format, captions included).
    func items(_ context: [Product]) -> [ItemText] {
        context.map { StyleLMReranker.itemText($0, caption: captions[$0.id], format: scoring.prompts.itemFormat) }
    }

    /// The cache of the look of `context` (`StyleLMScoring.cache(of:)`; empty without one).
    func cache(_ context: [Product]) -> [Int32: Float] {
        cacheWeight > 0 ? scoring.cache(of: items(context)) : [:]
    }

    /// [log p(· | blank of the look), cache mixed in ; the calibration's prior ; the
    /// blank's hidden state (; log p(· | blank) before the cache)].
    func query(_ context: [Product], slot: Slot) -> [Float] {
        let look = scoring.bagLookState(context: items(context), slot: slot)
        return assemble(look.logProbs, prior: look.prior, hidden: look.hidden, cache: cache(context))
    }

    /// `query` of a look from its stored state and its `cache` (`cache(_:)` of its
    /// context), without the forward pass: the bits of `query`'s (the same projection,
    /// log-softmax and cache). nil when the state does not fit the model.
    func query(look: BagLook, slot: Slot, cache: [Int32: Float]) -> [Float]? {
        guard look.hidden.count == hidden else { return nil }
        return assemble(scoring.logProbs(hidden: look.hidden), prior: calibrated ? scoring.bagPrior(slot) : nil,
                        hidden: look.hidden, cache: cache)
    }

    /// A query from the blank's log-probabilities, prior, hidden state and cache (`query`'s layout).
    func assemble(_ logProbs: [Float], prior: [Float]?, hidden state: [Float], cache: [Int32: Float]) -> [Float] {
        var q = scoring.withCache(logProbs, cache)
        q.reserveCapacity(2 * vocab + hidden + (cacheWeight > 0 ? vocab : 0))
        q += prior ?? [Float](repeating: 0, count: vocab)
        q += state
        if cacheWeight > 0 { q += logProbs }
        return q
    }

    /// (Σ E[t]·h, Σ |E[t]|·|h|) in Double, E the output projection.
    @inline(__always)
    func dot(_ t: Int32, _ h: UnsafeBufferPointer<Float>) -> (Double, Double) {
        projection.withUnsafeBufferPointer { e in
            let row = e.baseAddress! + Int(t) * hidden
            var d = 0.0, a = 0.0
            for i in 0..<hidden {
                let x = Double(row[i]) * Double(h[i])
                d += x; a += abs(x)
            }
            return (d, a)
        }
    }

    /// What a kept list stores of its look: the hidden state h, the most likely token t0
    /// and offset = E[t0]·h − log p(t0 | look) (E·h in Double), so that E[t]·h − offset
    /// approximates log p(t | look) for every t.
    func sketch(_ w: [Float]) -> BagLook {
        let hr = Array(w[(2 * vocab)..<(2 * vocab + hidden)])
        let own = cacheWeight > 0 ? 2 * vocab + hidden : 0  // the model's log-probabilities
        var t0 = 0
        for t in 1..<vocab where w[own + t] > w[own + t0] { t0 = t }
        let d = hr.withUnsafeBufferPointer { dot(Int32(t0), $0).0 }
        return BagLook(hidden: hr, token: Int32(t0), offset: d - Double(w[own + t0]))
    }

    /// An upper bound of the bag score of `bag` under a kept look, with `prior` the
    /// slot's prior (nil uncalibrated) and `cache` the look's (`cache(_:)`).
    /// log p(t | look) ≈ E[t]·h − offset; the model computed E[t]·h in Float (error ≤
    /// hidden · 2⁻²⁴ Σ|E[t]·h|), for t and for t0: the bound adds twice that error and a
    /// margin of 2⁻¹¹ Σ|E[t]·h| besides, and 2·10⁻⁵ per token for the log-softmax's
    /// rounding. The cache's mixture increases with the log-probability, so the bound
    /// mixed in bounds the mixture (and 2·10⁻⁵ more for its rounding to Float). A look
    /// whose state is not finite bounds nothing (+∞).
    func upperBound(_ bag: some Collection<Int32>, look: BagLook, prior: [Float]?, cache: [Int32: Float]) -> Double {
        guard !bag.isEmpty else { return calibrated ? 0 : -.infinity }
        guard look.hidden.count == hidden, look.offset.isFinite, look.hidden.allSatisfy(\.isFinite) else { return .infinity }
        let h = look.hidden
        let relative = 2 * (0x1p-11 * 1.001 + Double(hidden) * 0x1p-24)
        return h.withUnsafeBufferPointer { h in
            let (_, a0) = dot(look.token, h)
            var sum = 0.0
            for t in bag {
                let (d, a) = dot(t, h)
                let error = relative * (a + a0) + 2e-5
                var bound = d - look.offset + error
                if cacheWeight > 0 {
                    bound = StyleLMScoring.mixed(bound, share: cache[t] ?? 0, weight: cacheWeight) + 2e-5
                }
                sum += bound - Double(prior?[Int(t)] ?? 0)
            }
            return lengthNormalised ? sum / Double(bag.count) : sum
        }
    }

    /// `StyleLMScoring.bagScore` of item `j`, to the bit (the same Double sum in the same order).
    @inline(__always)
    func score(_ w: UnsafeBufferPointer<Float>, _ j: Int) -> Double {
        tokens.withUnsafeBufferPointer { t in
            Self.score(UnsafeBufferPointer(rebasing: t[offsets[j]..<offsets[j + 1]]), w, vocab: vocab,
                       calibrated: calibrated, lengthNormalised: lengthNormalised)
        }
    }

    @inline(__always)
    static func score(_ tokens: UnsafeBufferPointer<Int32>, _ w: UnsafeBufferPointer<Float>, vocab: Int, calibrated: Bool,
                      lengthNormalised: Bool) -> Double {
        guard !tokens.isEmpty else { return calibrated ? 0 : -.infinity }
        var sum = 0.0
        for t in tokens { sum += Double(w[Int(t)]) - Double(w[vocab + Int(t)]) }
        return lengthNormalised ? sum / Double(tokens.count) : sum
    }

    func score(tokens: [Int32], _ w: [Float]) -> Double {
        tokens.withUnsafeBufferPointer { t in
            w.withUnsafeBufferPointer { Self.score(t, $0, vocab: vocab, calibrated: calibrated, lengthNormalised: lengthNormalised) }
        }
    }

    /// What the look raised most among item `j`'s words (`StyleLMReranker.bagReason`).
    func reason(_ w: [Float], _ j: Int) -> String? {
        let bag = Array(tokens(of: j))
        return StyleLMReranker.bagReason(bag, tokenizer: scoring.prompts.tokenizer) { Double(w[Int($0)]) - Double(w[vocab + Int($0)]) }
    }
}

/// A `HybridReranker` whose StyleLM half scores by bag, over a `BagSpace` of the run's
/// items (the same scoring and captions). Its scores of a list's candidates equal
/// `HybridReranker.scores`, to the bit: PPMI-SVD's half is the reranker's own call, and
/// StyleLM's half is `bagScores` read from the look's query (`BagSpace.score`, the same
/// Double sum of the same Floats). The look's query comes from one forward pass, or,
/// when a kept list of the same look stored it, from its hidden state alone
/// (`BagSpace.query(look:slot:)`, the forward pass's last step: the same bits). With a
/// structure term, its part is added as `HybridReranker.scores` adds it
/// (`HybridReranker.structureScore`), from each item's kind and tiers computed
/// once per run (as `StructuredReranker` tabulates its kinds once).
struct HybridBag: Sendable {
    let reranker: HybridReranker
    let space: BagSpace
    /// Per item of the run: its kind in the structure term's table and its price and
    /// popularity tiers (empty without a structure term).
    let kinds: [Int]
    let tiers: [OutfitStructureModel.Tiers]

    init(reranker: HybridReranker, space: BagSpace, products: [Product]) {
        self.reranker = reranker; self.space = space
        if reranker.structure != nil {
            kinds = products.map(reranker.structureKind)
            tiers = products.map(reranker.structureTiers)
        } else {
            kinds = []; tiers = []
        }
    }

    /// The hybrid's scores of `candidates` (indices into `items`) for the look of
    /// `context` in `slot`, and that look as a list stores it. A forward pass counts as
    /// `.prefill`, rebuilding a stored look as `.rerank`.
    func scores(context: [Product], slot: Slot, candidates: [Int], items: [Item], stored: BagLook?,
                timer t: inout StageClock.Timer) -> (scores: [Double], look: BagLook) {
        let products = candidates.map { items[$0].product }
        let ppmi = reranker.ppmi.scores(context: context, slot: slot, candidates: products)
        precondition(ppmi.count == candidates.count, "the reranker \(reranker.ppmi.version) returned \(ppmi.count) scores for \(candidates.count) candidates")
        let query: [Float], look: BagLook
        if let stored, let q = space.query(look: stored, slot: slot, cache: space.cache(context)) {
            query = q; look = stored
        } else {
            t.lap(.rerank, scored: 0)
            query = space.query(context, slot: slot)
            t.lap(.prefill, scored: 0)
            look = space.sketch(query)
        }
        let structure = reranker.structureLook(context)
        let out = query.withUnsafeBufferPointer { w in
            zip(candidates, ppmi).map { j, p in
                let sum = reranker.combine(p, space.score(w, j))
                guard let structure else { return sum }
                return sum + reranker.structureScore(structure, kind: kinds[j], tiers: tiers[j])
            }
        }
        return (out, look)
    }
}

/// The word-vector retrieval space of one run: every item's vectors, and the right
/// vectors in one flat buffer (items × dimension) for the walk.
struct VectorSpace: Sendable {
    let model: PPMISVDModel
    let items: [PPMISVDModel.ItemVectors]
    let right: [Float]

    init(model: PPMISVDModel, items: [PPMISVDModel.ItemVectors]) {
        self.model = model; self.items = items
        right = items.flatMap(\.right)
    }

    /// `PPMISVDModel.score` of item `j` for a query, to the bit (the same kernel).
    @inline(__always)
    func score(_ q: UnsafeBufferPointer<Float>, _ j: Int) -> Double {
        let k = model.dimension
        guard k > 0 else { return 0 }
        return right.withUnsafeBufferPointer { PPMISVDModel.score(q, $0.baseAddress! + j * k, count: k) }
    }
}

/// One run's products, featurised once, and the per-list work.
struct RunContext: Sendable {
    let model: CooccurrenceModel
    /// The word-vector retrieval space; nil: co-occurrence (`index`) or bag.
    let vectors: VectorSpace?
    /// The StyleLM bag-of-words retrieval space; nil: co-occurrence or word vectors.
    let bag: BagSpace?
    /// A `HybridReranker` whose StyleLM scores by bag, with its StyleLM in a bag space of
    /// this run's items: the rerank stage scores its StyleLM half from one look per list
    /// (`HybridBag.scores`) and the list keeps that look, so an incremental run rebuilds it
    /// from the stored state instead of a forward pass. nil for any other reranker.
    let hybrid: HybridBag?
    let reranker: any Reranker
    /// The reranker scores exactly as the retrieval stage does (the co-occurrence reranker
    /// with co-occurrence retrieval, or the PPMI-SVD reranker in its own word-vector space,
    /// on this run's products and captions): its scores are the retrieval scores, not recomputed.
    let rerankIsRetrieval: Bool
    let compatibility: SlotCompatibility
    let settings: RecommendSettings
    let rules: Rules
    let verdicts: [String: [String: Feedback.Verdict]]
    let items: [Item]
    let index: RetrievalIndex
    let inputs: [String: ProductInput]
    /// Indices per slot of the products that may be recommended (in stock when asked).
    let bySlot: [Slot: [Int]]
    let position: [String: Int]
    /// The second source: candidates per list by the reranker's prior (0: off), and the
    /// prior of every item of the run (empty when off).
    let priorM: Int
    let prior: [Double]
    let priorReranker: (any PriorReranker)?

    /// Candidates kept per list: the top M and a reserve behind them.
    var depth: Int { settings.retrievalM + Self.reserve(settings.retrievalM) }
    var priorDepth: Int { priorM == 0 ? 0 : priorM + Self.reserve(priorM) }
    static func reserve(_ m: Int) -> Int { max(4, m / 4) }

    init(_ p: Precomputer, products: [Product]) {
        model = p.model
        compatibility = p.compatibility
        settings = p.settings
        rules = Rules(settings: p.settings)
        verdicts = p.verdicts
        let captions = p.captions, hashes = p.imageHashes, model = p.model
        let items = parallelMap(count: products.count) { i in
            Item(products[i], model: model, caption: captions[products[i].id], imageHash: hashes[products[i].id])
        }
        self.items = items
        index = RetrievalIndex(items)
        if case .wordVectors(let m) = p.retrievalSpace {
            // The reranker of the same model and captions has the vectors already.
            let same = (p.reranker as? PPMISVDReranker ?? (p.reranker as? HybridReranker)?.ppmi
                        ?? (p.reranker as? StructuredReranker)?.ppmi).flatMap { $0.model.version == m.version && $0.captions == captions ? $0 : nil }
            vectors = VectorSpace(model: m, items: parallelMap(count: products.count) { i in
                same?.cached(products[i]) ?? m.vectors(of: products[i], caption: captions[products[i].id])
            })
        } else {
            vectors = nil
        }
        if case .styleLMBag(let s) = p.retrievalSpace {
            bag = BagSpace(scoring: s, products: products, captions: captions)
        } else {
            bag = nil
        }
        if let h = p.reranker as? HybridReranker, h.stylelm.scoring.options.method == .bagOfWords, h.stylelm.captions == captions {
            // The same scoring, captions and token lists as the StyleLM half's bagScores.
            hybrid = HybridBag(reranker: h, space: BagSpace(scoring: h.stylelm.scoring, products: products, captions: captions),
                               products: products)
        } else {
            hybrid = nil
        }
        var inputs: [String: ProductInput] = [:]
        inputs.reserveCapacity(products.count)
        for q in products { inputs[q.id] = ProductInput(product: q, caption: captions[q.id], imageHash: hashes[q.id]) }
        self.inputs = inputs
        if let given = p.reranker {
            reranker = given
            // The co-occurrence reranker of this very model, captions and products scores
            // what co-occurrence retrieval scored: check it feature set by feature set;
            // likewise the PPMI-SVD reranker of the word vectors retrieval ranks by.
            if vectors == nil, bag == nil, let c = given as? CooccurrenceReranker, c.model.version == model.version, c.captions == captions {
                rerankIsRetrieval = items.allSatisfy { item in c.features[item.product.id].map { $0 == item.features } ?? true }
            } else if let space = vectors, let r = given as? PPMISVDReranker, r.model.version == space.model.version,
                      r.captions == captions {
                rerankIsRetrieval = items.indices.allSatisfy { i in r.cached(items[i].product).map { $0 == space.items[i] } ?? true }
            } else if let space = bag, let r = given as? StyleLMReranker, r.scoring === space.scoring,
                      r.scoring.options.method == .bagOfWords, r.captions == captions {
                // The reranker's bagScores: the same prefill, prior, token lists and sum.
                rerankIsRetrieval = true
            } else {
                rerankIsRetrieval = false
            }
        } else {
            reranker = CooccurrenceReranker(model: model, products: products, captions: captions)
            rerankIsRetrieval = vectors == nil && bag == nil
        }
        var bySlot: [Slot: [Int]] = [:]
        for (i, q) in products.enumerated() where !p.settings.onlyInStock || q.inStock {
            bySlot[q.slot, default: []].append(i)
        }
        self.bySlot = bySlot
        position = Dictionary(products.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        if p.priorM > 0, let pr = p.reranker as? any PriorReranker {
            priorM = p.priorM
            priorReranker = pr
            prior = Self.priors(pr, products)
        } else {
            priorM = 0; prior = []; priorReranker = nil
        }
    }

    /// The reranker's prior of each product, batched by slot in chunks over all cores.
    static func priors(_ reranker: any PriorReranker, _ products: [Product]) -> [Double] {
        var bySlot: [Slot: [Int]] = [:]
        for (i, q) in products.enumerated() { bySlot[q.slot, default: []].append(i) }
        let chunks: [(Slot, ArraySlice<Int>)] = Slot.allCases.flatMap { slot -> [(Slot, ArraySlice<Int>)] in
            guard let all = bySlot[slot] else { return [] }
            return stride(from: 0, to: all.count, by: 256).map { lo in (slot, all[lo..<min(all.count, lo + 256)]) }
        }
        let scored = parallelMap(count: chunks.count) { c in
            let s = reranker.priorScores(slot: chunks[c].0, candidates: chunks[c].1.map { products[$0] })
            precondition(s.count == chunks[c].1.count, "the reranker \(reranker.version) returned \(s.count) priors for \(chunks[c].1.count) candidates")
            return s
        }
        var out = [Double](repeating: 0, count: products.count)
        for (c, s) in zip(chunks, scored) { for (i, v) in zip(c.1, s) { out[i] = v } }
        return out
    }

    /// The look of `members` (indices of items) filling a blank of `slot` in the
    /// retrieval space: the dense PPMI weights of its features (co-occurrence), its mean
    /// left vector (word vectors), or the model's distribution at the blank and the prior
    /// (bag: one forward pass; the only space where the slot matters).
    func query(_ members: [Int], slot: Slot) -> [Float] {
        if let bag { return bag.query(members.map { items[$0].product }, slot: slot) }
        if let vectors { return vectors.model.query(members.map { vectors.items[$0] }) }
        return model.query(members.map { items[$0].features }).weights
    }

    /// Whether a query depends on the slot (one per target slot, else one per look).
    var queryPerSlot: Bool { bag != nil }

    /// Item `j`'s retrieval score for a query of `query(_:slot:)`.
    @inline(__always)
    func retrievalScore(_ w: UnsafeBufferPointer<Float>, _ j: Int) -> Double {
        if let bag { return bag.score(w, j) }
        if let vectors { return vectors.score(w, j) }
        return index.score(w, j)
    }

    /// Which candidates a list may hold: `allows` for this run's items (nil: not allowed,
    /// else the anchor's verdict on it), `allowsOld` for an old version of a product.
    struct Filter {
        let allows: (Int) -> Feedback.Verdict??
        let allowsOld: (Item) -> Bool
    }

    /// The pair rules of anchor `i` (`Rules.allows`), with the common checks on flat arrays.
    func anchorFilter(_ i: Int) -> Filter {
        let anchor = items[i]
        let verdicts = self.verdicts[anchor.product.id] ?? [:]
        let index = self.index, items = self.items, rules = self.rules
        let gender = index.gender[i], id = anchor.product.id
        let pairRules = rules.hasPairRules, stock = settings.onlyInStock
        return Filter(allows: { j in
            if stock && !index.inStock[j] { return nil }
            guard gender.goes(with: index.gender[j]), j != i else { return nil }
            var verdict: Feedback.Verdict?
            if !verdicts.isEmpty {
                verdict = verdicts[index.ids[j]]
                if verdict == .reject { return nil }
            }
            guard index.ids[j] != id else { return nil }
            if pairRules && !rules.allows(anchor: anchor, candidate: items[j], verdict: verdict) { return nil }
            return .some(verdict)
        }, allowsOld: { old in rules.allows(anchor: anchor, candidate: old, verdict: verdicts[old.product.id]) })
    }

    /// What may fill a blank of `outfit` whose other members are `context` (`Rules.allowsInOutfit`).
    func outfitFilter(outfit: Outfit, context: [Int]) -> Filter {
        let index = self.index, rules = self.rules
        let members = Set(outfit.items)
        let memberIndices = outfit.items.compactMap { position[$0] }
        let genders = context.map { index.gender[$0] }
        let contextItems = context.map { items[$0] }
        let stock = settings.onlyInStock
        return Filter(allows: { j in
            if stock && !index.inStock[j] { return nil }
            guard !memberIndices.contains(j), genders.allSatisfy({ $0.goes(with: index.gender[j]) }) else { return nil }
            guard !members.contains(index.ids[j]) else { return nil }
            return .some(nil)
        }, allowsOld: { old in rules.allowsInOutfit(context: contextItems, outfitItems: members, candidate: old) })
    }

    struct Walk {
        /// Best first by retrieval score then id, at most `depth`.
        var ranked: [(Int, Double)]
        /// Approved candidates, in pool order.
        var approved: [Int]
        var cutoff: Threshold?
        var scored: Int
        /// The prior source: best first by prior then id, at most `priorDepth` (empty when off).
        var prior: [(Int, Double)] = []
        var priorCutoff: Threshold?
    }

    /// Stage 1 for one list: the best `depth` allowed candidates of `pool` by retrieval
    /// score, and the approved ones (kept apart: they always reach the reranker).
    /// `cutoff` is the last kept candidate when the pool filled all places.
    func walk(pool: [Int], weights: [Float], filter: Filter) -> Walk {
        var approved: [Int] = []
        var scored = 0
        let k = depth
        var heap = RankHeap(capacity: k, rank: index.rank)
        var priorHeap = RankHeap(capacity: priorDepth, rank: index.rank)
        let usePrior = priorM > 0
        weights.withUnsafeBufferPointer { w in
            for j in pool {
                guard let verdict = filter.allows(j) else { continue }
                if verdict == .approve { approved.append(j); continue }
                scored += 1
                heap.offer(j, retrievalScore(w, j))
                if usePrior { priorHeap.offer(j, prior[j]) }
            }
        }
        let ranked = heap.sorted()
        let cutoff = ranked.count == k ? ranked.last.map { Threshold(score: $0.1, id: items[$0.0].product.id) } : nil
        var walk = Walk(ranked: ranked, approved: approved, cutoff: cutoff, scored: scored)
        if usePrior {
            walk.prior = priorHeap.sorted()
            walk.priorCutoff = walk.prior.count == priorDepth ? walk.prior.last.map { Threshold(score: $0.1, id: items[$0.0].product.id) } : nil
        }
        return walk
    }

    /// Whose look a list completes: an anchor's, or an outfit's other members'.
    enum Look {
        case anchor(Int)
        case outfit([Int])
    }

    struct ListResult {
        var items: [ScoredProduct]
        var retrieved: RetrievedList
    }

    /// Stages 2 and 3 for one list: rerank the approved candidates, the top M of
    /// `ranked` and the top `priorM` of `prior` not among them (reusing `known` scores
    /// by id), then the list rules and reasons.
    /// `stored`: the look a kept list of the same look and slot stored (hybrid reranker).
    func finish(_ look: Look, slot: Slot, weights: [Float], approved: [Int], ranked: [(Int, Double)], cutoff: Threshold?,
                prior: [(Int, Double)] = [], priorCutoff: Threshold? = nil,
                known: [String: Double], stored: BagLook? = nil, timer t: inout StageClock.Timer) -> ListResult {
        let top = ranked.prefix(settings.retrievalM)
        var candidates = approved + top.map(\.0)
        let priorTop = prior.prefix(priorM)
        if !priorTop.isEmpty {
            let inTop = Set(top.map(\.0))
            candidates += priorTop.lazy.map(\.0).filter { !inTop.contains($0) }
        }
        var scores = [Double](repeating: 0, count: candidates.count)
        var missing: [Int] = []
        for (n, c) in candidates.enumerated() {
            if let s = known[index.ids[c]] { scores[n] = s } else { missing.append(n) }
        }
        let context: [Item]
        switch look {
        case .anchor(let i): context = [items[i]]
        case .outfit(let members): context = members.map { items[$0] }
        }
        let contextProducts = context.map(\.product)
        var hybridLook = hybrid == nil ? nil : stored
        if !missing.isEmpty {
            if let hybrid {
                let s = hybrid.scores(context: contextProducts, slot: slot, candidates: missing.map { candidates[$0] }, items: items,
                                      stored: stored, timer: &t)
                hybridLook = s.look
                for (n, v) in zip(missing, s.scores) { scores[n] = v }
            } else if rerankIsRetrieval {
                weights.withUnsafeBufferPointer { w in
                    for n in missing {
                        scores[n] = n < approved.count || n >= approved.count + top.count
                            ? retrievalScore(w, candidates[n]) : top[top.startIndex + n - approved.count].1
                    }
                }
            } else {
                let s = reranker.scores(context: contextProducts, slot: slot, candidates: missing.map { items[candidates[$0]].product })
                precondition(s.count == missing.count, "the reranker \(reranker.version) returned \(s.count) scores for \(missing.count) candidates")
                for (n, v) in zip(missing, s) { scores[n] = v }
            }
        }
        t.lap(.rerank, scored: missing.count)
        var retrieved = RetrievedList(approved: approved.map { index.ids[$0] }, ranked: ranked.map { index.ids[$0.0] },
                                      reranked: top.count, cutoff: cutoff, scores: scores)
        if let bag { retrieved.look = bag.sketch(weights) } else if !candidates.isEmpty { retrieved.look = hybridLook }
        if priorM > 0 {
            retrieved.prior = PriorList(ranked: prior.map { index.ids[$0.0] }, reranked: priorTop.count, cutoff: priorCutoff)
        }
        guard !candidates.isEmpty else { return ListResult(items: [], retrieved: retrieved) }
        let isApproved = candidates.indices.map { $0 < approved.count }
        let k: Int
        if case .anchor = look { k = settings.complementaryK } else { k = settings.fitbK }
        let picked = rules.select(k, candidates: candidates, in: items, approved: isApproved, scores: scores, context: context)
        t.lap(.rules, scored: 0)
        // The bag reranker's reason reads the look's distribution retrieval already has.
        let bagWhy = rerankIsRetrieval ? bag : nil
        func why(_ j: Int) -> String? {
            if let bagWhy { return bagWhy.reason(weights, j) }
            return reranker.why(context: contextProducts, slot: slot, candidate: items[j].product)
        }
        let list = picked.map { c -> ScoredProduct in
            let item = items[candidates[c]]
            let reason: String
            switch look {
            case .anchor:
                reason = isApproved[c] ? "approved by a merchandiser"
                    : why(candidates[c]) ?? "fits a \(contextProducts[0].slot.rawValue) with \(slot.rawValue)"
            case .outfit:
                reason = why(candidates[c]) ?? "a \(slot.rawValue) for this look"
            }
            return ScoredProduct(productID: item.product.id, score: scores[c], reason: reason)
        }
        t.lap(.why, scored: 0)
        return ListResult(items: list, retrieved: retrieved)
    }

    func complementary(for i: Int, clock: StageClock) -> AnchorResult {
        let anchor = items[i]
        var result = AnchorResult(lists: [], retrieved: [:])
        let targets = compatibility.targets(for: anchor.product.slot)
        guard !targets.isEmpty else { return result }
        var t = clock.start()
        let shared = queryPerSlot ? nil : query([i], slot: anchor.product.slot)
        let filter = anchorFilter(i)
        for slot in targets {
            let weights: [Float]
            if let shared { weights = shared } else {
                t.lap(.retrieval, scored: 0)
                weights = query([i], slot: slot)
                t.lap(.prefill, scored: 0)
            }
            let w = walk(pool: bySlot[slot] ?? [], weights: weights, filter: filter)
            t.lap(.retrieval, scored: w.scored)
            let list = finish(.anchor(i), slot: slot, weights: weights, approved: w.approved, ranked: w.ranked, cutoff: w.cutoff,
                              prior: w.prior, priorCutoff: w.priorCutoff, known: [:], timer: &t)
            result.retrieved[slot.rawValue] = list.retrieved
            if !list.items.isEmpty { result.lists.append(Recommendation(anchorID: anchor.product.id, targetSlot: slot, items: list.items)) }
        }
        t.finish()
        return result
    }

    /// The context of each position of `outfit`: (position, member index, other members).
    func positions(of outfit: Outfit) -> [(Int, Int, [Int])] {
        let members = outfit.items.map { position[$0] }
        guard members.count >= 2 else { return [] }
        var out: [(Int, Int, [Int])] = []
        for (p, member) in members.enumerated() {
            guard let member else { continue }
            let context = members.enumerated().compactMap { $0.offset == p ? nil : $0.element }
            guard !context.isEmpty else { continue }
            out.append((p, member, context))
        }
        return out
    }

    func blanks(for outfit: Outfit, clock: StageClock) -> OutfitResult {
        var result = OutfitResult(outfit: outfit, blanks: [], retrieved: [:])
        var t = clock.start()
        for (p, member, context) in positions(of: outfit) {
            let slot = items[member].product.slot
            t.lap(.retrieval, scored: 0)
            let weights = query(context, slot: slot)
            if queryPerSlot { t.lap(.prefill, scored: 0) }
            let w = walk(pool: bySlot[slot] ?? [], weights: weights, filter: outfitFilter(outfit: outfit, context: context))
            t.lap(.retrieval, scored: w.scored)
            let list = finish(.outfit(context), slot: slot, weights: weights, approved: [], ranked: w.ranked, cutoff: w.cutoff,
                              prior: w.prior, priorCutoff: w.priorCutoff, known: [:], timer: &t)
            result.retrieved[String(p)] = list.retrieved
            if !list.items.isEmpty { result.blanks.append(BlankCandidates(outfitID: outfit.id, position: p, items: list.items)) }
        }
        t.finish()
        return result
    }
}

/// The retrieval stage's view of the run's items in flat arrays: feature ids in one
/// buffer (CSR), and what the pair rules check on every candidate.
struct RetrievalIndex: Sendable {
    let offsets: [Int]
    let features: [Int32]
    let counts: [Int]
    /// Each item's place among the run's ids in `String` order: ties break by it.
    let rank: [Int32]
    let ids: [String]
    let gender: [Gender]
    let inStock: [Bool]

    init(_ items: [Item]) {
        var offsets = [0], features: [Int32] = []
        for item in items { features += item.features.ids; offsets.append(features.count) }
        self.offsets = offsets; self.features = features
        counts = items.map(\.features.count)
        let ids = items.map(\.product.id)
        self.ids = ids
        var rank = [Int32](repeating: 0, count: items.count)
        for (r, i) in items.indices.sorted(by: { ids[$0] < ids[$1] }).enumerated() { rank[i] = Int32(r) }
        self.rank = rank
        gender = items.map(\.gender)
        inStock = items.map(\.product.inStock)
    }

    /// `CooccurrenceModel.score` of item `j` for a query's weights, to the bit: the
    /// same Float sum in the same order, divided in Double.
    @inline(__always)
    func score(_ w: UnsafeBufferPointer<Float>, _ j: Int) -> Double {
        let n = counts[j]
        guard n > 0 else { return 0 }
        var s: Float = 0
        features.withUnsafeBufferPointer { f in
            for k in offsets[j]..<offsets[j + 1] { s += w[Int(f[k])] }
        }
        return Double(s) / Double(n)
    }
}

/// The k best (index, score) pairs by score, ties by rank ascending: a bounded min-heap
/// with the worst kept at the root.
struct RankHeap {
    let k: Int
    let rank: [Int32]
    var heap: [(Int, Double)] = []

    init(capacity k: Int, rank: [Int32]) { self.k = k; self.rank = rank; heap.reserveCapacity(k) }

    @inline(__always)
    func worse(_ a: (Int, Double), _ b: (Int, Double)) -> Bool {
        a.1 != b.1 ? a.1 < b.1 : rank[a.0] > rank[b.0]
    }

    mutating func offer(_ j: Int, _ s: Double) {
        guard k > 0 else { return }
        let e = (j, s)
        if heap.count < k {
            heap.append(e)
            var c = heap.count - 1
            while c > 0 { let p = (c - 1) / 2; if worse(heap[c], heap[p]) { heap.swapAt(c, p); c = p } else { break } }
        } else if worse(heap[0], e) {
            heap[0] = e
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < heap.count && worse(heap[l], heap[m]) { m = l }
                if r < heap.count && worse(heap[r], heap[m]) { m = r }
                if m == p { break }
                heap.swapAt(p, m); p = m
            }
        }
    }

    /// Best first.
    func sorted() -> [(Int, Double)] { heap.sorted { worse($1, $0) } }
}

/// CPU seconds per stage, summed over worker threads (on 2 idle cores the wall time of
/// a stage is about half), and candidates scored. CPU time, not wall time, so that a
/// busy machine (other processes on the same cores) does not inflate the figures.
final class StageClock: @unchecked Sendable {
    /// This thread's CPU time, ns.
    static func threadNanos() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// `prefill`: the bag space's forward pass per look; `why`: the reasons of the shown items.
    enum Stage: Int { case retrieval, rerank, rules, detect, prefill, why }
    static let stages = 6
    private let lock = NSLock()
    private var nanos = [UInt64](repeating: 0, count: StageClock.stages)
    private var scoredRetrieval = 0, scoredRerank = 0, prefills = 0

    struct Timer {
        let clock: StageClock
        var last = StageClock.threadNanos()
        var nanos = [UInt64](repeating: 0, count: StageClock.stages)
        var retrieval = 0, rerank = 0, prefills = 0
        /// A `.prefill` lap counts one forward pass.
        mutating func lap(_ stage: Stage, scored: Int) {
            let now = StageClock.threadNanos()
            nanos[stage.rawValue] += now - last
            last = now
            if stage == .retrieval { retrieval += scored } else if stage == .rerank { rerank += scored } else if stage == .prefill { prefills += 1 }
        }
        /// Counts the time since the last lap as detection and hands everything to the clock.
        mutating func finish() {
            lap(.detect, scored: 0)
            clock.add(self)
        }
    }

    func start() -> Timer { Timer(clock: self) }

    private func add(_ t: Timer) {
        lock.withLock {
            for i in 0..<Self.stages { nanos[i] += t.nanos[i] }
            scoredRetrieval += t.retrieval; scoredRerank += t.rerank; prefills += t.prefills
        }
    }

    func read(into stats: inout PrecomputeStats) {
        lock.withLock {
            stats.seconds.retrieval = Double(nanos[0]) / 1e9
            stats.seconds.rerank = Double(nanos[1]) / 1e9
            stats.seconds.rules = Double(nanos[2]) / 1e9
            stats.seconds.detect = Double(nanos[3]) / 1e9
            stats.seconds.prefill = Double(nanos[4]) / 1e9
            stats.seconds.why = Double(nanos[5]) / 1e9
            stats.retrievalScored = scoredRetrieval
            stats.reranked = scoredRerank
            stats.prefills = prefills
        }
    }
}

/// Maps `body` over 0..<count on all cores, in order. `progress` gets the number done.
func parallelMap<T: Sendable>(count: Int, progress: (@Sendable (Int) -> Void)? = nil, _ body: @Sendable (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    // Deinitialize before freeing: the results' storage would otherwise stay retained
    // (every run leaked all its lists, ~460 MiB at 10,000 products).
    defer { _ = results.deinitialize(); results.deallocate() }
    nonisolated(unsafe) let out = results
    let chunk = max(1, min(256, count / 64))
    let chunks = (count + chunk - 1) / chunk
    let counter = DoneCounter()
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = c * chunk, hi = min(count, lo + chunk)
        for i in lo..<hi { out[i] = body(i) }
        let done = counter.add(hi - lo)
        progress?(done)
    }
    return results.map { $0! }
}

private final class DoneCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func add(_ n: Int) -> Int { lock.withLock { value += n; return value } }
}
