import Foundation
import LookbookCore

/// A trained StyleLM ready to score: how likely each candidate is as the missing item
/// of a look, and what the model would describe there.
public final class StyleLMScoring: Sendable {
    /// What a candidate's log-likelihood is measured against, so an item is not preferred
    /// merely for being a likely sentence (pointwise mutual information).
    public enum Calibration: String, Sendable, CaseIterable, Codable {
        /// The likelihood alone.
        case none
        /// Minus the same words as product text (`<s> <slot>`) under the base model.
        case base
        /// Minus the same words as the blank of an empty outfit (`<s> <blank> <slot>`)
        /// under the scoring model itself: whatever the model learned about an item on its
        /// own (including having seen it in training outfits) cancels out, and what is left
        /// is what the context adds.
        case contextFree = "context-free"
    }

    /// What a candidate's likelihood is read from.
    public enum Method: String, Sendable, CaseIterable, Codable {
        /// Its words in order after the prompt (and `</s>`): one batched pass over the
        /// candidates' tokens per prompt.
        case sequence
        /// Its distinct tokens in the one distribution at the blank (the prompt's last
        /// position), which bag-of-words training (`StyleLMRecipe.bagOfWordsWeight`)
        /// teaches: one pass per prompt, then table look-ups per candidate.
        case bagOfWords = "bag"
        /// The sum of the two scores.
        case hybrid
    }

    /// How candidates are scored.
    public struct Options: Sendable, Equatable, Codable {
        public var calibration: Calibration
        /// The mean log-probability per token (true) or the sum over the tokens (false).
        public var lengthNormalised: Bool
        /// Whether `</s>` counts among the scored tokens (sequence scoring only).
        public var scoreEnd: Bool
        public var method: Method
        /// Bag scoring: the weight λ of the look's own tokens in the blank's distribution,
        /// p(t) = (1 − λ) p(t | look) + λ c(t), c(t) the share of t among the distinct tokens
        /// of the look's items (a cache language model, Kuhn & De Mori 1990). A small model
        /// trained on a few thousand outfits does not learn to repeat a look's brand or
        /// colour at its blank; curated outfits often do. 0: the model alone (models saved
        /// before the key). Sequence scoring ignores it.
        public var cacheWeight: Double = 0

        public init(calibration: Calibration = .base, lengthNormalised: Bool = true, scoreEnd: Bool = true) {
            self.init(calibration: calibration, lengthNormalised: lengthNormalised, scoreEnd: scoreEnd, method: .sequence)
        }

        public init(calibration: Calibration, lengthNormalised: Bool = true, scoreEnd: Bool = true, method: Method,
                    cacheWeight: Double = 0) {
            self.calibration = calibration
            self.lengthNormalised = lengthNormalised
            self.scoreEnd = scoreEnd
            self.method = method
            self.cacheWeight = cacheWeight
        }

        enum CodingKeys: String, CodingKey { case calibration, lengthNormalised, scoreEnd, method, cacheWeight }

        /// Options written before `method` existed are sequence scoring; before
        /// `cacheWeight`, without a cache.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            calibration = try c.decode(Calibration.self, forKey: .calibration)
            lengthNormalised = try c.decode(Bool.self, forKey: .lengthNormalised)
            scoreEnd = try c.decode(Bool.self, forKey: .scoreEnd)
            method = try c.decodeIfPresent(Method.self, forKey: .method) ?? .sequence
            cacheWeight = try c.decodeIfPresent(Double.self, forKey: .cacheWeight) ?? 0
            guard cacheWeight >= 0, cacheWeight < 1 else {
                throw DecodingError.dataCorruptedError(forKey: .cacheWeight, in: c,
                                                       debugDescription: "cacheWeight must be in [0, 1), got \(cacheWeight)")
            }
        }

