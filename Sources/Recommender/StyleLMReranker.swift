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
    /// Bag scoring: the last few looks' distributions at the blank and priors, for `why`.
    let looks = LookCache()

    public init(scoring: StyleLMScoring, captions: [String: String] = [:]) {
        self.scoring = scoring
        self.captions = captions
    }

    /// The model's version, and its cache when it scores with one (a ranking of other
    /// scores is another version).
    public var version: String { scoring.version + scoring.options.cacheSuffix }

    func item(_ p: Product) -> ItemText { Self.itemText(p, caption: captions[p.id], format: scoring.prompts.itemFormat) }

    /// What StyleLM reads of a product in the model's text `format`: its caption when it
    /// has one, else its title (after its kind, in `.kindAndWords`).
    static func itemText(_ p: Product, caption: String?, format: ItemText.Format) -> ItemText {
        var product = p
        if let caption, !caption.isEmpty { product.attributes["caption"] = caption }
        return ItemText(product, format: format)
    }

    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        scoring.scores(context: context.map(item), slot: slot, candidates: candidates.map(item))
    }

    /// The candidate's score as the blank of an empty outfit (the retrieval prior).
    public func priorScores(slot: Slot, candidates: [Product]) -> [Double] {
        scores(context: [], slot: slot, candidates: candidates)
    }

    /// Sequence scoring: the model's description of the ideal item for the blank, e.g.
    /// "black leather ankle boots" (greedy decoding), the same for every candidate of one
    /// look. Bag scoring: the candidate's words the look raised most (`bagReason`), from
    /// the one forward pass per look that its score reads too.
    public func why(context: [Product], slot: Slot, candidate: Product) -> String? {
        let key = context.map(\.id).joined(separator: "\u{1F}") + "\u{1E}" + slot.rawValue
        if scoring.options.method == .bagOfWords {
            let look = looks.value(for: key) { scoring.bagLook(context: context.map(item), slot: slot) }
            return Self.bagReason(scoring.bagTokens(item(candidate)), tokenizer: scoring.prompts.tokenizer) {
                Double(look.logProbs[Int($0)]) - Double(look.prior?[Int($0)] ?? 0)
            }
        }
        let text = descriptions.value(for: key) { scoring.describe(context: context.map(item), slot: slot) }
        return text.isEmpty ? nil : "the look calls for: \(text)"
    }
}

extension StyleLMReranker {
    /// Words named by a bag reason, at most.
    static let reasonWords = 3

    /// "the look calls for: black, leather": the candidate's distinct tokens (`bag`) that
    /// the look raised most, by `lift` (log p(t | look) − log p(t | prior)), largest
    /// first, only those it raised (lift > 0), decoded and trimmed; tokens that decode to
    /// no letter or digit are skipped. nil when the look raised none of them.
    static func bagReason(_ bag: [Int32], tokenizer: BPETokenizer, lift: (Int32) -> Double) -> String? {
        var raised: [(token: Int32, lift: Double)] = []
        for t in bag {
            let l = lift(t)
            if l > 0 { raised.append((t, l)) }
        }
        raised.sort { a, b in a.lift != b.lift ? a.lift > b.lift : a.token < b.token }
        var words: [String] = []
        for (t, _) in raised where words.count < reasonWords {
            let w = tokenizer.decode([t]).trimmingCharacters(in: .whitespacesAndNewlines)
            guard w.unicodeScalars.contains(where: { CharacterSet.alphanumerics.contains($0) }), !words.contains(w) else { continue }
            words.append(w)
        }
        return words.isEmpty ? nil : "the look calls for: " + words.joined(separator: ", ")
    }
}

/// The last few looks' bag distributions (`why` is asked for every shown item of a
/// list, from several threads): a few hundred KiB at most.
final class LookCache: @unchecked Sendable {
    typealias Look = (logProbs: [Float], prior: [Float]?)
    private let lock = NSLock()
    private var values: [String: Look] = [:]

