import Foundation
import LookbookCore

/// A trained StyleLM ready to score: how likely each candidate is as the missing item
/// of a look, and what the model would describe there.
public final class StyleLMScoring: Sendable {
    public let prompts: OutfitPrompts
    public let inference: StyleLMInference
    /// The version stores and reports record (`stylelm-<weights hash>`).
    public let version: String
    /// Subtract each candidate's score as product text alone under the base model
    /// (pointwise mutual information), so an item is not preferred merely for being a
    /// likely sentence.
    public let calibrated: Bool

    /// Each candidate's base score depends on nothing else: kept.
    let priors = PriorCache()

    /// The base model (product text alone) that calibration asks how likely a
    /// candidate's words are anyway; the model itself when there is no separate base.
    public let base: StyleLMInference

    public init(prompts: OutfitPrompts, inference: StyleLMInference, base: StyleLMInference? = nil, version: String,
                calibrated: Bool = true) {
        self.prompts = prompts
        self.inference = inference
        self.base = base ?? inference
        self.version = version
        self.calibrated = calibrated
    }

    /// Loads a model directory written by `lookbook train`: the fine-tuned model has its
    /// adapters merged; the base weights alone are the calibration's base model.
    public convenience init(directory url: URL, calibrated: Bool = true) throws {
        let loaded = try ModelDirectory(url).load()
        var weights = loaded.weights
        var base: StyleLMInference?
        if let (lora, adapters) = loaded.adapters {
            if calibrated { base = try StyleLMInference(config: loaded.config, weights: weights) }
            weights = ModelDirectory.mergedWeights(base: weights, config: loaded.config, lora: lora, adapters: adapters)
        }
        let tokenizer = try BPETokenizer(json: loaded.tokenizerJSON)
        let prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: loaded.config.maxPositionEmbeddings,
                                        maxItemTokens: Self.recipeItemTokens(loaded.metadata))
        try self.init(prompts: prompts, inference: StyleLMInference(config: loaded.config, weights: weights), base: base,
                      version: loaded.metadata["version"] ?? "stylelm", calibrated: calibrated)
    }

    static func recipeItemTokens(_ metadata: [String: String]) -> Int {
        guard let json = metadata["recipe"], let recipe = try? JSONDecoder().decode(StyleLMRecipe.self, from: Data(json.utf8)) else {
            return StyleLMRecipe().maxItemTokens
        }
        return recipe.maxItemTokens
    }

    /// True when `url` holds a StyleLM model directory.
    public static func isModelDirectory(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path)
            && FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path)
    }

    /// Per candidate: the mean log-probability per token of its words (and `</s>`) as the
    /// blank of `context` in `slot`, minus, when calibrated, the same words' score as
    /// product text under the base model.
    public func scores(context: [ItemText], slot: Slot, candidates: [ItemText]) -> [Double] {
        guard !candidates.isEmpty else { return [] }
        let continuations = candidates.map { prompts.continuation($0.text) }
        let conditional = meanLogProbs(prompt: prompts.prompt(context: context, blank: slot), continuations)
        guard calibrated else { return conditional }
        var prior = candidates.map { priors[PriorCache.Key(slot: slot, text: $0.text)] }
        let missing = prior.indices.filter { prior[$0] == nil }
        if !missing.isEmpty {
            let computed = meanLogProbs(prompt: prompts.productPrompt(slot), missing.map { continuations[$0] }, model: base)
            for (i, value) in zip(missing, computed) {
                prior[i] = value
                priors[PriorCache.Key(slot: slot, text: candidates[i].text)] = value
            }
        }
        return zip(conditional, prior).map { $0 - $1! }
    }

    func meanLogProbs(prompt: [Int32], _ continuations: [[Int32]], model: StyleLMInference? = nil) -> [Double] {
        let inference = model ?? self.inference
        let state = inference.prefill(prompt)
        var out: [Double] = []
        out.reserveCapacity(continuations.count)
        // Batches of at most 256 continuations bound the memory of one pass.
        var start = 0
        while start < continuations.count {
            let chunk = Array(continuations[start..<min(continuations.count, start + 256)])
            for logProbs in inference.continuationLogProbs(state, chunk) {
                out.append(logProbs.isEmpty ? -.infinity : Double(logProbs.reduce(0, +)) / Double(logProbs.count))
            }
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
