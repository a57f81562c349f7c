import Dispatch
import Foundation
import LookbookCore

/// What a precompute leaves for the next one: its inputs and, per anchor and per
/// outfit, the lists and what the retrieval stage kept for each of them.
///
/// **What an incremental run does with a previous list.** A list is a function of the
/// anchor (or outfit), its verdicts, the reranker, the settings and the retrieval
/// stage's top M — the rerank and the rules see nothing else. With the same
/// fingerprint (retrieval model, reranker version, settings, slot table, state format):
/// - **recompute** an anchor when it is new or its input changed (product, caption or
///   primary image hash), its merchandiser verdicts changed, or an item it approved
///   changed; an outfit when it or one of its items changed;
/// - **patch** a list when a changed, new or removed product can enter or leave what its
///   retrieval stage kept (`RetrievedList`: the top M, a reserve behind them, and the
///   cutoff below which nothing was kept). Only the changed products are scored against
///   the anchor: the kept ids lose the changed and removed ones, the new versions that
///   rank at or above the cutoff join, and the order is restored by retrieval score then
///   id. When the top M is unchanged and none of its members changed, the list stands;
///   otherwise only the candidates without a stored rerank score (new or changed ones)
///   are reranked and the list rules run again. When more candidates left than the
///   reserve can refill, that one list walks its pool again;
/// - **reuse** every other list as it is.
///
/// Why this equals a full recompute: every allowed candidate that was not kept ranked
/// below the cutoff; an unchanged one still does (same model, same anchor, same score),
/// and each changed one is scored. Rerank scores of unchanged candidates are reused,
/// which needs a reranker whose score of a candidate depends only on the look and the
/// candidate (see `Reranker`).
public struct PrecomputeState: Sendable, Equatable {
    public var fingerprint: String
    public var inputs: [String: ProductInput]
    /// Latest verdict per anchor and item that the lists were made with.
    public var verdicts: [String: [String: Feedback.Verdict]]
    public var anchors: [String: AnchorResult]
    public var outfits: [String: OutfitResult]

    public init(fingerprint: String, inputs: [String: ProductInput], verdicts: [String: [String: Feedback.Verdict]],
                anchors: [String: AnchorResult], outfits: [String: OutfitResult]) {
        self.fingerprint = fingerprint; self.inputs = inputs; self.verdicts = verdicts
        self.anchors = anchors; self.outfits = outfits
    }
}

/// Everything about one product that the precompute reads.
public struct ProductInput: Codable, Sendable, Equatable {
    public var product: Product
    public var caption: String?
    public var imageHash: String?
    public init(product: Product, caption: String?, imageHash: String?) {
        self.product = product; self.caption = caption; self.imageHash = imageHash
    }
    enum CodingKeys: String, CodingKey {
        case product, caption
        case imageHash = "image_sha256"
    }
}

/// A candidate's place in the retrieval order: its score and id.
public struct Threshold: Codable, Sendable, Equatable {
    public var score: Double
    public var id: String
    public init(score: Double, id: String) { self.score = score; self.id = id }

    /// Whether a candidate with this retrieval score and id ranks at or above it.
    func admits(score s: Double, id c: String) -> Bool { s > score || (s == score && c <= id) }
}

/// What the retrieval stage kept for one list, and the reranker's scores of it.
///
/// `ranked` holds the best allowed candidates of the pool, best first by retrieval
/// score then id: the first `reranked` went to the reranker (the top M), the rest are
/// a reserve that refills the top M when candidates leave. Every allowed candidate not
/// in `ranked` ranks below `cutoff`; nil: `ranked` is the whole allowed pool.
public struct RetrievedList: Codable, Sendable, Equatable {
    /// Merchandiser-approved candidates: reranked whatever their retrieval score.
    public var approved: [String]
    public var ranked: [String]
    public var reranked: Int
    public var cutoff: Threshold?
    /// Rerank scores of `candidates`.
    public var scores: [Double]
    /// The second source when the reranker has a prior (`PriorReranker`), else nil.
    public var prior: PriorList?
    /// The look in the StyleLM bag space (`RetrievalSpace.styleLMBag`, or the StyleLM
    /// half of a `HybridReranker` that scores by bag: `HybridBag`), else nil.
    public var look: BagLook?

