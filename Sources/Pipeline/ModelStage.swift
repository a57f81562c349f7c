import Foundation
import LookbookCore
import Recommender
import StyleModel

/// Which StyleLM reranks tonight's candidates:
///
/// 1. the model directory the job names (`[job] model`), used as is;
/// 2. else, with `[model] train = true`, the state's model registry (`ModelRegistry`):
///    - no version yet, or a supervised training cut short by its time budget: train
///      (or continue) on the catalog's curated outfits other than the gate's held-out
///      ones; the first model becomes current, a continued one must pass the gate;
///    - a current version and `[model] tune = true`: when tonight's snapshot brought
///      new outfits or feedback verdicts, one preference-tuning (DPO) round on the
///      current version, within `tune_time_budget_seconds`, promoted only if it passes
///      the gate (`ModelGate`); with nothing new, no refresh;
///    - the current version reranks;
/// 3. else the co-occurrence model reranks.
///
/// Every version made is registered with its figures; the run report carries the
/// decision (`ModelDecision`).
struct ModelStage {
    var job: JobConfig
    var events: @Sendable (RunEvent) -> Void
    var hooks = Hooks()
    var now: @Sendable () -> Date = { Date() }

    /// Seams for tests.
    struct Hooks: Sendable {
        /// Sees a refresh's preference pairs last (the identity in production).
        var adjustPairs: @Sendable ([PreferencePair]) -> [PreferencePair] = { $0 }
        /// Sees a refresh's options last (tests shorten or strengthen a round).
        var adjustOptions: @Sendable (inout PreferenceTuning.Options) -> Void = { _ in }
    }

    struct Choice {
        var scoring: StyleLMScoring
        /// "job" (a model trained elsewhere), "trained" (supervised training tonight),
        /// "tuned" (a refresh promoted tonight), "state" (the registry's current version).
        var source: String
        var path: String
        var decision: ModelDecision?

        /// For the run's log line.
        var origin: String {
            switch source {
            case "job": "from the job"
            case "trained": "trained tonight"
            case "tuned": "preference-tuned tonight"
            default: "the state's current version"
            }
        }
    }

    func choose(catalog: Catalog, captions: [String: String], state: StateStore) throws -> Choice? {
        if let path = job.model {
            let url = URL(fileURLWithPath: path)
            guard StyleLMScoring.isModelDirectory(url) else {
                throw LookbookError(.model, "\(path) is not a StyleLM model directory (config.json and model.safetensors); make one with `lookbook train --catalog C --out \(path)`")
            }
            return Choice(scoring: try load(url), source: "job", path: path)
        }
        guard job.modelTraining.train else { return nil }
        let registry = ModelRegistry(stateDirectory: job.state)
        let contents = try registry.open(now: now())
        var products = catalog.products
        for i in products.indices {
            if let caption = captions[products[i].id], !caption.isEmpty { products[i].attributes["caption"] = caption }
        }
        let split = ModelGate.split(catalog.outfits, products: products)
        let questions = ModelGate.questions(heldOut: split.heldOut, training: split.training, products: products)
        let current = contents.currentEntry

        if registry.trainingPending || current == nil {
            return try train(registry: registry, current: current, products: products, split: split, questions: questions)
        }
        let current_ = current!
        let url = registry.modelDirectory(current_.version)
        var decision = ModelDecision(version: current_.version, decision: "current",
                                     reason: "[model] tune is off: \(current_.version) reranks")
        if job.modelTraining.tune {
            let signal = try state.newSignal(in: catalog)
            decision.newOutfits = signal.outfits.count
            decision.newFeedback = signal.feedback
            if signal.isEmpty {
                decision.decision = "no-refresh"
                decision.reason = "no new outfits or feedback since the last run: no preference-tuning refresh; \(current_.version) reranks"
                events(.info(decision.reason))
            } else {
                events(.info("\(signal.summary) since the last run: a preference-tuning refresh of \(current_.version)"))
                // Every verdict ever received, once (a snapshot repeats earlier ones).
                var seen = Set<String>()
                let feedback = (try state.feedback() + catalog.feedback).filter {
                    seen.insert("\($0.anchor)\u{1F}\($0.item)\u{1F}\($0.verdict.rawValue)\u{1F}\($0.at ?? "")").inserted
                }
                do {
                    return try refresh(registry: registry, current: current_, products: products, split: split,
                                       feedback: feedback, questions: questions, signal: signal)
                } catch {
                    // The registry and the disk failing fail the run; a refresh that
                    // cannot learn leaves the current version in place.
                    if let e = error as? LookbookError, e.code == .io || e.code == .state { throw error }
                    decision.decision = "refresh-failed"
                    decision.reason = "the preference-tuning refresh failed and \(current_.version) stays: \((error as? LookbookError)?.description ?? "\(error)")"
                    events(.warning(decision.reason))
                }
            }
        }
        return Choice(scoring: try load(url), source: "state", path: url.path, decision: decision)
    }

