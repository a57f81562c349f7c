import Foundation
import LookbookCore

/// Everything that decides what `lookbook train` makes: the tokenizer size, the network,
/// and the two stages of the paper's recipe (a base model pretrained on product text,
/// then supervised fine-tuning on curated outfits through LoRA adapters).
public struct StyleLMRecipe: Codable, Sendable, Equatable {
    public var vocabSize = 4096
    public var hiddenSize = 256
    public var intermediateSize = 688
    public var layers = 4
    public var heads = 4
    /// The longest prompt + answer, in tokens.
    public var maxLength = 160
    /// An item's words are cut to this many tokens.
    public var maxItemTokens = 20
    /// The base model: product text alone.
    public var pretraining: TrainingSettings = {
        var s = TrainingSettings()
        s.epochs = 3
        s.learningRate = 3e-3
        return s
    }()
    /// Fine-tuning on every leave-one-out of every curated outfit.
    public var fineTuning: TrainingSettings = {
        var s = TrainingSettings()
        s.epochs = 2
        s.learningRate = 2e-3
        return s
    }()
    /// LoRA adapters for fine-tuning; nil fine-tunes every weight.
    public var lora: LoRAConfig? = LoRAConfig(rank: 16, alpha: 32)
    public var seed: UInt64 = 0
    /// How product text reads in pretraining. `.blank` (the empty-outfit prompt) was
    /// measured and is not the default: on the toy colour world it kept LoRA fine-tuning
    /// from learning the rule (FITB 0.68 against 1.0), on Polyvore it changed nothing.
    public var productFormat: OutfitPrompts.ProductFormat = .slot
    /// Fine-tuning also learns every product of the catalog as the blank of an empty outfit,
    /// weighted by this (0: not at all): the context-free prior `.contextFree` scoring
    /// subtracts, learned for every product alike.
    public var contextFreeWeight: Float = 0
    /// Fine-tuning's weight on the missing item's words in order, per token (0: the
    /// examples are prompts alone and learn only the bag of words).
    public var sequenceWeight: Float = 1
    /// Fine-tuning's weight on the bag of the missing item's distinct tokens, predicted all
    /// at once at the blank (`<slot:…>`) position, per example (0: no bag). It shares one
    /// cross-entropy with the sequence: a bag of weight 1 counts as much as one answer token.
    /// `.bagOfWords` scoring reads this distribution. It needs every weight fine-tuned
    /// (`lora` nil): through LoRA adapters (the tied head frozen) the blank learnt no bag,
    /// on the toy world nor on Polyvore.
    public var bagOfWordsWeight: Float = 0
    /// The same bag during pretraining, at the `<slot:…>` of `productPrompt` (0: none).
    public var pretrainingBagOfWordsWeight: Float = 0
    /// How the trained model scores candidates unless the caller says otherwise.
    public var scoring = StyleLMScoring.Options(calibration: .base)
    /// What an item's text is made of. `.kindAndWords` (each item's kind before its words)
    /// lifted the bag head alone on the Polyvore validation splits from FITB 30 % to 45 %
    /// (negatives of the answer's coarse type); models trained before it read `.words`.
    public var itemText: ItemText.Format = .kindAndWords

    public init() {}

    /// What models trained before `productFormat`, `contextFreeWeight` and `scoring`
    /// existed were made with: their directories load with these.
    public static var legacy: StyleLMRecipe {
        var r = StyleLMRecipe()
        r.itemText = .words
        return r
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabSize, hiddenSize, intermediateSize, layers, heads, maxLength, maxItemTokens, pretraining, fineTuning
        case lora, seed, productFormat, contextFreeWeight, sequenceWeight, bagOfWordsWeight, pretrainingBagOfWordsWeight, scoring
        case itemText
    }

