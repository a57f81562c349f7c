import Foundation
import LookbookCore
import Testing
@testable import StyleModel

/// A toy world with one rule a model can only learn from outfits: every look is of one
/// colour. Product text alone says nothing about which colours go together.
enum ToyOutfits {
    static let colours = ["red", "blue", "green", "black"]
    static let tops = ["shirt", "blouse", "tee"]
    static let bottoms = ["jeans", "skirt", "trousers"]
    static let shoes = ["boots", "sneakers", "loafers"]

    static func corpus(outfits count: Int, seed: UInt64 = 1) -> OutfitCorpus {
        var random = SplitMix64(seed: seed)
        var outfits: [(items: [ItemText], weight: Float)] = []
        var items = Set<ItemText>()
        for _ in 0..<count {
            let colour = colours[random.below(colours.count)]
            let look = [ItemText(slot: .top, text: "\(colour) \(tops[random.below(tops.count)])"),
                        ItemText(slot: .bottom, text: "\(colour) \(bottoms[random.below(bottoms.count)])"),
                        ItemText(slot: .shoes, text: "\(colour) \(shoes[random.below(shoes.count)])")]
            outfits.append((look, 1))
            items.formUnion(look)
        }
        return OutfitCorpus(items: items.sorted { $0.text < $1.text }, outfits: outfits)
    }

    static var recipe: StyleLMRecipe {
        var r = StyleLMRecipe.tiny
        r.vocabSize = 300
        r.maxLength = 48
        r.maxItemTokens = 6
        r.pretraining.epochs = 20
        r.pretraining.learningRate = 1e-2
        r.pretraining.batchTokens = 64
        r.fineTuning.epochs = 30
        r.lora = LoRAConfig(rank: 8, alpha: 32)
        r.fineTuning.batchTokens = 256
        r.fineTuning.learningRate = 1e-2
        return r
    }
}

@Suite struct OutfitPromptTests {
    let prompts: OutfitPrompts