    private func currentChoice(_ registry: ModelRegistry, _ entry: ModelRegistry.Entry) throws -> Choice {
        let url = registry.modelDirectory(entry.version)
        return Choice(scoring: try load(url), source: "state", path: url.path, decision: nil)
    }

    // MARK: Supervised training

    /// Trains (or continues training) a StyleLM on the training outfits; the first one
    /// becomes current, later ones must pass the gate.
    private func train(registry: ModelRegistry, current: ModelRegistry.Entry?, products: [Product], split: ModelGate.Split,
                       questions: [ModelGate.Question]) throws -> Choice? {
        let recipe = Self.recipe(job.modelTraining)
        let corpus = OutfitCorpus(products: products, outfits: split.training, format: recipe.itemText)
        guard !corpus.outfits.isEmpty else {
            if let current { return try currentChoice(registry, current) }
            events(.warning("no StyleLM yet and the catalog has no curated outfits to train one; the co-occurrence model reranks (give [job] model to use a model trained elsewhere)"))
            return nil
        }
        let directory = registry.trainingDirectory
        try FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        let report = try StyleLMTraining.train(corpus, recipe: recipe, out: directory,
                                               deadline: now().addingTimeInterval(job.modelTraining.timeBudgetSeconds)) { line in
            events(.info("StyleLM \(line)"))
        }
        events(.info(String(format: "trained StyleLM (%d parameters) in %.0f s: %d base and %d fine-tuning steps%@",
                            report.parameters, report.pretraining.seconds + report.fineTuning.seconds,
                            report.pretraining.steps, report.fineTuning.steps,
                            report.complete ? "" : "; cut short by time_budget_seconds, the next run continues")))
        let candidate: TunableModel
        do { candidate = try TunableModel(directory: directory) } catch {
            throw LookbookError(.model, "cannot load the StyleLM just trained at \(directory.path)", underlying: "\(error)")
        }
        let data = ModelRegistry.DataSeen(fingerprint: ModelRegistry.fingerprint(outfits: split.training, feedback: []),
                                          products: products.count, outfits: corpus.outfits.count,
                                          heldOutOutfits: split.heldOut.count, feedback: 0)
        var entry = ModelRegistry.Entry(version: candidate.version, parent: current?.version, kind: .sft, status: .promoted,
                                        createdAt: iso(now()), data: data, stored: true,
                                        note: report.complete ? nil : "cut short by time_budget_seconds; the next run continues it")
        let choice = try gate(candidate, entry: &entry, registry: registry, current: current, questions: questions, source: "trained")
        if report.complete { try? FileManager.default.removeItem(at: directory) }
        return choice
    }

    // MARK: Preference tuning