    /// Missing keys take the legacy values, so older recipes and model directories load.
    /// (Encoding is the synthesised one: every key, `lora` left out when nil.)
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = StyleLMRecipe.legacy
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength) ?? d.maxLength
        maxItemTokens = try c.decodeIfPresent(Int.self, forKey: .maxItemTokens) ?? d.maxItemTokens
        // A stage object may name only what it changes; the rest is that stage's default.
        pretraining = try c.contains(.pretraining)
            ? TrainingSettings(from: c.superDecoder(forKey: .pretraining), defaults: d.pretraining) : d.pretraining
        fineTuning = try c.contains(.fineTuning)
            ? TrainingSettings(from: c.superDecoder(forKey: .fineTuning), defaults: d.fineTuning) : d.fineTuning
        lora = try c.decodeIfPresent(LoRAConfig.self, forKey: .lora)  // absent: full fine-tuning, as before
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        productFormat = try c.decodeIfPresent(OutfitPrompts.ProductFormat.self, forKey: .productFormat) ?? d.productFormat
        contextFreeWeight = try c.decodeIfPresent(Float.self, forKey: .contextFreeWeight) ?? d.contextFreeWeight
        sequenceWeight = try c.decodeIfPresent(Float.self, forKey: .sequenceWeight) ?? d.sequenceWeight
        bagOfWordsWeight = try c.decodeIfPresent(Float.self, forKey: .bagOfWordsWeight) ?? d.bagOfWordsWeight
        pretrainingBagOfWordsWeight = try c.decodeIfPresent(Float.self, forKey: .pretrainingBagOfWordsWeight)
            ?? d.pretrainingBagOfWordsWeight
        scoring = try c.decodeIfPresent(StyleLMScoring.Options.self, forKey: .scoring) ?? d.scoring
        itemText = try c.decodeIfPresent(ItemText.Format.self, forKey: .itemText) ?? d.itemText
    }

    /// Why this recipe cannot train, or nil.
    public func problem() -> String? {
        for (name, value) in [("sequenceWeight", sequenceWeight), ("bagOfWordsWeight", bagOfWordsWeight),
                              ("pretrainingBagOfWordsWeight", pretrainingBagOfWordsWeight), ("contextFreeWeight", contextFreeWeight)]
        where !(value.isFinite && value >= 0) {
            return "\(name) must be a finite number ≥ 0, got \(value)"
        }
        if sequenceWeight == 0 && bagOfWordsWeight == 0 {
            return "sequenceWeight and bagOfWordsWeight are both 0: fine-tuning would learn nothing"
        }
        return nil
    }

    public func config(vocabSize: Int) -> StyleLMConfig {
        StyleLMConfig(vocabSize: vocabSize, hiddenSize: hiddenSize, intermediateSize: intermediateSize,
                      numHiddenLayers: layers, numAttentionHeads: heads, maxPositionEmbeddings: maxLength)
    }

    /// A quarter of the standard network's width: about 4× faster to train and score.
    public static var small: StyleLMRecipe {
        var r = StyleLMRecipe()
        r.hiddenSize = 128
        r.intermediateSize = 344
        return r
    }

    /// What the model's blank learns and scores with: `sequence` (the missing item's words
    /// in order, LoRA fine-tuning, sequence scoring: the paper's recipe and the default) or
    /// `bag` (the item's distinct tokens at once at the blank, every weight fine-tuned,
    /// bag scoring against the empty outfit). On held-out Polyvore the bag head scored
    /// higher (FITB 28–33 % against 22 %, AUC 0.61–0.67 against 0.52) and ~28× faster per
    /// candidate; it cannot generate a description.
    public enum Head: String, Sendable, CaseIterable {
        case sequence, bag
    }

    /// This recipe with `head`'s losses, fine-tuning and scoring (`.sequence`: the recipe
    /// as it is); the network's size and the pretraining stay. `.bag` is the setting
    /// chosen on Polyvore validation splits: bag loss only, full fine-tuning, the empty
    /// outfit learnt for every product (`contextFreeWeight` 1), 4 epochs at 2e-3, the mean
    /// bag score minus the empty outfit's, with the look's own tokens mixed into the blank's
    /// distribution at weight 0.2 (`StyleLMScoring.Options.cacheWeight`, chosen on the same
    /// splits: FITB 44.4 → 51.2 %, recall@10 13.8 → 26.8 % for the StyleLM alone).
    public func with(head: Head) -> StyleLMRecipe {
        guard head == .bag else { return self }  // every size's recipe is the sequence head
        var r = self
        r.sequenceWeight = 0
        r.bagOfWordsWeight = 1
        r.contextFreeWeight = 1
        r.lora = nil
        r.fineTuning.epochs = 4
        r.fineTuning.learningRate = 2e-3
        r.scoring = StyleLMScoring.Options(calibration: .contextFree, method: .bagOfWords, cacheWeight: 0.2)
        return r
    }

    /// This recipe with the keys a recipe file (a JSON object, the keys of `lookbook.json`'s
    /// recipe) names replaced: what the file leaves out stays as it is here, and a stage
    /// object (`pretraining`, `fineTuning`, `scoring`, `lora`) replaces only the keys it
    /// names; `"lora": null` fine-tunes every weight. So `{"vocabSize": 8192}` over
    /// `lookbook train`'s default is that default with a larger vocabulary. (A model
    /// directory's recipe is read whole instead, missing keys taking the legacy values:
    /// `init(from:)`.)
    public func overlaid(with file: Data) throws -> StyleLMRecipe {
        guard let changes = try JSONSerialization.jsonObject(with: file) as? [String: Any] else {
            throw LookbookError(.usage, "a recipe is a JSON object of recipe keys, e.g. {\"vocabSize\": 8192}")
        }
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = changes.keys.filter({ !known.contains($0) }).sorted().first {
            throw LookbookError(.usage, "\"\(unknown)\" is not a recipe key; the keys are \(known.sorted().joined(separator: ", "))")
        }
        func merged(_ base: [String: Any], _ changes: [String: Any]) -> [String: Any] {
            var out = base
            for (key, value) in changes {
                if let inner = value as? [String: Any], let old = base[key] as? [String: Any] {
                    out[key] = merged(old, inner)
                } else {
                    out[key] = value
                }
            }
            return out
        }
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as! [String: Any]
        var result = merged(base, changes)
        if result["lora"] is NSNull { result.removeValue(forKey: "lora") }
        return try JSONDecoder().decode(StyleLMRecipe.self, from: JSONSerialization.data(withJSONObject: result))
    }

    /// A recipe small enough for tests in a debug build.
    public static var tiny: StyleLMRecipe {
        var r = StyleLMRecipe()
        r.vocabSize = 300
        r.hiddenSize = 32
        r.intermediateSize = 64
        r.layers = 2
        r.heads = 2
        r.maxLength = 96
        r.maxItemTokens = 12
        // Twelve tokens of a 300-token vocabulary hold a short title; a kind before it
        // would push the title's last words out.
        r.itemText = .words
        r.pretraining.batchTokens = 512
        r.fineTuning.batchTokens = 512
        r.lora = LoRAConfig(rank: 4, alpha: 8)
        return r
    }
}

