import Foundation
import LookbookCore
import StyleModel

/// StyleLM as the second stage: each candidate is scored by how likely the model finds
/// its words as the blank of the look (calibrated against the base model, see
/// `StyleLMScoring`), one shared prompt per call. Items speak through their caption
/// when they have one, their title otherwise, so a model trained on one catalog reads
/// another (captions are the shared vocabulary across languages).
public struct StyleLMReranker: Reranker {
    public let scoring: StyleLMScoring
    let captions: [String: String]
    /// One description per look: `why` is asked for every chosen candidate of a list.
    let descriptions = DescriptionCache()

    public init(scoring: StyleLMScoring, captions: [String: String] = [:]) {
        self.scoring = scoring
        self.captions = captions
    }

    public var version: String { scoring.version }

    func item(_ p: Product) -> ItemText {
        var product = p
        if let caption = captions[p.id], !caption.isEmpty { product.attributes["caption"] = caption }
        return ItemText(product)
    }

    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        scoring.scores(context: context.map(item), slot: slot, candidates: candidates.map(item))
    }

    /// The model's description of the ideal item for the blank, e.g. "black leather
    /// ankle boots": the same for every candidate of one look.
    public func why(context: [Product], slot: Slot, candidate: Product) -> String? {
        let key = context.map(\.id).joined(separator: "\u{1F}") + "\u{1E}" + slot.rawValue
        let text = descriptions.value(for: key) { scoring.describe(context: context.map(item), slot: slot) }
        return text.isEmpty ? nil : "the look calls for: \(text)"
    }
}

final class DescriptionCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String] = [:]

    func value(for key: String, _ make: () -> String) -> String {
        if let v = lock.withLock({ values[key] }) { return v }
        let v = make()
        lock.withLock {
            if values.count > 100_000 { values.removeAll(keepingCapacity: true) }
            values[key] = v
        }
        return v
    }
}