    public init(approved: [String], ranked: [String], reranked: Int, cutoff: Threshold?, scores: [Double], prior: PriorList? = nil) {
        self.approved = approved; self.ranked = ranked; self.reranked = reranked; self.cutoff = cutoff; self.scores = scores
        self.prior = prior
    }

    /// The candidates the reranker saw: approved ones, then the top M, then the prior's
    /// top that the top M does not hold.
    public var candidates: [String] {
        let top = ranked.prefix(reranked)
        guard let prior, prior.reranked > 0 else { return approved + top }
        let inTop = Set(top)
        return approved + top + prior.ranked.prefix(prior.reranked).filter { !inTop.contains($0) }
    }

    // Ids are joined by spaces: valid product ids never contain one (`Product.isValidID`),
    // and a list keeps ~125 of them, so the state stays a third of the size.
    enum CodingKeys: String, CodingKey { case approved, ranked, reranked, cutoff, scores, prior, look }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func ids(_ key: CodingKeys) throws -> [String] {
            let s = try c.decode(String.self, forKey: key)
            return s.isEmpty ? [] : s.split(separator: " ").map(String.init)
        }
        approved = try ids(.approved); ranked = try ids(.ranked)
        reranked = try c.decode(Int.self, forKey: .reranked)
        cutoff = try c.decodeIfPresent(Threshold.self, forKey: .cutoff)
        scores = try c.decode([Double].self, forKey: .scores)
        prior = try c.decodeIfPresent(PriorList.self, forKey: .prior)
        look = try c.decodeIfPresent(BagLook.self, forKey: .look)
        guard reranked <= ranked.count, prior.map({ $0.reranked <= $0.ranked.count }) ?? true, scores.count == candidates.count else {
            throw DecodingError.dataCorruptedError(forKey: .scores, in: c, debugDescription: "scores do not match the candidates")
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(approved.joined(separator: " "), forKey: .approved)
        try c.encode(ranked.joined(separator: " "), forKey: .ranked)
        try c.encode(reranked, forKey: .reranked)
        try c.encodeIfPresent(cutoff, forKey: .cutoff)
        try c.encode(scores, forKey: .scores)
        try c.encodeIfPresent(prior, forKey: .prior)
        try c.encodeIfPresent(look, forKey: .look)
    }
}

/// A look in the StyleLM bag space, as a kept list stores it: the model's final-norm
/// hidden state at the blank, the look's most likely token and the offset that turns the
/// output projection's dot product with the state into that token's log-probability. An
/// incremental run bounds a changed product's bag score with it, and rebuilds the look's
/// whole distribution from it, without a forward pass. Encoded as base64 of each value's
/// bits, little-endian: ~1.4 KiB at hidden size 256.
public final class BagLook: Codable, Sendable, Equatable {
    public let hidden: [Float]
    public let token: Int32
    public let offset: Double

    public init(hidden: [Float], token: Int32, offset: Double) { self.hidden = hidden; self.token = token; self.offset = offset }

    public static func == (a: BagLook, b: BagLook) -> Bool {
        a.hidden.map(\.bitPattern) == b.hidden.map(\.bitPattern) && a.token == b.token && a.offset.bitPattern == b.offset.bitPattern
    }

    enum CodingKeys: String, CodingKey { case hidden = "h", token = "t", offset = "c" }
    public required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let data = Data(base64Encoded: try c.decode(String.self, forKey: .hidden)), data.count % 4 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .hidden, in: c, debugDescription: "the hidden state is not base64 of 4-byte floats")
        }
        let bytes = [UInt8](data)
        var values: [Float] = []
        values.reserveCapacity(bytes.count / 4)
        for i in stride(from: 0, to: bytes.count, by: 4) {
            let low = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8
            let high = UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            values.append(Float(bitPattern: low | high))
        }
        hidden = values
        token = try c.decode(Int32.self, forKey: .token)
        offset = try c.decode(Double.self, forKey: .offset)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hidden.count * 4)
        for v in hidden {
            let b = v.bitPattern
            bytes.append(UInt8(truncatingIfNeeded: b)); bytes.append(UInt8(truncatingIfNeeded: b >> 8))
            bytes.append(UInt8(truncatingIfNeeded: b >> 16)); bytes.append(UInt8(truncatingIfNeeded: b >> 24))
        }
        try c.encode(Data(bytes).base64EncodedString(), forKey: .hidden)
        try c.encode(token, forKey: .token)
        try c.encode(offset, forKey: .offset)
    }
}