        /// What the options change in a model's ranking beyond its weights, for versions
        /// that must differ when the ranking does: "+cache<λ>" with a cache, else "".
        public var cacheSuffix: String { cacheWeight > 0 ? "+cache\(cacheWeight)" : "" }
    }

    public let prompts: OutfitPrompts
    public let inference: StyleLMInference
    /// The version stores and reports record (`stylelm-<weights hash>`).
    public let version: String
    public let options: Options
    /// True unless the calibration is `.none`.
    public var calibrated: Bool { options.calibration != .none }

    /// Each candidate's prior depends on nothing else: kept.
    let priors = PriorCache()
    /// Bag-of-words scoring: each slot's prior distribution at the blank, and each
    /// candidate text's distinct tokens.
    let bagPriors = LockedCache<Slot, [Float]>()
    let bags = LockedCache<String, [Int32]>()

    /// The base model (product text alone) that `.base` calibration asks how likely a
    /// candidate's words are anyway; the model itself when there is no separate base.
    public let base: StyleLMInference

    public init(prompts: OutfitPrompts, inference: StyleLMInference, base: StyleLMInference? = nil, version: String,
                options: Options) {
        self.prompts = prompts
        self.inference = inference
        self.base = base ?? inference
        self.version = version
        self.options = options
    }

    public convenience init(prompts: OutfitPrompts, inference: StyleLMInference, base: StyleLMInference? = nil, version: String,
                            calibrated: Bool = true) {
        self.init(prompts: prompts, inference: inference, base: base, version: version,
                  options: Options(calibration: calibrated ? .base : .none))
    }

    /// Loads a model directory written by `lookbook train`: the fine-tuned model has its
    /// adapters merged; the base weights alone are the calibration's base model.
    public convenience init(directory url: URL, calibrated: Bool = true) throws {
        try self.init(directory: url, options: nil, calibrated: calibrated)
    }

    /// Loads a model directory with the scoring `options` (nil: the ones its recipe
    /// names, calibrated or not as `calibrated` says).
    public convenience init(directory url: URL, options: Options?, calibrated: Bool = true) throws {
        let loaded = try ModelDirectory(url).load()
        var weights = loaded.weights
        var base: StyleLMInference?
        if let (lora, adapters) = loaded.adapters {
            base = try StyleLMInference(config: loaded.config, weights: weights)
            weights = ModelDirectory.mergedWeights(base: weights, config: loaded.config, lora: lora, adapters: adapters)
        }
        let tokenizer = try BPETokenizer(json: loaded.tokenizerJSON)
        let recipe = Self.recipe(loaded.metadata)
        let prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: loaded.config.maxPositionEmbeddings,
                                        maxItemTokens: recipe.maxItemTokens, productFormat: recipe.productFormat,
                                        itemFormat: recipe.itemText)
        var chosen = options ?? recipe.scoring
        if options == nil && !calibrated { chosen.calibration = .none }
        try self.init(prompts: prompts, inference: StyleLMInference(config: loaded.config, weights: weights),
                      base: chosen.calibration == .base ? base : nil,
                      version: loaded.metadata["version"] ?? "stylelm", options: chosen)
    }

    /// The item token limit of a directory's recipe.
    static func recipeItemTokens(_ metadata: [String: String]) -> Int { recipe(metadata).maxItemTokens }

    /// The recipe the model directory at `url` was trained with.
    public static func recipe(directory url: URL) throws -> StyleLMRecipe {
        recipe(try ModelDirectory(url).load().metadata)
    }

    /// The recipe a model directory was trained with; models from before a recipe key
    /// existed read it as it was then (see `StyleLMRecipe.init(from:)`).
    static func recipe(_ metadata: [String: String]) -> StyleLMRecipe {
        guard let json = metadata["recipe"], let recipe = try? JSONDecoder().decode(StyleLMRecipe.self, from: Data(json.utf8)) else {
            return StyleLMRecipe.legacy
        }
        return recipe
    }

    /// True when `url` holds a StyleLM model directory.
    public static func isModelDirectory(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path)
            && FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path)
    }

    /// Per candidate, how well it fills the blank of `context` in `slot`, by the options'
    /// method: `sequenceScores`, `bagScores` or their sum.
    public func scores(context: [ItemText], slot: Slot, candidates: [ItemText]) -> [Double] {
        switch options.method {
        case .sequence: sequenceScores(context: context, slot: slot, candidates: candidates)
        case .bagOfWords: bagScores(context: context, slot: slot, candidates: candidates)
        case .hybrid:
            zip(sequenceScores(context: context, slot: slot, candidates: candidates),
                bagScores(context: context, slot: slot, candidates: candidates)).map(+)
        }
    }

    /// Per candidate: the mean (`lengthNormalised`, else the sum) over its distinct tokens
    /// t of log p(t | blank of `context`) − log p(t | the calibration's prior), where
    /// p(· | …) is the model's one next-token distribution at the blank's `<slot:…>`. The
    /// prior is, per calibration: the same model at the blank of an empty outfit
    /// (`.contextFree`), the base model after `productPrompt` (`.base`), nothing (`.none`).
    /// One forward pass per call (and one per slot for its prior, kept); a candidate costs
    /// a few look-ups. A candidate without words scores 0 calibrated, −∞ uncalibrated.
    public func bagScores(context: [ItemText], slot: Slot, candidates: [ItemText]) -> [Double] {
        guard !candidates.isEmpty else { return [] }
        let (logProbs, prior) = bagLook(context: context, slot: slot)
        return candidates.map {
            Self.bagScore(bagOfWords($0.text), logProbs: logProbs, prior: prior, lengthNormalised: options.lengthNormalised)
        }
    }

    /// The distribution at the blank that `bagScores` subtracts for `slot` (log-probabilities).
    public func bagPrior(_ slot: Slot) -> [Float] {
        if let kept = bagPriors[slot] { return kept }
        let prior: [Float]
        switch options.calibration {
        case .base: prior = base.prefill(prompts.productPrompt(slot)).lastLogProbs
        case .contextFree, .none: prior = inference.prefill(prompts.prompt(context: [], blank: slot)).lastLogProbs
        }
        bagPriors[slot] = prior
        return prior
    }

    /// One look's bag-of-words view (`bagScores` without the candidates): the model's
    /// log-probabilities at the blank of `context` in `slot` and the calibration's prior
    /// (nil uncalibrated). `bagScore(tokens, logProbs:, prior:)` of a candidate's
    /// `bagTokens` is then its `bagScores` score, to the bit.
    public func bagLook(context: [ItemText], slot: Slot) -> (logProbs: [Float], prior: [Float]?) {
        let logProbs = inference.prefill(prompts.prompt(context: context, blank: slot)).lastLogProbs
        return (withCache(logProbs, cache(of: context)), calibrated ? bagPrior(slot) : nil)
    }

    /// The look's own tokens as the cache of `Options.cacheWeight` reads them: each
    /// distinct token of each item of `context` (its `bagOfWords`), counted once per item,
    /// over the count of them all. Empty without a cache or a context.
    public func cache(of context: [ItemText]) -> [Int32: Float] {
        guard options.cacheWeight > 0 else { return [:] }
        var counts: [Int32: Int] = [:]
        var total = 0
        for item in context {
            for t in bagOfWords(item.text) { counts[t, default: 0] += 1; total += 1 }
        }
        return counts.mapValues { Float(Double($0) / Double(total)) }
    }

    /// The blank's log-probabilities with the look's `cache` mixed in, token by token as
    /// `mixed` computes it: log((1 − λ) p(t | look) + λ c(t)). Unchanged without a cache.
    public func withCache(_ logProbs: [Float], _ cache: [Int32: Float]) -> [Float] {
        guard options.cacheWeight > 0 else { return logProbs }
        let weight = options.cacheWeight
        // `mixed` of a token the look does not hold, without a look-up per token; then the
        // look's few tokens.
        let scale = log1p(-weight)
        var out = logProbs.map { Float(Double($0) + scale) }
        for (t, share) in cache where Int(t) < out.count {
            out[Int(t)] = Self.mixed(logProbs[Int(t)], share: share, weight: weight)
        }
        return out
    }

    /// log((1 − λ) e^logProb + λ share), computed stably: logProb + log(1 − λ) for a token
    /// the look does not hold.
    @inline(__always)
    public static func mixed(_ logProb: Float, share: Float, weight: Double) -> Float {
        Float(mixed(Double(logProb), share: share, weight: weight))
    }

    /// The same in Double: increasing in `logProb`, so it maps an upper bound of a
    /// log-probability to an upper bound of the mixture.
    @inline(__always)
    public static func mixed(_ logProb: Double, share: Float, weight: Double) -> Double {
        let model = logProb + log1p(-weight)
        guard share > 0 else { return model }
        let copy = log(weight * Double(share))
        let top = max(model, copy)
        return top + log(exp(model - top) + exp(copy - top))
    }

    /// `bagLook`'s look before its cache, with the final-norm hidden state h at the blank:
    /// the log-probabilities are log-softmax(`outputProjection` · h), computed in Float by
    /// the model's kernels (`withCache(_, cache(of: context))` mixes the cache in).
    public func bagLookState(context: [ItemText], slot: Slot) -> (logProbs: [Float], prior: [Float]?, hidden: [Float]) {
        let state = inference.prefill(prompts.prompt(context: context, blank: slot))
        return (state.lastLogProbs, calibrated ? bagPrior(slot) : nil, state.lastHidden)
    }

    /// The log-probabilities at a position whose final-norm hidden state is `hidden`
    /// (`bagLookState`'s): the same projection and log-softmax, in the same order, as the
    /// forward pass ends with, so the bits equal its `logProbs` (~V·H multiply-adds,
    /// against a whole forward pass).
    public func logProbs(hidden: [Float]) -> [Float] {
        let h = inference.config.hiddenSize, v = inference.config.vocabSize
        precondition(hidden.count == h, "a hidden state has \(h) values, got \(hidden.count)")
        var logits = [Float](repeating: 0, count: v)
        hidden.withUnsafeBufferPointer { x in
            inference.embedding.withUnsafeBufferPointer { e in
                logits.withUnsafeMutableBufferPointer { o in
                    sgemm(1, v, h, x.baseAddress!, h, e.baseAddress!, h, transposeB: true, o.baseAddress!, v)
                }
            }
        }
        logits.withUnsafeMutableBufferPointer { b in
            let lse = inference.logSumExp(b.baseAddress!, b.count)
            for i in 0..<b.count { b[i] -= lse }
        }
        return logits
    }

    /// The output projection, [vocabulary × hidden] row-major (the tied embedding).
    public var outputProjection: [Float] { inference.embedding }

    /// A candidate's distinct tokens as `bagScores` reads them (not kept: callers that
    /// score many looks keep their own table).
    public func bagTokens(_ item: ItemText) -> [Int32] { prompts.bagOfWords(item.text) }

    /// A candidate text's distinct tokens (`OutfitPrompts.bagOfWords`), kept.
    func bagOfWords(_ text: String) -> [Int32] {
        if let kept = bags[text] { return kept }
        let tokens = prompts.bagOfWords(text)
        bags[text] = tokens
        return tokens
    }

    /// Σ or mean over `tokens` of logProbs[t] − prior[t] (prior nil: 0); an empty bag
    /// scores 0 against a prior and −∞ without one.
    public static func bagScore(_ tokens: [Int32], logProbs: [Float], prior: [Float]?, lengthNormalised: Bool) -> Double {
        guard !tokens.isEmpty else { return prior == nil ? -.infinity : 0 }
        var sum = 0.0
        for t in tokens {
            sum += Double(logProbs[Int(t)]) - Double(prior?[Int(t)] ?? 0)
        }
        return lengthNormalised ? sum / Double(tokens.count) : sum
    }

    /// Per candidate: the log-probability of its words (and `</s>` when `scoreEnd`) as
    /// the blank of `context` in `slot`, per token when `lengthNormalised`, minus the
    /// same words' score under the calibration's prior.
    public func sequenceScores(context: [ItemText], slot: Slot, candidates: [ItemText]) -> [Double] {
        guard !candidates.isEmpty else { return [] }
        let continuations = candidates.map { prompts.continuation($0.text) }
        let conditional = logLikelihoods(prompt: prompts.prompt(context: context, blank: slot), continuations)
        guard calibrated else { return conditional }
        var prior = candidates.map { priors[PriorCache.Key(slot: slot, text: $0.text)] }
        let missing = prior.indices.filter { prior[$0] == nil }
        if !missing.isEmpty {
            let computed: [Double]
            switch options.calibration {
            case .base, .none:
                computed = logLikelihoods(prompt: prompts.productPrompt(slot), missing.map { continuations[$0] }, model: base)
            case .contextFree:
                computed = logLikelihoods(prompt: prompts.prompt(context: [], blank: slot), missing.map { continuations[$0] })
            }
            for (i, value) in zip(missing, computed) {
                prior[i] = value
                priors[PriorCache.Key(slot: slot, text: candidates[i].text)] = value
            }
        }
        return zip(conditional, prior).map { $0 - $1! }
    }

    /// Each continuation's score as the options say: per token or summed, with or
    /// without `</s>` (which every continuation ends with).
    func logLikelihoods(prompt: [Int32], _ continuations: [[Int32]], model: StyleLMInference? = nil) -> [Double] {
        let options = self.options
        return aggregate(prompt: prompt, continuations, model: model) { logProbs in
            let scored = options.scoreEnd || logProbs.count < 2 ? logProbs[...] : logProbs.dropLast()
            guard !scored.isEmpty else { return -.infinity }
            let sum = Double(scored.reduce(0, +))
            return options.lengthNormalised ? sum / Double(scored.count) : sum
        }
    }

    func aggregate(prompt: [Int32], _ continuations: [[Int32]], model: StyleLMInference?, _ reduce: ([Float]) -> Double) -> [Double] {
        let inference = model ?? self.inference
        let state = inference.prefill(prompt)
        var out: [Double] = []
        out.reserveCapacity(continuations.count)
        // Batches of at most 256 continuations bound the memory of one pass.
        var start = 0
        while start < continuations.count {
            let chunk = Array(continuations[start..<min(continuations.count, start + 256)])
            for logProbs in inference.continuationLogProbs(state, chunk) { out.append(reduce(logProbs)) }
            start += chunk.count
        }
        return out
    }

    /// How well the items go together: the mean, over items, of each one's score as
    /// the blank of the others.
    public func compatibility(_ items: [ItemText]) -> Double {
        guard items.count >= 2 else { return 0 }
        var total = 0.0
        for i in items.indices {
            var context = items
            let target = context.remove(at: i)
            total += scores(context: context, slot: target.slot, candidates: [target])[0]
        }
        return total / Double(items.count)
    }

    /// The model's own words for the missing item (greedy): the human-readable "why".
    public func describe(context: [ItemText], slot: Slot, maxTokens: Int = 16) -> String {
        let state = inference.prefill(prompts.prompt(context: context, blank: slot))
        let tokens = inference.generate(state, maxTokens: maxTokens, stop: [prompts.endToken], topK: 1)
        return prompts.tokenizer.decode(tokens.filter { $0 != prompts.endToken }).trimmingCharacters(in: .whitespaces)
    }
}

/// A dictionary several scoring threads share.
final class LockedCache<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Key: Value] = [:]

    subscript(key: Key) -> Value? {
        get { lock.withLock { values[key] } }
        set { lock.withLock { values[key] = newValue } }
    }
}

/// Scores of candidates under an empty context, shared by every caller.
final class PriorCache: @unchecked Sendable {
    struct Key: Hashable { var slot: Slot; var text: String }
    private let lock = NSLock()
    private var values: [Key: Double] = [:]

    subscript(key: Key) -> Double? {
        get { lock.withLock { values[key] } }
        set { lock.withLock { values[key] = newValue } }
    }
}
