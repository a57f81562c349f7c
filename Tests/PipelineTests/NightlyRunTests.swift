import Captioning
import CatalogIngest
import Foundation
import LookbookCore
import LookupStore
import StyleModel
import Testing
import TestSupport
@testable import Pipeline

/// `smallCatalog` with prices (the casual family cheap, the formal one dear), so the
/// outfit-structure model's price term has a spread (its categories alone have none:
/// every outfit pairs the same three).
func pricedCatalog(snapshot: String = "2026-11-28T02:00:00Z", extra: [Product] = []) -> Catalog {
    var c = smallCatalog(snapshot: snapshot, extra: extra)
    for i in c.products.indices {
        let n = Double(c.products[i].id.dropFirst())!
        c.products[i].price = Int(n) % 2 == 0 ? 20 + n : 200 + 10 * n
    }
    return c
}

/// A tiny bag-of-words StyleLM trained on `smallCatalog` in `dir` (as the job's
/// `[model] size = "tiny"`, `head = "bag"` would train it); its directory's path.
func tinyBagModel(in dir: TempDirectory) throws -> String {
    let modelDir = dir.url.appendingPathComponent("bag-model")
    let settings = try JobConfig.parse("[model]\nsize = \"tiny\"\nhead = \"bag\"\npretrain_epochs = 1\nsft_epochs = 1").modelTraining
    let recipe = ModelStage.recipe(settings)
    let trainedOn = smallCatalog()
    _ = try StyleLMTraining.train(OutfitCorpus(products: trainedOn.products, outfits: trainedOn.outfits, format: recipe.itemText),
                                  recipe: recipe, out: modelDir)
    return modelDir.path
}

/// A small clean catalog: two style families, curated outfits, one feedback verdict.
func smallCatalog(snapshot: String = "2026-11-28T02:00:00Z", extra: [Product] = [], drop: Set<String> = []) -> Catalog {
    var products: [Product] = []
    for i in 0..<6 {
        let style = i % 2 == 0 ? "Casual Denim" : "Formal Silk"
        products.append(Product(id: "T\(i)", title: "\(style) Top \(i)", category: "Women > Tops > Blouses", gender: "women"))
        products.append(Product(id: "B\(i)", title: "\(style) Trousers \(i)", category: "Women > Bottoms > Trousers", gender: "women"))
        products.append(Product(id: "S\(i)", title: "\(style) Shoes \(i)", category: "Women > Shoes > Pumps"))
    }
    products = products.filter { !drop.contains($0.id) } + extra
    var outfits: [Outfit] = []
    for i in 0..<6 where !drop.contains("T\(i)") && !drop.contains("B\(i)") && !drop.contains("S\(i)") {
        outfits.append(Outfit(id: "O\(i)", items: ["T\(i)", "B\(i)", "S\(i)"], likes: 10 * i))
    }
    return Catalog(manifest: CatalogManifest(retailer: "acme", snapshot: snapshot), products: products, outfits: outfits)
}

/// Collects a run's events (they come from worker threads).
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RunEvent] = []
    func record(_ e: RunEvent) { lock.withLock { events.append(e) } }
    var infos: [String] { lock.withLock { events.compactMap { if case .info(let s) = $0 { s } else { nil } } } }
    var warnings: [String] { lock.withLock { events.compactMap { if case .warning(let s) = $0 { s } else { nil } } } }
}

/// A job in a fresh temp folder whose inbox is `inbox/`; the folder goes when the last
/// copy of the fixture does.
struct Fixture {
    let directory: TempDirectory
    var root: URL { directory.url }
    var job: JobConfig

    init() throws {
        directory = try TempDirectory("lookbook-pipeline")
        try FileManager.default.createDirectory(at: directory.url.appendingPathComponent("inbox"), withIntermediateDirectories: true)
        job = JobConfig()
        job.inbox = root.appendingPathComponent("inbox").path
        job.state = root.appendingPathComponent("state").path
        job.out = root.appendingPathComponent("out").path
    }

    func write(_ catalog: Catalog, as name: String) throws -> String {
        let path = root.appendingPathComponent("inbox").appendingPathComponent(name).path
        try CatalogWriter.write(catalog, to: path)
        return path
    }

    var storePath: String { (job.out as NSString).appendingPathComponent("lookbook.sqlite") }

    func storeBytes() -> Data? { FileManager.default.contents(atPath: storePath) }

    func run(_ overrides: JobConfig.Overrides = .init()) async -> NightlyRun.Outcome {
        await NightlyRun(job: job.applying(overrides)).run()
    }
}