/// What the prior source kept for one list (see `PriorReranker`): the best allowed
/// candidates by the reranker's prior then id, the first `reranked` went to the
/// reranker, the rest are a reserve; every allowed candidate not in `ranked` ranks
/// below `cutoff` (nil: `ranked` is the whole allowed pool).
public struct PriorList: Codable, Sendable, Equatable {
    public var ranked: [String]
    public var reranked: Int
    public var cutoff: Threshold?
    public init(ranked: [String], reranked: Int, cutoff: Threshold?) { self.ranked = ranked; self.reranked = reranked; self.cutoff = cutoff }
    enum CodingKeys: String, CodingKey { case ranked, reranked, cutoff }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let s = try c.decode(String.self, forKey: .ranked)
        ranked = s.isEmpty ? [] : s.split(separator: " ").map(String.init)
        reranked = try c.decode(Int.self, forKey: .reranked)
        cutoff = try c.decodeIfPresent(Threshold.self, forKey: .cutoff)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ranked.joined(separator: " "), forKey: .ranked)
        try c.encode(reranked, forKey: .reranked)
        try c.encodeIfPresent(cutoff, forKey: .cutoff)
    }
}

/// One anchor's complementary lists and, by target slot (raw value), what retrieval kept.
public struct AnchorResult: Codable, Sendable, Equatable {
    public var lists: [Recommendation]
    public var retrieved: [String: RetrievedList]
    public init(lists: [Recommendation], retrieved: [String: RetrievedList]) { self.lists = lists; self.retrieved = retrieved }
    enum CodingKeys: String, CodingKey { case lists, retrieved }
    /// A row of an older state format has no `retrieved`: it decodes, and the
    /// fingerprint (which names the format) makes the run recompute everything.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lists = try c.decode([Recommendation].self, forKey: .lists)
        retrieved = try c.decodeIfPresent([String: RetrievedList].self, forKey: .retrieved) ?? [:]
    }
}

/// One outfit's blanks and, by position (decimal string), what retrieval kept.
public struct OutfitResult: Codable, Sendable, Equatable {
    public var outfit: Outfit
    public var blanks: [BlankCandidates]
    public var retrieved: [String: RetrievedList]
    public init(outfit: Outfit, blanks: [BlankCandidates], retrieved: [String: RetrievedList]) {
        self.outfit = outfit; self.blanks = blanks; self.retrieved = retrieved
    }
    enum CodingKeys: String, CodingKey { case outfit, blanks, retrieved }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        outfit = try c.decode(Outfit.self, forKey: .outfit)
        blanks = try c.decode([BlankCandidates].self, forKey: .blanks)
        retrieved = try c.decodeIfPresent([String: RetrievedList].self, forKey: .retrieved) ?? [:]
    }
}

/// What a precompute did: how much it recomputed and why, and where the time went.
public struct PrecomputeStats: Sendable, Equatable, Codable {
    /// Everything was recomputed (`fullReason` says why).
    public var full = false
    public var fullReason: String?
    public var anchors = 0
    /// Anchors recomputed from scratch (all of them in a full run), by reason.
    public var anchorsRecomputed = 0
    public var anchorReasons: [String: Int] = [:]
    /// Anchors with at least one list patched (incremental runs).
    public var anchorsPatched = 0
    public var outfits = 0
    public var outfitsRecomputed = 0
    public var outfitReasons: [String: Int] = [:]
    public var outfitsPatched = 0
    /// Lists of unchanged anchors and outfits that a changed product reached.
    public var patch = PatchCounts()
    /// Candidates scored by the retrieval stage and by the reranker.
    public var retrievalScored = 0
    public var reranked = 0
    /// Forward passes of the bag retrieval space (one per look and slot it scored).
    public var prefills = 0
    public var seconds = Seconds()
    /// Wall seconds by phase (nil in stats written before it).
    public var wall: Wall?
    public var recomputedAnchorIDs: [String] = []
    public var patchedAnchorIDs: [String] = []
    public var recomputedOutfitIDs: [String] = []
    public var patchedOutfitIDs: [String] = []
    public var removedAnchorIDs: [String] = []
    public var removedOutfitIDs: [String] = []

