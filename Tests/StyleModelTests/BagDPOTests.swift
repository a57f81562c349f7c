import Foundation
import LookbookCore
import Testing
@testable import StyleModel

/// DPO on bag-of-words scores: the loss against numpy on fixed logits, the policy's
/// scores on the tape against `StyleLMScoring.bagScores`, the whole step against finite
/// differences (LoRA and every weight), and how a round picks its objective.
@Suite struct BagDPOTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            var beta: Float, mean: Bool, prior: Bool, vocab: Int
            var logits: [Float], looks: [Int], prior_row: Int
            var chosen: [[Int32]], rejected: [[Int32]]
            var reference_chosen: [Float], reference_rejected: [Float]
            var score_chosen: [Double], score_rejected: [Double]
            var loss: Double, grad_logits: [Double]
        }
        var cases: [Case]
    }

    /// `Reference/bag_dpo_reference.py`: scores, loss and the gradient with respect to
    /// the logits, in float64 numpy, through `bagLogProbs`, `weightedGroupSums` and `dpoLoss`.
    @Test(arguments: 0..<3) func lossAndGradientMatchNumpy(index: Int) throws {
        guard let url = Bundle.module.url(forResource: "bag-dpo-golden", withExtension: "json", subdirectory: "Reference") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "Reference/bag-dpo-golden.json is not in the test bundle"])
        }
        let c = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url)).cases[index]
        let logits = Tensor(shape: [c.logits.count / c.vocab, c.vocab], value: c.logits, requiresGrad: true)
        var rows: [Int] = [], targets: [Int32] = [], weights: [Float] = [], chosenGroup: [Int] = [], rejectedGroup: [Int] = []
        for p in c.looks.indices {
            for (side, bag) in [(0, c.chosen[p]), (1, c.rejected[p])] {
                let w: Float = c.mean ? 1 / Float(bag.count) : 1
                for (row, sign) in [(c.looks[p], Float(1))] + (c.prior ? [(c.prior_row, Float(-1))] : []) {
                    for t in bag {
                        rows.append(row); targets.append(t); weights.append(sign * w)
                        chosenGroup.append(side == 0 ? p : -1); rejectedGroup.append(side == 1 ? p : -1)
                    }
                }
            }
        }
        let tape = Tape()
        let logProbs = tape.bagLogProbs(logits: logits, rows: rows, targets: targets)
        let chosen = tape.weightedGroupSums(logProbs, groups: chosenGroup, weights: weights, count: c.looks.count)
        let rejected = tape.weightedGroupSums(logProbs, groups: rejectedGroup, weights: weights, count: c.looks.count)
        for (a, b) in zip(chosen.value, c.score_chosen) { #expect(abs(Double(a) - b) < 1e-5) }
        for (a, b) in zip(rejected.value, c.score_rejected) { #expect(abs(Double(a) - b) < 1e-5) }
        let loss = tape.dpoLoss(policyChosen: chosen, policyRejected: rejected, referenceChosen: c.reference_chosen,
                                referenceRejected: c.reference_rejected, beta: c.beta)
        tape.backward(loss)
        #expect(abs(Double(loss.value[0]) - c.loss) < 1e-5 * max(1, c.loss), "loss \(loss.value[0]) vs numpy \(c.loss)")
        let worst = zip(logits.grad, c.grad_logits).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worst < 1e-6, "gradient off by \(worst)")
    }

    // MARK: - On a tiny model

    static let bagOptions: [StyleLMScoring.Options] = [
        .init(calibration: .contextFree, method: .bagOfWords),
        .init(calibration: .contextFree, lengthNormalised: false, method: .bagOfWords),
        .init(calibration: .base, method: .bagOfWords),
        .init(calibration: .none, method: .bagOfWords),
    ]

    /// Pairs over three looks; the first two share a look (as a curated leave-one-out's
    /// random and hard negatives do), so a batch runs that prompt once.
    static func pairs() -> [PreferencePair] {
        let shirt = ItemText(slot: .top, text: "white cotton shirt"), loafers = ItemText(slot: .shoes, text: "black leather loafers")
        let trousers = ItemText(slot: .bottom, text: "navy wool trousers")
        return [
            PreferencePair(context: [shirt, loafers], slot: .bottom, chosen: trousers,
                           rejected: ItemText(slot: .bottom, text: "white jeans"), source: .random),
            PreferencePair(context: [shirt, loafers], slot: .bottom, chosen: trousers,
                           rejected: ItemText(slot: .bottom, text: "black cotton trousers"), source: .hard),
            PreferencePair(context: [trousers], slot: .shoes, chosen: loafers,
                           rejected: ItemText(slot: .shoes, text: "white leather shoes"), source: .random),
            PreferencePair(context: [loafers, trousers], slot: .top, chosen: shirt,
                           rejected: ItemText(slot: .top, text: "navy shirt"), source: .mistake),
        ]
    }

    /// Pairs whose rejected item is of another slot than the blank's (`PreferencePairs.curated(otherSlot:)`).
    static func otherSlotPairs() -> [PreferencePair] {
        let shirt = ItemText(slot: .top, text: "white cotton shirt"), loafers = ItemText(slot: .shoes, text: "black leather loafers")
        let trousers = ItemText(slot: .bottom, text: "navy wool trousers")
        return [
            PreferencePair(context: [shirt, loafers], slot: .bottom, chosen: trousers,
                           rejected: ItemText(slot: .shoes, text: "white leather shoes"), source: .otherSlot),
            PreferencePair(context: [trousers], slot: .shoes, chosen: loafers, rejected: ItemText(slot: .top, text: "navy shirt"),
                           source: .otherSlot),
            // The same words as the chosen item, of another slot: still a lesson (another blank).
            PreferencePair(context: [shirt], slot: .bottom, chosen: trousers, rejected: ItemText(slot: .top, text: "navy wool trousers"),
                           source: .otherSlot),
        ]
    }

    /// The tiny model of `ScoringOptionsTests` (its tokenizer and prompts) as a `StyleLM`
    /// with non-trivial weights and, with `lora`, adapters whose B ≠ 0.
    static func model(lora: LoRAConfig?) throws -> (OutfitPrompts, StyleLM) {
        let (prompts, inference) = try ScoringOptionsTests.tinyModel(productFormat: .slot)
        return (prompts, try GradientCheck.randomizedModel(inference.config, seed: 4, lora: lora))
    }

    /// The policy's weights as scoring sees them (adapters merged), and its base for `.base`.
    static func scoring(_ prompts: OutfitPrompts, _ model: StyleLM, _ options: StyleLMScoring.Options) throws -> StyleLMScoring {
        let weights = model.lora.map {
            ModelDirectory.mergedWeights(base: model.weightValues(), config: model.config, lora: $0, adapters: model.adapterValues())
        } ?? model.weightValues()
        let base = options.calibration == .base ? try StyleLMInference(config: model.config, weights: model.weightValues()) : nil
        return StyleLMScoring(prompts: prompts, inference: try StyleLMInference(config: model.config, weights: weights), base: base,
                              version: "test", options: options)
    }

    /// The reference scores `BagDPOExample.make` keeps are what `StyleLMScoring.bagScores`
    /// ranks the two answers by, pair by pair.
    @Test(arguments: bagOptions) func referenceScoresAreTheScoringModelsBagScores(options: StyleLMScoring.Options) throws {
        let (prompts, model) = try Self.model(lora: LoRAConfig(rank: 2, alpha: 4))
        let scoring = try Self.scoring(prompts, model, options)
        let pairs = Self.pairs()
        let examples = BagDPOExample.make(pairs, reference: scoring)
        #expect(examples.count == pairs.count)
        for (pair, e) in zip(pairs, examples) {
            let scores = scoring.bagScores(context: pair.context, slot: pair.slot, candidates: [pair.chosen, pair.rejected])
            #expect(abs(Double(e.referenceChosen) - scores[0]) < 1e-5 && abs(Double(e.referenceRejected) - scores[1]) < 1e-5)
            #expect(e.chosen == prompts.bagOfWords(pair.chosen.text) && e.rejected == prompts.bagOfWords(pair.rejected.text))
            #expect((e.priorPrompt != nil) == (options.calibration == .contextFree))
        }
        #expect(Set(examples.map(\.referenceChosen)).count > 1)
    }

    /// A rejected item of another slot is scored as the blank of its own slot in the same
    /// look, with that slot's prior, as evaluation scores a candidate of a question whose
    /// negatives come from any category; the tape computes the same scores.
    @Test(arguments: bagOptions) func otherSlotAnswersFillTheBlankOfTheirOwnSlot(options: StyleLMScoring.Options) throws {
        let (prompts, model) = try Self.model(lora: LoRAConfig(rank: 2, alpha: 4))
        let scoring = try Self.scoring(prompts, model, options)
        let pairs = Self.otherSlotPairs() + Self.pairs()
        let examples = BagDPOExample.make(pairs, reference: scoring)
        #expect(examples.count == pairs.count)
        for (pair, e) in zip(pairs, examples) {
            let chosen = scoring.bagScores(context: pair.context, slot: pair.chosen.slot, candidates: [pair.chosen])[0]
            let rejected = scoring.bagScores(context: pair.context, slot: pair.rejected.slot, candidates: [pair.rejected])[0]
            #expect(abs(Double(e.referenceChosen) - chosen) < 1e-5 && abs(Double(e.referenceRejected) - rejected) < 1e-5)
            let other = pair.rejected.slot != pair.slot
            #expect(e.rejectedPrompt == (other ? prompts.prompt(context: pair.context, blank: pair.rejected.slot) : nil))
            #expect((e.rejectedPriorPrompt != nil) == (other && options.calibration == .contextFree))
        }
        let trainer = BagDPOTrainer(model: model, examples: examples, settings: DPOSettings(), padToken: prompts.padToken,
                                    lengthNormalised: options.lengthNormalised)
        let (chosen, rejected, _) = trainer.scores(Array(examples.indices), on: Tape())
        for (i, e) in examples.enumerated() {
            #expect(abs(chosen.value[i] - (e.referenceChosen + e.fixedPriorChosen)) < 1e-4)
            #expect(abs(rejected.value[i] - (e.referenceRejected + e.fixedPriorRejected)) < 1e-4)
        }
    }

    /// The training graph (a batch of padded rows on the tape, prompts shared, the empty
    /// outfit's row under the policy) computes the same scores as the inference engine
    /// does one prompt at a time: with the reference equal to the policy every margin is
    /// 0 and the loss is log 2.
    @Test(arguments: bagOptions) func policyScoresOnTheTapeEqualBagScores(options: StyleLMScoring.Options) throws {
        let (prompts, model) = try Self.model(lora: LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v, .up]))
        let examples = BagDPOExample.make(Self.pairs(), reference: try Self.scoring(prompts, model, options))
        var settings = DPOSettings()
        settings.beta = 0.7
        let trainer = BagDPOTrainer(model: model, examples: examples, settings: settings, padToken: prompts.padToken,
                                    lengthNormalised: options.lengthNormalised)
        let batch = Array(examples.indices)
        let (chosen, rejected, tokens) = trainer.scores(batch, on: Tape())
        for (i, e) in examples.enumerated() {
            #expect(abs(chosen.value[i] - (e.referenceChosen + e.fixedPriorChosen)) < 1e-4)
            #expect(abs(rejected.value[i] - (e.referenceRejected + e.fixedPriorRejected)) < 1e-4)
        }
        let (loss, margins, _) = trainer.loss(batch, on: Tape())
        #expect(abs(loss.value[0] - Float(log(2.0))) < 1e-5)
        #expect(margins.allSatisfy { abs($0) < 1e-4 }, "margins \(margins)")
        // Three distinct looks, and the empty outfit of three slots when it is the prior.
        let looks = Set(examples.map(\.prompt)), priors = Set(examples.compactMap(\.priorPrompt))
        #expect(tokens == (looks.union(priors)).map(\.count).reduce(0, +))
        #expect(priors.count == (options.calibration == .contextFree ? 3 : 0))
    }

    /// With `frozenPrior` the context-free prior is the reference's, a constant: no
    /// empty-outfit rows run, the reference scores are still `bagScores`, and the tape's
    /// look term plus that constant is the policy's score.
    @Test func frozenPriorIsTheReferencesEmptyOutfit() throws {
        let (prompts, model) = try Self.model(lora: LoRAConfig(rank: 2, alpha: 4))
        let scoring = try Self.scoring(prompts, model, Self.bagOptions[0])
        let pairs = Self.pairs()
        let examples = BagDPOExample.make(pairs, reference: scoring, frozenPrior: true)
        let trainer = BagDPOTrainer(model: model, examples: examples, settings: DPOSettings(), padToken: prompts.padToken,
                                    lengthNormalised: true)
        let (chosen, _, tokens) = trainer.scores(Array(examples.indices), on: Tape())
        #expect(tokens == Set(examples.map(\.prompt)).map(\.count).reduce(0, +))
        for (i, (pair, e)) in zip(pairs, examples).enumerated() {
            #expect(e.priorPrompt == nil)
            let score = scoring.bagScores(context: pair.context, slot: pair.slot, candidates: [pair.chosen])[0]
            let prior = scoring.bagPrior(pair.slot), bag = prompts.bagOfWords(pair.chosen.text)
            let priorMean = bag.map { Double(prior[Int($0)]) }.reduce(0, +) / Double(bag.count)
            #expect(abs(Double(e.referenceChosen) - score) < 1e-5 && abs(Double(e.fixedPriorChosen) - priorMean) < 1e-5)
            #expect(abs(Double(chosen.value[i]) - (score + priorMean)) < 1e-4)
        }
        #expect(abs(trainer.loss(Array(examples.indices), on: Tape()).loss.value[0] - Float(log(2.0))) < 1e-5)
    }

    /// The gradient of the whole bag DPO loss (forward of looks and empty outfits, bag
    /// look-ups, calibrated scores, loss; pairs of one slot and of two) against central
    /// differences, for LoRA adapters and for every weight; references off the policy so
    /// the margins are not 0.
    @Test(arguments: [false, true]) func wholeStepGradientMatchesFiniteDifferences(fullWeights: Bool) throws {
        let (prompts, model) = try Self.model(lora: fullWeights ? nil : LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v, .up]))
        if fullWeights { model.setFullFineTuning() }
        let options = Self.bagOptions[0]
        var examples = BagDPOExample.make(Self.pairs() + Self.otherSlotPairs(), reference: try Self.scoring(prompts, model, options))
        #expect(examples.count == 7)
        for i in examples.indices {
            examples[i].referenceChosen += [0.8, -0.5, 0.3, 1.1, -0.2, 0.6, 0.1][i]
            examples[i].referenceRejected -= [0.4, 0.9, -0.6, 0.2, 0.7, -0.3, 0.5][i]
        }
        var settings = DPOSettings()
        settings.beta = 2
        let trainer = BagDPOTrainer(model: model, examples: examples, settings: settings, padToken: prompts.padToken,
                                    lengthNormalised: options.lengthNormalised)
        let tensors = model.trainableParameters.map(\.tensor)
        #expect(tensors.count == (fullWeights ? model.weightValues().count : 12))
        let error = GradientCheck.worstError(tensors, sample: 16) { tape in
            trainer.loss(Array(examples.indices), on: tape).loss
        }
        #expect(error < 1e-2, "relative error \(error)")
    }

    /// A few steps on the tiny model widen the margins (LoRA and every weight).
    @Test(arguments: [false, true]) func stepsRaiseTheMargins(fullWeights: Bool) throws {
        let (prompts, model) = try Self.model(lora: fullWeights ? nil : LoRAConfig(rank: 4, alpha: 8))
        if fullWeights { model.setFullFineTuning() }
        let options = Self.bagOptions[0]
        let examples = BagDPOExample.make(Self.pairs(), reference: try Self.scoring(prompts, model, options))
        var settings = DPOSettings()
        settings.training.clipNorm = 0
        let trainer = BagDPOTrainer(model: model, examples: examples, settings: settings, padToken: prompts.padToken,
                                    lengthNormalised: true)
        let batch = Array(examples.indices)
        for _ in 0..<10 { trainer.step(batch, learningRate: 1e-2) }
        let (meanMargin, accuracy) = trainer.evaluate(batch)
        #expect(meanMargin > 0.05 && accuracy == 1, "mean margin \(meanMargin), accuracy \(accuracy)")
    }
}

