import Dispatch
import LookbookCore

/// What a precompute leaves for the next one: its inputs and, per anchor and per
/// outfit, the lists and the retrieval thresholds.
///
/// **When a previous list is reused.** A list is a function of the anchor (or outfit),
/// its verdicts, the reranker, the settings, and the retrieval stage's top M — the
/// rerank and the rules see nothing else. With the same fingerprint (retrieval model,
/// reranker version, settings, slot table), an anchor's lists are recomputed when:
/// - the anchor is new or its input changed (product, caption or primary image hash);
/// - its merchandiser verdicts changed;
/// - a changed, new or removed product of a target slot, in its old or new version, is
///   allowed by the pair rules and either approved by the anchor or ranks, by retrieval
///   score then id, at or above the stored threshold (the M-th retrieved candidate):
///   its old version was in the top M, or its new version enters it. A product that
///   ranks below the threshold in both versions cannot change the top M, so the list
///   stands. A pool that held fewer than M candidates has no threshold: any allowed
///   newcomer counts.
///
/// Outfits the same way: recomputed when the outfit or one of its items changed, or a
/// changed product of a position's slot reaches that position's threshold.
///
/// The check scores each changed product against each anchor of a compatible slot
/// with the same retrieval function as the full run, so the comparison is exact (the
/// model's training is deterministic; see `CooccurrenceModel.version`).
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

/// The last candidate the retrieval stage kept for a list (the M-th).
public struct Threshold: Codable, Sendable, Equatable {
    public var score: Double
    public var id: String
    public init(score: Double, id: String) { self.score = score; self.id = id }

    /// Whether a candidate with this retrieval score and id ranks at or above it.
    func admits(score s: Double, id c: String) -> Bool { s > score || (s == score && c <= id) }
}

/// One anchor's complementary lists and, by target slot (raw value), its thresholds.
public struct AnchorResult: Codable, Sendable, Equatable {
    public var lists: [Recommendation]
    public var thresholds: [String: Threshold]
    public init(lists: [Recommendation], thresholds: [String: Threshold]) { self.lists = lists; self.thresholds = thresholds }
}

/// One outfit's blanks and, by position (decimal string), its thresholds.
public struct OutfitResult: Codable, Sendable, Equatable {
    public var outfit: Outfit
    public var blanks: [BlankCandidates]
    public var thresholds: [String: Threshold]
    public init(outfit: Outfit, blanks: [BlankCandidates], thresholds: [String: Threshold]) {
        self.outfit = outfit; self.blanks = blanks; self.thresholds = thresholds
    }
}

/// What a precompute did: how much it recomputed and why, and where the time went.
public struct PrecomputeStats: Sendable, Equatable, Codable {
    /// Everything was recomputed (`fullReason` says why).
    public var full = false
    public var fullReason: String?
    public var anchors = 0
    public var anchorsRecomputed = 0
    /// Recomputed anchors by reason.
    public var anchorReasons: [String: Int] = [:]
    public var outfits = 0
    public var outfitsRecomputed = 0
    public var outfitReasons: [String: Int] = [:]
    /// Candidates scored by the retrieval stage and by the reranker.
    public var retrievalScored = 0
    public var reranked = 0
    public var seconds = Seconds()
    public var recomputedAnchorIDs: [String] = []
    public var recomputedOutfitIDs: [String] = []
    public var removedAnchorIDs: [String] = []
    public var removedOutfitIDs: [String] = []

    /// Thread-seconds per stage (summed over workers), except `detect` (wall seconds
    /// spent finding what to recompute).
    public struct Seconds: Sendable, Equatable, Codable {
        public var detect = 0.0
        public var retrieval = 0.0
        public var rerank = 0.0
        public var rules = 0.0
        public init() {}
    }
    public init() {}
}

extension RunContext {
    /// One version (old or new) of a product that changed since the previous run.
    struct Changed {
        let id: String
        let item: Item
    }

    /// The reason each anchor (by product index) and outfit (by index) must be
    /// recomputed; nil: reuse the previous result.
    func dirty(previous: PrecomputeState, outfits: [Outfit]) -> ([String?], [String?]) {
        var changedIDs = Set<String>()
        var versions: [Changed] = []
        for (i, item) in items.enumerated() {
            let id = item.product.id
            let old = previous.inputs[id]
            guard old != inputs[id] else { continue }
            changedIDs.insert(id)
            versions.append(Changed(id: id, item: items[i]))
            if let old {
                versions.append(Changed(id: id, item: Item(old.product, model: model, caption: old.caption, imageHash: old.imageHash)))
            }
        }
        for (id, old) in previous.inputs where position[id] == nil {
            changedIDs.insert(id)
            versions.append(Changed(id: id, item: Item(old.product, model: model, caption: old.caption, imageHash: old.imageHash)))
        }
        versions.sort { $0.id < $1.id }
        let changed = changedIDs, changedVersions = versions

        let anchorReasons = parallelMap(count: items.count) { i -> String? in
            let anchor = items[i]
            let id = anchor.product.id
            guard let old = previous.inputs[id] else { return "new product" }
            guard old == inputs[id], let prev = previous.anchors[id] else { return "changed product" }
            let verdicts = self.verdicts[id] ?? [:]
            guard verdicts == previous.verdicts[id] ?? [:] else { return "feedback changed" }
            let targets = Set(compatibility.targets(for: anchor.product.slot))
            let relevant = changedVersions.filter { targets.contains($0.item.product.slot) }
            guard !relevant.isEmpty else { return nil }
            let query = model.query([anchor.features])
            for v in relevant {
                let verdict = verdicts[v.id]
                guard rules.allows(anchor: anchor, candidate: v.item, verdict: verdict) else { continue }
                if verdict == .approve { return "approved item changed" }
                guard let threshold = prev.thresholds[v.item.product.slot.rawValue] else { return "a changed product enters a short pool" }
                if threshold.admits(score: model.score(query, v.item.features), id: v.id) {
                    return "a changed product reaches the top \(settings.retrievalM)"
                }
            }
            return nil
        }

        let outfitReasons = parallelMap(count: outfits.count) { o -> String? in
            let outfit = outfits[o]
            guard let prev = previous.outfits[outfit.id], prev.outfit == outfit else { return "new or changed outfit" }
            if outfit.items.contains(where: changed.contains) { return "an item of the outfit changed" }
            let inOutfit = Set(outfit.items)
            for (p, member, context) in positions(of: outfit) {
                let slot = items[member].product.slot
                let relevant = changedVersions.filter { $0.item.product.slot == slot }
                guard !relevant.isEmpty else { continue }
                let contextItems = context.map { items[$0] }
                let query = model.query(contextItems.map(\.features))
                for v in relevant where rules.allowsInOutfit(context: contextItems, outfitItems: inOutfit, candidate: v.item) {
                    guard let threshold = prev.thresholds[String(p)] else { return "a changed product enters a short pool" }
                    if threshold.admits(score: model.score(query, v.item.features), id: v.id) {
                        return "a changed product reaches the top \(settings.retrievalM)"
                    }
                }
            }
            return nil
        }
        return (anchorReasons, outfitReasons)
    }
}