    /// Lists reached by a change: `lists` in all; `rescored` of them had their top M
    /// change (rerank of the newcomers, rules again); `rewalked` lost more than their
    /// reserve and walked their pool again. The others only updated their reserve.
    public struct PatchCounts: Sendable, Equatable, Codable {
        public var lists = 0
        public var rescored = 0
        public var rewalked = 0
        public init() {}
        static func + (a: Self, b: Self) -> Self {
            var c = a; c.lists += b.lists; c.rescored += b.rescored; c.rewalked += b.rewalked; return c
        }
    }

    /// Wall seconds of a run's phases: `setup` featurises the products and builds the
    /// retrieval spaces (and in an incremental run finds the changes); `lists` makes,
    /// patches or reuses every list (where the stages' thread-seconds are spent);
    /// `total` adds gathering the output and the state.
    public struct Wall: Sendable, Equatable, Codable {
        public var setup = 0.0
        public var lists = 0.0
        public var total = 0.0
        public init() {}
    }

    /// Thread-seconds per stage (summed over workers). `detect`: finding what changed and
    /// scoring the changed products against the kept lists (incremental runs; in a full
    /// run it is the small rest: building queries and lists).
    /// `prefill`: the bag retrieval space's forward pass per look (not in `retrieval`);
    /// `why`: the reasons of the shown items (not in `rules`).
    public struct Seconds: Sendable, Equatable, Codable {
        public var detect = 0.0
        public var retrieval = 0.0
        public var rerank = 0.0
        public var rules = 0.0
        public var prefill = 0.0
        public var why = 0.0
        public init() {}
        enum CodingKeys: String, CodingKey { case detect, retrieval, rerank, rules, prefill, why }
        /// Stats written before `prefill` and `why` existed decode with 0 there.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            detect = try c.decodeIfPresent(Double.self, forKey: .detect) ?? 0
            retrieval = try c.decodeIfPresent(Double.self, forKey: .retrieval) ?? 0
            rerank = try c.decodeIfPresent(Double.self, forKey: .rerank) ?? 0
            rules = try c.decodeIfPresent(Double.self, forKey: .rules) ?? 0
            prefill = try c.decodeIfPresent(Double.self, forKey: .prefill) ?? 0
            why = try c.decodeIfPresent(Double.self, forKey: .why) ?? 0
        }
    }
    public init() {}
}

/// The products that changed since the previous run, by slot, in both versions.
struct ChangeSet: Sendable {
    /// Ids whose input changed, new ids and removed ids.
    let ids: Set<String>
    /// Per slot, the versions of changed products in it: the new one (an index into the
    /// run's items) and the old one (featurised with the current model).
    let bySlot: [Slot: [Version]]
    /// The reranker's prior of the old versions, by id (the prior source is on).
    var oldPrior: [String: Double] = [:]
    /// The old versions' word vectors, by id (word-vector retrieval).
    var oldVectors: [String: PPMISVDModel.ItemVectors] = [:]
    /// The old versions' distinct tokens, by id (bag retrieval).
    var oldBags: [String: [Int32]] = [:]

    struct Version: Sendable {
        let id: String
        let current: Int?
        let old: Item?
    }
}