/// How a round chooses what DPO moves and what it trains.
@Suite(.serialized) struct BagDPORoundTests {
    /// A fully fine-tuned tiny model directory in memory, scored by `options`.
    static func start(_ options: StyleLMScoring.Options, lora: Bool = false) throws -> TunableModel {
        let (prompts, model) = try BagDPOTests.model(lora: nil)
        let config = model.config
        let adapters = lora ? (LoRAConfig(rank: 2, alpha: 4), LoRAConfig(rank: 2, alpha: 4).initial(config, seed: 1)) : nil
        let plain = TunableModel(config: config, tokenizerJSON: try prompts.tokenizer.jsonData(), base: model.weightValues(),
                                 adapters: adapters, metadata: ["version": "stylelm-test"])
        return try plain.withScoring(options)
    }

    /// A round on a fully fine-tuned bag model starts from the setting chosen on validation
    /// (every weight, β 5, 2e-4); a model with adapters, or one scored by sequence, from
    /// the plain defaults.
    @Test func aBagModelTunesEveryWeightByDefault() throws {
        let bag = BagDPOTests.bagOptions[0]
        let chosen = DPOSettings.defaults(for: try Self.start(bag))
        #expect(chosen.fullWeights && chosen.beta == 5 && chosen.training.learningRate == 2e-4)
        #expect(DPOSettings.defaults(for: try Self.start(bag, lora: true)) == DPOSettings())
        #expect(DPOSettings.defaults(for: try Self.start(.init(calibration: .base))) == DPOSettings())
        // Pairs: other-slot negatives join the same-slot ones for the bag objective only.
        let options = PreferenceTuning.Options.defaults(for: try Self.start(bag))
        #expect(options.settings == chosen && options.otherSlotNegatives == 2)
        #expect(options.randomNegatives == 1 && options.hardNegatives == 1)
        #expect(PreferenceTuning.Options.defaults(for: try Self.start(.init(calibration: .base))).otherSlotNegatives == 0)
    }

