import ArgumentParser
import CatalogGenerator
import Foundation
import LookbookCore
import LookupStore
import SQLiteSupport
import StyleModel

/// `lookbook-bench`: programs that print speed and memory figures (never timed tests).
/// Every figure is the median of `--runs` runs, printed next to a reference measured in
/// the same run on the same data, because these machines are noisy.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookbook-bench",
        abstract: "Speed and memory figures for Lookbook's stages.",
        subcommands: [IngestBench.self, IngestChild.self, PublishBench.self, LookupBench.self, CaptionSpeedBench.self, CaptionQualityBench.self, TokenizerBench.self, StyleLMStepBench.self, DPOStepBench.self, StyleLMScoreBench.self, PrecomputeBench.self, StyleLMPrecomputeBench.self])

    /// The allocator set up as `lookbook` sets it, so the figures are the program's.
    static func main() {
        Allocator.tuneForModelWork()
        main(nil)
    }
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

/// The precompute benches' catalog: `products` generated products with `outfits` curated
/// outfits (default 2 per 5 products), and the next day with `changed` of them changed.
func benchCatalogDays(products: Int, outfits: Int?, changed: Double) throws -> (day1: Catalog, day2: Catalog) {
    let config = SampleCatalogGenerator.Config(seed: 42, productCount: products, imageCount: 0, outfitCount: outfits ?? products * 2 / 5)
    let gen = SampleCatalogGenerator(config: config)
    let day1 = try gen.generate(renderImages: false)
    return (day1.catalog, try gen.evolve(day1, changeFraction: changed, seed: 9).catalog)
}
