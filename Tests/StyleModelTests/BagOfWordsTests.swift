import Foundation
import LookbookCore
import Testing
@testable import StyleModel

/// log softmax(row)[t] in Float64, from the raw logits: the independent reference.
private func logSoftmax(_ logits: [Float], row: Int, vocab: Int, _ t: Int32) -> Double {
    let values = logits[(row * vocab)..<((row + 1) * vocab)].map(Double.init)
    let top = values.max()!
    let logSumExp = top + log(values.reduce(0) { $0 + exp($1 - top) })
    return values[Int(t)] - logSumExp
}

/// The bag-of-words loss: at the blank position the model predicts every distinct token of
/// the missing item, each with weight bag.weight / n, in one cross-entropy with the answer
/// tokens.
@Suite struct BagOfWordsLossTests {
    /// One example with an answer and a bag, one with a bag only (a prompt alone, whose
    /// last token is the bag's position), one without a bag.
    static let examples = [
        TrainingExample(tokens: [1, 5, 9, 2, 30], weights: [0, 0, 0, 1, 1],
                        bag: .init(position: 2, targets: [30, 7, 11], weight: 1.5)),
        TrainingExample(tokens: [1, 4, 4, 17], weights: [0, 0, 0, 0], bag: .init(position: 3, targets: [12, 3], weight: 2)),
        TrainingExample(tokens: [1, 6, 8], weights: [0, 0.5, 0.5]),
    ]

    @Test func lossEqualsExplicitLogSoftmaxSums() throws {
        let model = try GradientCheck.randomizedModel()
        model.setFullFineTuning()
        let trainer = LanguageModelTrainer(model: model, examples: Self.examples, settings: TrainingSettings(), padToken: 0)
        let loss = trainer.step([0, 1, 2], learningRate: 0, learn: false)
        #expect(loss.tokens == 4 + 4 + 2)  // the bag-only prompt goes in whole

        // Every position's logits of the rows as the trainer builds them, then the sums by hand.
        let rows: [[Int32]] = [[1, 5, 9, 2], [1, 4, 4, 17], [1, 6]]
        let batch = TokenBatch(rows: rows, pad: 0)
        let logits = model.logits(batch, on: Tape()).value
        let vocab = model.config.vocabSize, seq = batch.seq
        var total = 0.0, weight = 0.0
        for (r, example) in Self.examples.enumerated() {
            for t in 1..<example.tokens.count where example.weights[t] != 0 {
                total -= Double(example.weights[t]) * logSoftmax(logits, row: r * seq + t - 1, vocab: vocab, example.tokens[t])
                weight += Double(example.weights[t])
            }
            if let bag = example.bag {
                for target in bag.targets {
                    total -= Double(bag.weight) / Double(bag.targets.count)
                        * logSoftmax(logits, row: r * seq + bag.position, vocab: vocab, target)
                }
                weight += Double(bag.weight)
            }
        }
        #expect(abs(loss.loss - total / weight) < 1e-5, "trainer \(loss.loss) vs by hand \(total / weight)")
    }

    @Test func bagOnlyLossIsTheMeanBagCrossEntropy() throws {
        let model = try GradientCheck.randomizedModel()
        let example = Self.examples[1]
        let trainer = LanguageModelTrainer(model: model, examples: [example], settings: TrainingSettings(), padToken: 0)
        let logits = model.logits(TokenBatch(rows: [example.tokens], pad: 0), on: Tape()).value
        let bag = example.bag!
        let expected = -bag.targets.map { logSoftmax(logits, row: bag.position, vocab: model.config.vocabSize, $0) }
            .reduce(0, +) / Double(bag.targets.count)
        #expect(abs(trainer.step([0], learningRate: 0, learn: false).loss - expected) < 1e-5)
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let model = try GradientCheck.randomizedModel()
        model.setFullFineTuning()
        let trainer = LanguageModelTrainer(model: model, examples: Self.examples, settings: TrainingSettings(), padToken: 0)
        let parameters = model.trainableParameters.map(\.tensor)
        let error = GradientCheck.worstError(parameters, h: 1e-2, sample: 16) { tape in trainer.loss([0, 1, 2], on: tape).loss! }
        #expect(error < 2e-2, "worst relative gradient error \(error)")
    }

