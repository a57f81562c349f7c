import Foundation
import LookbookCore

/// Rounds of preference tuning on a catalog's signal: round 1 learns from curated
/// outfits (random and hard negatives) and merchandiser verdicts; every later round adds
/// the previous round's own mistakes on training outfits, and starts from (and is
/// referenced against) the previous round's model.
public enum PreferenceTuning {
    public struct Options: Sendable {
        public var rounds = 1
        public var settings = DPOSettings()
        /// Negatives per leave-one-out of a curated outfit.
        public var randomNegatives = 1
        public var hardNegatives = 1
        /// Random negatives of other slots per leave-one-out (`PreferencePairs.curated(otherSlot:)`).
        public var otherSlotNegatives = 0
        /// Mistake mining: outfits looked at (one leave-one-out each) and candidates per question.
        public var mineOutfits = 400
        public var mineCandidates = 7
        /// Stops each round's training after this many seconds (its model is still written).
        public var roundBudget: TimeInterval?
        /// At most this many pairs per round: every mined mistake and merchandiser pair
        /// (up to the cap), then a seeded sample of the curated outfits' pairs.
        public var maxPairs: Int?
        public var seed: UInt64 = 0

        public init() {}

        /// The options a round on `model` starts from: its `DPOSettings.defaults(for:)`,
        /// and for a model tuned on bag scores two other-slot negatives per leave-one-out
        /// besides the random and hard ones of the real item's slot. Chosen on three
        /// Polyvore validation splits with negatives of any category (README, "Preference
        /// tuning"): the StyleLM alone gained FITB and compatibility AUC on every split,
        /// where same-slot pairs alone lost AUC. The sequence objective scores both answers
        /// as one blank, so it gets none.
        public static func defaults(for model: TunableModel) -> Options {
            var options = Options()
            options.settings = DPOSettings.defaults(for: model)
            let scoring = StyleLMScoring.recipe(model.metadata).scoring
            let objective = options.settings.objective ?? (scoring.method == .bagOfWords ? .bag : .sequence)
            options.otherSlotNegatives = objective == .bag ? 2 : 0
            return options
        }
    }

    public struct Round {
        public var number: Int
        public var pairs: [PreferencePair]
        public var model: TunableModel
        public var report: DPOTraining.Report
        /// Mining the previous model's mistakes, in seconds (0 in round 1).
        public var miningSeconds: Double
    }

    /// The pairs of the catalog's own signal for one round (curated + merchandiser), items
    /// in the tuned model's text `format`.
    public static func catalogPairs(products: [Product], outfits: [Outfit], feedback: [Feedback], pool: PreferencePairs.Pool,
                                    options: Options, round: Int, format: ItemText.Format) -> (pairs: [PreferencePair], skippedVerdicts: Int) {
        let corpus = OutfitCorpus(products: products, outfits: outfits, format: format)
        let seed = SplitMix64.mix(options.seed ^ UInt64(round))
        let curated = PreferencePairs.curated(outfits: corpus.outfits.map(\.items), pool: pool, random: options.randomNegatives,
                                              hard: options.hardNegatives, otherSlot: options.otherSlotNegatives, seed: seed)
        let merchandiser = PreferencePairs.merchandiser(feedback: feedback, products: products, outfits: outfits, pool: pool,
                                                        format: format, seed: seed)
        return (curated + merchandiser.pairs, merchandiser.skipped)
    }

    /// Runs `options.rounds` rounds from `start`; `finished` sees each round as it ends
    /// (to save or report it) before the next one starts.
    public static func run(from start: TunableModel, products: [Product], outfits: [Outfit], feedback: [Feedback], options: Options,
                           log: (String) -> Void = { _ in }, finished: (Round) throws -> Void) throws -> TunableModel {
        guard options.rounds >= 1 else { throw LookbookError(.usage, "rounds must be at least 1") }
        let corpus = OutfitCorpus(products: products, outfits: outfits, format: start.itemFormat)
        let pool = PreferencePairs.Pool(corpus.items)
        var current = start
        var mistakes: [PreferencePair] = []
        var miningSeconds = 0.0
        for round in 1...options.rounds {
            let (own, skipped) = catalogPairs(products: products, outfits: outfits, feedback: feedback, pool: pool, options: options, round: round,
                                             format: start.itemFormat)
            if skipped > 0 { log("\(skipped) feedback verdicts name unknown products; skipped") }
            let pairs = capped(own: own, mined: mistakes, options: options, round: round)
            let deadline = options.roundBudget.map { Date(timeIntervalSinceNow: $0) }
            var settings = options.settings
            settings.training.seed = SplitMix64.mix(options.seed ^ UInt64(round) ^ 0x5EED)
            let (model, report) = try DPOTraining.train(current, pairs: pairs, settings: settings, deadline: deadline, log: log)
            try finished(Round(number: round, pairs: pairs, model: model, report: report, miningSeconds: miningSeconds))
            current = model
            if round < options.rounds {
                let clock = Date()
                let scoring = try model.scoring()
                mistakes = mine(scoring, corpus: corpus, pool: pool, options: options, round: round)
                miningSeconds = Date().timeIntervalSince(clock)
                log(String(format: "mined %d mistakes of round %d on %d outfits in %.1f s", mistakes.count, round,
                           min(options.mineOutfits, corpus.outfits.count), miningSeconds))
            }
        }
        return current
    }