    /// One DPO round on the current version, gated: the candidate when promoted, else
    /// the current version.
    private func refresh(registry: ModelRegistry, current: ModelRegistry.Entry, products: [Product], split: ModelGate.Split,
                         feedback: [Feedback], questions: [ModelGate.Question], signal: NewSignal) throws -> Choice {
        let start: TunableModel
        do { start = try TunableModel(directory: registry.modelDirectory(current.version)) } catch {
            throw LookbookError(.model, "cannot load the current StyleLM \(current.version)", underlying: "\(error)")
        }
        let fingerprint = ModelRegistry.fingerprint(outfits: split.training, feedback: feedback)
        var options = PreferenceTuning.Options.defaults(for: start)
        options.seed = StableHash.fnv1a(fingerprint)
        options.maxPairs = Self.maxRefreshPairs
        hooks.adjustOptions(&options)
        let clock = now()
        let round = try PreferenceTuning.refresh(from: start, products: products, outfits: split.training, feedback: feedback,
                                                 options: options, deadline: clock.addingTimeInterval(job.modelTraining.tuneTimeBudgetSeconds),
                                                 adjust: hooks.adjustPairs) { line in events(.info(line.hasPrefix("DPO") ? line : "DPO \(line)")) }
        let seconds = now().timeIntervalSince(clock)
        let t = round.report.summary.training
        events(.info(String(format: "DPO refresh in %.0f s: mining %.0f s, reference %.0f s, %d steps on %d pairs (%d tokens in %.0f s, %.0f tokens/s)%@",
                            seconds, round.miningSeconds, round.report.referenceSeconds, t.steps, round.pairs.count, t.tokens, t.seconds,
                            t.tokensPerSecond, round.report.complete ? "" : "; cut short by tune_time_budget_seconds")))
        var pairs: [String: Int] = [:]
        for (source, n) in PreferencePairs.counts(round.pairs) where n > 0 { pairs[source.rawValue] = n }
        let data = ModelRegistry.DataSeen(fingerprint: fingerprint, products: products.count, outfits: split.training.count,
                                          heldOutOutfits: split.heldOut.count, feedback: feedback.count, pairs: pairs)
        var entry = ModelRegistry.Entry(version: round.model.version, parent: current.version, kind: .dpo, status: .promoted,
                                        createdAt: iso(now()), data: data, stored: true,
                                        note: round.report.complete ? nil : "cut short by tune_time_budget_seconds")
        return try gate(round.model, entry: &entry, registry: registry, current: current, questions: questions, source: "tuned") { d in
            d.newOutfits = signal.outfits.count
            d.newFeedback = signal.feedback
            d.pairs = pairs
            d.seconds = seconds
            d.complete = round.report.complete
        }
    }

    /// Pairs one refresh learns from at most (every mined mistake kept, the catalog's
    /// pairs sampled): bounds the reference pass on a large catalog.
    static let maxRefreshPairs = 20_000

    // MARK: The gate