    @Test func loRAGradientOfTheBagMatchesFiniteDifferences() throws {
        let model = try GradientCheck.randomizedModel(lora: LoRAConfig(rank: 2, alpha: 4))
        let trainer = LanguageModelTrainer(model: model, examples: [Self.examples[1]], settings: TrainingSettings(), padToken: 0)
        let error = GradientCheck.worstError(model.trainableParameters.map(\.tensor), h: 1e-2, sample: 16) { tape in
            trainer.loss([0], on: tape).loss!
        }
        #expect(error < 2e-2, "worst relative gradient error \(error)")
    }
}

/// Where the bag goes in the examples the recipe makes.
@Suite struct BagOfWordsExampleTests {
    let prompts: OutfitPrompts
    let outfit = [ItemText(slot: .top, text: "white cotton shirt"), ItemText(slot: .shoes, text: "black leather loafers")]

    init() throws {
        let tokenizer = OutfitPrompts.trainTokenizer(on: ["white cotton shirt", "navy wool trousers", "black leather loafers"],
                                                     vocabSize: 300)
        prompts = try OutfitPrompts(tokenizer: tokenizer, maxLength: 96, maxItemTokens: 24)
    }

    @Test func bagSitsAtTheBlankSlotAfterThePrompt() {
        let examples = prompts.fillInTheBlankExamples(outfit: outfit, weight: 1.5, sequence: 1, bag: 2)
        for (example, target) in zip(examples, outfit) {
            let prompt = prompts.prompt(context: outfit.filter { $0 != target }, blank: target.slot)
            #expect(Array(example.tokens.prefix(prompt.count)) == prompt)
            #expect(example.bag == .init(position: prompt.count - 1, targets: prompts.bagOfWords(target.text), weight: 3))
            #expect(example.weights.suffix(example.tokens.count - prompt.count).allSatisfy { $0 == 1.5 })
        }
    }

    @Test func withoutTheSequenceAnExampleIsThePromptAlone() {
        let examples = prompts.fillInTheBlankExamples(outfit: outfit, weight: 1, sequence: 0, bag: 1)
        for (example, target) in zip(examples, outfit) {
            #expect(example.tokens == prompts.prompt(context: outfit.filter { $0 != target }, blank: target.slot))
            #expect(example.weights.allSatisfy { $0 == 0 })
            #expect(example.bag?.position == example.tokens.count - 1)
            #expect(example.inputCount == example.tokens.count)
        }
    }

    @Test func legacyArgumentsMakeTheOldExamples() {
        let old = prompts.fillInTheBlankExamples(outfit: outfit, weight: 1.5)
        #expect(old.allSatisfy { $0.bag == nil })
        #expect(old.map(\.tokens) == outfit.indices.map { i in
            prompts.prompt(context: outfit.filter { $0 != outfit[i] }, blank: outfit[i].slot) + prompts.continuation(outfit[i].text)
        })
    }

    @Test func bagHoldsEachTokenOnce() {
        let words = prompts.words("white white shirt white")
        let bag = prompts.bagOfWords("white white shirt white")
        #expect(Set(bag) == Set(words) && bag.count == Set(words).count)
    }

    @Test func pretrainingBagSitsAtTheSlot() {
        let example = prompts.pretrainingExample(outfit[0], bag: 0.5)
        #expect(example.bag == .init(position: 1, targets: prompts.bagOfWords(outfit[0].text), weight: 0.5))
        #expect(prompts.pretrainingExample(outfit[0]).bag == nil)
    }
}