extension RunContext {
    func changes(since previous: PrecomputeState) -> ChangeSet {
        var ids = Set<String>()
        var bySlot: [Slot: [ChangeSet.Version]] = [:]
        for (i, item) in items.enumerated() {
            let id = item.product.id
            let old = previous.inputs[id]
            guard old != inputs[id] else { continue }
            ids.insert(id)
            bySlot[item.product.slot, default: []].append(.init(id: id, current: i, old: nil))
            if let old {
                bySlot[old.product.slot, default: []].append(
                    .init(id: id, current: nil, old: Item(old.product, model: model, caption: old.caption, imageHash: old.imageHash)))
            }
        }
        for (id, old) in previous.inputs where position[id] == nil {
            ids.insert(id)
            bySlot[old.product.slot, default: []].append(
                .init(id: id, current: nil, old: Item(old.product, model: model, caption: old.caption, imageHash: old.imageHash)))
        }
        for s in bySlot.keys { bySlot[s]!.sort { $0.id < $1.id } }
        var set = ChangeSet(ids: ids, bySlot: bySlot)
        if let vectors {
            for (id, old) in previous.inputs where ids.contains(id) {
                set.oldVectors[id] = vectors.model.vectors(of: old.product, caption: old.caption)
            }
        }
        if let bag {
            for (id, old) in previous.inputs where ids.contains(id) {
                set.oldBags[id] = bag.bag(of: old.product, caption: old.caption)
            }
        }
        if let priorReranker, priorM > 0 {
            let olds = bySlot.values.flatMap { $0 }.compactMap { v in v.old.map { (v.id, $0.product) } }
            let p = Self.priors(priorReranker, olds.map(\.1))
            for (o, v) in zip(olds, p) { set.oldPrior[o.0] = v }
        }
        return set
    }

    /// Whether a change can reach what the prior source kept for a list (as `reaches`).
    func reachesPrior(_ kept: PriorList, versions: [ChangeSet.Version], oldPrior: [String: Double], filter: Filter) -> Bool {
        for v in versions {
            let score: Double
            if let c = v.current {
                guard let verdict = filter.allows(c), verdict != .approve else { continue }
                score = prior[c]
            } else if let old = v.old {
                guard filter.allowsOld(old), let s = oldPrior[v.id] else { continue }
                score = s
            } else { continue }
            guard let cutoff = kept.cutoff else { return true }
            if cutoff.admits(score: score, id: v.id) { return true }
        }
        return false
    }

    /// Whether a change reaches either source of a list.
    func reachesList(_ kept: RetrievedList, versions: [ChangeSet.Version], changes: ChangeSet, weights: [Float], filter: Filter) -> Bool {
        if reaches(kept, versions: versions, weights: weights, filter: filter, changes: changes) { return true }
        guard priorM > 0 else { return false }
        guard let p = kept.prior else { return true }
        return reachesPrior(p, versions: versions, oldPrior: changes.oldPrior, filter: filter)
    }

    /// The prior source's kept candidates after the changes (as `patched`); empty when
    /// the source is off, nil when it must walk its pool again.
    func patchedPrior(_ kept: RetrievedList, versions: [ChangeSet.Version], changed: Set<String>, filter: Filter)
        -> (ranked: [(Int, Double)], cutoff: Threshold?)? {
        guard priorM > 0 else { return ([], nil) }
        guard let p = kept.prior else { return nil }
        let prior = self.prior
        return patchedRanking(p.ranked, cutoff: p.cutoff, m: priorM, depth: priorDepth, versions: versions, changed: changed,
                              filter: filter) { prior[$0] }
    }

    /// In the bag space, whether a change may reach a kept list, from the stored look
    /// alone (`BagSpace.upperBound`, no forward pass): false only when every allowed
    /// version's score bound ranks below the cutoff, so the exact check would say no too.
    /// True without a stored look (a state from before it) or a cutoff.
    func bagMayReach(_ kept: RetrievedList, cache: [Int32: Float], slot: Slot, versions: [ChangeSet.Version], changes: ChangeSet,
                     filter: Filter) -> Bool {
        guard let bag, let look = kept.look, let cutoff = kept.cutoff else { return true }
        let prior = bag.calibrated ? bag.scoring.bagPrior(slot) : nil
        for v in versions {
            let bound: Double
            if let c = v.current {
                guard let verdict = filter.allows(c), verdict != .approve else { continue }
                bound = bag.upperBound(bag.tokens(of: c), look: look, prior: prior, cache: cache)
            } else if let old = v.old {
                guard filter.allowsOld(old) else { continue }
                guard let o = changes.oldBags[v.id] else { return true }
                bound = bag.upperBound(o, look: look, prior: prior, cache: cache)
            } else { continue }
            if bound >= cutoff.score { return true }
        }
        return false
    }

