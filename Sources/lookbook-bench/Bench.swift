import ArgumentParser
import Foundation
import LookbookCore
import LookupStore
import SQLiteSupport

/// `lookbook-bench`: programs that print speed and memory figures (never timed tests).
/// Every figure is the median of `--runs` runs, printed next to a reference measured in
/// the same run on the same data, because these machines are noisy.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookbook-bench",
        abstract: "Speed and memory figures for Lookbook's stages.",
        subcommands: [IngestBench.self, IngestChild.self, PublishBench.self, LookupBench.self, CaptionQualityBench.self])
}

// MARK: - Shared measurement helpers

/// Median of a non-empty list.
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The `p`-th percentile (0…100) of sorted values, nearest rank.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// Wall seconds of `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Peak resident set size of this process, MiB.
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func temporaryDirectory(_ name: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookbook-bench-\(name)-\(getpid())").path
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func line(_ label: String, _ value: String) {
    print(label.padding(toLength: 44, withPad: " ", startingAt: 0) + value)
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

// MARK: - Synthetic store content

/// A store the size the issue names: `products` products, `slots` target slots each with
/// `k` items, plus outfits. Ids and reasons look like real ones.
func syntheticContent(products: Int, slots: Int, k: Int, outfits: Int, seed: UInt64) -> StoreContent {
    var rng = SplitMix64(seed: seed)
    let allSlots: [Slot] = [.top, .bottom, .shoes, .outerwear, .bag, .accessory, .jewellery, .hat, .eyewear, .dress]
    let ids = (0..<products).map { String(format: "P%07d", $0) }
    let reasons = ["\"denim\" goes with \"sneakers\" in curated outfits", "\"silk\" goes with \"pumps\" in curated outfits",
                   "\"linen\" goes with \"sandals\" in curated outfits", "fits a top with shoes"]
    var storeProducts: [StoreProduct] = []
    storeProducts.reserveCapacity(products)
    for (i, id) in ids.enumerated() {
        storeProducts.append(StoreProduct(id: id, title: "Product \(i) Casual Cotton Shirt", category: "Women > Tops > Shirts",
                                          slot: allSlots[i % allSlots.count], brand: "Acme", gender: "women",
                                          price: Double(rng.next() % 20000) / 100, currency: "USD",
                                          image: "images/\(id).jpg"))
    }
    var complementary: [Recommendation] = []
    complementary.reserveCapacity(products * slots)
    for id in ids {
        for s in 0..<slots {
            var items: [ScoredProduct] = []
            items.reserveCapacity(k)
            var score = 3.0
            for _ in 0..<k {
                score -= Double(rng.next() % 1000) / 10000
                items.append(ScoredProduct(productID: ids[Int(rng.next() % UInt64(products))], score: score,
                                           reason: reasons[Int(rng.next() % UInt64(reasons.count))]))
            }
            complementary.append(Recommendation(anchorID: id, targetSlot: allSlots[s], items: items))
        }
    }
    var looks: [Outfit] = []
    var fitb: [BlankCandidates] = []
    for o in 0..<outfits {
        let items = (0..<4).map { _ in ids[Int(rng.next() % UInt64(products))] }
        looks.append(Outfit(id: "O\(o)", items: items, likes: Int(rng.next() % 500)))
        for p in 0..<items.count {
            fitb.append(BlankCandidates(outfitID: "O\(o)", position: p, items: (0..<10).map { r in
                ScoredProduct(productID: ids[Int(rng.next() % UInt64(products))], score: 2 - Double(r) / 10, reason: reasons[r % 4])
            }))
        }
    }
    return StoreContent(snapshot: "2026-11-28T02:00:00Z", retailer: "bench", modelVersion: "bench", captionerVersion: "none",
                        runID: "bench", buildTime: "2026-11-28T03:00:00Z", products: storeProducts, outfits: looks,
                        complementary: complementary, fitb: fitb)
}

/// A small seeded generator for benchmark data (deterministic across runs).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