/// Bag-of-words scores against the model's own next-token distributions.
@Suite struct BagOfWordsScoringTests {
    let prompts: OutfitPrompts
    let inference: StyleLMInference
    let context = [ItemText(slot: .top, text: "white cotton shirt"), ItemText(slot: .shoes, text: "black leather loafers")]
    let candidates = [ItemText(slot: .bottom, text: "navy wool trousers"), ItemText(slot: .bottom, text: "white white jeans"),
                      ItemText(slot: .bottom, text: "shirt")]

    init() throws {
        (prompts, inference) = try ScoringOptionsTests.tinyModel(productFormat: .slot)
    }

    func scoring(_ calibration: StyleLMScoring.Calibration, lengthNormalised: Bool = true, method: StyleLMScoring.Method = .bagOfWords,
                 base: StyleLMInference? = nil, cacheWeight: Double = 0) -> StyleLMScoring {
        StyleLMScoring(prompts: prompts, inference: inference, base: base, version: "test",
                       options: .init(calibration: calibration, lengthNormalised: lengthNormalised, method: method, cacheWeight: cacheWeight))
    }

    /// log p(t) at the last position of `prompt`, from the uncached reference forward pass.
    func lastLogProb(_ model: StyleLMInference, _ prompt: [Int32], _ t: Int32) -> Double {
        let logits = model.logits(prompt)
        return logSoftmax(logits, row: prompt.count - 1, vocab: model.config.vocabSize, t)
    }

    func expected(prior: (Int32) -> Double, sum: Bool = false, cache: (Int32) -> Double = { _ in 0 }, weight: Double = 0) -> [Double] {
        let prompt = prompts.prompt(context: context, blank: .bottom)
        return candidates.map { c in
            let tokens = Array(Set(prompts.words(c.text)))
            let total = tokens.map {
                log((1 - weight) * exp(lastLogProb(inference, prompt, $0)) + weight * cache($0)) - prior($0)
            }.reduce(0, +)
            return sum ? total : total / Double(tokens.count)
        }
    }