/// What the model learns from: every product's words, and the curated outfits.
public struct OutfitCorpus: Sendable {
    public var items: [ItemText]
    public var outfits: [(items: [ItemText], weight: Float)]
    /// What the items' text was made of from products; a recipe trains only on its own
    /// format. nil: texts given as they are (any recipe trains on them).
    public var format: ItemText.Format?

    public init(items: [ItemText], outfits: [(items: [ItemText], weight: Float)], format: ItemText.Format? = nil) {
        self.items = items
        self.outfits = outfits
        self.format = format
    }

    /// Products by their content only (their text in `format`, slot); outfits with two or
    /// more known products, weighted 1 + ln(1 + likes) / ln(1 + most likes) (so 1…2: a
    /// loved outfit counts up to twice, an unrated one once).
    public init(products: [Product], outfits: [Outfit], format: ItemText.Format) {
        var byID: [String: ItemText] = [:]
        for p in products { byID[p.id] = ItemText(p, format: format) }
        items = products.map { byID[$0.id]! }
        self.format = format
        let most = Double(outfits.compactMap(\.likes).max() ?? 0)
        self.outfits = outfits.compactMap { outfit in
            let known = outfit.items.compactMap { byID[$0] }
            guard known.count >= 2 else { return nil }
            let likes = Double(max(0, outfit.likes ?? 0))
            let weight = most > 0 ? 1 + log1p(likes) / log1p(most) : 1
            return (known, Float(weight))
        }
    }
}

/// Trains a StyleLM from a corpus into a model directory, stage by stage, with
/// checkpoints a killed run resumes from.
public enum StyleLMTraining {
    public struct Report: Codable, Sendable {
        public var vocabSize = 0
        public var parameters = 0
        public var pretrainingExamples = 0
        public var fineTuningExamples = 0
        public var pretraining = TrainingSummary()
        public var fineTuning = TrainingSummary()
        public var resumedFrom: String?
        /// False when a deadline or step limit cut the run short (its checkpoint stays).
        public var complete = false
    }