    func value(for key: String, _ make: () -> Look) -> Look {
        if let v = lock.withLock({ values[key] }) { return v }
        let v = make()
        lock.withLock {
            if values.count >= 16 { values.removeAll(keepingCapacity: true) }
            values[key] = v
        }
        return v
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
/// `prior+prefix`: the same with the look's effect on the first `prefixTokens` tokens of
/// the candidate (its continuation, `</s>` included), run through the model once per
/// distinct prefix per look; as many tokens as the candidate has give StyleLM's score.
public struct StyleLMRetrievalProxy: RetrievalProxy {
    public enum Mode: String, Sendable { case first, bag, prior, priorFirst = "prior+first", priorPrefix = "prior+prefix" }
    public let scoring: StyleLMScoring
    public let mode: Mode
    /// Tokens of the candidate the look's effect is measured on (`priorPrefix`).
    public let prefixTokens: Int
    let captions: [String: String]
    let products: [Product]
    let priors = PriorScores()
    /// Per product: the log-probability of its first `prefixTokens` tokens as the blank of an empty outfit (`priorPrefix`).
    let emptyPrefix = PriorScores()

    public init(scoring: StyleLMScoring, mode: Mode, captions: [String: String] = [:], products: [Product] = [], prefixTokens: Int = 2) {
        self.scoring = scoring; self.mode = mode; self.captions = captions; self.products = products
        self.prefixTokens = max(1, prefixTokens)
    }

    public var name: String { mode == .priorPrefix ? "StyleLM proxy (prior+prefix \(prefixTokens))" : "StyleLM proxy (\(mode.rawValue))" }

    /// The scored prefix of a candidate's continuation and its divisor (the score's token count).
    func prefix(_ continuation: [Int32]) -> (tokens: [Int32], n: Double) {
        let scored = scoring.options.scoreEnd ? continuation.count : max(1, continuation.count - 1)
        let n = scoring.options.lengthNormalised ? Double(scored) : 1
        return (Array(continuation.prefix(min(prefixTokens, scored))), n)
    }

    public func scorer(context: [Product], slot: Slot) -> @Sendable (Product) -> Double {
        let reranker = StyleLMReranker(scoring: scoring, captions: captions)
        let prompts = scoring.prompts
        let mode = self.mode
        if mode == .prior || mode == .priorFirst || mode == .priorPrefix {
            let table = priors.table(for: slot) {
                let pool = products.filter { $0.slot == slot }
                let s = reranker.scores(context: [], slot: slot, candidates: pool)
                return Dictionary(zip(pool.map(\.id), s), uniquingKeysWith: { a, _ in a })
            }
            if mode == .priorPrefix { return prefixScorer(context: context, slot: slot, reranker: reranker, table: table) }
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
            case .prior, .priorFirst, .priorPrefix:
                return 0
            }
        }
    }

    /// The proxy's scores of `candidates` in one look; `prior+prefix` runs its distinct
    /// prefixes in one batch (the shared prompt once), the other modes read `scorer`.
    public func scores(context: [Product], slot: Slot, candidates: [Product]) -> [Double] {
        guard mode == .priorPrefix, !candidates.isEmpty else {
            let score = scorer(context: context, slot: slot)
            return candidates.map(score)
        }
        let reranker = StyleLMReranker(scoring: scoring, captions: captions)
        let table = priors.table(for: slot) {
            let pool = products.filter { $0.slot == slot }
            let s = reranker.scores(context: [], slot: slot, candidates: pool)
            return Dictionary(zip(pool.map(\.id), s), uniquingKeysWith: { a, _ in a })
        }
        let empty = emptyTable(slot: slot, reranker: reranker)
        let prompts = scoring.prompts, inference = scoring.inference
        let prefixes = candidates.map { prefix(prompts.continuation(reranker.item($0).text)) }
        var distinct: [[Int32]: Int] = [:]
        var order: [[Int32]] = []
        for p in prefixes where !p.tokens.isEmpty && distinct[p.tokens] == nil { distinct[p.tokens] = order.count; order.append(p.tokens) }
        let state = inference.prefill(prompts.prompt(context: context.map(reranker.item), blank: slot))
        var sums: [Double] = []
        sums.reserveCapacity(order.count)
        var start = 0
        while start < order.count {
            let end = min(order.count, start + 256)
            for l in inference.continuationLogProbs(state, Array(order[start..<end])) { sums.append(Double(l.reduce(0, +))) }
            start = end
        }
        return zip(candidates, prefixes).map { c, p in
            guard let prior = table[c.id], let e = empty[c.id], let d = distinct[p.tokens] else { return -.infinity }
            return prior + (sums[d] - e) / p.n
        }
    }

    func emptyTable(slot: Slot, reranker: StyleLMReranker) -> [String: Double] {
        let prompts = scoring.prompts, inference = scoring.inference
        return emptyPrefix.table(for: slot) {
            let pool = products.filter { $0.slot == slot }
            let prefixes = pool.map { prefix(prompts.continuation(reranker.item($0).text)).tokens }
            let state = inference.prefill(prompts.prompt(context: [], blank: slot))
            var out: [String: Double] = [:]
            var start = 0
            while start < pool.count {
                let end = min(pool.count, start + 256)
                let lp = inference.continuationLogProbs(state, Array(prefixes[start..<end]))
                for (q, l) in zip(pool[start..<end], lp) { out[q.id] = Double(l.reduce(0, +)) }
                start = end
            }
            return out
        }
    }

    func prefixScorer(context: [Product], slot: Slot, reranker: StyleLMReranker, table: [String: Double]) -> @Sendable (Product) -> Double {
        let prompts = scoring.prompts, inference = scoring.inference
        let empty = emptyTable(slot: slot, reranker: reranker)
        let state = inference.prefill(prompts.prompt(context: context.map(reranker.item), blank: slot))
        let memo = PrefixMemo()
        return { candidate in
            let (tokens, n) = prefix(prompts.continuation(reranker.item(candidate).text))
            guard let p = table[candidate.id], let e = empty[candidate.id], !tokens.isEmpty else { return -.infinity }
            let look = memo.value(tokens) { Double(inference.continuationLogProbs(state, [tokens])[0].reduce(0, +)) }
            return p + (look - e) / n
        }
    }
}

final class PrefixMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Int32]: Double] = [:]
    func value(_ key: [Int32], _ make: () -> Double) -> Double {
        if let v = lock.withLock({ values[key] }) { return v }
        let v = make()
        lock.withLock { values[key] = v }
        return v
    }
    var count: Int { lock.withLock { values.count } }
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
