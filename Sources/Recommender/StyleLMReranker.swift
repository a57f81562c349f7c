import Foundation
import LookbookCore
import StyleModel

/// StyleLM as the second stage: each candidate is scored by how likely the model finds
/// its words as the blank of the look (calibrated against the base model, see
/// `StyleLMScoring`), one shared prompt per call. Items speak through their caption
/// when they have one, their title otherwise, so a model trained on one catalog reads
/// another (captions are the shared vocabulary across languages).
public struct StyleLMReranker: PriorReranker {
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

    /// The candidate's score as the blank of an empty outfit (the retrieval prior).
    public func priorScores(slot: Slot, candidates: [Product]) -> [Double] {
        scores(context: [], slot: slot, candidates: candidates)
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

/// A cheap stand-in for StyleLM's score, for the retrieval stage: one prompt per look,
/// then per candidate a few lookups. The prompt's next-token log-probabilities (what the
/// model expects to start the missing item), minus the base model's for the slot alone
/// (the calibration), read at the candidate's tokens: `first` only at its first token,
/// `bag` averaged over its words. `prior`: StyleLM's own score of the candidate as the
/// blank of an empty outfit, the same for every look (one batched call per slot, cached).
/// `prior+first`: the prior plus what the look changes at the candidate's first token
/// (log p under the look minus under the empty outfit, over the scored token count):
/// StyleLM's score exactly but for the look's effect on the later tokens.
public struct StyleLMRetrievalProxy: RetrievalProxy {
    public enum Mode: String, Sendable { case first, bag, prior, priorFirst = "prior+first" }
    public let scoring: StyleLMScoring
    public let mode: Mode
    let captions: [String: String]
    let products: [Product]
    let priors = PriorScores()

    public init(scoring: StyleLMScoring, mode: Mode, captions: [String: String] = [:], products: [Product] = []) {
        self.scoring = scoring; self.mode = mode; self.captions = captions; self.products = products
    }

    public var name: String { "StyleLM proxy (\(mode.rawValue))" }

    public func scorer(context: [Product], slot: Slot) -> @Sendable (Product) -> Double {
        let reranker = StyleLMReranker(scoring: scoring, captions: captions)
        let prompts = scoring.prompts
        let mode = self.mode
        if mode == .prior || mode == .priorFirst {
            let table = priors.table(for: slot) {
                let pool = products.filter { $0.slot == slot }
                let s = reranker.scores(context: [], slot: slot, candidates: pool)
                return Dictionary(zip(pool.map(\.id), s), uniquingKeysWith: { a, _ in a })
            }
            guard mode == .priorFirst else { return { table[$0.id] ?? -.infinity } }
            let look = scoring.inference.prefill(prompts.prompt(context: context.map(reranker.item), blank: slot)).lastLogProbs
            let empty = scoring.inference.prefill(prompts.prompt(context: [], blank: slot)).lastLogProbs
            let options = scoring.options
            return { candidate in
                let tokens = prompts.words(reranker.item(candidate).text)
                guard let first = tokens.first, let p = table[candidate.id] else { return -.infinity }
                let n = options.lengthNormalised ? Double(tokens.count + (options.scoreEnd ? 1 : 0)) : 1
                return p + Double(look[Int(first)] - empty[Int(first)]) / n
            }
        }
        let look = scoring.inference.prefill(prompts.prompt(context: context.map(reranker.item), blank: slot)).lastLogProbs
        let prior = scoring.base.prefill(prompts.productPrompt(slot)).lastLogProbs
        return { candidate in
            let tokens = prompts.words(reranker.item(candidate).text)
            guard let first = tokens.first else { return -.infinity }
            switch mode {
            case .first:
                return Double(look[Int(first)] - prior[Int(first)])
            case .bag:
                return tokens.reduce(0.0) { $0 + Double(look[Int($1)] - prior[Int($1)]) } / Double(tokens.count)
            case .prior, .priorFirst:
                return 0
            }
        }
    }
}

final class PriorScores: @unchecked Sendable {
    private let lock = NSLock()
    private var tables: [Slot: [String: Double]] = [:]
    func table(for slot: Slot, _ make: () -> [String: Double]) -> [String: Double] {
        lock.withLock {
            if let t = tables[slot] { return t }
            let t = make()
            tables[slot] = t
            return t
        }
    }
}