    /// Whether a change can reach what retrieval kept for a list: a version that is
    /// allowed and ranks at or above the cutoff (any allowed one when there is none).
    func reaches(_ kept: RetrievedList, versions: [ChangeSet.Version], weights: [Float], filter: Filter,
                 changes: ChangeSet) -> Bool {
        for v in versions {
            let score: Double
            let id = v.id
            if let c = v.current {
                guard let verdict = filter.allows(c), verdict != .approve else { continue }
                score = weights.withUnsafeBufferPointer { retrievalScore($0, c) }
            } else if let old = v.old {
                guard filter.allowsOld(old) else { continue }
                if let vectors {
                    guard let o = changes.oldVectors[id] else { return true }  // cannot happen: every old version is vectorised
                    score = vectors.model.score(weights, o)
                } else if let bag {
                    guard let o = changes.oldBags[id] else { return true }  // cannot happen: every old version has its bag
                    score = bag.score(tokens: o, weights)
                } else {
                    score = model.score(CooccurrenceModel.Query(weights: weights), old.features)
                }
            } else { continue }
            guard let cutoff = kept.cutoff else { return true }
            if cutoff.admits(score: score, id: id) { return true }
        }
        return false
    }

    /// The list's kept candidates after the changes: unchanged kept ids, plus the new
    /// versions that rank at or above the cutoff, in retrieval order. nil when fewer
    /// than M remain but the pool had more (walk it again).
    func patched(_ kept: RetrievedList, versions: [ChangeSet.Version], changed: Set<String>, weights: [Float], filter: Filter)
        -> (ranked: [(Int, Double)], cutoff: Threshold?)? {
        return weights.withUnsafeBufferPointer { w in
            patchedRanking(kept.ranked, cutoff: kept.cutoff, m: settings.retrievalM, depth: depth, versions: versions, changed: changed,
                           filter: filter) { retrievalScore(w, $0) }
        }
    }

    /// One source's kept ids after the changes, by `score` then id, at most `depth`.
    func patchedRanking(_ keptRanked: [String], cutoff keptCutoff: Threshold?, m: Int, depth: Int, versions: [ChangeSet.Version],
                        changed: Set<String>, filter: Filter, score: (Int) -> Double) -> (ranked: [(Int, Double)], cutoff: Threshold?)? {
        var members: [Int] = []
        members.reserveCapacity(keptRanked.count + versions.count)
        for id in keptRanked where !changed.contains(id) {
            guard let j = position[id] else { return nil }  // cannot happen: unchanged ids are in the catalog
            members.append(j)
        }
        for v in versions {
            guard let c = v.current, let verdict = filter.allows(c), verdict != .approve else { continue }
            let s = score(c)
            if keptCutoff == nil || keptCutoff!.admits(score: s, id: v.id) { members.append(c) }
        }
        var ranked = members.map { ($0, score($0)) }
        ranked.sort { $0.1 != $1.1 ? $0.1 > $1.1 : index.rank[$0.0] < index.rank[$1.0] }
        if ranked.count < m && keptCutoff != nil { return nil }
        if ranked.count > depth {
            ranked.removeLast(ranked.count - depth)
            let last = ranked[ranked.count - 1]
            return (ranked, Threshold(score: last.1, id: items[last.0].product.id))
        }
        return (ranked, keptCutoff)
    }

    enum Outcome<R: Sendable>: Sendable {
        case reuse
        case patched(R, StageCounts)
        case recomputed(R, String)
    }

    struct StageCounts: Sendable {
        var patch = PrecomputeStats.PatchCounts()
    }

