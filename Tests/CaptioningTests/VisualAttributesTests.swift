@testable import Captioning
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

// MARK: - Which cluster is the product

/// A model shot on a white sweep: a skin-coloured head and arms, a blue shirt on the
/// torso and dark brown trousers below, like Myntra's apparel photos.
func modelShot() -> RGBAImage {
    let skin = RGBA(222, 172, 140), shirt = RGBA(40, 80, 170), trousers = RGBA(90, 60, 40)
    var img = RGBAImage(width: 112, height: 112, fill: RGBA(255, 255, 255))
    for y in 4..<112 {
        for x in 0..<112 {
            let dx = Double(x - 56), dy = Double(y - 16)
            if dx * dx / 100 + dy * dy / 144 <= 1 { img[x, y] = skin }              // head
            else if (26..<60).contains(y) && (34..<78).contains(x) { img[x, y] = shirt }  // torso
            else if (26..<62).contains(y) && ((26..<34).contains(x) || (78..<86).contains(x)) { img[x, y] = skin }  // arms
            else if (60..<108).contains(y) && ((36..<54).contains(x) || (58..<76).contains(x)) { img[x, y] = trousers }
        }
    }
    return img
}

@Test func aModelShotOfATopIsNamedByTheShirtNotTheSkin() {
    let v = VisualAnalyzer.analyze(modelShot(), slot: .top)
    #expect(v.colorFamily == .blue, "\(v.color); clusters \(v.clusters.map(\.center))")
}

/// A cluster of `colour` with `share`, its pixels all in grid row `row`.
func cluster(_ colour: String, _ share: Double, row: Int = 2) -> ColorCluster {
    let side = ColorCluster.layoutSide
    var layout = [Double](repeating: 0, count: side * side)
    for x in 0..<side { layout[row * side + x] = share / Double(side) }
    return ColorCluster(center: ColorDictionary.named(colour)!.lab, share: share, layout: layout)
}

@Test func clustersOfOneFamilyAreAddedBeforeChoosing() {
    // Navy in shade and blue in light, each smaller than the red trim, together larger.
    let (main, _) = VisualAnalyzer.pickColors([cluster("red", 0.36), cluster("navy", 0.34), cluster("blue", 0.30)])
    #expect(ColorDictionary.name(forPhotographed: main.center).family == .blue)
    #expect(main.center == ColorDictionary.named("navy")!.lab, "the family's best cluster names it")
}

@Test func theBottomRowCountsLessForATop() {
    let legs = cluster("navy", 0.5, row: 5), torso = cluster("red", 0.4, row: 2)
    #expect(VisualAnalyzer.pickColors([legs, torso], slot: .top).0 == torso)
    #expect(VisualAnalyzer.pickColors([legs, torso], slot: nil).0 == legs)
    #expect(abs(VisualAnalyzer.placedShare(legs, rowWeights: VisualAnalyzer.rowWeights(for: .top)) - 0.5 * 0.3) < 1e-12)
}

@Test func skinPixelsLeaveTheClusteringOfAWornGarment() {
    let raster = LabRaster(modelShot(), maxSide: 112)
    let fg = BackgroundSeparation.separate(raster)
    let worn = VisualAnalyzer.garmentMask(raster, fg.mask, slot: .top)
    var skinKept = 0, skinTotal = 0, shirtKept = 0, shirtTotal = 0
    for i in 0..<raster.count where fg.mask[i] == 1 {
        if VisualAnalyzer.looksLikeSkin(raster.lab(i)) { skinTotal += 1; skinKept += Int(worn[i]) }
        else { shirtTotal += 1; shirtKept += Int(worn[i]) }
    }
    #expect(skinTotal > 500 && skinKept == 0, "skin \(skinKept)/\(skinTotal)")
    #expect(shirtKept == shirtTotal)
    // Not a worn garment: nothing is removed.
    #expect(VisualAnalyzer.garmentMask(raster, fg.mask, slot: .bag) == fg.mask)
    #expect(VisualAnalyzer.garmentMask(raster, fg.mask, slot: nil) == fg.mask)
}

@Test func aSkinTonedGarmentKeepsItsPixels() {
    // A nude top on a white sweep: most of the foreground looks like skin, so the mask
    // stays whole and the top is named by its own colour.
    var img = RGBAImage(width: 112, height: 112, fill: RGBA(255, 255, 255))
    for y in 20..<92 { for x in 28..<84 { img[x, y] = RGBA(226, 184, 156) } }
    let raster = LabRaster(img, maxSide: 112)
    let fg = BackgroundSeparation.separate(raster)
    #expect(VisualAnalyzer.garmentMask(raster, fg.mask, slot: .top) == fg.mask)
    #expect(VisualAnalyzer.analyze(img, slot: .top).colorFamily == .brown)
}

