import Evaluation
import Foundation
import LookbookCore
import StyleModel

/// The promotion gate: a new StyleLM replaces the current one only when it answers
/// held-out fill-in-the-blank questions better than the current one, beyond noise.
///
/// - **Held-out outfits**: an outfit is held out when a hash of its id falls in the
///   lowest 15 % (`heldOutFraction`), so an outfit keeps its side as the catalog grows
///   and a model never trains on what it is judged by. A small catalog holds out at
///   least `minimumHeldOut` outfits (the lowest hashes next), never more than half.
/// - **Questions**: every item of every held-out outfit is a blank once: the real item
///   and 3 random items of its slot (seeded per outfit and position, none of the
///   outfit's own words, from a training outfit only when the slot has too few
///   others) scored by `StyleLMScoring.scores`; FITB credit as in the
///   evaluation harness (`Metrics.fitbCredit`, ties shared).
/// - **Rule**: both models answer the same questions tonight; the candidate is promoted
///   only when the 95 % lower bound of the mean per-question difference (candidate −
///   current) is above 0, by a paired percentile bootstrap that resamples held-out
///   outfits (a look's questions share a context, so they are not independent).
public enum ModelGate {
    public static let heldOutFraction = 0.15
    public static let minimumHeldOut = 5
    public static let distractors = 3
    public static let resamples = 1000

    /// The catalog's outfits: what training and preference pairs may use, and what the
    /// gate asks about.
    public struct Split: Sendable, Equatable {
        public var training: [Outfit]
        public var heldOut: [Outfit]
    }

    /// Where in [0, 1) an outfit's id hashes; below `heldOutFraction` is held out.
    static func position(_ id: String) -> Double {
        Double(SplitMix64.mix(StableHash.fnv1a("held-out:" + id)) >> 11) / Double(1 << 53)
    }

    /// The deterministic split of `outfits`; only outfits with two or more of `products`
    /// can be held out (a question needs a context).
    public static func split(_ outfits: [Outfit], products: [Product]) -> Split {
        let known = Set(products.map(\.id))
        let usable = outfits.filter { $0.items.filter(known.contains).count >= 2 }
            .sorted { (position($0.id), $0.id) < (position($1.id), $1.id) }
        var held = usable.prefix { position($0.id) < heldOutFraction }.count
        held = max(held, min(minimumHeldOut, usable.count / 2))
        let heldIDs = Set(usable.prefix(held).map(\.id))
        return Split(training: outfits.filter { !heldIDs.contains($0.id) },
                     heldOut: outfits.filter { heldIDs.contains($0.id) })
    }

    /// One question, in products: each model reads them in its own text format
    /// (`OutfitPrompts.item`), so models of different formats answer the same questions.
    public struct Question: Sendable, Equatable {
        public var outfit: String
        public var context: [Product]
        public var slot: Slot
        /// The real item first, then the distractors.
        public var candidates: [Product]
    }

    /// The gate's questions about `heldOut`, with products as the models see them
    /// (captions in `attributes["caption"]`). Distractors are items of no `training`
    /// outfit while the slot has enough of them: a model that has learned those items'
    /// words would prefer them for being familiar, and the gate would punish the model
    /// that trained more (the evaluation harness draws its negatives the same way).
    /// Products are told apart by their words (caption or title, `ItemText.Format.words`):
    /// a distractor never has the words of an item of the look, and products with the same
    /// words count once (the first by id).
    public static func questions(heldOut: [Outfit], training: [Outfit], products: [Product], seed: UInt64 = 0) -> [Question] {
        var byID: [String: (product: Product, words: ItemText)] = [:]
        for p in products { byID[p.id] = (p, ItemText(p, format: .words)) }
        let trained = Set(training.flatMap(\.items).compactMap { byID[$0]?.words })
        var seen = Set<ItemText>()
        var bySlot: [Slot: [(product: Product, words: ItemText)]] = [:], trainedBySlot: [Slot: [(product: Product, words: ItemText)]] = [:]
        for p in products.sorted(by: { $0.id < $1.id }) {
            let item = byID[p.id]!
            guard seen.insert(item.words).inserted else { continue }
            if trained.contains(item.words) {
                trainedBySlot[item.words.slot, default: []].append(item)
            } else {
                bySlot[item.words.slot, default: []].append(item)
            }
        }
        var out: [Question] = []
        for outfit in heldOut.sorted(by: { $0.id < $1.id }) {
            let items = outfit.items.compactMap { byID[$0] }
            guard items.count >= 2 else { continue }
            let texts = Set(items.map(\.words.text))
            for i in items.indices {
                var context = items
                let answer = context.remove(at: i)
                let slot = answer.words.slot
                var pool = (bySlot[slot] ?? []).filter { !texts.contains($0.words.text) }
                var rng = SplitMix64.stream(seed, "gate-\(outfit.id)-\(i)")
                rng.shuffle(&pool)
                if pool.count < distractors {  // a catalog whose every item is in an outfit: fill from training items
                    var more = (trainedBySlot[slot] ?? []).filter { !texts.contains($0.words.text) }
                    rng.shuffle(&more)
                    pool += more
                }
                guard !pool.isEmpty else { continue }
                out.append(Question(outfit: outfit.id, context: context.map(\.product), slot: slot,
                                    candidates: ([answer] + pool.prefix(distractors)).map(\.product)))
            }
        }
        return out
    }