    /// Runs the recipe into the model directory `out`. `deadline` bounds the run and
    /// `stepLimit` the optimizer steps of this call: a run cut short still writes the
    /// model it has, and keeps its checkpoint (`out.checkpoint`) so the next call with
    /// the same recipe and corpus continues where it stopped, to the same weights an
    /// uninterrupted run makes.
    public static func train(_ corpus: OutfitCorpus, recipe: StyleLMRecipe, out: URL, deadline: Date? = nil,
                             stepLimit: Int? = nil, log: (String) -> Void = { _ in }) throws -> Report {
        if let problem = recipe.problem() { throw LookbookError(.usage, "the recipe cannot train: \(problem)") }
        if let format = corpus.format, format != recipe.itemText {
            throw LookbookError(.usage, "the corpus reads items as \(format.rawValue) but the recipe as \(recipe.itemText.rawValue); build it with OutfitCorpus(products:outfits:format: recipe.itemText)")
        }
        var report = Report()
        let checkpoints = Checkpoints(url: out.appendingPathExtension("checkpoint"))

        // Tokenizer and base model: from a checkpoint when one is there.
        let texts = corpus.items.map(\.text) + corpus.outfits.flatMap { $0.items.map(\.text) }
        var resumed = try checkpoints.load()
        let tokenizer: BPETokenizer
        if let resumed {
            tokenizer = try BPETokenizer(json: resumed.tokenizerJSON)
            report.resumedFrom = "\(resumed.stage) step \(resumed.optimizer.step)"
            log("resuming \(resumed.stage) at step \(resumed.optimizer.step) from \(checkpoints.url.path)")
        } else {
            tokenizer = OutfitPrompts.trainTokenizer(on: texts, vocabSize: recipe.vocabSize)
        }
        let prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: recipe.maxLength, maxItemTokens: recipe.maxItemTokens,
                                        productFormat: recipe.productFormat, itemFormat: recipe.itemText)
        let config = resumed?.config ?? recipe.config(vocabSize: tokenizer.vocabSize)
        if let problem = config.problem() { throw LookbookError(.model, "the recipe makes no model: \(problem)") }
        let model = try resumed.map { try StyleLM(config: $0.config, weights: $0.weights) } ?? StyleLM(config: config, seed: recipe.seed)
        report.vocabSize = tokenizer.vocabSize
        report.parameters = config.parameterCount
        let tokenizerJSON = try tokenizer.jsonData()

        // Stage 1: the base model on product text (each distinct text once).
        var seen = Set<ItemText>()
        let pretrainingExamples = corpus.items.filter { seen.insert($0).inserted }.map {
            prompts.pretrainingExample($0, bag: recipe.pretrainingBagOfWordsWeight)
        }
        report.pretrainingExamples = pretrainingExamples.count
        var finished = true
        if resumed == nil || resumed?.stage == "pretraining" {
            model.setFullFineTuning()  // the base model learns every weight
            let trainer = LanguageModelTrainer(model: model, examples: pretrainingExamples, settings: recipe.pretraining,
                                               padToken: prompts.padToken)
            if let resumed { trainer.resume(optimizer: resumed.optimizer) }
            log("pretraining: \(pretrainingExamples.count) product texts, \(trainer.totalSteps) steps")
            report.pretraining = try trainer.run(deadline: deadline, stepLimit: stepLimit, checkpointEvery: 200, checkpoint: { _ in
                try checkpoints.save(stage: "pretraining", model: model, optimizer: trainer.optimizer, tokenizerJSON: tokenizerJSON)
            })
            resumed = nil
            finished = trainer.optimizer.step == trainer.totalSteps
        }

