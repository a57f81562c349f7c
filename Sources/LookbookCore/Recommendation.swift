/// A ranked product in a recommendation list, with the evidence for it.
public struct ScoredProduct: Sendable, Equatable, Hashable, Codable {
    public var productID: String
    /// Higher is better; comparable only within one list.
    public var score: Double
    /// A short human-readable "why".
    public var reason: String

    public init(productID: String, score: Double, reason: String) {
        self.productID = productID; self.score = score; self.reason = reason
    }
}

/// What a storefront shows on a product page: items of one target slot that complete
/// the anchor's look, best first.
public struct Recommendation: Sendable, Equatable, Hashable, Codable {
    public var anchorID: String
    public var targetSlot: Slot
    public var items: [ScoredProduct]

    public init(anchorID: String, targetSlot: Slot, items: [ScoredProduct]) {
        self.anchorID = anchorID; self.targetSlot = targetSlot; self.items = items
    }
}

/// Products that could fill one blank of a curated outfit, best first.
public struct BlankCandidates: Sendable, Equatable, Hashable, Codable {
    public var outfitID: String
    /// 0-based position of the blank in the outfit's `items`.
    public var position: Int
    public var items: [ScoredProduct]

    public init(outfitID: String, position: Int, items: [ScoredProduct]) {
        self.outfitID = outfitID; self.position = position; self.items = items
    }
}