    /// Each question's FITB credit under `scoring`, the products read in its text format.
    public static func credits(_ scoring: StyleLMScoring, _ questions: [Question]) -> [Double] {
        let item = scoring.prompts.item
        return questions.map { q in
            Metrics.fitbCredit(scores: scoring.scores(context: q.context.map(item), slot: q.slot, candidates: q.candidates.map(item)),
                               answer: 0)
        }
    }

    /// A model's FITB on the gate's questions, with its 95 % bootstrap interval.
    public struct Score: Codable, Sendable, Equatable {
        public var version: String
        public var fitb: Double
        public var low: Double
        public var high: Double
        public var questions: Int
        public var outfits: Int
    }

    /// All figures 0 when there are no questions (`questions` says so): JSON has no NaN.
    public static func score(version: String, credits: [Double], questions: [Question]) -> Score {
        guard !credits.isEmpty else { return Score(version: version, fitb: 0, low: 0, high: 0, questions: 0, outfits: 0) }
        let estimate = Bootstrap(resamples: resamples).mean("gate-fitb", credits)
        return Score(version: version, fitb: estimate.value, low: estimate.low, high: estimate.high,
                     questions: questions.count, outfits: Set(questions.map(\.outfit)).count)
    }

    public struct Decision: Codable, Sendable, Equatable {
        public var promote: Bool
        public var candidate: Score
        public var current: Score
        /// Mean per-question FITB difference (candidate − current) and its 95 % interval.
        public var difference: Double
        public var low: Double
        public var high: Double
        /// One line for the run report: the rule's outcome with both figures.
        public var reason: String
    }

    /// Scores both models on `questions` and applies the rule.
    public static func compare(candidate: StyleLMScoring, current: StyleLMScoring, questions: [Question]) -> Decision {
        decide(candidate: (candidate.version, credits(candidate, questions)),
               current: (current.version, credits(current, questions)), questions: questions)
    }

    /// The rule on per-question credits (one per question, in `questions` order).
    public static func decide(candidate: (version: String, credits: [Double]), current: (version: String, credits: [Double]),
                              questions: [Question]) -> Decision {
        precondition(candidate.credits.count == questions.count && current.credits.count == questions.count)
        let c = score(version: candidate.version, credits: candidate.credits, questions: questions)
        let k = score(version: current.version, credits: current.credits, questions: questions)
        guard !questions.isEmpty else {
            return Decision(promote: false, candidate: c, current: k, difference: 0, low: 0, high: 0,
                            reason: "kept \(current.version): no held-out questions to judge \(candidate.version) by (the catalog needs curated outfits of two or more known products)")
        }
        // Per held-out outfit: the sum of its questions' differences and their number.
        var index: [String: Int] = [:]
        var sums: [Double] = [], counts: [Double] = []
        for (q, question) in questions.enumerated() {
            let o = index[question.outfit] ?? { index[question.outfit] = sums.count; sums.append(0); counts.append(0); return sums.count - 1 }()
            sums[o] += candidate.credits[q] - current.credits[q]
            counts[o] += 1
        }
        let difference = sums.reduce(0, +) / counts.reduce(0, +)
        let estimate = Bootstrap(resamples: resamples).statistic("gate-difference", count: sums.count, value: difference) { drawn in
            var s = 0.0, n = 0.0
            for i in drawn { s += sums[i]; n += counts[i] }
            return s / n
        }
        let promote = estimate.low > 0
        let figures = String(format: "FITB %.3f (%@) vs %.3f (%@) on %d held-out questions from %d outfits; difference %+.3f, 95%% CI [%+.3f, %+.3f]",
                             c.fitb, candidate.version, k.fitb, current.version, questions.count, sums.count,
                             difference, estimate.low, estimate.high)
        let reason = promote
            ? "promoted \(candidate.version): \(figures), above 0"
            : "kept \(current.version): \(candidate.version) does not beat it beyond noise (\(figures), lower bound not above 0)"
        return Decision(promote: promote, candidate: c, current: k, difference: difference, low: estimate.low,
                        high: estimate.high, reason: reason)
    }
}