    /// With a cache, the blank's distribution is (1 − λ) p(t | look) + λ c(t), c(t) the
    /// share of the look's items holding t among all their distinct tokens: computed here
    /// from the uncached forward pass and the token lists by hand.
    @Test(arguments: [0.1, 0.5])
    func theCacheMixesTheLooksOwnTokensIn(weight: Double) throws {
        let bags = context.map { Set(prompts.words($0.text)) }
        let total = Double(bags.reduce(0) { $0 + $1.count })
        func share(_ t: Int32) -> Double { Double(bags.filter { $0.contains(t) }.count) / total }
        let empty = prompts.prompt(context: [], blank: .bottom)
        let cached = scoring(.contextFree, cacheWeight: weight)
        let scores = cached.scores(context: context, slot: .bottom, candidates: candidates)
        let want = expected(prior: { lastLogProb(inference, empty, $0) }, cache: share, weight: weight)
        for (a, b) in zip(scores, want) { #expect(abs(a - b) < 1e-4, "\(a) vs \(b)") }
        // bagLook hands out the same mixed distribution: a token no item of the look holds
        // keeps its log-probability plus log(1 − λ), one the look holds gains on that.
        let look = cached.bagLook(context: context, slot: .bottom)
        let own = inference.prefill(prompts.prompt(context: context, blank: .bottom)).lastLogProbs
        let held = Set(bags.flatMap { $0 })
        #expect(!held.isEmpty && held.count < own.count)
        for t in own.indices {
            let scaled = Double(own[t]) + log(1 - weight)
            if held.contains(Int32(t)) {
                #expect(Double(look.logProbs[t]) > scaled + 1e-3)
            } else {
                #expect(abs(Double(look.logProbs[t]) - scaled) < 1e-5)
            }
        }
        let again = candidates.map {
            StyleLMScoring.bagScore(cached.bagTokens($0), logProbs: look.logProbs, prior: look.prior, lengthNormalised: true)
        }
        #expect(again == scores)
        // An empty look has no cache: the model's distribution scaled by 1 − λ.
        let alone = cached.scores(context: [], slot: .bottom, candidates: candidates)
        #expect(alone.allSatisfy { abs($0 - log(1 - weight)) < 1e-5 })
    }

    /// The mixture in Double agrees with the naive formula, stays finite where exp
    /// underflows, and increases with the log-probability (what the precompute's bounds
    /// rely on).
    @Test func theMixtureIsStableAndIncreasing() {
        for (lp, c) in [(-2.0, 0.0), (-2.0, 0.25), (-30.0, 0.01), (-0.1, 1.0)] {
            let naive = log(0.8 * exp(lp) + 0.2 * c)
            #expect(abs(StyleLMScoring.mixed(lp, share: Float(c), weight: 0.2) - naive) < 1e-6)
        }
        #expect(StyleLMScoring.mixed(-5000.0, share: 0, weight: 0.2) == -5000 + log(0.8))
        #expect(abs(StyleLMScoring.mixed(-5000.0, share: 0.5, weight: 0.2) - log(0.1)) < 1e-12)
        var last = -Double.infinity
        for lp in stride(from: -40.0, through: 0, by: 0.5) {
            let m = StyleLMScoring.mixed(lp, share: 0.05, weight: 0.3)
            #expect(m >= last)  // flat (in Double) only where λc dwarfs the model's share
            if lp > -10 { #expect(m > last) }
            last = m
        }
    }

    @Test func uncalibratedIsTheMeanLogProbabilityOfTheDistinctTokens() {
        let scores = scoring(.none).scores(context: context, slot: .bottom, candidates: candidates)
        for (a, b) in zip(scores, expected(prior: { _ in 0 })) { #expect(abs(a - b) < 1e-4) }
        let sums = scoring(.none, lengthNormalised: false).scores(context: context, slot: .bottom, candidates: candidates)
        for (a, b) in zip(sums, expected(prior: { _ in 0 }, sum: true)) { #expect(abs(a - b) < 1e-4) }
        #expect(Set(scores.map { Float($0) }).count == 3)
    }

    @Test func contextFreeSubtractsTheEmptyOutfitsBlank() {
        let empty = prompts.prompt(context: [], blank: .bottom)
        let scores = scoring(.contextFree).scores(context: context, slot: .bottom, candidates: candidates)
        for (a, b) in zip(scores, expected(prior: { lastLogProb(inference, empty, $0) })) { #expect(abs(a - b) < 1e-4) }
        // Without context there is nothing to add.
        #expect(scoring(.contextFree).scores(context: [], slot: .bottom, candidates: candidates).allSatisfy { abs($0) < 1e-6 })
    }

    @Test func baseSubtractsTheBaseModelAfterTheProductPrompt() throws {
        let other = try StyleLMInference(config: inference.config, weights: StyleLMTests.randomized(inference.config, seed: 6).weightValues())
        let scores = scoring(.base, base: other).scores(context: context, slot: .bottom, candidates: candidates)
        let product = prompts.productPrompt(.bottom)
        for (a, b) in zip(scores, expected(prior: { lastLogProb(other, product, $0) })) { #expect(abs(a - b) < 1e-4) }
    }

    @Test func hybridIsTheSumOfSequenceAndBag() {
        let hybrid = scoring(.contextFree, method: .hybrid).scores(context: context, slot: .bottom, candidates: candidates)
        let sequence = scoring(.contextFree, method: .sequence).scores(context: context, slot: .bottom, candidates: candidates)
        let bag = scoring(.contextFree).scores(context: context, slot: .bottom, candidates: candidates)
        for i in candidates.indices { #expect(abs(hybrid[i] - (sequence[i] + bag[i])) < 1e-9) }
        #expect(zip(sequence, bag).contains { abs($0 - $1) > 1e-3 })
    }

    @Test func aCandidateWithoutWordsScoresNeutrally() {
        let empty = [ItemText(slot: .bottom, text: "")]
        #expect(scoring(.contextFree).scores(context: context, slot: .bottom, candidates: empty) == [0])
        #expect(scoring(.none).scores(context: context, slot: .bottom, candidates: empty) == [-.infinity])
    }
}

/// Recipe and options keys of the bag-of-words head.
@Suite struct BagOfWordsRecipeTests {
    @Test func optionsWithoutAMethodAreSequenceScoring() throws {
        let old = #"{"calibration": "context-free", "lengthNormalised": false, "scoreEnd": true}"#
        let options = try JSONDecoder().decode(StyleLMScoring.Options.self, from: Data(old.utf8))
        #expect(options == .init(calibration: .contextFree, lengthNormalised: false, scoreEnd: true, method: .sequence))
        let bag = StyleLMScoring.Options(calibration: .none, method: .bagOfWords)
        #expect(try JSONDecoder().decode(StyleLMScoring.Options.self, from: JSONEncoder().encode(bag)) == bag)
        #expect(options.cacheWeight == 0)
        let cached = StyleLMScoring.Options(calibration: .contextFree, method: .bagOfWords, cacheWeight: 0.2)
        #expect(try JSONDecoder().decode(StyleLMScoring.Options.self, from: JSONEncoder().encode(cached)) == cached)
        #expect(cached.cacheSuffix == "+cache0.2" && bag.cacheSuffix.isEmpty)
        for bad in ["-0.1", "1", "2.5"] {
            let json = #"{"calibration": "none", "lengthNormalised": true, "scoreEnd": true, "method": "bag", "cacheWeight": "# + bad + "}"
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(StyleLMScoring.Options.self, from: Data(json.utf8)) }
        }
    }

    @Test func recipeWithoutTheBagKeysTrainsAsBefore() throws {
        let recipe = try JSONDecoder().decode(StyleLMRecipe.self, from: Data(#"{"hiddenSize": 64}"#.utf8))
        #expect(recipe.sequenceWeight == 1 && recipe.bagOfWordsWeight == 0 && recipe.pretrainingBagOfWordsWeight == 0)
        #expect(recipe.scoring.method == .sequence)
        var bag = StyleLMRecipe()
        bag.bagOfWordsWeight = 1
        bag.sequenceWeight = 0
        bag.scoring.method = .bagOfWords
        #expect(try JSONDecoder().decode(StyleLMRecipe.self, from: JSONEncoder().encode(bag)) == bag)
    }

    @Test(arguments: [(Float(0), Float(0)), (-1, 1), (1, .nan)])
    func recipeThatLearnsNothingOrNegativeIsRefused(sequence: Float, bag: Float) throws {
        var recipe = StyleLMRecipe.tiny
        recipe.sequenceWeight = sequence
        recipe.bagOfWordsWeight = bag
        #expect(recipe.problem() != nil)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("stylelm-\(UUID().uuidString)")
        #expect(throws: LookbookError.self) { try StyleLMTraining.train(ToyOutfits.corpus(outfits: 4), recipe: recipe, out: out) }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}

@Suite(.serialized) struct BagOfWordsTrainingTests {
    /// On the one-colour toy world, the bag head alone (no sequence loss, every weight
    /// fine-tuned) learns the rule, read with one pass per question. (With the toy recipe's
    /// LoRA adapters it does not: 7/40 measured; the tied head cannot move.)
    @Test func bagHeadLearnsWhatGoesTogether() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stylelm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = ToyOutfits.corpus(outfits: 120)
        var recipe = ToyOutfits.recipe
        recipe.sequenceWeight = 0
        recipe.bagOfWordsWeight = 1
        recipe.contextFreeWeight = 1
        recipe.lora = nil
        recipe.fineTuning.learningRate = 3e-3
        recipe.scoring = .init(calibration: .contextFree, method: .bagOfWords)
        let report = try StyleLMTraining.train(corpus, recipe: recipe, out: dir)
        #expect(report.complete)
        #expect(report.fineTuning.lastLoss! < report.fineTuning.firstLoss!)

        let scoring = try StyleLMScoring(directory: dir)
        #expect(scoring.options.method == .bagOfWords)
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
        #expect(Double(right) / Double(questions) >= 0.8, "bag FITB accuracy \(right)/\(questions)")
    }
}
