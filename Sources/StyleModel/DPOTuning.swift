import Foundation
import LookbookCore

/// A model directory in memory, as preference tuning starts from and writes it: the
/// pretrained base weights, the adapters of every tuning stage so far folded into one
/// LoRA set, the tokenizer and the metadata.
///
/// Keeping the pretrained base as the directory's base weights matters for scoring:
/// `StyleLMScoring(directory:)` calibrates against a directory's base weights, and for a
/// DPO model they stay those of the original base model (not the SFT model).
public struct TunableModel {
    public var config: StyleLMConfig
    public var tokenizerJSON: Data
    /// The pretrained base model's weights (the calibration's base).
    public var base: [String: [Float]]
    public var adapters: (LoRAConfig, [String: [Float]])?
    public var metadata: [String: String]

    public init(config: StyleLMConfig, tokenizerJSON: Data, base: [String: [Float]], adapters: (LoRAConfig, [String: [Float]])?,
                metadata: [String: String]) {
        self.config = config; self.tokenizerJSON = tokenizerJSON; self.base = base; self.adapters = adapters; self.metadata = metadata
    }

    public init(directory url: URL) throws {
        let loaded = try ModelDirectory(url).load()
        self.init(config: loaded.config, tokenizerJSON: loaded.tokenizerJSON, base: loaded.weights, adapters: loaded.adapters,
                  metadata: loaded.metadata)
    }

    /// The model as it scores: base with every adapter folded in.
    public var mergedWeights: [String: [Float]] {
        guard let (lora, values) = adapters else { return base }
        return ModelDirectory.mergedWeights(base: base, config: config, lora: lora, adapters: values)
    }

    public var version: String { metadata["version"] ?? "stylelm" }

    public func prompts() throws -> OutfitPrompts {
        let recipe = StyleLMScoring.recipe(metadata)
        return try OutfitPrompts(tokenizer: BPETokenizer(json: tokenizerJSON), maxLength: config.maxPositionEmbeddings,
                                 maxItemTokens: recipe.maxItemTokens, productFormat: recipe.productFormat, itemFormat: recipe.itemText)
    }

    /// What the model's item text is made of (its recipe's format).
    public var itemFormat: ItemText.Format { StyleLMScoring.recipe(metadata).itemText }

    /// Scoring as `StyleLMScoring(directory:)` would load it from disk (the recipe's options).
    public func scoring() throws -> StyleLMScoring {
        let inference = try StyleLMInference(config: config, weights: mergedWeights)
        let options = StyleLMScoring.recipe(metadata).scoring
        let base = adapters == nil || options.calibration != .base ? nil : try StyleLMInference(config: config, weights: self.base)
        return StyleLMScoring(prompts: try prompts(), inference: inference, base: base, version: version, options: options)
    }

    /// This model with `more` adapters trained on top of its merged weights, as one LoRA
    /// set on the same base: W + s₁B₁A₁ + s₂B₂A₂ = W + s[B₁·s₁/s, B₂·s₂/s][A₁; A₂] with
    /// rank r₁ + r₂ and alpha = rank (s = 1). The PEFT layout holds it as is. Without
    /// earlier adapters (a fully fine-tuned model) the merged weights are the base.
    public func withAdapters(_ more: LoRAConfig, _ values: [String: [Float]]) -> TunableModel {
        var out = self
        guard let (lora, old) = adapters else {
            out.adapters = (more, values)
            return out
        }
        precondition(Set(lora.targets) == Set(more.targets), "withAdapters: the new adapters must target the same projections")
        let rank = lora.rank + more.rank
        let combined = LoRAConfig(rank: rank, alpha: Float(rank), targets: lora.targets)
        var merged: [String: [Float]] = [:]
        for layer in 0..<config.numHiddenLayers {
            for p in lora.targets {
                let outFeatures = StyleLMWeights.shape(p, config)[0]
                let a = LoRAConfig.nameA(p, layer: layer), b = LoRAConfig.nameB(p, layer: layer)
                merged[a] = old[a]! + values[a]!  // [r₁, in] over [r₂, in]
                var joined = [Float](repeating: 0, count: outFeatures * rank)
                let (b1, b2) = (old[b]!, values[b]!)
                for row in 0..<outFeatures {
                    for k in 0..<lora.rank { joined[row * rank + k] = b1[row * lora.rank + k] * lora.scale }
                    for k in 0..<more.rank { joined[row * rank + lora.rank + k] = b2[row * more.rank + k] * more.scale }
                }
                merged[b] = joined
            }
        }
        out.adapters = (combined, merged)
        return out
    }

    /// The same model, scored (by default, and so tuned and mined) with `options`: they
    /// replace the scoring of the recipe in its metadata.
    public func withScoring(_ options: StyleLMScoring.Options) throws -> TunableModel {
        var recipe = StyleLMScoring.recipe(metadata)
        recipe.scoring = options
        var out = self
        out.metadata["recipe"] = String(decoding: try JSONEncoder.sorted.encode(recipe), as: UTF8.self)
        return out
    }

    public func save(to url: URL) throws {
        try ModelDirectory(url).save(config: config, weights: base, tokenizerJSON: tokenizerJSON, adapters: adapters, metadata: metadata)
    }
}

extension DPOSettings {
    /// The settings a round on `model` starts from: for a fully fine-tuned model that
    /// scores by bag of words (`lookbook train`'s default head) every weight trains, at
    /// β 5 and a peak learning rate of 2e-4, the setting chosen on a Polyvore validation
    /// split (through LoRA the tied head cannot move: FITB fell 7 points there; at β 0.1
    /// AUC fell 0.07); for any other model, `DPOSettings()`.
    public static func defaults(for model: TunableModel) -> DPOSettings {
        var s = DPOSettings()
        guard model.adapters == nil, StyleLMScoring.recipe(model.metadata).scoring.method == .bagOfWords else { return s }
        s.fullWeights = true
        s.beta = 5
        s.training.learningRate = 2e-4
        return s
    }
}