    /// `withScoring` records the options in the recipe, so the model scores, and mines
    /// its mistakes, with them (`PreferenceTuning.mine` scores with `scoring()`).
    @Test func withScoringIsWhatTheModelScoresAndMinesWith() throws {
        let bag = BagDPOTests.bagOptions[0]
        let start = try Self.start(bag)
        #expect(try start.scoring().options == bag)
        #expect(StyleLMScoring.recipe(start.metadata).scoring == bag)
        let back = try start.withScoring(.init(calibration: .base))
        #expect(try back.scoring().options.method == .sequence)
        // Mining with the model's scoring flags what its bag scores rank above the real item.
        let scoring = try start.scoring()
        let pairs = BagDPOTests.pairs()
        let outfits = [[pairs[0].context[0], pairs[0].chosen, pairs[0].context[1]]]
        let pool = PreferencePairs.Pool(outfits[0] + pairs.map(\.rejected))
        var options = PreferenceTuning.Options()
        options.mineCandidates = 3
        let mined = PreferenceTuning.mine(scoring, corpus: OutfitCorpus(items: outfits[0], outfits: outfits.map { ($0, 1) }), pool: pool, options: options, round: 1)
        #expect(!mined.isEmpty, "the random tiny model makes no mistake to mine; pick other items")
        for pair in mined {
            let s = scoring.bagScores(context: pair.context, slot: pair.slot, candidates: [pair.chosen, pair.rejected])
            #expect(s[1] > s[0])
        }
    }