@Test func firstRunPublishesAStoreWithRecommendations() async throws {
    let f = try Fixture()
    _ = try f.write(smallCatalog(), as: "acme-1.tar.lz4")
    let outcome = await f.run()
    #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
    #expect(outcome.exitCode == 0)
    #expect(outcome.report.diff?.new == 18)
    let reader = try StoreReader(path: f.storePath)
    #expect(try reader.meta().snapshot == "2026-11-28T02:00:00Z")
    let lists = try reader.complementary(for: "T0")
    #expect(lists.contains { $0.targetSlot == .bottom })
    // The casual top's best bottom is a casual one (even index).
    let bottom = try #require(lists.first { $0.targetSlot == .bottom })
    #expect(["B0", "B2", "B4"].contains(bottom.items[0].productID))
    #expect(try reader.fitbCandidates(outfitID: "O1").count == 3)
    #expect(FileManager.default.fileExists(atPath: (f.job.out as NSString).appendingPathComponent("lookbook.manifest.json")))
    let metrics = try String(contentsOfFile: (f.job.out as NSString).appendingPathComponent("lookbook.prom"), encoding: .utf8)
    #expect(metrics.contains("lookbook_run_success{job=\"nightly\"} 1"))
    #expect(metrics.contains("# TYPE lookbook_stage_duration_seconds gauge"))
    let report = try #require(outcome.reportPath)
    #expect(FileManager.default.fileExists(atPath: report))
}

@Test func sameSnapshotTwiceChangesNothingAndSaysSo() async throws {
    let f = try Fixture()
    _ = try f.write(smallCatalog(), as: "acme-1.tar.gz")
    #expect(await f.run().report.status == .succeeded)
    let before = try #require(f.storeBytes())
    let second = await f.run()
    #expect(second.report.status == .unchanged)
    #expect(second.exitCode == 0)
    #expect(second.report.message.contains("already processed"))
    #expect(f.storeBytes() == before)
}

@Test func aNewSnapshotIsDiffedAgainstTheLast() async throws {
    let f = try Fixture()
    _ = try f.write(smallCatalog(), as: "acme-1")
    #expect(await f.run().report.status == .succeeded)
    var next = smallCatalog(snapshot: "2026-11-29T02:00:00Z",
                            extra: [Product(id: "N1", title: "Casual Denim Jacket", category: "Women > Coats > Jackets")],
                            drop: ["S5"])
    next.products[0].price = 49.5  // T0 changed
    let path = try f.write(next, as: "acme-2")
    let outcome = await f.run(.init(catalog: path))
    #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
    #expect(outcome.report.diff?.examples["new"] == ["N1"])
    #expect(outcome.report.diff?.examples["changed"] == ["T0"])
    #expect(outcome.report.diff?.examples["removed"] == ["S5"])
    #expect(outcome.report.diff?.unchanged == 16)
    let reader = try StoreReader(path: f.storePath)
    #expect(try reader.product(id: "S5") == nil)
    #expect(try reader.product(id: "N1")?.slot == .outerwear)
}

@Test func anUnreadableCatalogFailsAndLeavesTheStoreByteForByte() async throws {
    let f = try Fixture()
    _ = try f.write(smallCatalog(), as: "acme-1.tar.zst")
    #expect(await f.run().report.status == .succeeded)
    let before = try #require(f.storeBytes())
    let manifestBefore = FileManager.default.contents(atPath: (f.job.out as NSString).appendingPathComponent("lookbook.manifest.json"))
    // A truncated archive of a newer snapshot.
    let good = try f.write(smallCatalog(snapshot: "2026-11-30T02:00:00Z"), as: "tmp.tar.zst")
    let bytes = try #require(FileManager.default.contents(atPath: good))
    let bad = f.root.appendingPathComponent("bad.tar.zst").path
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: bad))
    let outcome = await f.run(.init(catalog: bad))
    #expect(outcome.report.status == .failed)
    #expect(outcome.exitCode == 1)
    #expect(!outcome.report.message.isEmpty)
    #expect(f.storeBytes() == before)
    #expect(FileManager.default.contents(atPath: (f.job.out as NSString).appendingPathComponent("lookbook.manifest.json")) == manifestBefore)
    let metrics = try String(contentsOfFile: (f.job.out as NSString).appendingPathComponent("lookbook.prom"), encoding: .utf8)
    #expect(metrics.contains("lookbook_run_success{job=\"nightly\"} 0"))
}

@Test func aSecondConcurrentRunExitsAtOnce() async throws {
    let f = try Fixture()
    _ = try f.write(smallCatalog(), as: "acme-1")
    let held = try RunLock(directory: f.job.state, now: "test")
    let outcome = await f.run()
    #expect(outcome.report.status == .failed)
    #expect(outcome.report.message.contains("another lookbook run"))
    withExtendedLifetime(held) {}
    #expect(!FileManager.default.fileExists(atPath: f.storePath))
}

@Test func badRowsAreQuarantinedAndTheRunGoesOn() async throws {
    var f = try Fixture()
    f.job.limits.maxBadRowFraction = 0.1
    let dir = try f.write(smallCatalog(), as: "acme-1")
    // One bad row of 19: under the 10 % limit.
    let products = (dir as NSString).appendingPathComponent("products.jsonl")
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: products))
    handle.seekToEndOfFile()
    handle.write(Data("{\"id\": \"X1\", \"title\": \"no category\"}\n".utf8))
    try handle.close()
    let outcome = await f.run()
    #expect(outcome.report.status == .succeeded, "\(outcome.report.message)")
    #expect(outcome.report.quarantined == 1)
    let q = try #require(outcome.report.quarantineReport)
    let text = try String(contentsOfFile: q, encoding: .utf8)
    #expect(text.contains("products.jsonl"))
    #expect(text.contains("X1"))
}