    /// Applies the gate to `candidate` against `current` (none: the first model is
    /// promoted), registers it, and returns the choice: the candidate when promoted,
    /// else the current version (with the decision attached either way).
    func gate(_ candidate: TunableModel, entry: inout ModelRegistry.Entry, registry: ModelRegistry, current: ModelRegistry.Entry?,
                      questions: [ModelGate.Question], source: String,
                      extra: (inout ModelDecision) -> Void = { _ in }) throws -> Choice {
        let scoring = try candidate.scoring()
        var decision = ModelDecision(version: candidate.version, decision: "first", reason: "", candidate: candidate.version)
        if let current, current.version == candidate.version {
            decision.decision = "unchanged"
            decision.reason = "the new model has the current version's weights (\(current.version)); nothing to register"
        } else if let current {
            let result = ModelGate.compare(candidate: scoring, current: try load(registry.modelDirectory(current.version)), questions: questions)
            decision.gate = result
            decision.reason = result.reason
            entry.metrics = questions.isEmpty ? nil : result.candidate
            entry.note = [result.reason, entry.note].compactMap { $0 }.joined(separator: "; ")
            if result.promote {
                decision.decision = "promoted"
                entry.status = .promoted
                try registry.register(entry, model: candidate, makeCurrent: true)
            } else {
                decision.decision = "rejected"
                decision.version = current.version
                entry.status = .rejected
                entry.stored = false
                try registry.register(entry, model: nil, makeCurrent: false)
            }
        } else {
            let score = ModelGate.score(version: candidate.version, credits: ModelGate.credits(scoring, questions), questions: questions)
            entry.metrics = questions.isEmpty ? nil : score
            decision.reason = questions.isEmpty
                ? "the first StyleLM (\(candidate.version)) becomes current; no held-out questions to measure it on"
                : String(format: "the first StyleLM (%@) becomes current: nothing to compare it with; FITB %.3f on %d held-out questions",
                         candidate.version, score.fitb, score.questions)
            try registry.register(entry, model: candidate, makeCurrent: true)
        }
        extra(&decision)
        events(decision.decision == "rejected" ? .warning(decision.reason) : .info(decision.reason))
        if decision.decision != "rejected" {
            let pruned = try registry.prune(keep: job.modelTraining.keepVersions, now: now())
            if !pruned.isEmpty {
                events(.info("model registry: removed the files of \(pruned.count) older version(s) (\(pruned.joined(separator: ", "))), keeping the newest \(job.modelTraining.keepVersions) ([model] keep_versions)"))
            }
        }
        if decision.decision == "rejected", let current {
            let url = registry.modelDirectory(current.version)
            return Choice(scoring: try load(url), source: "state", path: url.path, decision: decision)
        }
        let url = registry.modelDirectory(decision.version ?? candidate.version)
        return Choice(scoring: scoring, source: source, path: url.path, decision: decision)
    }

    func load(_ url: URL) throws -> StyleLMScoring {
        do { return try StyleLMScoring(directory: url) } catch {
            throw LookbookError(.model, "cannot load the StyleLM model at \(url.path)", underlying: "\(error)")
        }
    }

    /// The recipe for the job's `[model]` settings.
    static func recipe(_ settings: ModelTrainingSettings) -> StyleLMRecipe {
        var recipe = switch settings.size {
        case .standard: StyleLMRecipe()
        case .small: StyleLMRecipe.small
        case .tiny: StyleLMRecipe.tiny
        }
        recipe = recipe.with(head: settings.head == .bag ? .bag : .sequence)
        if let e = settings.pretrainEpochs { recipe.pretraining.epochs = e }
        if let e = settings.sftEpochs { recipe.fineTuning.epochs = e }
        return recipe
    }
}

/// What the model stage decided tonight, in the run report (`model_decision`).
public struct ModelDecision: Codable, Sendable, Equatable {
    /// The registry version that reranks.
    public var version: String?
    /// `first` (no model before), `promoted`, `rejected` (the gate kept the current
    /// version), `unchanged`, `no-refresh` (nothing new tonight), `current` (tuning
    /// off), `refresh-failed`.
    public var decision: String
    /// One line with the figures behind the decision.
    public var reason: String
    /// The version trained tonight, if any.
    public var candidate: String?
    /// Both models' held-out FITB and the difference's interval.
    public var gate: ModelGate.Decision?
    public var newOutfits: Int?
    public var newFeedback: Int?
    /// A refresh's preference pairs by source, seconds, and whether it ran to the end.
    public var pairs: [String: Int]?
    public var seconds: Double?
    public var complete: Bool?

    public init(version: String?, decision: String, reason: String, candidate: String? = nil) {
        self.version = version; self.decision = decision; self.reason = reason; self.candidate = candidate
    }

    enum CodingKeys: String, CodingKey {
        case version, decision, reason, candidate, gate, pairs, seconds, complete
        case newOutfits = "new_outfits"
        case newFeedback = "new_feedback"
    }
}