/// One DPO round on a model: the policy starts as the model (its adapters merged, fresh
/// adapters with B = 0 attached), the reference is the same model frozen.
public enum DPOTraining {
    public struct Report: Codable, Sendable {
        public var pairs: [String: Int] = [:]
        public var examples = 0
        /// Seconds spent scoring both answers of every pair under the reference.
        public var referenceSeconds = 0.0
        /// Fraction of the pairs the reference already ranks right (chosen above rejected).
        public var referenceAccuracy: Double?
        /// What DPO moved (sequence log-probabilities or bag scores).
        public var objective: DPOObjective = .sequence
        public var summary = DPOSummary()
        public var complete = false
    }

    /// Fraction of (chosen, rejected) scores with chosen > rejected; nil without pairs.
    static func accuracy(_ scores: [(Float, Float)]) -> Double? {
        scores.isEmpty ? nil : Double(scores.filter { $0.0 > $0.1 }.count) / Double(scores.count)
    }

    public static func train(_ start: TunableModel, pairs: [PreferencePair], settings: DPOSettings, deadline: Date? = nil,
                             log: (String) -> Void = { _ in }) throws -> (model: TunableModel, report: Report) {
        var report = Report()
        for (source, n) in PreferencePairs.counts(pairs) where n > 0 { report.pairs[source.rawValue] = n }
        guard !pairs.isEmpty else {
            throw LookbookError(.usage, "no preference pairs to learn from: the catalog needs curated outfits (or feedback.jsonl verdicts)")
        }
        if settings.fullWeights && start.adapters != nil {
            throw LookbookError(.usage, "full-weight DPO needs a fully fine-tuned model (no LoRA adapters); this one has adapters: tune it with LoRA DPO instead")
        }
        let prompts = try start.prompts()
        let merged = start.mergedWeights
        let scoring = StyleLMScoring.recipe(start.metadata).scoring
        let objective = settings.objective ?? (scoring.method == .bagOfWords ? .bag : .sequence)
        report.objective = objective
        let clock = Date()
        let model = try StyleLM(config: start.config, weights: merged)
        let lora = LoRAConfig(rank: settings.rank, alpha: settings.alpha, targets: start.adapters?.0.targets ?? LoRAConfig().targets)
        if settings.fullWeights {
            model.setFullFineTuning()
        } else {
            try model.attachLoRA(lora, adapters: lora.initial(start.config, seed: settings.training.seed &+ 0xD9))
        }
        let trainer: any PreferenceTrainer
        switch objective {
        case .sequence:
            // Its rows run prompt + chosen and prompt + rejected as one: both answers fill one blank.
            let sameSlot = pairs.filter { $0.rejected.slot == $0.chosen.slot }
            if sameSlot.count < pairs.count {
                log("\(pairs.count - sameSlot.count) pairs whose rejected item is of another slot left out: the sequence objective scores both answers as one blank")
            }
            let reference = try StyleLMInference(config: start.config, weights: merged)
            let examples = DPOExample.make(sameSlot, prompts: prompts, reference: reference)
            report.examples = examples.count
            report.referenceAccuracy = Self.accuracy(examples.map { ($0.referenceChosen, $0.referenceRejected) })
            trainer = DPOTrainer(model: model, examples: examples, settings: settings, padToken: prompts.padToken)
        case .bag:
            let examples = BagDPOExample.make(pairs, reference: try start.scoring(), frozenPrior: settings.frozenPrior)
            report.examples = examples.count
            report.referenceAccuracy = Self.accuracy(examples.map { ($0.referenceChosen, $0.referenceRejected) })
            trainer = BagDPOTrainer(model: model, examples: examples, settings: settings, padToken: prompts.padToken,
                                    lengthNormalised: scoring.lengthNormalised)
        }
        report.referenceSeconds = Date().timeIntervalSince(clock)
        log(String(format: "reference %@ scores of %d pairs in %.1f s; it ranks %.1f %% of them right", objective.rawValue,
                   report.examples, report.referenceSeconds, 100 * (report.referenceAccuracy ?? .nan)))
        log("DPO (\(objective.rawValue), \(settings.fullWeights ? "every weight" : "LoRA rank \(settings.rank)")): \(report.examples) pairs, \(trainer.totalSteps) steps, β = \(settings.beta)")
        var lastReport = Date()
        report.summary = trainer.run(deadline: deadline) { step, total, loss in
            if Date().timeIntervalSince(lastReport) > 30 {
                lastReport = Date()
                log(String(format: "DPO step %d/%d, loss %.4f", step, total, loss))
            }
        }
        report.complete = !report.summary.training.stoppedByBudget

        var out = start
        if settings.fullWeights {
            out.base = model.weightValues()
        } else {
            out = start.withAdapters(lora, model.adapterValues())
        }
        out.metadata["parent"] = start.version
        out.metadata["dpo"] = String(decoding: try JSONEncoder.sorted.encode(report), as: UTF8.self)
        out.metadata["dpo_settings"] = String(decoding: try JSONEncoder.sorted.encode(settings), as: UTF8.self)
        out.metadata["version"] = "stylelm-dpo-\(StyleLMTraining.fingerprint(out.base, out.adapters?.1))"
        return (out, report)
    }
}
