import ArgumentParser
import Captioning
import CatalogGenerator
import Dispatch
import Foundation
import Imaging
import LookbookCore

/// Images captioned per second by the embedded captioner, all stages included
/// (decode with DCT scaling, background, colour, pattern, text, caption), on 2 cores.
/// The reference in the same run is TurboJPEG decoding the same files at full size.
struct CaptionSpeedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption-speed",
        abstract: "Embedded captioner images/s: 224×224 JPEGs (target ≥ 200/s) and 12-megapixel JPEGs (≥ 20/s), 2 workers.")

    @Option(help: "Myntra photos to use for the 224×224 figure (generated ones when absent).") var data = "../shared/data/myntra"
    @Option(help: "224×224 images per run.") var small = 1000
    @Option(help: "12-megapixel images per run.") var large = 40
    @Option(help: "Worker threads.") var workers = 2
    @Option(help: "Runs; medians are printed.") var runs = 3

    func run() throws {
        let smallImages = try smallJPEGs()
        let largeImages = try largeJPEGs(count: 8)
        print("inputs: \(smallImages.count) 224×224 JPEGs (\(smallImages.first.map { $0.count >> 10 } ?? 0) KiB each), 8 distinct 4000×3000 JPEGs (\(largeImages[0].count >> 20) MiB each)")
        var smallRates: [Double] = [], smallRef: [Double] = [], largeRates: [Double] = [], largeRef: [Double] = []
        for run in 0..<runs {
            let s = rate(Array(smallImages.prefix(small)))
            let sr = decodeRate(Array(smallImages.prefix(small)))
            let l = rate((0..<large).map { largeImages[$0 % largeImages.count] })
            let lr = decodeRate((0..<large).map { largeImages[$0 % largeImages.count] })
            smallRates.append(s); smallRef.append(sr); largeRates.append(l); largeRef.append(lr)
            print("run \(run + 1): 224px \(fmt(s, 0)) captions/s (full decode alone \(fmt(sr, 0))/s); 12 MP \(fmt(l, 1)) captions/s (full decode alone \(fmt(lr, 1))/s)")
        }
        line("224×224 JPEG captions/s, median of \(runs)", "\(fmt(median(smallRates), 0)) (target ≥ 200)")
        line("reference: full-size decode only", "\(fmt(median(smallRef), 0)) images/s")
        line("12 MP JPEG captions/s, median of \(runs)", "\(fmt(median(largeRates), 1)) (target ≥ 20)")
        line("reference: full-size decode only", "\(fmt(median(largeRef), 1)) images/s")
        line("12 MP captions / full decode", fmt(median(largeRates) / median(largeRef), 2))
    }

    /// Captions/s of the embedded captioner over `images`, pixel path and text.
    func rate(_ images: [[UInt8]]) -> Double {
        let captioner = EmbeddedCaptioner()
        // A worn top, so every slot-dependent stage (skin mask, position weights) runs.
        let product = Product(id: "x", title: "Men Navy Striped Cotton Casual Shirt", category: "Apparel > Topwear > Shirts", slot: .top)
        let failures = Counter()
        let t = seconds {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < images.count {
                    if (try? captioner.captionNow(CaptionRequest(product: product, image: images[i]))) == nil { failures.add() }
                    i += workers
                }
            }
        }
        precondition(failures.value == 0, "\(failures.value) images failed to caption")
        return Double(images.count) / t
    }

    /// Full-size TurboJPEG decodes/s of the same files, same workers.
    func decodeRate(_ images: [[UInt8]]) -> Double {
        let t = seconds {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let decoder = try? JPEGDecoder()
                var i = w
                while i < images.count { _ = try? decoder?.decode(images[i]); i += workers }
            }
        }
        return Double(images.count) / t
    }

    func smallJPEGs() throws -> [[UInt8]] {
        let dir = (data as NSString).appendingPathComponent("images")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: dir), !names.isEmpty {
            return names.filter { $0.hasSuffix(".jpg") }.sorted().prefix(small).compactMap {
                FileManager.default.contents(atPath: (dir as NSString).appendingPathComponent($0)).map { [UInt8]($0) }
            }
        }
        print("(\(dir) not found: using generated 224×224 photos)")
        let config = SampleCatalogGenerator.Config(seed: 5, productCount: small, imageCount: small, imageSize: 224, pngShare: 0,
                                                   outfitCount: 0, includeFeedback: false)
        return try SampleCatalogGenerator(config: config).generate().images.values.sorted { $0.count < $1.count }
    }

    /// 4000×3000 photos: generated garments scaled up, with sensor-like noise so the
    /// JPEGs are as large as a camera's (several MiB).
    func largeJPEGs(count: Int) throws -> [[UInt8]] {
        let config = SampleCatalogGenerator.Config(seed: 6, productCount: count, imageCount: count, imageSize: 400, pngShare: 0,
                                                   outfitCount: 0, includeFeedback: false)
        let bases = try SampleCatalogGenerator(config: config).generate()
        let decoder = try JPEGDecoder()
        let encoder = try JPEGEncoder()
        var rng = SplitMix64(seed: 1)
        return try bases.catalog.products.compactMap { p -> [UInt8]? in
            guard let path = p.images.first, let bytes = bases.images[path] else { return nil }
            let base = try decoder.decode(bytes)
            let w = 4000, h = 3000
            var pixels = [UInt8](repeating: 255, count: w * h * 4)
            for y in 0..<h {
                let sy = min(base.height - 1, y * base.height / h)
                for x in 0..<w {
                    let sx = min(base.width - 1, x * base.width / w)
                    let s = (sy * base.width + sx) * 4, d = (y * w + x) * 4
                    let noise = Int(rng.next() % 9) - 4
                    for c in 0..<3 { pixels[d + c] = UInt8(clamping: Int(base.pixels[s + c]) + noise) }
                }
            }
            return try encoder.encode(RGBAImage(width: w, height: h, pixels: pixels), quality: 90)
        }
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value = 0
    func add() { lock.withLock { value += 1 } }
}
