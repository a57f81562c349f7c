import Imaging
import Testing

/// A 224² studio photo of a 160×160 product painted by `paint(x, y)` (product
/// coordinates), with a little deterministic noise: twice the analysis raster's side, so
/// one-pixel stripes average away in the raster and survive only in the photo.
private func finePhoto(_ paint: (Int, Int) -> RGBA) -> RGBAImage {
    var img = RGBAImage(width: 224, height: 224, fill: RGBA(255, 255, 255))
    var seed: UInt32 = 99
    for y in 32..<192 {
        for x in 32..<192 {
            seed = seed &* 1_664_525 &+ 1_013_904_223
            let noise = Int(seed >> 30) - 2
            let c = paint(x - 32, y - 32)
            func ch(_ v: UInt8) -> UInt8 { UInt8(clamping: Int(v) + noise) }
            img[x, y] = RGBA(ch(c.r), ch(c.g), ch(c.b))
        }
    }
    return img
}

private let ink = RGBA(30, 40, 90), sky = RGBA(140, 170, 220), white = RGBA(250, 250, 250)

private func features(_ img: RGBAImage, withPhoto: Bool = true) -> PatternFeatures {
    let r = LabRaster(img, maxSide: 112)
    let fg = BackgroundSeparation.separate(r)
    return PatternClassifier.features(r, mask: fg.mask, clusters: DominantColors.clusters(r, mask: fg.mask),
                                      image: withPhoto ? img : nil)
}

private func pattern(_ img: RGBAImage) -> PatternKind { PatternClassifier.classify(features(img)) }

@Test func fineHorizontalStripesLiveInTheRowMeans() {
    let f = features(finePhoto { _, y in y % 4 < 2 ? ink : sky })
    #expect(f.rowShare > 0.8)
    #expect(f.columnShare < 0.05)
    #expect(f.rowSpike < 0.1)
    #expect(f.coreContrast > PatternClassifier.stripedContrast)
}

@Test func fineStripesAreFoundInThePhotoThoughTheRasterAveragesThemAway() {
    let img = finePhoto { x, _ in x % 2 == 0 ? ink : sky }
    #expect(PatternClassifier.classify(features(img, withPhoto: false)) == .solid)
    #expect(pattern(img) == .striped)
}

/// Woven checks (gingham): a band of colour across and a band down, darker where they
/// cross, so both row and column means vary.
@Test func fineGinghamLivesInBothRowAndColumnMeans() {
    let gingham = finePhoto { x, y in
        switch (x % 6 < 3, y % 6 < 3) {
        case (true, true): ink
        case (false, false): white
        default: sky
        }
    }
    let f = features(gingham)
    #expect(f.rowShare > PatternClassifier.checkedLineShare)
    #expect(f.columnShare > PatternClassifier.checkedLineShare)
    #expect(f.coreContrast > PatternClassifier.checkedContrast)
    #expect(pattern(gingham) == .checked)
}

@Test func aSolidProductHasNoLineStructure() {
    let f = features(finePhoto { _, _ in ink })
    #expect(f.coreContrast < 2)
    #expect(pattern(finePhoto { _, _ in ink }) == .solid)
}

@Test func oneSeamIsNotAStripe() {
    // A single dark placket line down the middle of a light shirt.
    let img = finePhoto { x, _ in (78..<82).contains(x) ? ink : sky }
    let f = features(img)
    #expect(f.columnSpike > PatternClassifier.stripedMaxSpike)
    #expect(pattern(img) != .striped)
}
