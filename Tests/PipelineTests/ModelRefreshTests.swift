import Foundation
import LookbookCore
import LookupStore
import StyleModel
import Testing
import TestSupport
@testable import Pipeline

/// The nightly preference-tuning refresh: it runs only when the snapshot brings new
/// outfits or feedback, registers what it trained, and a round that learnt the wrong
/// thing never reaches the store.
@Suite(.serialized) struct ModelRefreshTests {
    /// Tiny model, short lists (fast in a debug build).
    func fixture() throws -> Fixture {
        var f = try Fixture()
        f.job.modelTraining.train = true
        f.job.modelTraining.tune = true
        f.job.modelTraining.size = .tiny
        f.job.modelTraining.pretrainEpochs = 2
        f.job.modelTraining.sftEpochs = 2
        f.job.recommend.retrievalM = 12
        f.job.recommend.complementaryK = 6
        f.job.recommend.fitbK = 4
        return f
    }

    static let catalog = Result { try ModelFixtures.catalog(products: 160, outfits: 64) }

    func snapshot(_ day: Int, feedback: [Feedback] = []) throws -> Catalog {
        var c = try Self.catalog.get()
        c.manifest.snapshot = "2026-11-\(27 + day)T02:00:00Z"
        c.feedback = feedback
        return c
    }

    func run(_ f: Fixture, hooks: ModelStage.Hooks = .init()) async -> NightlyRun.Outcome {
        var run = NightlyRun(job: f.job)
        run.modelHooks = hooks
        run.modelHooks.adjustOptions = { [adjust = hooks.adjustOptions] options in
            options.mineOutfits = 16
            options.maxPairs = 160
            adjust(&options)
        }
        return await run.run()
    }

    /// Verdicts on two anchors: reject their first listed item, approve their last.
    func verdicts(_ reader: StoreReader, _ catalog: Catalog) throws -> [Feedback] {
        var out: [Feedback] = []
        for anchor in catalog.products where out.count < 4 {
            guard let list = try reader.complementary(for: anchor.id).first(where: { $0.items.count >= 3 }) else { continue }
            out.append(Feedback(anchor: anchor.id, item: list.items[0].productID, verdict: .reject, at: "2026-11-29T10:00:00Z"))
            out.append(Feedback(anchor: anchor.id, item: list.items.last!.productID, verdict: .approve, at: "2026-11-29T10:00:00Z"))
        }
        return out
    }

    @Test func aRefreshRunsOnlyWhenTheSnapshotBringsSomethingNew() async throws {
        let f = try fixture()
        _ = try f.write(try snapshot(1), as: "acme-1.tar.lz4")
        let first = await run(f)
        #expect(first.report.status == .succeeded, "\(first.report.message)")
        let v1 = try #require(first.report.model)
        #expect(first.report.modelDecision?.decision == "first")
        #expect(first.report.modelDecision?.version == v1)
        let registry = ModelRegistry(stateDirectory: f.job.state)
        #expect(try registry.read().current == v1)
        #expect(try registry.read().entry(v1)?.metrics?.questions ?? 0 > 0)

        // The same outfits, no feedback: no refresh.
        _ = try f.write(try snapshot(2), as: "acme-2.tar.lz4")
        let second = await run(f)
        #expect(second.report.status == .succeeded, "\(second.report.message)")
        #expect(second.report.modelDecision?.decision == "no-refresh")
        #expect(second.report.modelDecision?.newFeedback == 0 && second.report.modelDecision?.newOutfits == 0)
        #expect(second.report.model == v1)
        #expect(try registry.read().versions.count == 1)

        // Merchandiser verdicts arrive: one DPO round on v1, gated and registered.
        let feedback = try verdicts(StoreReader(path: f.storePath), try snapshot(3))
        _ = try f.write(try snapshot(3, feedback: feedback), as: "acme-3.tar.lz4")
        let third = await run(f)
        #expect(third.report.status == .succeeded, "\(third.report.message)")
        let decision = try #require(third.report.modelDecision)
        #expect(["promoted", "rejected"].contains(decision.decision), "\(decision.reason)")
        #expect(decision.newFeedback == feedback.count)
        #expect(decision.pairs?["merchandiser", default: 0] ?? 0 > 0)
        let gate = try #require(decision.gate)
        #expect(gate.current.version == v1 && gate.candidate.questions > 0)
        let contents = try registry.read()
        #expect(contents.versions.count == 2)
        let dpo = try #require(contents.versions.last)
        #expect(dpo.kind == .dpo && dpo.parent == v1 && dpo.data?.feedback == feedback.count)
        #expect(contents.current == (decision.decision == "promoted" ? dpo.version : v1))
        #expect(third.report.model == contents.current)
    }

