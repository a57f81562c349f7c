import Foundation
import LookbookCore
import StyleModel
import Testing
import TestSupport
@testable import Pipeline

/// The state's model registry: versions with lineage and figures, a current pointer,
/// rollback, and clear errors for a registry that is not one.
@Suite struct ModelRegistryTests {
    let state: TempDirectory
    let catalog: Catalog
    init() throws {
        state = try TempDirectory("lookbook-registry")
        catalog = try ModelFixtures.catalog(products: 60, outfits: 12)
    }

    @Test func registerListRollbackAndReopen() throws {
        let a = try ModelFixtures.model(catalog, epochs: 0, seed: 1)
        let b = try ModelFixtures.model(catalog, epochs: 0, seed: 2)
        #expect(a.version != b.version)
        let registry = ModelRegistry(stateDirectory: state.path)
        #expect(try registry.read() == ModelRegistry.Contents())
        try registry.register(ModelFixtures.entry(a.version), model: a, makeCurrent: true)
        try registry.register(ModelFixtures.entry(b.version, parent: a.version, kind: .dpo), model: b, makeCurrent: true)
        var rejected = ModelFixtures.entry("stylelm-dpo-rejected", parent: b.version, kind: .dpo, status: .rejected)
        rejected.stored = false
        try registry.register(rejected, model: nil, makeCurrent: false)

        // A fresh registry object on the same directory sees the same thing.
        let reopened = try ModelRegistry(stateDirectory: state.path).read()
        #expect(reopened.current == b.version)
        #expect(reopened.versions.map(\.version) == [a.version, b.version, "stylelm-dpo-rejected"])
        #expect(reopened.versions.map(\.stored) == [true, true, false])
        #expect(reopened.entry(b.version)?.parent == a.version && reopened.entry(b.version)?.kind == .dpo)
        #expect(StyleLMScoring.isModelDirectory(registry.modelDirectory(a.version)))
        #expect(try TunableModel(directory: registry.modelDirectory(b.version)).version == b.version)

        let entry = try registry.rollback(to: a.version)
        #expect(entry.version == a.version)
        #expect(try ModelRegistry(stateDirectory: state.path).current()?.entry.version == a.version)
        #expect(try ModelRegistry(stateDirectory: state.path).current()?.url == registry.modelDirectory(a.version))
    }

    @Test func rollbackToAVersionWithoutItsModelSaysWhichAreKept() throws {
        let a = try ModelFixtures.model(catalog, epochs: 0, seed: 1)
        let registry = ModelRegistry(stateDirectory: state.path)
        try registry.register(ModelFixtures.entry(a.version), model: a, makeCurrent: true)
        var rejected = ModelFixtures.entry("stylelm-dpo-rejected", parent: a.version, kind: .dpo, status: .rejected)
        rejected.stored = false
        try registry.register(rejected, model: nil, makeCurrent: false)
        let notKept = #expect(throws: LookbookError.self) { try registry.rollback(to: "stylelm-dpo-rejected") }
        #expect(notKept?.code == .usage)
        #expect(notKept?.message.contains("rejected by the gate") == true && notKept?.message.contains(a.version) == true)
        let unknown = #expect(throws: LookbookError.self) { try registry.rollback(to: "stylelm-nope") }
        #expect(unknown?.message.contains("no model version stylelm-nope") == true)
        #expect(try registry.read().current == a.version)
    }

