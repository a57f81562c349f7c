import CatalogGenerator
import Foundation
import Testing
import TestSupport

/// End-to-end runs of the built `lookbook` binary: stdout, stderr and exit codes.
/// The folder goes when the last copy of the workspace does.
struct Workspace {
    let directory: TempDirectory
    var root: URL { directory.url }
    init() throws {
        directory = try TempDirectory("lookbook-e2e")
        try FileManager.default.createDirectory(at: directory.url.appendingPathComponent("inbox"), withIntermediateDirectories: true)
        try """
            [job]
            name = "e2e"
            inbox = "inbox"
            state = "state"
            out = "out"
            """.write(to: root.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
    }
    var job: String { root.appendingPathComponent("job.toml").path }
    var store: String { root.appendingPathComponent("out/lookbook.sqlite").path }
    func path(_ p: String) -> String { root.appendingPathComponent(p).path }

    /// A generated catalog in the inbox.
    @discardableResult
    func addCatalog(_ name: String, products: Int = 120, outfits: Int = 40, seed: UInt64 = 1,
                    snapshot: String = "2026-11-28T02:00:00Z") throws -> String {
        let config = SampleCatalogGenerator.Config(seed: seed, snapshot: snapshot, productCount: products, imageCount: products / 2,
                                                   imageSize: 48, outfitCount: outfits)
        let path = root.appendingPathComponent("inbox").appendingPathComponent(name).path
        try SampleCatalogGenerator.write(try SampleCatalogGenerator(config: config).generate(), to: path)
        return path
    }
}

@Test func runPublishesThenQueryAndExportReadTheStore() throws {
    let w = try Workspace()
    try w.addCatalog("acme.tar.gz")
    let run = try CLI.run(["run", w.job, "--no-progress"])
    #expect(run.exitCode == 0, "\(run.stderr)")
    #expect(run.stderr.contains("published"))
    #expect(FileManager.default.fileExists(atPath: w.store))

    let query = try CLI.run(["query", w.store, "--product", "P000001"])
    #expect(query.exitCode == 0, "\(query.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(query.stdout.utf8)) as? [String: Any]
    #expect((json?["product"] as? [String: Any])?["id"] as? String == "P000001")
    #expect(((json?["complementary"] as? [Any])?.count ?? 0) > 0)

    for format in ["csv", "jsonl"] {
        let export = try CLI.run(["export", w.store, "--format", format, "--out", w.path("export-\(format)")])
        #expect(export.exitCode == 0, "\(export.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: w.path("export-\(format)"))
        #expect(files.contains("complementary.\(format)"))
    }
}

@Test func secondRunOfTheSameSnapshotSaysSoAndExitsZero() throws {
    let w = try Workspace()
    try w.addCatalog("acme.tar.lz4")
    #expect(try CLI.run(["run", w.job]).exitCode == 0)
    let before = FileManager.default.contents(atPath: w.store)
    let again = try CLI.run(["run", w.job])
    #expect(again.exitCode == 0)
    #expect(again.stderr.contains("already processed"))
    #expect(FileManager.default.contents(atPath: w.store) == before)
}

@Test(arguments: [
    ["run"],                                   // missing job file
    ["run", "job.toml", "--bogus"],            // unknown option
    ["export", "x.sqlite", "--format", "xml", "--out", "o"],
    ["frobnicate"],
])
func usageErrorsExitTwo(arguments: [String]) throws {
    let r = try CLI.run(arguments)
    #expect(r.exitCode == 2, "\(r.stderr)")
    #expect(!r.stderr.isEmpty)
}

@Test func failuresExitOneWithOneLineSayingWhatToFix() throws {
    let w = try Workspace()
    let r = try CLI.run(["run", w.job])  // the inbox is empty
    #expect(r.exitCode == 1)
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("lookbook: error:") }
    #expect(errors.count == 1)
    #expect(errors.first?.contains("no catalog in") == true)

    let q = try CLI.run(["query", w.path("nothing.sqlite"), "--product", "x"])
    #expect(q.exitCode == 1)
    #expect(q.stderr.contains("no store at"))
}

@Test func unknownJobFileKeysAreRejected() throws {
    let w = try Workspace()
    try "[job]\ninbx = \"inbox\"\n".write(toFile: w.job, atomically: true, encoding: .utf8)
    let r = try CLI.run(["run", w.job])
    #expect(r.exitCode == 1)
    #expect(r.stderr.contains("unknown key \"job.inbx\""))
}

@Test func inspectSummarisesWithoutPublishing() throws {
    let w = try Workspace()
    let catalog = try w.addCatalog("acme.zip")
    let r = try CLI.run(["inspect", catalog, "--json"])
    #expect(r.exitCode == 0, "\(r.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    #expect(json?["products"] as? Int == 120)
    #expect((json?["slots"] as? [String: Int])?["top"] != nil)
    #expect(!FileManager.default.fileExists(atPath: w.path("out")))
}

@Test func aConcurrentSecondRunExitsAtOnce() throws {
    let w = try Workspace()
    try w.addCatalog("acme.tar.gz", products: 1500, outfits: 400)
    let (first, _, _) = try CLI.start(["run", w.job, "--no-progress"])
    // Wait until the first run holds the lock (it writes its pid into the lock file).
    let lock = w.path("state/lookbook.lock")
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline, ((try? String(contentsOfFile: lock, encoding: .utf8)) ?? "").isEmpty { usleep(2000) }
    let second = try CLI.run(["run", w.job])
    first.waitUntilExit()
    #expect(second.exitCode == 1)
    #expect(second.stderr.contains("another lookbook run"))
    #expect(first.terminationStatus == 0)
}