    /// The regression the gate exists for: a round trained on pairs with chosen and
    /// rejected swapped learns to prefer the wrong items; the gate measures it worse,
    /// keeps the current model, and the store's lists stay as they were (but for the
    /// anchors the new verdicts name, which the precompute applies directly).
    @Test func aRoundOnCorruptedPairsIsRejectedAndTheStoreKeepsItsLists() async throws {
        let f = try fixture()
        let catalog = try snapshot(1)
        _ = try f.write(catalog, as: "acme-1.tar.lz4")
        let first = await run(f)
        #expect(first.report.status == .succeeded, "\(first.report.message)")
        let v1 = try #require(first.report.model)
        var before: [String: [Recommendation]] = [:]
        let reader = try StoreReader(path: f.storePath)
        for p in catalog.products { before[p.id] = try reader.complementary(for: p.id) }
        let feedback = Array(try verdicts(reader, catalog).prefix(2))

        _ = try f.write(try snapshot(2, feedback: feedback), as: "acme-2.tar.lz4")
        var hooks = ModelStage.Hooks()
        hooks.adjustPairs = { ModelFixtures.swapped($0) }
        hooks.adjustOptions = { options in
            options.settings.training.epochs = 3
            options.settings.training.learningRate = 2e-3
        }
        let second = await run(f, hooks: hooks)
        #expect(second.report.status == .succeeded, "\(second.report.message)")
        let decision = try #require(second.report.modelDecision)
        let gate = try #require(decision.gate)
        #expect(decision.decision == "rejected", "\(decision.reason)")
        #expect(gate.candidate.fitb < gate.current.fitb, "\(gate.reason)")
        #expect(decision.reason.contains("kept \(v1)"))
        #expect(second.report.model == v1)
        #expect(second.report.precompute?.mode == "incremental")

        let after = try StoreReader(path: f.storePath)
        #expect(try after.meta().modelVersion == v1)
        let touched = Set(feedback.map(\.anchor))
        for p in catalog.products where !touched.contains(p.id) {
            #expect(try after.complementary(for: p.id) == before[p.id], "\(p.id)")
        }
        let registry = ModelRegistry(stateDirectory: f.job.state)
        let contents = try registry.read()
        #expect(contents.current == v1)
        let rejected = try #require(contents.versions.last)
        #expect(rejected.status == .rejected && !rejected.stored && rejected.version == gate.candidate.version)
        #expect(!FileManager.default.fileExists(atPath: registry.modelDirectory(rejected.version).path))
    }
    /// `lookbook models rollback`'s effect on the nightly run: the next run reranks with
    /// the version made current, and recomputes every list since the model changed.
    /// `[model] keep_versions`: after a promotion the registry keeps the files of the
    /// newest versions only; the others keep their entries.
    @Test func aPromotionPrunesTheFilesOfOlderVersions() async throws {
        var f = try fixture()
        f.job.modelTraining.tune = false
        f.job.modelTraining.keepVersions = 1
        // Two earlier versions, neither current: tonight trains a first model and promotes it.
        let registry = ModelRegistry(stateDirectory: f.job.state)
        let old = try [3, 4].map { try ModelFixtures.model(try snapshot(1), epochs: 0, seed: UInt64($0)) }
        for m in old { try registry.register(ModelFixtures.entry(m.version), model: m, makeCurrent: false) }
        #expect(old.allSatisfy { StyleLMScoring.isModelDirectory(registry.modelDirectory($0.version)) })
        _ = try f.write(try snapshot(1), as: "acme-1.tar.lz4")
        let outcome = await run(f)
        #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
        let trained = try #require(outcome.report.model)
        let contents = try registry.read()
        #expect(contents.current == trained)
        #expect(contents.versions.map(\.version) == old.map(\.version) + [trained])
        #expect(contents.versions.map(\.stored) == [false, false, true])
        #expect(old.allSatisfy { !FileManager.default.fileExists(atPath: registry.modelDirectory($0.version).path) })
        #expect(StyleLMScoring.isModelDirectory(registry.modelDirectory(trained)))
    }

    @Test func theNextRunUsesTheVersionMadeCurrentAndRecomputesEverything() async throws {
        var f = try fixture()
        f.job.modelTraining.tune = false
        _ = try f.write(try snapshot(1), as: "acme-1.tar.lz4")
        let first = await run(f)
        let v1 = try #require(first.report.model)
        // A later version becomes current (as a promotion would make it).
        let registry = ModelRegistry(stateDirectory: f.job.state)
        let v2 = try ModelFixtures.model(try snapshot(1), epochs: 0, seed: 9)
        try registry.register(ModelFixtures.entry(v2.version, parent: v1, kind: .dpo), model: v2, makeCurrent: true)
        _ = try f.write(try snapshot(2), as: "acme-2.tar.lz4")
        let second = await run(f)
        #expect(second.report.model == v2.version, "\(second.report.message)")
        #expect(second.report.precompute?.mode == "full")

        try registry.rollback(to: v1)
        _ = try f.write(try snapshot(3), as: "acme-3.tar.lz4")
        let third = await run(f)
        #expect(third.report.status == .succeeded, "\(third.report.message)")
        #expect(third.report.model == v1)
        #expect(third.report.modelSource == "state: \(registry.modelDirectory(v1).path)")
        #expect(third.report.precompute?.mode == "full")
        #expect(third.report.precompute?.fullReason?.contains("new reranker version") == true, "\(third.report.precompute?.fullReason ?? "nil")")
        #expect(try StoreReader(path: f.storePath).meta().modelVersion == v1)
    }
}