    /// A bag-scored model gets bag DPO by default; with `fullWeights` every weight moves
    /// and no adapters are added; the written model's scoring is the start's.
    @Test(arguments: [false, true]) func bagModelTrainsBagObjective(fullWeights: Bool) throws {
        let start = try Self.start(BagDPOTests.bagOptions[0])
        var settings = DPOSettings()
        settings.fullWeights = fullWeights
        settings.rank = 2
        settings.training.learningRate = 1e-2
        settings.training.epochs = 2
        let (tuned, report) = try DPOTraining.train(start, pairs: BagDPOTests.pairs(), settings: settings)
        #expect(report.objective == .bag && report.examples == 4 && report.complete)
        #expect((tuned.adapters == nil) == fullWeights)
        #expect(tuned.mergedWeights != start.mergedWeights)
        #expect(try tuned.scoring().options == start.scoring().options)
        var sequence = settings
        sequence.objective = .sequence
        #expect(try DPOTraining.train(start, pairs: BagDPOTests.pairs(), settings: sequence).report.objective == .sequence)
    }

    @Test func fullWeightsRefuseAModelWithAdapters() throws {
        let start = try Self.start(BagDPOTests.bagOptions[0], lora: true)
        var settings = DPOSettings()
        settings.fullWeights = true
        #expect(throws: LookbookError.self) { try DPOTraining.train(start, pairs: BagDPOTests.pairs(), settings: settings) }
    }
}
