import Foundation
import LookupStore
import Testing
import TestSupport

/// Killing a run with SIGKILL at random points leaves the old or the new store, never a
/// partial one, and the next run recovers.
@Test func killedRunsLeaveACompleteStoreAndTheNextRunRecovers() throws {
    let w = try Workspace()
    try w.addCatalog("a.tar.gz", products: 800, outfits: 200, seed: 1, snapshot: "2026-11-27T02:00:00Z")
    #expect(try CLI.run(["run", w.job]).exitCode == 0)
    let firstSHA = try StoreReader(path: w.store).meta().snapshot
    #expect(firstSHA == "2026-11-27T02:00:00Z")

    try w.addCatalog("b.tar.gz", products: 800, outfits: 200, seed: 2, snapshot: "2026-11-28T02:00:00Z")
    // Time a clean run of the new snapshot in a copy, to spread kill points over it.
    var rng = SystemRandomNumberGenerator()
    let start = Date()
    let (probe, _, _) = try CLI.start(["run", w.job, "--state", w.path("probe-state"), "--out", w.path("probe-out")])
    probe.waitUntilExit()
    let duration = max(0.05, Date().timeIntervalSince(start))

    var snapshotsSeen = Set<String>()
    for _ in 0..<6 {
        let (p, _, _) = try CLI.start(["run", w.job])
        usleep(UInt32(Double.random(in: 0...duration, using: &rng) * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // Whatever the kill hit, the published store is complete and readable.
        let reader = try StoreReader(path: w.store)
        let meta = try reader.meta()
        snapshotsSeen.insert(meta.snapshot)
        #expect(["2026-11-27T02:00:00Z", "2026-11-28T02:00:00Z"].contains(meta.snapshot))
        #expect(try reader.productIDs().count == meta.counts.products)
        if meta.snapshot == "2026-11-28T02:00:00Z" { break }
    }
    // The next run recovers and ends on the new snapshot.
    let r = try CLI.run(["run", w.job])
    #expect(r.exitCode == 0, "\(r.stderr)")
    #expect(try StoreReader(path: w.store).meta().snapshot == "2026-11-28T02:00:00Z")
    let stores = try FileManager.default.contentsOfDirectory(atPath: w.path("out/stores"))
    #expect(!stores.contains { $0.hasPrefix(".lookbook-tmp") })
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: w.path("out")).filter { $0.hasPrefix(".lookbook-tmp") }
    #expect(leftovers.isEmpty)
}