        // Stage 2: supervised fine-tuning on every leave-one-out of every outfit.
        var fineTuningExamples = corpus.outfits.flatMap {
            prompts.fillInTheBlankExamples(outfit: $0.items, weight: $0.weight, sequence: recipe.sequenceWeight, bag: recipe.bagOfWordsWeight)
        }
        if recipe.contextFreeWeight > 0 {
            // Every product of the catalog, not only those of the outfits: fine-tuning then
            // makes no product more familiar than another merely for being in a training
            // outfit, and the context-free prior stays in the model's own format.
            var distinct = Set<ItemText>()
            let items = corpus.items.filter { distinct.insert($0).inserted }
            fineTuningExamples += items.map {
                prompts.blankExample(context: [], target: $0, weight: recipe.contextFreeWeight, sequence: recipe.sequenceWeight,
                                     bag: recipe.bagOfWordsWeight)
            }
        }
        report.fineTuningExamples = fineTuningExamples.count
        if finished && recipe.fineTuning.epochs > 0 && !fineTuningExamples.isEmpty {
            if let lora = recipe.lora {
                if let resumed, let adapters = resumed.adapters {
                    try model.attachLoRA(adapters.0, adapters: adapters.1)
                } else {
                    try model.attachLoRA(lora, adapters: lora.initial(config, seed: recipe.seed &+ 1))
                }
            } else {
                model.setFullFineTuning()
            }
            let trainer = LanguageModelTrainer(model: model, examples: fineTuningExamples, settings: recipe.fineTuning,
                                               padToken: prompts.padToken)
            if let resumed { trainer.resume(optimizer: resumed.optimizer) }
            log("fine-tuning: \(corpus.outfits.count) outfits, \(fineTuningExamples.count) leave-one-out examples, \(trainer.totalSteps) steps")
            let left = stepLimit.map { max(0, $0 - report.pretraining.steps) }
            report.fineTuning = try trainer.run(deadline: deadline, stepLimit: left, checkpointEvery: 200, checkpoint: { _ in
                try checkpoints.save(stage: "fine-tuning", model: model, optimizer: trainer.optimizer, tokenizerJSON: tokenizerJSON)
            })
            finished = trainer.optimizer.step == trainer.totalSteps
        }
        report.complete = finished

        let adapters = model.lora.map { ($0, model.adapterValues()) }
        var metadata = ["recipe": String(decoding: try JSONEncoder.sorted.encode(recipe), as: UTF8.self),
                        "report": String(decoding: try JSONEncoder.sorted.encode(report), as: UTF8.self)]
        metadata["version"] = "stylelm-\(Self.fingerprint(model.weightValues(), adapters?.1))"
        try ModelDirectory(out).save(config: config, weights: model.weightValues(), tokenizerJSON: tokenizerJSON,
                                     adapters: adapters, metadata: metadata)
        if finished { try? FileManager.default.removeItem(at: checkpoints.url) }
        return report
    }

    /// A short hash of the weights: the model version the store records.
    static func fingerprint(_ weights: [String: [Float]], _ adapters: [String: [Float]]?) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for dict in [weights, adapters ?? [:]] {
            for name in dict.keys.sorted() {
                h = StableHash.fnv1a(name, h)
                for v in dict[name]! {
                    h = (h ^ UInt64(v.bitPattern)) &* 0x0000_0100_0000_01B3
                }
            }
        }
        return String(h, radix: 16)
    }
}

/// A training run's resumable state beside the model directory: the weights so far
/// (a model directory) and the optimizer's moments and step.
struct Checkpoints {
    let url: URL

    struct State {
        var stage: String
        var config: StyleLMConfig
        var weights: [String: [Float]]
        var adapters: (LoRAConfig, [String: [Float]])?
        var tokenizerJSON: Data
        var optimizer: AdamW
    }

    var optimizerURL: URL { url.appendingPathComponent("optimizer.safetensors") }

    func save(stage: String, model: StyleLM, optimizer: AdamW, tokenizerJSON: Data) throws {
        let adapters = model.lora.map { ($0, model.adapterValues()) }
        try ModelDirectory(url).save(config: model.config, weights: model.weightValues(), tokenizerJSON: tokenizerJSON,
                                     adapters: adapters, metadata: ["stage": stage])
        var tensors: [String: NamedTensor] = [:]
        for (name, values) in optimizer.state() { tensors[name] = NamedTensor(shape: [values.count], values: values) }
        try SafeTensors.write(tensors, metadata: ["stage": stage, "step": String(optimizer.step)], to: optimizerURL)
    }

    func load() throws -> State? {
        let directory = ModelDirectory(url)
        guard directory.exists, FileManager.default.fileExists(atPath: optimizerURL.path) else { return nil }
        let model = try directory.load()
        let (tensors, metadata) = try SafeTensors.read(optimizerURL)
        guard let stage = metadata["stage"], let step = metadata["step"].flatMap(Int.init) else {
            throw LookbookError(.model, "\(optimizerURL.path) has no stage/step metadata; delete \(url.path) to start over")
        }
        return State(stage: stage, config: model.config, weights: model.weights, adapters: model.adapters,
                     tokenizerJSON: model.tokenizerJSON, optimizer: AdamW(step: step, state: tensors.mapValues(\.values)))
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