    init() throws {
        let tokenizer = OutfitPrompts.trainTokenizer(on: ["white cotton shirt", "navy wool trousers", "black leather loafers"],
                                                     vocabSize: 300)
        prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: 160, maxItemTokens: 24)
    }

    func decode(_ tokens: [Int32]) -> String { prompts.tokenizer.decode(tokens) }

    @Test func promptListsContextInSlotOrderThenTheBlank() {
        let shoes = ItemText(slot: .shoes, text: "black leather loafers")
        let top = ItemText(slot: .top, text: "white cotton shirt")
        let a = prompts.prompt(context: [shoes, top], blank: .bottom)
        let b = prompts.prompt(context: [top, shoes], blank: .bottom)
        #expect(a == b)
        #expect(decode(a) == "<s><slot:top>white cotton shirt<sep><slot:shoes>black leather loafers<sep><blank><slot:bottom>")
    }

    @Test func leaveOneOutTrainsOnTheMissingItemOnly() {
        let outfit = [ItemText(slot: .top, text: "white cotton shirt"), ItemText(slot: .bottom, text: "navy wool trousers"),
                      ItemText(slot: .shoes, text: "black leather loafers")]
        let examples = prompts.fillInTheBlankExamples(outfit: outfit, weight: 1.5)
        #expect(examples.count == 3)
        for (example, target) in zip(examples, outfit) {
            let answer = prompts.continuation(target.text)
            #expect(Array(example.tokens.suffix(answer.count)) == answer)
            #expect(example.weights.suffix(answer.count).allSatisfy { $0 == 1.5 })
            #expect(example.weights.dropLast(answer.count).allSatisfy { $0 == 0 })
            #expect(!decode(Array(example.tokens.dropLast(answer.count))).contains(target.text))
        }
        #expect(prompts.fillInTheBlankExamples(outfit: [outfit[0]]).isEmpty)
    }

    @Test func longOutfitsCutEveryItemRatherThanDropOne() {
        let long = String(repeating: "white cotton shirt ", count: 10)
        let outfit = (0..<6).map { ItemText(slot: .accessory, text: long + "\($0)") }
        let prompt = prompts.prompt(context: Array(outfit.dropLast()), blank: .accessory)
        #expect(prompt.count + prompts.maxItemTokens + 1 <= prompts.maxLength)
        let separator = prompts.tokenizer.id(ofSpecial: OutfitPrompts.separator)!
        #expect(prompt.filter { $0 == separator }.count == 5)
    }

    /// An item speaks through its caption, else its title, else its category; never its id.
    @Test func itemWordsComeFromCaptionThenTitleThenCategory() {
        var p = Product(id: "SKU-123", title: "Slim  Navy Chinos", category: "Men > Trousers")
        #expect(ItemText(p, format: .words) == ItemText(slot: p.slot, text: "slim navy chinos"))
        p.attributes["caption"] = "navy solid cotton casual trousers"
        #expect(ItemText(p, format: .words).text == "navy solid cotton casual trousers")
        p.attributes["caption"] = "  "
        p.title = ""
        #expect(ItemText(p, format: .words).text == "men > trousers")
    }

    /// `.kindAndWords` puts the product's most specific kind before its words: a finer-kind
    /// attribute, else the last step of the category path; an item that speaks through its
    /// category says it once.
    @Test func kindAndWordsPutsTheKindFirst() {
        var p = Product(id: "SKU-123", title: "Slim  Navy Chinos", category: "Men > Trousers")
        #expect(ItemText(p, format: .kindAndWords) == ItemText(slot: p.slot, text: "trousers : slim navy chinos"))
        p.attributes["caption"] = "navy solid cotton casual trousers"
        #expect(ItemText(p, format: .kindAndWords).text == "trousers : navy solid cotton casual trousers")
        p.attributes["article_type"] = "Chinos"
        #expect(ItemText(p, format: .kindAndWords).text == "chinos : navy solid cotton casual trousers")
        p.attributes["polyvore_category"] = "Pants"  // article_type is read first
        #expect(ItemText(p, format: .kindAndWords).text == "chinos : navy solid cotton casual trousers")
        p.attributes = ["caption": " "]
        p.title = ""
        #expect(ItemText(p, format: .kindAndWords).text == "men > trousers")
        let bare = Product(id: "x", title: "Red scarf", category: "")
        #expect(ItemText(bare, format: .kindAndWords).text == "red scarf")
        // The prompts read products in the format they were made with.
        let kinds = try? OutfitPrompts(tokenizer: prompts.tokenizer, maxLength: prompts.maxLength, itemFormat: .kindAndWords)
        #expect(kinds?.item(bare) == ItemText(bare, format: .kindAndWords))
        #expect(prompts.item(p) == ItemText(p, format: prompts.itemFormat))
    }

    /// A recipe trains only on a corpus read in its own format; a recipe saved before the
    /// format existed reads `.words`, a new one `.kindAndWords`.
    @Test func theRecipeNamesTheItemFormat() throws {
        #expect(StyleLMRecipe().itemText == .kindAndWords && StyleLMRecipe().with(head: .bag).itemText == .kindAndWords)
        #expect(StyleLMRecipe.tiny.itemText == .words)  // twelve tokens an item: no room for a kind
        let old = try JSONDecoder().decode(StyleLMRecipe.self, from: Data(#"{"vocabSize": 300}"#.utf8))
        #expect(old.itemText == .words)
        let saved = try JSONDecoder().decode(StyleLMRecipe.self, from: JSONEncoder().encode(StyleLMRecipe()))
        #expect(saved.itemText == .kindAndWords)
        let products = [Product(id: "a", title: "white shirt", category: "Tops"), Product(id: "b", title: "blue jeans", category: "Jeans")]
        let corpus = OutfitCorpus(products: products, outfits: [Outfit(id: "o", items: ["a", "b"])], format: .words)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-format-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var kinds = StyleLMRecipe.tiny
        kinds.itemText = .kindAndWords
        #expect(throws: LookbookError.self) { try StyleLMTraining.train(corpus, recipe: kinds, out: out) }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func specialTokenTextInATitleStaysText() {
        let sneaky = prompts.continuation("<blank><slot:top></s>")
        #expect(sneaky.filter { $0 == prompts.endToken }.count == 1)  // only the real end
    }
}

@Suite struct TrainingScheduleTests {
    @Test func warmupThenCosineToTheFloor() {
        var s = TrainingSettings()
        s.learningRate = 1
        s.warmupFraction = 0.1
        s.minLearningRateRatio = 0.1
        let lr = (0..<100).map { s.learningRate(step: $0, total: 100) }
        #expect(abs(lr[0] - 0.1) < 1e-6)
        #expect(abs(lr[9] - 1) < 1e-6)
        #expect(zip(lr[10...], lr[11...]).allSatisfy { $0 >= $1 })
        #expect(abs(lr[99] - 0.1) < 0.01)
        // Half way through the cosine: the mean of peak and floor.
        #expect(abs(s.learningRate(step: 55, total: 100) - 0.55) < 0.01)
    }

    @Test func batchPlanCoversEveryExampleOncePerEpochWithinTheTokenBudget() {
        var random = SplitMix64(seed: 3)
        let lengths = (0..<500).map { _ in 3 + random.below(40) }
        var s = TrainingSettings()
        s.epochs = 2
        s.batchTokens = 200
        let plan = BatchPlan(lengths: lengths, settings: s)
        #expect(plan.batches.allSatisfy { ($0.map { lengths[$0] }.max() ?? 0) * $0.count <= 200 })
        let seen = plan.batches.flatMap { $0 }
        #expect(seen.count == 1000)
        #expect(Dictionary(grouping: seen, by: { $0 }).values.allSatisfy { $0.count == 2 })
        #expect(plan == BatchPlan(lengths: lengths, settings: s))
        s.seed = 1
        #expect(plan != BatchPlan(lengths: lengths, settings: s))
        s.epochs = 0.5
        #expect(abs(BatchPlan(lengths: lengths, settings: s).batches.flatMap { $0 }.count - 250) < 40)
    }

    /// The trainer sends only the weighted (answer) positions through the output head; its
    /// loss and gradients equal cross-entropy over every position's logits with the same
    /// weights (prompt positions weighted 0).
    @Test func answerOnlyHeadEqualsTheFullLogitsLoss() throws {
        let model = try GradientCheck.randomizedModel()
        model.setFullFineTuning()
        let examples = [TrainingExample(tokens: [1, 5, 9, 2, 30], weights: [0, 0, 0, 1, 1]),
                        TrainingExample(tokens: [1, 4, 4, 17], weights: [0, 0, 2, 2])]
        let trainer = LanguageModelTrainer(model: model, examples: examples, settings: TrainingSettings(), padToken: 0)
        let parameters = model.trainableParameters
        for (_, t) in parameters { t.zeroGrad() }
        let trained = trainer.step([0, 1], learningRate: 0, learn: false).loss
        let batch = TokenBatch(rows: [[1, 5, 9, 2], [1, 4, 4]], pad: 0)
        let targets: [Int32] = [5, 9, 2, 30, 4, 4, 17, 0]
        let weights: [Float] = [0, 0, 1, 1, 0, 2, 2, 0]
        let tape = Tape()
        let full = tape.crossEntropy(logits: model.logits(batch, on: tape), targets: targets, weights: weights)
        #expect(abs(trained - Double(full.value[0])) < 1e-6, "answer-only \(trained) vs full \(full.value[0])")
        tape.backward(full)
        let fullGrads = parameters.map(\.tensor.grad)
        for (_, t) in parameters { t.zeroGrad() }
        let tape2 = Tape()
        let read = weights.indices.filter { weights[$0] != 0 }
        let gathered = tape2.crossEntropy(logits: model.logits(batch, rows: read, on: tape2), targets: read.map { targets[$0] },
                                          weights: read.map { weights[$0] })
        tape2.backward(gathered)
        for (a, b) in zip(parameters.map(\.tensor.grad), fullGrads) {
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        }
    }

    /// The first AdamW step moves each weight by lr·(sign(g) + decay·w) whatever |g|,
    /// because m̂ = g and v̂ = g² after bias correction.
    @Test func firstAdamWStepIsSignedLearningRate() {
        let w = Tensor(shape: [2, 2], value: [1, -2, 3, 0.5], requiresGrad: true)
        w.grad = [0.001, -30, 4, -0.2]
        var s = TrainingSettings()
        s.weightDecay = 0.1
        s.epsilon = 0
        var adam = AdamW()
        adam.update([("w", w)], learningRate: 0.01, settings: s)
        let expected: [Float] = [1 - 0.01 * (1 + 0.1), -2 - 0.01 * (-1 - 0.2), 3 - 0.01 * (1 + 0.3), 0.5 - 0.01 * (-1 + 0.05)]
        for (a, b) in zip(w.value, expected) { #expect(abs(a - b) < 1e-6) }
        // Norm-like (1-D) tensors are not decayed.
        let n = Tensor(shape: [1], value: [2], requiresGrad: true)
        n.grad = [1]
        var adam2 = AdamW()
        adam2.update([("n", n)], learningRate: 0.01, settings: s)
        #expect(abs(n.value[0] - 1.99) < 1e-6)
    }

    @Test func clippingScalesTheJointNorm() {
        let a = Tensor(shape: [2], value: [0, 0], requiresGrad: true)
        let b = Tensor(shape: [1], value: [0], requiresGrad: true)
        a.grad = [3, 0]
        b.grad = [4]
        #expect(LanguageModelTrainer.clip([a, b], to: 1) == 5)
        #expect(abs(a.grad[0] - 0.6) < 1e-6 && abs(b.grad[0] - 0.8) < 1e-6)
    }
}

@Suite(.serialized) struct StyleLMTrainingTests {
    func tempDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stylelm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Fine-tuning on one-colour looks teaches the model the rule: the same-colour
    /// candidate wins the blank far more often than chance, where the base model
    /// (product text alone) cannot know it.
    @Test func fineTuningLearnsWhatGoesTogether() throws {
        let dir = try tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = ToyOutfits.corpus(outfits: 120)
        var recipe = ToyOutfits.recipe
        let report = try StyleLMTraining.train(corpus, recipe: recipe, out: dir.appendingPathComponent("sft"))
        #expect(report.complete)
        #expect(report.fineTuning.lastLoss! < report.fineTuning.firstLoss!)
        recipe.fineTuning.epochs = 0
        _ = try StyleLMTraining.train(corpus, recipe: recipe, out: dir.appendingPathComponent("base"))

        func accuracy(_ model: String) throws -> Double {
            let scoring = try StyleLMScoring(directory: dir.appendingPathComponent(model))
            var random = SplitMix64(seed: 9)
            var right = 0
            let questions = 40
            for _ in 0..<questions {
                let colour = ToyOutfits.colours[random.below(4)]
                let context = [ItemText(slot: .top, text: "\(colour) shirt"), ItemText(slot: .shoes, text: "\(colour) boots")]
                let candidates = ToyOutfits.colours.map { ItemText(slot: .bottom, text: "\($0) jeans") }
                let scores = scoring.scores(context: context, slot: .bottom, candidates: candidates)
                if scores.indices.max(by: { scores[$0] < scores[$1] }) == ToyOutfits.colours.firstIndex(of: colour) { right += 1 }
            }
            return Double(right) / Double(questions)
        }
        let sft = try accuracy("sft"), base = try accuracy("base")
        #expect(sft >= 0.8, "SFT FITB accuracy \(sft)")
        #expect(base <= 0.5, "base FITB accuracy \(base)")
    }

    /// A run stopped after some steps and continued gives exactly the weights of a run
    /// that was never stopped. Bits depend on the OpenBLAS thread count, which a test
    /// scoring alongside sets process-wide (`BLASThreads`): holding it at one thread for
    /// the whole test keeps every training here on the same count.
    @Test func resumedTrainingEqualsUninterrupted() throws {
        try BLASThreads.single { try resumedTrainingEqualsUninterruptedOnOneThread() }
    }

    func resumedTrainingEqualsUninterruptedOnOneThread() throws {
        let dir = try tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = ToyOutfits.corpus(outfits: 30)
        var recipe = ToyOutfits.recipe
        recipe.fineTuning.epochs = 2
        let straight = dir.appendingPathComponent("straight"), stopped = dir.appendingPathComponent("stopped")
        _ = try StyleLMTraining.train(corpus, recipe: recipe, out: straight)

        var report = try StyleLMTraining.train(corpus, recipe: recipe, out: stopped, stepLimit: 3)
        #expect(!report.complete)
        #expect(FileManager.default.fileExists(atPath: stopped.appendingPathExtension("checkpoint").path))
        var rounds = 0
        while !report.complete && rounds < 50 {
            report = try StyleLMTraining.train(corpus, recipe: recipe, out: stopped, stepLimit: 5)
            rounds += 1
        }
        #expect(report.complete && rounds > 1)
        #expect(!FileManager.default.fileExists(atPath: stopped.appendingPathExtension("checkpoint").path))
        let a = try ModelDirectory(straight).load(), b = try ModelDirectory(stopped).load()
        #expect(a.weights == b.weights)
        #expect(a.adapters?.1 == b.adapters?.1)
        #expect(a.tokenizerJSON == b.tokenizerJSON)
    }

    /// On one OpenBLAS thread throughout, as `resumedTrainingEqualsUninterrupted`.
    @Test func sameSeedSameModel() throws {
        try BLASThreads.single { try sameSeedSameModelOnOneThread() }
    }

    func sameSeedSameModelOnOneThread() throws {
        let dir = try tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = ToyOutfits.corpus(outfits: 20)
        var recipe = ToyOutfits.recipe
        recipe.fineTuning.epochs = 1
        _ = try StyleLMTraining.train(corpus, recipe: recipe, out: dir.appendingPathComponent("a"))
        _ = try StyleLMTraining.train(corpus, recipe: recipe, out: dir.appendingPathComponent("b"))
        recipe.seed = 7
        _ = try StyleLMTraining.train(corpus, recipe: recipe, out: dir.appendingPathComponent("c"))
        let a = try ModelDirectory(dir.appendingPathComponent("a")).load()
        let b = try ModelDirectory(dir.appendingPathComponent("b")).load()
        let c = try ModelDirectory(dir.appendingPathComponent("c")).load()
        #expect(a.weights == b.weights && a.adapters?.1 == b.adapters?.1)
        #expect(a.weights != c.weights)
    }
}

/// The prompt formats and the recipe keys the scoring options came with.
@Suite struct ScoringFormatTests {
    let tokenizer = OutfitPrompts.trainTokenizer(on: ["white cotton shirt", "navy wool trousers", "black leather loafers"],
                                                 vocabSize: 300)

    @Test func blankProductFormatIsTheEmptyOutfitPrompt() throws {
        let blank = try OutfitPrompts(tokenizer: tokenizer, maxLength: 96, maxItemTokens: 24, productFormat: .blank)
        let slot = try OutfitPrompts(tokenizer: tokenizer, maxLength: 96, maxItemTokens: 24)
        #expect(blank.productPrompt(.top) == blank.prompt(context: [], blank: .top))
        #expect(tokenizer.decode(blank.productPrompt(.top)) == "<s><blank><slot:top>")
        #expect(tokenizer.decode(slot.productPrompt(.top)) == "<s><slot:top>")
        let item = ItemText(slot: .bottom, text: "navy wool trousers")
        #expect(tokenizer.decode(blank.pretrainingExample(item).tokens) == "<s><blank><slot:bottom>navy wool trousers</s>")
    }

    @Test func contextFreeExamplesTrainEachItemWithoutContext() throws {
        let prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: 96, maxItemTokens: 24)
        let outfit = [ItemText(slot: .top, text: "white cotton shirt"), ItemText(slot: .shoes, text: "black leather loafers")]
        let examples = prompts.contextFreeExamples(outfit: outfit, weight: 0.5)
        #expect(examples.map { tokenizer.decode($0.tokens) }
                == ["<s><blank><slot:top>white cotton shirt</s>", "<s><blank><slot:shoes>black leather loafers</s>"])
        for example in examples {
            #expect(example.weights.prefix(3).allSatisfy { $0 == 0 })
            #expect(example.weights.dropFirst(3).allSatisfy { $0 == 0.5 })
        }
        #expect(prompts.contextFreeExamples(outfit: [outfit[0]]).isEmpty)
    }

    /// Model directories and recipe files written before the new keys load as they were
    /// trained: product text as `<s> <slot>`, no context-free examples, base calibration,
    /// and an absent `lora` still means full fine-tuning.
    @Test func recipeWithoutTheNewKeysLoadsAsBefore() throws {
        let old = #"{"hiddenSize": 128, "fineTuning": {"epochs": 6, "batch_tokens": 2048, "learning_rate": 0.001, "warmup_fraction": 0.05, "min_learning_rate_ratio": 0.1, "weight_decay": 0.01, "clip_norm": 1, "beta1": 0.9, "beta2": 0.98, "epsilon": 1e-8, "seed": 0}}"#
        let recipe = try JSONDecoder().decode(StyleLMRecipe.self, from: Data(old.utf8))
        #expect(recipe.hiddenSize == 128 && recipe.fineTuning.epochs == 6 && recipe.layers == StyleLMRecipe.legacy.layers)
        #expect(recipe.productFormat == .slot && recipe.contextFreeWeight == 0)
        #expect(recipe.scoring == StyleLMScoring.Options(calibration: .base, lengthNormalised: true, scoreEnd: true))
        #expect(recipe.lora == nil)
        for r in [StyleLMRecipe(), .small, .tiny, .legacy] {
            #expect(try JSONDecoder().decode(StyleLMRecipe.self, from: JSONEncoder().encode(r)) == r)
        }
    }

    @Test func aStageObjectMayNameOnlyWhatItChanges() throws {
        let partial = #"{"pretraining": {"epochs": 5}, "fineTuning": {"learning_rate": 0.01, "seed": 7}}"#
        let recipe = try JSONDecoder().decode(StyleLMRecipe.self, from: Data(partial.utf8))
        var pretraining = StyleLMRecipe().pretraining
        pretraining.epochs = 5  // its learning rate stays the pretraining default (3e-3), not TrainingSettings'
        var fineTuning = StyleLMRecipe().fineTuning
        fineTuning.learningRate = 0.01
        fineTuning.seed = 7
        #expect(recipe.pretraining == pretraining && recipe.pretraining.learningRate == 3e-3)
        #expect(recipe.fineTuning == fineTuning)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(StyleLMRecipe.self, from: Data(#"{"fineTuning": {"epochs": "two"}}"#.utf8))
        }
    }

    /// `lookbook train --recipe R.json` lays the file over the recipe `--size` and `--head`
    /// chose: a vocabulary alone keeps the bag head, its training and its kind-and-words text
    /// (read as a model directory's recipe, the missing keys would be the legacy ones).
    @Test func aRecipeFileChangesOnlyTheKeysItNames() throws {
        let bag = StyleLMRecipe().with(head: .bag)
        var expected = bag
        expected.vocabSize = 8192
        let larger = try bag.overlaid(with: Data(#"{"vocabSize": 8192}"#.utf8))
        #expect(larger == expected && larger.itemText == .kindAndWords && larger.lora == nil)
        #expect(try JSONDecoder().decode(StyleLMRecipe.self, from: Data(#"{"vocabSize": 8192}"#.utf8)).itemText == .words)
        // The README's bag recipe over the sequence head's recipe is the bag head, key for key.
        let file = #"{"bagOfWordsWeight": 1, "sequenceWeight": 0, "contextFreeWeight": 1, "lora": null, "fineTuning": {"epochs": 4, "learning_rate": 0.002}, "scoring": {"calibration": "context-free", "method": "bag", "lengthNormalised": true, "scoreEnd": true, "cacheWeight": 0.2}}"#
        #expect(StyleLMRecipe().lora != nil)
        #expect(try StyleLMRecipe().overlaid(with: Data(file.utf8)) == bag)
        // A stage object changes only what it names.
        let changed = try bag.overlaid(with: Data(#"{"fineTuning": {"learning_rate": 0.001}, "scoring": {"cacheWeight": 0.3}}"#.utf8))
        #expect(changed.fineTuning.epochs == 4 && changed.fineTuning.learningRate == 0.001 && changed.fineTuning.seed == bag.fineTuning.seed)
        #expect(changed.scoring.method == .bagOfWords && changed.scoring.calibration == .contextFree && changed.scoring.cacheWeight == 0.3)
        // An unknown key or a file that is not an object is a usage error; a wrong type fails to decode.
        #expect(throws: LookbookError.self) { try bag.overlaid(with: Data(#"{"vocab": 8192}"#.utf8)) }
        #expect(throws: LookbookError.self) { try bag.overlaid(with: Data("[1]".utf8)) }
        #expect(throws: DecodingError.self) { try bag.overlaid(with: Data(#"{"fineTuning": {"epochs": "two"}}"#.utf8)) }
    }
}

/// Scoring options against the model's raw per-token log-probabilities.
@Suite struct ScoringOptionsTests {
    let prompts: OutfitPrompts
    let inference: StyleLMInference
    let context = [ItemText(slot: .top, text: "white cotton shirt"), ItemText(slot: .shoes, text: "black leather loafers")]
    let candidates = [ItemText(slot: .bottom, text: "navy wool trousers"), ItemText(slot: .bottom, text: "white jeans"),
                      ItemText(slot: .bottom, text: "shirt")]

    init() throws {
        (prompts, inference) = try Self.tinyModel(productFormat: .blank)
    }

    /// A tiny random model (seed 5) and its prompts, over a tokenizer of three items' words.
    static func tinyModel(productFormat: OutfitPrompts.ProductFormat) throws -> (OutfitPrompts, StyleLMInference) {
        let tokenizer = OutfitPrompts.trainTokenizer(on: ["white cotton shirt", "navy wool trousers", "black leather loafers"],
                                                     vocabSize: 300)
        let prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: 96, maxItemTokens: 24, productFormat: productFormat)
        var config = StyleLMConfig.tiny(vocabSize: tokenizer.vocabSize)
        config.maxPositionEmbeddings = 96
        return (prompts, try StyleLMInference(config: config, weights: StyleLMTests.randomized(config, seed: 5).weightValues()))
    }

    func scoring(_ options: StyleLMScoring.Options) -> StyleLMScoring {
        StyleLMScoring(prompts: prompts, inference: inference, version: "test", options: options)
    }

    /// Per-token log-probabilities of each candidate (words then `</s>`) after `prompt`.
    func raw(_ prompt: [Int32]) -> [[Double]] {
        inference.continuationLogProbs(inference.prefill(prompt), candidates.map { prompts.continuation($0.text) })
            .map { $0.map(Double.init) }
    }

    @Test func meanSumAndEndTokenAggregateTheSameLogProbabilities() {
        let raw = raw(prompts.prompt(context: context, blank: .bottom))
        let mean = scoring(.init(calibration: .none)).scores(context: context, slot: .bottom, candidates: candidates)
        let sum = scoring(.init(calibration: .none, lengthNormalised: false)).scores(context: context, slot: .bottom, candidates: candidates)
        let words = scoring(.init(calibration: .none, scoreEnd: false)).scores(context: context, slot: .bottom, candidates: candidates)
        for (i, lp) in raw.enumerated() {
            #expect(lp.count >= 2)
            #expect(abs(sum[i] - lp.reduce(0, +)) < 1e-4)
            #expect(abs(mean[i] - lp.reduce(0, +) / Double(lp.count)) < 1e-4)
            #expect(abs(words[i] - lp.dropLast().reduce(0, +) / Double(lp.count - 1)) < 1e-4)
        }
        #expect(Set(sum.map { Float($0) }).count == 3)  // the candidates differ
    }

    /// `.contextFree` subtracts the same model's score of the candidate as the blank of
    /// an empty outfit; `.base` subtracts the base model's score after `productPrompt`.
    @Test func calibrationsSubtractTheirPrior() throws {
        let conditional = raw(prompts.prompt(context: context, blank: .bottom)).map { $0.reduce(0, +) / Double($0.count) }
        let empty = raw(prompts.prompt(context: [], blank: .bottom)).map { $0.reduce(0, +) / Double($0.count) }
        let contextFree = scoring(.init(calibration: .contextFree)).scores(context: context, slot: .bottom, candidates: candidates)
        for i in candidates.indices { #expect(abs(contextFree[i] - (conditional[i] - empty[i])) < 1e-4) }
        // Without context there is nothing to add: every candidate scores 0.
        let none = scoring(.init(calibration: .contextFree)).scores(context: [], slot: .bottom, candidates: candidates)
        #expect(none.allSatisfy { abs($0) < 1e-5 })

        let other = try StyleLMInference(config: inference.config, weights: StyleLMTests.randomized(inference.config, seed: 6).weightValues())
        let based = StyleLMScoring(prompts: prompts, inference: inference, base: other, version: "test", options: .init(calibration: .base))
        let prior = other.continuationLogProbs(other.prefill(prompts.productPrompt(.bottom)), candidates.map { prompts.continuation($0.text) })
            .map { Double($0.reduce(0, +)) / Double($0.count) }
        let scores = based.scores(context: context, slot: .bottom, candidates: candidates)
        for i in candidates.indices { #expect(abs(scores[i] - (conditional[i] - prior[i])) < 1e-4) }
    }
}