    /// An unchanged anchor's lists after the changes, or why it must be recomputed.
    func incremental(anchor i: Int, previous: PrecomputeState, changes: ChangeSet, clock: StageClock) -> Outcome<AnchorResult> {
        let anchor = items[i]
        let id = anchor.product.id
        guard let old = previous.inputs[id] else { return .recomputed(complementary(for: i, clock: clock), "new product") }
        guard old == inputs[id], let prev = previous.anchors[id] else {
            return .recomputed(complementary(for: i, clock: clock), "changed product")
        }
        let verdicts = self.verdicts[id] ?? [:]
        guard verdicts == previous.verdicts[id] ?? [:] else { return .recomputed(complementary(for: i, clock: clock), "feedback changed") }
        if verdicts.contains(where: { $0.value == .approve && changes.ids.contains($0.key) }) {
            return .recomputed(complementary(for: i, clock: clock), "approved item changed")
        }
        let targets = compatibility.targets(for: anchor.product.slot)
        guard targets.contains(where: { changes.bySlot[$0] != nil }) else { return .reuse }

        var t = clock.start()
        let shared = queryPerSlot ? nil : query([i], slot: anchor.product.slot)
        let cache = shared == nil ? bag?.cache([anchor.product]) ?? [:] : [:]  // the anchor's look, every slot
        let filter = anchorFilter(i)
        var counts = StageCounts()
        var result = prev
        for slot in targets {
            guard let versions = changes.bySlot[slot] else { continue }
            guard let kept = prev.retrieved[slot.rawValue] else {
                // Cannot happen with this state format: every target slot keeps a list.
                t.finish()
                return .recomputed(complementary(for: i, clock: clock), "changed product")
            }
            let weights: [Float]
            if let shared { weights = shared } else {
                guard bagMayReach(kept, cache: cache, slot: slot, versions: versions, changes: changes, filter: filter) else {
                    continue
                }
                t.lap(.detect, scored: 0)
                if let state = kept.look, let w = bag?.query(look: state, slot: slot, cache: cache) {
                    weights = w
                    t.lap(.retrieval, scored: 0)
                } else {
                    weights = query([i], slot: slot)
                    t.lap(.prefill, scored: 0)
                }
            }
            guard reachesList(kept, versions: versions, changes: changes, weights: weights, filter: filter) else { continue }
            switch patch(kept, look: .anchor(i), slot: slot, versions: versions, changes: changes, weights: weights, filter: filter,
                         counts: &counts, timer: &t) {
            case .reserve(let k):
                result.retrieved[slot.rawValue] = k
            case .list(let list):
                result.retrieved[slot.rawValue] = list.retrieved
                result.lists.removeAll { $0.targetSlot == slot }
                if !list.items.isEmpty {
                    result.lists.append(Recommendation(anchorID: id, targetSlot: slot, items: list.items))
                }
            }
        }
        t.finish()
        guard counts.patch.lists > 0 else { return .reuse }
        // Lists in target-slot order, as a full run makes them.
        result.lists.sort { a, b in
            (targets.firstIndex(of: a.targetSlot) ?? 0) < (targets.firstIndex(of: b.targetSlot) ?? 0)
        }
        return .patched(result, counts)
    }

    /// An unchanged outfit's blanks after the changes, or why it must be recomputed.
    func incremental(outfit: Outfit, previous: PrecomputeState, changes: ChangeSet, clock: StageClock) -> Outcome<OutfitResult> {
        guard let prev = previous.outfits[outfit.id], prev.outfit == outfit else {
            return .recomputed(blanks(for: outfit, clock: clock), "new or changed outfit")
        }
        if outfit.items.contains(where: changes.ids.contains) {
            return .recomputed(blanks(for: outfit, clock: clock), "an item of the outfit changed")
        }
        var t = clock.start()
        var counts = StageCounts()
        var result = prev
        for (p, member, context) in positions(of: outfit) {
            let slot = items[member].product.slot
            guard let versions = changes.bySlot[slot] else { continue }
            guard let kept = prev.retrieved[String(p)] else {
                t.finish()
                return .recomputed(blanks(for: outfit, clock: clock), "an item of the outfit changed")
            }
            let filter = outfitFilter(outfit: outfit, context: context)
            let cache = queryPerSlot ? bag?.cache(context.map { items[$0].product }) ?? [:] : [:]
            if queryPerSlot {
                guard bagMayReach(kept, cache: cache, slot: slot, versions: versions, changes: changes, filter: filter) else {
                    continue
                }
            }
            t.lap(.detect, scored: 0)
            let weights: [Float]
            if queryPerSlot, let state = kept.look, let w = bag?.query(look: state, slot: slot, cache: cache) {
                weights = w
                t.lap(.retrieval, scored: 0)
            } else {
                weights = query(context, slot: slot)
                if queryPerSlot { t.lap(.prefill, scored: 0) }
            }
            guard reachesList(kept, versions: versions, changes: changes, weights: weights, filter: filter) else { continue }
            switch patch(kept, look: .outfit(context), slot: slot, versions: versions, changes: changes, weights: weights,
                         filter: filter, counts: &counts, timer: &t) {
            case .reserve(let k):
                result.retrieved[String(p)] = k
            case .list(let list):
                result.retrieved[String(p)] = list.retrieved
                result.blanks.removeAll { $0.position == p }
                if !list.items.isEmpty { result.blanks.append(BlankCandidates(outfitID: outfit.id, position: p, items: list.items)) }
            }
        }
        t.finish()
        guard counts.patch.lists > 0 else { return .reuse }
        result.blanks.sort { $0.position < $1.position }
        return .patched(result, counts)
    }

