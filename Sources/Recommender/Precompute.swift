import Dispatch
import Foundation
import LookbookCore

/// Precomputes what the store ships: complementary lists per product and target slot,
/// and candidates for every blank of every curated outfit, in two stages.
///
/// 1. **Retrieval** narrows each (anchor, target slot) pool and each (outfit, position)
///    pool to `settings.retrievalM` candidates by the co-occurrence model's score,
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
    /// The retrieval model (and the default reranker's).
    public var model: CooccurrenceModel
    /// nil: `CooccurrenceReranker` over `model`.
    public var reranker: (any Reranker)?
    public var compatibility: SlotCompatibility
    public var settings: RecommendSettings
    public var captions: [String: String]
    /// SHA-256 of each product's primary image, by product id (near-duplicate rule).
    public var imageHashes: [String: String]
    /// The latest verdict per anchor and item.
    public internal(set) var verdicts: [String: [String: Feedback.Verdict]]

    /// `feedback` is applied oldest first, so a later verdict on the same pair wins.
    public init(model: CooccurrenceModel, reranker: (any Reranker)? = nil, compatibility: SlotCompatibility = .default,
                settings: RecommendSettings = RecommendSettings(), captions: [String: String] = [:],
                imageHashes: [String: String] = [:], feedback: [Feedback] = []) {
        self.model = model; self.reranker = reranker; self.compatibility = compatibility; self.settings = settings
        self.captions = captions; self.imageHashes = imageHashes
        verdicts = Self.verdictMap(feedback)
    }

    /// The latest verdict per anchor and item, applying `feedback` oldest first.
    public static func verdictMap(_ feedback: [Feedback]) -> [String: [String: Feedback.Verdict]] {
        var v: [String: [String: Feedback.Verdict]] = [:]
        for f in feedback { v[f.anchor, default: [:]][f.item] = f.verdict }
        return v
    }

    /// Everything that, when it changes, may change every list: the retrieval model's
    /// version, the reranker's, the settings and the slot table.
    public var fingerprint: String {
        let slots = Slot.allCases.map { "\($0.rawValue):" + compatibility.targets(for: $0).map(\.rawValue).joined(separator: ",") }
        return "retrieval=\(model.version) rerank=\(reranker?.version ?? model.version) [\(settings)] slots=\(slots.joined(separator: ";"))"
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
    /// them when `previous` is nil or its fingerprint differs) and reuses the rest.
    /// The output equals a full run's on the same inputs.
    public func run(products: [Product], outfits: [Outfit], previous: PrecomputeState?, progress: Progress? = nil) -> Result {
        let ctx = RunContext(self, products: products)
        var stats = PrecomputeStats()
        stats.anchors = products.count
        stats.outfits = outfits.count
        let inputs = ctx.inputs
        let fingerprint = self.fingerprint

        // Which anchors and outfits to recompute, and why.
        var anchorReasons: [String?]
        var outfitReasons: [String?]
        if let previous, previous.fingerprint == fingerprint {
            let start = DispatchTime.now().uptimeNanoseconds
            (anchorReasons, outfitReasons) = ctx.dirty(previous: previous, outfits: outfits)
            stats.seconds.detect = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } else {
            stats.full = true
            stats.fullReason = previous == nil ? "no previous results" : Self.why(previous!.fingerprint, fingerprint)
            anchorReasons = Array(repeating: "full recompute", count: products.count)
            outfitReasons = Array(repeating: "full recompute", count: outfits.count)
        }
        let anchorTodo = anchorReasons.indices.filter { anchorReasons[$0] != nil }
        let outfitTodo = outfitReasons.indices.filter { outfitReasons[$0] != nil }
        for r in anchorReasons.compactMap({ $0 }) { stats.anchorReasons[r, default: 0] += 1 }
        for r in outfitReasons.compactMap({ $0 }) { stats.outfitReasons[r, default: 0] += 1 }
        stats.anchorsRecomputed = anchorTodo.count
        stats.outfitsRecomputed = outfitTodo.count

        let clock = StageClock()
        let newAnchors = parallelMap(count: anchorTodo.count, progress: { progress?("complementary", $0, anchorTodo.count) }) { n in
            ctx.complementary(for: anchorTodo[n], clock: clock)
        }
        let newOutfits = parallelMap(count: outfitTodo.count, progress: { progress?("fitb", $0, outfitTodo.count) }) { n in
            ctx.blanks(for: outfits[outfitTodo[n]], clock: clock)
        }
        clock.read(into: &stats)

        // Merge: recomputed results, and the previous ones for the rest.
        var anchors: [String: AnchorResult] = [:]
        anchors.reserveCapacity(products.count)
        if !stats.full, let previous {
            for (i, p) in products.enumerated() where anchorReasons[i] == nil { anchors[p.id] = previous.anchors[p.id] }
        }
        for (n, i) in anchorTodo.enumerated() { anchors[products[i].id] = newAnchors[n] }
        var outfitResults: [String: OutfitResult] = [:]
        if !stats.full, let previous {
            for (o, outfit) in outfits.enumerated() where outfitReasons[o] == nil { outfitResults[outfit.id] = previous.outfits[outfit.id] }
        }
        for (n, o) in outfitTodo.enumerated() { outfitResults[outfits[o].id] = newOutfits[n] }

        let output = Output(complementary: products.flatMap { anchors[$0.id]?.lists ?? [] },
                            fitb: outfits.flatMap { outfitResults[$0.id]?.blanks ?? [] })
        stats.recomputedAnchorIDs = anchorTodo.map { products[$0].id }
        stats.recomputedOutfitIDs = outfitTodo.map { outfits[$0].id }
        if let previous, !stats.full {
            stats.removedAnchorIDs = previous.anchors.keys.filter { ctx.position[$0] == nil }.sorted()
            let current = Set(outfits.map(\.id))
            stats.removedOutfitIDs = previous.outfits.keys.filter { !current.contains($0) }.sorted()
        }
        let state = PrecomputeState(fingerprint: fingerprint, inputs: inputs, verdicts: verdicts,
                                    anchors: anchors, outfits: outfitResults)
        return Result(output: output, state: state, stats: stats)
    }

    /// Names what differs between two fingerprints, for the run report.
    static func why(_ old: String, _ new: String) -> String {
        func parts(_ s: String) -> [String: String] {
            var d: [String: String] = [:]
            for key in ["retrieval", "rerank"] {
                if let r = s.range(of: key + "=") {
                    d[key] = String(s[r.upperBound...].prefix { $0 != " " })
                }
            }
            return d
        }
        let a = parts(old), b = parts(new)
        if a["retrieval"] != b["retrieval"] { return "new retrieval model \(b["retrieval"] ?? "?") (was \(a["retrieval"] ?? "?"))" }
        if a["rerank"] != b["rerank"] { return "new reranker version \(b["rerank"] ?? "?") (was \(a["rerank"] ?? "?"))" }
        return "recommendation settings or slot table changed"
    }
}