    /// Under `options.maxPairs` the mined mistakes and then the merchandisers' pairs are
    /// kept whole (they are few and the point of a round); the curated outfits' pairs
    /// are sampled to fill the rest.
    static func capped(own: [PreferencePair], mined: [PreferencePair], options: Options, round: Int) -> [PreferencePair] {
        guard let cap = options.maxPairs, own.count + mined.count > cap else { return own + mined }
        var rng = SplitMix64.stream(options.seed, "sample-round-\(round)")
        var kept = mined
        rng.shuffle(&kept)
        kept = Array(kept.prefix(cap))
        var merchandiser = own.filter { $0.source == .merchandiser }
        rng.shuffle(&merchandiser)
        kept += merchandiser.prefix(cap - kept.count)
        var curated = own.filter { $0.source != .merchandiser }
        rng.shuffle(&curated)
        return Array(curated.prefix(cap - kept.count)) + kept
    }

    /// The mistakes `scoring` makes on leave-one-outs of the corpus's outfits.
    static func mine(_ scoring: StyleLMScoring, corpus: OutfitCorpus, pool: PreferencePairs.Pool, options: Options,
                     round: Int) -> [PreferencePair] {
        PreferencePairs.mistakes(outfits: corpus.outfits.map(\.items), pool: pool, candidates: options.mineCandidates,
                                 limit: options.mineOutfits, seed: SplitMix64.mix(options.seed ^ UInt64(round) ^ 0x3157),
                                 score: scoring.scores)
    }

    /// One refresh round, as the nightly job runs it: the start model's own mistakes
    /// (mined first, when `options.mineOutfits` > 0) join the catalog's pairs, and
    /// `adjust` sees the pairs last (the identity in production; tests corrupt them).
    /// Mining, the reference pass and training all count against `deadline`: training
    /// stops there and the round's model is still returned.
    public static func refresh(from start: TunableModel, products: [Product], outfits: [Outfit], feedback: [Feedback],
                               options: Options, deadline: Date? = nil,
                               adjust: ([PreferencePair]) -> [PreferencePair] = { $0 },
                               log: (String) -> Void = { _ in }) throws -> Round {
        let corpus = OutfitCorpus(products: products, outfits: outfits, format: start.itemFormat)
        let pool = PreferencePairs.Pool(corpus.items)
        var mistakes: [PreferencePair] = []
        var miningSeconds = 0.0
        if options.mineOutfits > 0 && !corpus.outfits.isEmpty {
            let clock = Date()
            mistakes = mine(try start.scoring(), corpus: corpus, pool: pool, options: options, round: 0)
            miningSeconds = Date().timeIntervalSince(clock)
            log(String(format: "mined %d mistakes of the current model on %d outfits in %.1f s", mistakes.count,
                       min(options.mineOutfits, corpus.outfits.count), miningSeconds))
        }
        let (own, skipped) = catalogPairs(products: products, outfits: outfits, feedback: feedback, pool: pool, options: options, round: 1,
                                         format: start.itemFormat)
        if skipped > 0 { log("\(skipped) feedback verdicts name unknown products; skipped") }
        let pairs = adjust(capped(own: own, mined: mistakes, options: options, round: 1))
        var settings = options.settings
        settings.training.seed = SplitMix64.mix(options.seed ^ 1 ^ 0x5EED)
        let (model, report) = try DPOTraining.train(start, pairs: pairs, settings: settings, deadline: deadline, log: log)
        return Round(number: 1, pairs: pairs, model: model, report: report, miningSeconds: miningSeconds)
    }
}