@Test func theNewestSnapshotInTheInboxWinsAndOlderOnesAreNeverProcessed() async throws {
    let f = try Fixture()
    _ = try f.write(smallCatalog(snapshot: "2026-11-27T02:00:00Z"), as: "b-older.tar")
    _ = try f.write(smallCatalog(snapshot: "2026-11-28T02:00:00Z"), as: "a-newer.tar")
    let first = await f.run()
    #expect(first.report.snapshot == "2026-11-28T02:00:00Z")
    let second = await f.run()
    #expect(second.report.status == .unchanged)
    let explicitOld = await f.run(.init(catalog: f.root.appendingPathComponent("inbox/b-older.tar").path))
    #expect(explicitOld.report.status == .unchanged)
    #expect(explicitOld.report.message.contains("older than the last processed"))
}

@Test func tooManyBadRowsFailTheRunAndKeepTheStore() async throws {
    let f = try Fixture()
    let dir = try f.write(smallCatalog(), as: "acme-1")
    let products = (dir as NSString).appendingPathComponent("products.jsonl")
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: products))
    handle.seekToEndOfFile()
    for i in 0..<5 { handle.write(Data("{\"id\": \"X\(i)\", \"title\": \"no category\"}\n".utf8)) }
    try handle.close()
    let outcome = await f.run()
    #expect(outcome.report.status == .failed)
    #expect(outcome.report.message.contains("max_bad_row_fraction"))
    #expect(!FileManager.default.fileExists(atPath: f.storePath))
    // The rows that were wrong are in the quarantine report the message points to.
    let report = try #require(outcome.report.quarantineReport)
    #expect(outcome.report.message.contains(report))
    let lines = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 5)
    #expect(lines.allSatisfy { $0.contains("no category") })
}

@Test func jobFileRejectsUnknownKeys() async throws {
    #expect(throws: LookbookError.self) { try JobConfig.parse("[job]\nnmae = \"x\"\n") }
    let c = try JobConfig.parse("""
        [job]
        inbox = "in"
        [slots]
        overrides = { "Watches" = "jewellery" }
        [slots.compatible]
        top = ["bottom"]
        [recommend]
        complementary_k = 5
        """)
    #expect(c.inbox == "in")
    #expect(c.slotOverrides == [.init(pattern: "Watches", slot: .jewellery)])
    #expect(c.compatibility.targets(for: .top) == [.bottom])
    #expect(c.recommend.complementaryK == 5)
    #expect(c.applying(.init(state: "/s")).state == "/s")
}

@Test func metricsRenderInPrometheusTextFormat() {
    var m = MetricsFile()
    m.add(.init("a_total", "Things", labels: [("job", "n\"x")], 3))
    m.add(.init("a_total", "Things", labels: [("job", "y")], 1.5))
    #expect(m.render() == "# HELP a_total Things\n# TYPE a_total gauge\na_total{job=\"n\\\"x\"} 3\na_total{job=\"y\"} 1.5\n")
}

@Test func captionerSettingsComeFromTheJobFile() throws {
    let c = try JobConfig.parse("""
        [captioner]
        kind = "remote"
        base_url = "http://127.0.0.1:9"
        model = "qwen2-vl"
        api_key_env = "LOOKBOOK_TEST_KEY_THAT_IS_NOT_SET"
        timeout_seconds = 5
        """)
    #expect(c.captioner.kind == .remote)
    #expect(c.captioner.model == "qwen2-vl")
    #expect(c.captioner.timeoutSeconds == 5)
    // The named variable is not set: a clear error naming it, not a crash.
    #expect(throws: LookbookError.self) { try CaptionerFactory.make(c.captioner) }
    #expect(throws: LookbookError.self) { try JobConfig.parse("[captioner]\nkind = \"remote\"\n") }
    #expect(throws: LookbookError.self) { try JobConfig.parse("[captioner]\nkind = \"psychic\"\n") }
}

@Test func aRemoteCaptionerThatCannotStartFailsTheRunAndKeepsTheStore() async throws {
    var f = try Fixture()
    _ = try f.write(smallCatalog(), as: "acme-1")
    f.job.captioner.kind = .remote
    f.job.captioner.baseURL = "http://127.0.0.1:9"
    f.job.captioner.model = "m"
    f.job.captioner.apiKeyEnv = "LOOKBOOK_TEST_KEY_THAT_IS_NOT_SET"
    let outcome = await f.run()
    #expect(outcome.report.status == .failed)
    #expect(outcome.report.message.contains("LOOKBOOK_TEST_KEY_THAT_IS_NOT_SET"))
    #expect(!FileManager.default.fileExists(atPath: f.storePath))
}
