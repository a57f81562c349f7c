import Dispatch
import Foundation
import LookbookCore

/// Precomputes what the store ships: complementary lists per product and target slot,
/// and candidates for every blank of every curated outfit.
///
/// Rules applied after scoring: only in-stock products (unless the settings say
/// otherwise), gender-compatible (unisex and unspecified go with all), never the
/// anchor itself or an item of the outfit being completed. Merchandiser verdicts are
/// final: a rejected item never appears in that anchor's lists, an approved one leads
/// its slot's list. Ties break by product id so the output is deterministic.
public struct Precomputer: Sendable {
    public var model: CooccurrenceModel
    public var compatibility: SlotCompatibility
    public var settings: RecommendSettings
    public var captions: [String: String]
    /// The latest verdict per anchor and item.
    var verdicts: [String: [String: Feedback.Verdict]]

    /// `feedback` is applied oldest first, so a later verdict on the same pair wins.
    public init(model: CooccurrenceModel, compatibility: SlotCompatibility = .default,
                settings: RecommendSettings = RecommendSettings(), captions: [String: String] = [:],
                feedback: [Feedback] = []) {
        self.model = model; self.compatibility = compatibility; self.settings = settings; self.captions = captions
        var v: [String: [String: Feedback.Verdict]] = [:]
        for f in feedback { v[f.anchor, default: [:]][f.item] = f.verdict }
        verdicts = v
    }

    /// Added to an approved item's score while ranking so it leads its list; removed
    /// again before the score is stored.
    static let approvedBoost = 1e9

    public struct Output: Sendable, Equatable {
        public var complementary: [Recommendation]
        public var fitb: [BlankCandidates]
    }

    /// Progress: (stage, done, total). Called from worker threads; keep it cheap.
    public typealias Progress = @Sendable (String, Int, Int) -> Void

    public func run(products: [Product], outfits: [Outfit], progress: Progress? = nil) -> Output {
        let index = PoolIndex(products: products, model: model, captions: captions, onlyInStock: settings.onlyInStock)
        let complementary = parallelMap(count: products.count, progress: { progress?("complementary", $0, products.count) }) { i in
            self.complementary(for: i, index: index)
        }.flatMap { $0 }
        let fitb = parallelMap(count: outfits.count, progress: { progress?("fitb", $0, outfits.count) }) { o in
            self.blanks(for: outfits[o], index: index)
        }.flatMap { $0 }
        return Output(complementary: complementary, fitb: fitb)
    }

    func complementary(for i: Int, index: PoolIndex) -> [Recommendation] {
        let anchor = index.products[i]
        let targets = compatibility.targets(for: anchor.slot)
        guard !targets.isEmpty else { return [] }
        let anchorFeatures = index.features[i]
        let query = model.query([anchorFeatures])
        let gender = anchor.normalizedGender
        let verdicts = self.verdicts[anchor.id] ?? [:]
        var out: [Recommendation] = []
        for slot in targets {
            guard let pool = index.bySlot[slot] else { continue }
            let top = topK(settings.complementaryK, from: pool) { j in
                guard j != i, gender.goes(with: index.genders[j]) else { return nil }
                switch verdicts[index.products[j].id] {
                case .reject?: return nil
                case .approve?: return model.score(query, index.features[j]) + Self.approvedBoost
                case nil: return model.score(query, index.features[j])
                }
            } tieBreak: { index.products[$0].id }
            guard !top.isEmpty else { continue }
            out.append(Recommendation(anchorID: anchor.id, targetSlot: slot, items: top.map { (j, s) in
                if s >= Self.approvedBoost / 2 {
                    return ScoredProduct(productID: index.products[j].id, score: s - Self.approvedBoost,
                                         reason: "approved by a merchandiser")
                }
                return ScoredProduct(productID: index.products[j].id, score: s,
                              reason: model.reason(anchor: anchorFeatures, candidate: index.features[j])
                                ?? "fits a \(anchor.slot.rawValue) with \(slot.rawValue)")
            }))
        }
        return out
    }

    func blanks(for outfit: Outfit, index: PoolIndex) -> [BlankCandidates] {
        let members = outfit.items.map { index.position[$0] }
        guard members.count >= 2 else { return [] }
        let inOutfit = Set(members.compactMap { $0 })
        var out: [BlankCandidates] = []
        for (position, member) in members.enumerated() {
            guard let member else { continue }
            let context = members.enumerated().compactMap { $0.offset == position ? nil : $0.element }
            guard !context.isEmpty, let pool = index.bySlot[index.products[member].slot] else { continue }
            let query = model.query(context.map { index.features[$0] })
            let contextFeatures = context.map { index.features[$0] }
            let top = topK(settings.fitbK, from: pool) { j in
                inOutfit.contains(j) ? nil : model.score(query, index.features[j])
            } tieBreak: { index.products[$0].id }
            guard !top.isEmpty else { continue }
            out.append(BlankCandidates(outfitID: outfit.id, position: position, items: top.map { (j, s) in
                let why = contextFeatures.lazy.compactMap { model.reason(anchor: $0, candidate: index.features[j]) }.first
                return ScoredProduct(productID: index.products[j].id, score: s,
                                     reason: why ?? "a \(index.products[j].slot.rawValue) for this look")
            }))
        }
        return out
    }
}

/// Products grouped for scoring: features computed once, pools per slot.
struct PoolIndex: Sendable {
    let products: [Product]
    let features: [CooccurrenceModel.FeatureSet]
    let genders: [Gender]
    /// Candidate indices per slot (in stock only when asked).
    let bySlot: [Slot: [Int]]
    let position: [String: Int]

    init(products: [Product], model: CooccurrenceModel, captions: [String: String], onlyInStock: Bool) {
        self.products = products
        features = products.map { model.featureSet(of: $0, caption: captions[$0.id]) }
        genders = products.map(\.normalizedGender)
        var bySlot: [Slot: [Int]] = [:]
        for (i, p) in products.enumerated() where !onlyInStock || p.inStock {
            bySlot[p.slot, default: []].append(i)
        }
        self.bySlot = bySlot
        position = Dictionary(products.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
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