/// One run's products, featurised once, and the per-list work.
struct RunContext: Sendable {
    let model: CooccurrenceModel
    let reranker: any Reranker
    let compatibility: SlotCompatibility
    let settings: RecommendSettings
    let rules: Rules
    let verdicts: [String: [String: Feedback.Verdict]]
    let items: [Item]
    let inputs: [String: ProductInput]
    /// Indices per slot of the products that may be recommended (in stock when asked).
    let bySlot: [Slot: [Int]]
    let position: [String: Int]

    init(_ p: Precomputer, products: [Product]) {
        model = p.model
        compatibility = p.compatibility
        settings = p.settings
        rules = Rules(settings: p.settings)
        verdicts = p.verdicts
        let captions = p.captions, hashes = p.imageHashes, model = p.model
        items = parallelMap(count: products.count) { i in
            Item(products[i], model: model, caption: captions[products[i].id], imageHash: hashes[products[i].id])
        }
        var inputs: [String: ProductInput] = [:]
        inputs.reserveCapacity(products.count)
        for q in products { inputs[q.id] = ProductInput(product: q, caption: captions[q.id], imageHash: hashes[q.id]) }
        self.inputs = inputs
        reranker = p.reranker ?? CooccurrenceReranker(model: model, products: products, captions: captions)
        var bySlot: [Slot: [Int]] = [:]
        for (i, q) in products.enumerated() where !p.settings.onlyInStock || q.inStock {
            bySlot[q.slot, default: []].append(i)
        }
        self.bySlot = bySlot
        position = Dictionary(products.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Stage 1 for one list: the best `settings.retrievalM` allowed candidates of `pool`
    /// by retrieval score, best first, and the approved ones (kept apart: they always
    /// reach the reranker). `threshold` is the last kept candidate when the pool
    /// filled all M places; nil when it had fewer (then any newcomer gets in).
    func retrieve(pool: [Int], query: CooccurrenceModel.Query, allows: (Item) -> Feedback.Verdict??)
        -> (top: [(Int, Double)], approved: [Int], threshold: Threshold?, scored: Int) {
        var approved: [Int] = []
        var scored = 0
        // Items are read in place: copying one retains every string of its product,
        // which costs more than the score itself.
        let top = items.withUnsafeBufferPointer { items in
            topK(settings.retrievalM, from: pool) { j in
                guard let verdict = allows(items[j]) else { return nil }
                if verdict == .approve { approved.append(j); return nil }
                scored += 1
                return model.score(query, items[j].features)
            } tieBreak: { items[$0].product.id }
        }
        let threshold = top.count == settings.retrievalM ? top.last.map { Threshold(score: $0.1, id: items[$0.0].product.id) } : nil
        return (top, approved, threshold, scored)
    }

    func complementary(for i: Int, clock: StageClock) -> AnchorResult {
        let anchor = items[i]
        var result = AnchorResult(lists: [], thresholds: [:])
        let targets = compatibility.targets(for: anchor.product.slot)
        guard !targets.isEmpty else { return result }
        let verdicts = self.verdicts[anchor.product.id] ?? [:]
        var t = clock.start()
        let query = model.query([anchor.features])
        for slot in targets {
            guard let pool = bySlot[slot] else { continue }
            let r = retrieve(pool: pool, query: query) { c in
                let v = verdicts[c.product.id]
                return rules.allows(anchor: anchor, candidate: c, verdict: v) ? .some(v) : nil
            }
            if let th = r.threshold { result.thresholds[slot.rawValue] = th }
            let candidates = r.approved + r.top.map(\.0)
            t.lap(.retrieval, scored: r.scored)
            guard !candidates.isEmpty else { continue }
            let scores = reranker.scores(context: [anchor.product], slot: slot, candidates: candidates.map { items[$0].product })
            t.lap(.rerank, scored: candidates.count)
            let approved = candidates.indices.map { $0 < r.approved.count }
            let picked = rules.select(settings.complementaryK, candidates: candidates, in: items, approved: approved,
                                      scores: scores, context: [anchor])
            let list = picked.map { c -> ScoredProduct in
                let item = items[candidates[c]]
                let reason = approved[c] ? "approved by a merchandiser"
                    : reranker.why(context: [anchor.product], slot: slot, candidate: item.product)
                        ?? "fits a \(anchor.product.slot.rawValue) with \(slot.rawValue)"
                return ScoredProduct(productID: item.product.id, score: scores[c], reason: reason)
            }
            if !list.isEmpty { result.lists.append(Recommendation(anchorID: anchor.product.id, targetSlot: slot, items: list)) }
            t.lap(.rules, scored: 0)
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
        var result = OutfitResult(outfit: outfit, blanks: [], thresholds: [:])
        let inOutfit = Set(outfit.items)
        var t = clock.start()
        for (p, member, context) in positions(of: outfit) {
            let slot = items[member].product.slot
            guard let pool = bySlot[slot] else { continue }
            let contextItems = context.map { items[$0] }
            let query = model.query(contextItems.map(\.features))
            let r = retrieve(pool: pool, query: query) { c in
                rules.allowsInOutfit(context: contextItems, outfitItems: inOutfit, candidate: c) ? .some(nil) : nil
            }
            if let th = r.threshold { result.thresholds[String(p)] = th }
            let candidates = r.top.map(\.0)
            t.lap(.retrieval, scored: r.scored)
            guard !candidates.isEmpty else { continue }
            let contextProducts = contextItems.map(\.product)
            let scores = reranker.scores(context: contextProducts, slot: slot, candidates: candidates.map { items[$0].product })
            t.lap(.rerank, scored: candidates.count)
            let picked = rules.select(settings.fitbK, candidates: candidates, in: items,
                                      approved: Array(repeating: false, count: candidates.count), scores: scores, context: contextItems)
            let list = picked.map { c -> ScoredProduct in
                let item = items[candidates[c]]
                let reason = reranker.why(context: contextProducts, slot: slot, candidate: item.product)
                    ?? "a \(slot.rawValue) for this look"
                return ScoredProduct(productID: item.product.id, score: scores[c], reason: reason)
            }
            if !list.isEmpty { result.blanks.append(BlankCandidates(outfitID: outfit.id, position: p, items: list)) }
            t.lap(.rules, scored: 0)
        }
        t.finish()
        return result
    }
}

/// Thread-seconds per stage, summed over workers (on 2 cores the wall time of a
/// stage is about half), and candidates scored.
final class StageClock: @unchecked Sendable {
    enum Stage { case retrieval, rerank, rules }
    private let lock = NSLock()
    private var nanos: [UInt64] = [0, 0, 0]
    private var scoredRetrieval = 0, scoredRerank = 0

    struct Timer {
        let clock: StageClock
        var last = DispatchTime.now().uptimeNanoseconds
        var nanos: [UInt64] = [0, 0, 0]
        var retrieval = 0, rerank = 0
        mutating func lap(_ stage: Stage, scored: Int) {
            let now = DispatchTime.now().uptimeNanoseconds
            let i = stage == .retrieval ? 0 : stage == .rerank ? 1 : 2
            nanos[i] += now - last
            last = now
            if stage == .retrieval { retrieval += scored } else if stage == .rerank { rerank += scored }
        }
        func finish() { clock.add(self) }
    }

    func start() -> Timer { Timer(clock: self) }

    private func add(_ t: Timer) {
        lock.withLock {
            for i in 0..<3 { nanos[i] += t.nanos[i] }
            scoredRetrieval += t.retrieval; scoredRerank += t.rerank
        }
    }

    func read(into stats: inout PrecomputeStats) {
        lock.withLock {
            stats.seconds.retrieval = Double(nanos[0]) / 1e9
            stats.seconds.rerank = Double(nanos[1]) / 1e9
            stats.seconds.rules = Double(nanos[2]) / 1e9
            stats.retrievalScored = scoredRetrieval
            stats.reranked = scoredRerank
        }
    }
}

/// The k best of `pool` by `score` (nil = excluded), best first; equal scores are
/// ordered by `tieBreak` ascending. O(n log k).
func topK(_ k: Int, from pool: [Int], score: (Int) -> Double?, tieBreak: (Int) -> String) -> [(Int, Double)] {
    var heap: [(Int, Double)] = []  // min-heap by (score, reversed tie-break): worst at the root
    heap.reserveCapacity(k + 1)
    func worse(_ a: (Int, Double), _ b: (Int, Double)) -> Bool {
        a.1 != b.1 ? a.1 < b.1 : tieBreak(a.0) > tieBreak(b.0)
    }
    func siftUp(_ i: Int) {
        var c = i
        while c > 0 { let p = (c - 1) / 2; if worse(heap[c], heap[p]) { heap.swapAt(c, p); c = p } else { break } }
    }
    func siftDown(_ i: Int) {
        var p = i
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < heap.count && worse(heap[l], heap[m]) { m = l }
            if r < heap.count && worse(heap[r], heap[m]) { m = r }
            if m == p { return }
            heap.swapAt(p, m); p = m
        }
    }
    for j in pool {
        guard let s = score(j) else { continue }
        let e = (j, s)
        if heap.count < k { heap.append(e); siftUp(heap.count - 1) }
        else if worse(heap[0], e) { heap[0] = e; siftDown(0) }
    }
    return heap.sorted { worse($1, $0) }
}

/// Maps `body` over 0..<count on all cores, in order. `progress` gets the number done.
func parallelMap<T: Sendable>(count: Int, progress: (@Sendable (Int) -> Void)? = nil, _ body: @Sendable (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
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