    /// What patching one kept list gave: only its reserve moved (the items shown stay), or
    /// a new list.
    enum ListPatch {
        case reserve(RetrievedList)
        case list(ListResult)
    }

    /// One kept list that a change reaches, for an anchor or an outfit's blank alike. The
    /// changed products are scored against its cutoffs; when neither kept top (retrieval's
    /// top M, the prior's top) moved or holds a changed item, only the reserve is updated;
    /// otherwise the newcomers are reranked and the list rules run again; a list that lost
    /// more than its reserve walks its pool again. Approved items belong to anchors only.
    func patch(_ kept: RetrievedList, look: Look, slot: Slot, versions: [ChangeSet.Version], changes: ChangeSet,
               weights: [Float], filter: Filter, counts: inout StageCounts, timer t: inout StageClock.Timer) -> ListPatch {
        t.lap(.detect, scored: 0)
        counts.patch.lists += 1
        let isAnchor = if case .anchor = look { true } else { false }
        guard let (ranked, cutoff) = patched(kept, versions: versions, changed: changes.ids, weights: weights, filter: filter),
              let (prior, priorCutoff) = patchedPrior(kept, versions: versions, changed: changes.ids, filter: filter) else {
            counts.patch.rewalked += 1
            counts.patch.rescored += 1
            let w = walk(pool: bySlot[slot] ?? [], weights: weights, filter: filter)
            t.lap(.retrieval, scored: w.scored)
            return .list(finish(look, slot: slot, weights: weights, approved: isAnchor ? w.approved : [], ranked: w.ranked,
                                cutoff: w.cutoff, prior: w.prior, priorCutoff: w.priorCutoff, known: known(kept, changed: changes.ids),
                                stored: kept.look, timer: &t))
        }
        let oldTop = Array(kept.ranked.prefix(kept.reranked))
        let newTop = ranked.prefix(settings.retrievalM).map { items[$0.0].product.id }
        t.lap(.retrieval, scored: ranked.count)
        let oldPriorTop = kept.prior.map { Array($0.ranked.prefix($0.reranked)) } ?? []
        let newPriorTop = prior.prefix(priorM).map { items[$0.0].product.id }
        if newTop == oldTop && !oldTop.contains(where: changes.ids.contains)
            && newPriorTop == oldPriorTop && !oldPriorTop.contains(where: changes.ids.contains) {
            var k = kept
            k.ranked = ranked.map { items[$0.0].product.id }
            k.cutoff = cutoff
            if priorM > 0 { k.prior = PriorList(ranked: prior.map { items[$0.0].product.id }, reranked: newPriorTop.count, cutoff: priorCutoff) }
            return .reserve(k)
        }
        counts.patch.rescored += 1
        let approved = isAnchor ? kept.approved.compactMap { position[$0] } : []
        return .list(finish(look, slot: slot, weights: weights, approved: approved, ranked: ranked, cutoff: cutoff,
                            prior: prior, priorCutoff: priorCutoff, known: known(kept, changed: changes.ids), stored: kept.look, timer: &t))
    }

    /// Stored rerank scores of the candidates that did not change.
    func known(_ kept: RetrievedList, changed: Set<String>) -> [String: Double] {
        var out: [String: Double] = [:]
        out.reserveCapacity(kept.scores.count)
        for (id, s) in zip(kept.candidates, kept.scores) where !changed.contains(id) { out[id] = s }
        return out
    }
}
