import Captioning
import CatalogGenerator
import Imaging
import LookbookCore
import Testing

/// Photos from the project's generator, whose truth knows each garment's colour family
/// and pattern: JPEGs and transparent PNGs on studio backdrops, with shading and noise.
let generated: GeneratedCatalog = {
    let config = SampleCatalogGenerator.Config(seed: 41, productCount: 240, imageCount: 240, imageSize: 224,
                                               jpegQuality: 85, pngShare: 0.2, outfitCount: 0, includeFeedback: false)
    return try! SampleCatalogGenerator(config: config, workers: 2).generate()
}()

struct Scored: Sendable {
    var truth: ProductTruth
    var visual: VisualAttributes
}

let scoredGenerated: [Scored] = generated.truth.keys.sorted().compactMap { id in
    guard let t = generated.truth[id], let image = t.image, let bytes = generated.images[image.path] else { return nil }
    return Scored(truth: t, visual: try! VisualAnalyzer.analyze(bytes: bytes))
}

@Test func generatedPhotosAreAnalysed() {
    #expect(scoredGenerated.count >= 200)
}

@Test func generatedColourFamiliesAreRecovered() {
    let ok = scoredGenerated.filter { $0.visual.colorFamily.rawValue == $0.truth.colorFamily.rawValue }.count
    let accuracy = Double(ok) / Double(scoredGenerated.count)
    let wrong = scoredGenerated.filter { $0.visual.colorFamily.rawValue != $0.truth.colorFamily.rawValue }
        .prefix(8).map { "\($0.truth.color.name)/\($0.truth.pattern) → \($0.visual.color)" }
    #expect(accuracy >= 0.9, "colour family accuracy \(accuracy); e.g. \(wrong)")
}

@Test func generatedPatternsAreRecovered() {
    var confusion: [String: Int] = [:]
    for s in scoredGenerated { confusion["\(s.truth.pattern.rawValue)→\(s.visual.pattern)", default: 0] += 1 }
    let ok = scoredGenerated.filter { $0.visual.pattern == $0.truth.pattern.rawValue }.count
    let accuracy = Double(ok) / Double(scoredGenerated.count)
    #expect(accuracy >= 0.8, "pattern accuracy \(accuracy): \(confusion.sorted { $0.key < $1.key })")
}

@Test(arguments: ["solid", "striped", "checked", "dotted", "floral"])
func eachGeneratedPatternIsMostlyRecognised(_ pattern: String) {
    let these = scoredGenerated.filter { $0.truth.pattern.rawValue == pattern }
    guard !these.isEmpty else { return }
    let ok = these.filter { $0.visual.pattern == pattern }.count
    #expect(Double(ok) / Double(these.count) >= 0.6, "\(ok)/\(these.count): \(these.map(\.visual.pattern))")
}

@Test func transparentGeneratedPhotosUseAlpha() {
    let transparent = scoredGenerated.filter { $0.truth.image?.transparentBackground == true }
    #expect(!transparent.isEmpty)
    #expect(transparent.allSatisfy { $0.visual.backgroundMethod == .alpha })
}

@Test func secondaryColourDiffersFromTheMainOne() {
    #expect(scoredGenerated.allSatisfy { $0.visual.secondaryColor != $0.visual.color })
}

@Test func emptyBytesAreRefusedNotCrashed() {
    #expect(throws: (any Error).self) { try VisualAnalyzer.analyze(bytes: []) }
}

@Test func aLargePhotoIsAnalysedAtAnalysisSize() throws {
    // A 1600×1200 JPEG of a navy square on white: decoded DCT-scaled, analysed at ≤ 112 px.
    var img = RGBAImage(width: 1600, height: 1200, fill: RGBA(255, 255, 255))
    for y in 300..<900 { for x in 500..<1100 { img[x, y] = RGBA(30, 40, 90) } }
    let jpeg = try JPEGEncoder().encode(img, quality: 90)
    let v = try VisualAnalyzer.analyze(bytes: jpeg)
    #expect(v.colorFamily == .blue)
    #expect(v.pattern == "solid")
    #expect(abs(v.foregroundFraction - 0.1875) < 0.03)
}
