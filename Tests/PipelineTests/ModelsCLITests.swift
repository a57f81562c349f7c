import Foundation
import LookbookCore
import Testing
import TestSupport
@testable import Pipeline

/// `lookbook models`: the registry as a table and as JSON, rollback, and what a user
/// sees when something is wrong.
@Suite struct ModelsCLITests {
    let root: TempDirectory
    let state: String
    let versions: [String]

    init() throws {
        root = try TempDirectory("lookbook-models-cli")
        state = root.path("state")
        let catalog = try ModelFixtures.catalog(products: 60, outfits: 12)
        let a = try ModelFixtures.model(catalog, epochs: 0, seed: 1)
        let b = try ModelFixtures.model(catalog, epochs: 0, seed: 2)
        let registry = ModelRegistry(stateDirectory: state)
        try registry.register(ModelFixtures.entry(a.version), model: a, makeCurrent: true)
        try registry.register(ModelFixtures.entry(b.version, parent: a.version, kind: .dpo), model: b, makeCurrent: true)
        versions = [a.version, b.version]
    }

    @Test func listsVersionsAsATableAndAsJSON() throws {
        let table = try CLI.run(["models", "--state", state])
        #expect(table.exitCode == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("  VERSION") && lines[0].contains("FITB"))
        #expect(lines[1].hasPrefix("  \(versions[0]) ") && lines[1].contains(" sft "))
        #expect(lines[2].hasPrefix("* \(versions[1])") && lines[2].contains(" dpo ") && lines[2].contains(versions[0]))

        let json = try CLI.run(["models", "list", "--state", state, "--json"])
        #expect(json.exitCode == 0)
        let contents = try JSONDecoder().decode(ModelRegistry.Contents.self, from: Data(json.stdout.utf8))
        #expect(contents.current == versions[1] && contents.versions.map(\.version) == versions)
    }

    @Test func rollbackMakesAnEarlierVersionCurrent() throws {
        let job = try root.write("jobs/nightly.toml", "[job]\nstate = \"../state\"\n")
        let result = try CLI.run(["models", "rollback", versions[0], "--job", job])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\(versions[0]) is current (was \(versions[1]))"))
        #expect(try ModelRegistry(stateDirectory: state).read().current == versions[0])
    }

    @Test func mistakesAreOneLineThatSaysWhatToDo() throws {
        let unknown = try CLI.run(["models", "rollback", "stylelm-nope", "--state", state])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("no model version stylelm-nope") && unknown.stderr.contains(versions[0]))
        let neither = try CLI.run(["models"])
        #expect(neither.exitCode == 2 && neither.stderr.contains("--state DIR or --job FILE"))

        try root.write("state/models/registry.json", "[]")
        let bad = try CLI.run(["models", "--state", state])
        #expect(bad.exitCode == 1)
        #expect(bad.stderr.contains("is not a readable model registry") && bad.stderr.split(separator: "\n").count == 1)
    }
}
