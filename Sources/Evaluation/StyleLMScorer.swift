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

    /// Candidates of one question share a category, hence a slot: the blank's slot.
    public func scores(context: [ItemText], candidates: [ItemText]) -> [Double] {
        guard let slot = candidates.first?.slot else { return [] }
        return scoring.scores(context: context, slot: slot, candidates: candidates)
    }

    public func compatibility(_ items: [ItemText]) -> Double { scoring.compatibility(items) }
}