    @Test(arguments: [
        ("{not json", "invalid JSON"),
        (#"{"format": 1, "versions": [{"version": "v"}]}"#, "missing versions"),
        (#"{"format": 1, "current": "ghost", "versions": []}"#, "names ghost as current"),
        (#"{"format": 99, "versions": []}"#, "newer than this lookbook"),
    ])
    func aBadRegistryFileIsAClearErrorAndIsNotOverwritten(text: String, says: String) throws {
        let registry = ModelRegistry(stateDirectory: state.path)
        try state.write("models/registry.json", text)
        let error = #expect(throws: LookbookError.self) { try registry.read() }
        #expect(error?.code == .state)
        let described = error.map { "\($0.message) \($0.underlying ?? "")" } ?? ""
        #expect(described.contains(says), "\(described)")
        #expect(described.contains(registry.file.path))
        #expect(throws: LookbookError.self) { try registry.rollback(to: "v") }
        #expect(try String(contentsOf: registry.file, encoding: .utf8) == text)
    }

    /// A state from before the registry kept its model at STATE/models/stylelm: the
    /// first open makes it the first version, current; a training still in progress
    /// there is left alone (the next run continues it).
    @Test func theLayoutBeforeTheRegistryIsMigrated() throws {
        let a = try ModelFixtures.model(catalog, epochs: 0, seed: 3)
        let registry = ModelRegistry(stateDirectory: state.path)
        try a.save(to: registry.trainingDirectory)
        #expect(registry.hasUnmigratedModel)
        let contents = try registry.open()
        #expect(contents.current == a.version)
        #expect(contents.versions.first?.status == .migrated)
        #expect(StyleLMScoring.isModelDirectory(registry.modelDirectory(a.version)))
        #expect(!FileManager.default.fileExists(atPath: registry.trainingDirectory.path))

        let other = try TempDirectory("lookbook-registry-pending")
        let pending = ModelRegistry(stateDirectory: other.path)
        try a.save(to: pending.trainingDirectory)
        try FileManager.default.createDirectory(at: pending.trainingCheckpoint, withIntermediateDirectories: true)
        #expect(!pending.hasUnmigratedModel)
        #expect(try pending.open().versions.isEmpty)
        #expect(StyleLMScoring.isModelDirectory(pending.trainingDirectory))
    }

    @Test func tuneSettingsComeFromTheJobFile() throws {
        let job = try JobConfig.parse("""
            [model]
            train = true
            tune = true
            tune_time_budget_seconds = 120
            """)
        #expect(job.modelTraining.tune && job.modelTraining.tuneTimeBudgetSeconds == 120)
        #expect(JobConfig().modelTraining.tune == false && JobConfig().modelTraining.tuneTimeBudgetSeconds == 600)
        let withoutTrain = #expect(throws: LookbookError.self) { try JobConfig.parse("[model]\ntune = true") }
        #expect(withoutTrain?.message.contains("needs model.train = true") == true)
        #expect(throws: LookbookError.self) { try JobConfig.parse("[model]\ntrain = true\ntune_time_budget_seconds = 0") }
        #expect(throws: LookbookError.self) { try JobConfig.parse("[model]\ntune = \"yes\"") }
        #expect(JobConfig().modelTraining.keepVersions == 5)
        #expect(try JobConfig.parse("[model]\nkeep_versions = 2").modelTraining.keepVersions == 2)
        let none = #expect(throws: LookbookError.self) { try JobConfig.parse("[model]\nkeep_versions = 0") }
        #expect(none?.message.contains("keep_versions") == true)
    }
}

/// Pruning keeps the newest stored versions and the current one, deletes the rest's
/// model files, and keeps every entry with its lineage.
@Suite struct ModelRegistryPruneTests {
    @Test func pruneKeepsTheNewestAndTheCurrentAndEveryEntry() throws {
        let state = try TempDirectory("lookbook-prune")
        let catalog = try ModelFixtures.catalog(products: 60, outfits: 12)
        let models = try (1...4).map { try ModelFixtures.model(catalog, epochs: 0, seed: UInt64($0)) }
        let registry = ModelRegistry(stateDirectory: state.path)
        for (i, m) in models.enumerated() {
            try registry.register(ModelFixtures.entry(m.version, parent: i == 0 ? nil : models[i - 1].version, kind: i == 0 ? .sft : .dpo),
                                  model: m, makeCurrent: true)
        }
        try registry.rollback(to: models[0].version)   // the current version is the oldest
        let pruned = try registry.prune(keep: 2)
        // Kept: the current (models[0]) and the newest other (models[3]).
        #expect(pruned == [models[1].version, models[2].version])
        let contents = try registry.read()
        #expect(contents.versions.map(\.version) == models.map(\.version))
        #expect(contents.versions.map(\.stored) == [true, false, false, true])
        #expect(contents.entry(models[1].version)?.note?.contains("pruned") == true)
        for (i, m) in models.enumerated() {
            #expect(StyleLMScoring.isModelDirectory(registry.modelDirectory(m.version)) == [0, 3].contains(i))
        }
        #expect(try registry.prune(keep: 2).isEmpty)
        let gone = #expect(throws: LookbookError.self) { try registry.rollback(to: models[2].version) }
        #expect(gone?.message.contains("not kept") == true)
        #expect(try registry.rollback(to: models[3].version).version == models[3].version)
    }
}
