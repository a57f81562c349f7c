import Foundation
import LookbookCore
import StyleModel

/// StyleLM through the evaluation harness: an item is its slot and words (caption or
/// title), nothing that identifies it.
public struct StyleLMScorer: Scorer {
    public let scoring: StyleLMScoring
    public let name: String

    public init(_ scoring: StyleLMScoring, name: String? = nil) {
        self.scoring = scoring
        let method = scoring.options.method == .sequence ? "" : "-" + scoring.options.method.rawValue
        self.name = name ?? ("stylelm" + method + (scoring.calibrated ? "" : "-uncalibrated"))
    }

    /// The product as the model reads it (its recipe's text format).
    public func encode(_ content: Product) -> ItemText { scoring.prompts.item(content) }

    /// Each candidate fills the blank of its own slot. Candidates of one category share a
    /// slot and are scored together; questions whose negatives come from any category mix
    /// slots, and each slot's candidates are scored under that slot's blank (one look
    /// prefill per slot), so a candidate's score never depends on which candidate is first.
    public func scores(context: [ItemText], candidates: [ItemText]) -> [Double] {
        var out = [Double](repeating: 0, count: candidates.count)
        var indicesBySlot: [Slot: [Int]] = [:]
        var slots: [Slot] = []
        for (i, candidate) in candidates.enumerated() {
            if indicesBySlot[candidate.slot] == nil { slots.append(candidate.slot) }
            indicesBySlot[candidate.slot, default: []].append(i)
        }
        for slot in slots {
            let indices = indicesBySlot[slot]!
            let scores = scoring.scores(context: context, slot: slot, candidates: indices.map { candidates[$0] })
            for (i, score) in zip(indices, scores) { out[i] = score }
        }
        return out
    }

    public func compatibility(_ items: [ItemText]) -> Double { scoring.compatibility(items) }
}