@Test func thePixelSkinTestAgreesWithTheLabOne() {
    // A grid over the Lab box around skin tones, both sides of every limit.
    var disagreements: [String] = []
    for l in stride(from: 36.0, through: 92.0, by: 2) {
        for a in stride(from: -10.0, through: 50.0, by: 1.5) {
            for b in stride(from: -10.0, through: 50.0, by: 1.5) {
                let lab = Lab(l, a, b)
                if VisualAnalyzer.looksLikeSkin(lab) != VisualAnalyzer.looksLikeSkin(l: Float(l), a: Float(a), b: Float(b)) {
                    disagreements.append("\(lab)")
                }
            }
        }
    }
    // Float rounding may flip a point lying exactly on a limit, nothing more.
    #expect(disagreements.count <= 3, "\(disagreements.prefix(5))")
}

// MARK: - The learned colour family on plain garments

struct SolidShirt: Sendable, CustomTestStringConvertible {
    var rgb: RGBA
    var family: LookbookCore.ColorFamily
    var testDescription: String { "#\(String(format: "%02X%02X%02X", rgb.r, rgb.g, rgb.b)) shirt is \(family)" }
}

/// A T-shirt silhouette (body and sleeves) of one sRGB colour on a white sweep, 224 px,
/// through JPEG like a catalogue photo.
func solidShirtJPEG(_ c: RGBA) throws -> [UInt8] {
    var img = RGBAImage(width: 224, height: 224, fill: RGBA(255, 255, 255))
    for y in 30..<200 {
        for x in 0..<224 {
            let body = (62..<162).contains(x)
            let sleeves = y < 90 && (24..<200).contains(x) && abs(x - 112) - (y - 30) < 80
            if body || sleeves { img[x, y] = c }
        }
    }
    return try JPEGEncoder().encode(img, quality: 90)
}

@Test(arguments: [
    SolidShirt(rgb: RGBA(0x80, 0x80, 0x80), family: .grey),
    SolidShirt(rgb: RGBA(30, 38, 74), family: .blue),
    SolidShirt(rgb: RGBA(200, 30, 40), family: .red),
    SolidShirt(rgb: RGBA(28, 28, 30), family: .black),
    SolidShirt(rgb: RGBA(40, 140, 70), family: .green),
    SolidShirt(rgb: RGBA(246, 210, 40), family: .yellow),
    SolidShirt(rgb: RGBA(110, 50, 140), family: .purple),
    SolidShirt(rgb: RGBA(110, 70, 40), family: .brown),
])
func aSolidShirtGetsItsFamily(_ shirt: SolidShirt) throws {
    let jpeg = try solidShirtJPEG(shirt.rgb)
    for slot: Slot? in [.top, nil] {
        let v = try VisualAnalyzer.analyze(bytes: jpeg, slot: slot)
        #expect(v.colorFamily == shirt.family, "slot \(slot.map(\.rawValue) ?? "none"): \(v.color), rule \(v.ruleColorFamily.map(\.rawValue) ?? "-"), p \(ColorFamilyModel.shipped.probabilities(v.familyFeatures).map { Int($0 * 100) })")
        #expect(ColorDictionary.named(v.color)?.family == v.colorFamily, "the colour word belongs to the family")
    }
}

@Test func theColourWordAlwaysBelongsToTheFamily() {
    let mismatched = scoredGenerated.filter { ColorDictionary.named($0.visual.color)?.family != $0.visual.colorFamily }
    #expect(mismatched.isEmpty, "\(mismatched.prefix(5).map { "\($0.visual.color) / \($0.visual.colorFamily)" })")
}

@Test func aFamilyWithoutItsOwnClusterIsNamedByTheNearestEntryOfThatFamily() {
    // Only a charcoal cluster, but the family asked for is blue: the nearest blue entry
    // names it, and the cluster is the one shown.
    let scored = VisualAnalyzer.scoreClusters([cluster("charcoal", 1)])
    let (main, name) = VisualAnalyzer.mainColor(of: .blue, scored: scored)
    #expect(name.family == .blue)
    let pool = ColorDictionary.all.filter { $0.family == .blue }
    #expect(name == ColorDictionary.nearest(main.center, among: pool).color)
    // With a cluster of the family present, that cluster and its own name.
    let (main2, name2) = VisualAnalyzer.mainColor(of: .red, scored: VisualAnalyzer.scoreClusters([cluster("navy", 0.7), cluster("maroon", 0.3)]))
    #expect(name2.name == "maroon" && main2.center == ColorDictionary.named("maroon")!.lab)
}
