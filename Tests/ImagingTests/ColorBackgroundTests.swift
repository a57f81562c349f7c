import Imaging
import Testing

/// A `size`² image on `background` with a centred filled rectangle of `product`.
func productShot(size: Int = 96, background: RGBA, product: RGBA, inset: Int = 24) -> RGBAImage {
    var img = RGBAImage(width: size, height: size, fill: background)
    for y in inset..<(size - inset) { for x in inset..<(size - inset) { img[x, y] = product } }
    return img
}

struct BackdropCase: Sendable, CustomTestStringConvertible {
    var background: RGBA
    var product: RGBA
    var testDescription: String { "product \(product) on \(background)" }
}

@Test(arguments: [
    BackdropCase(background: RGBA(255, 255, 255), product: RGBA(30, 40, 90)),
    BackdropCase(background: RGBA(255, 255, 255), product: RGBA(236, 226, 196)),  // cream on white
    BackdropCase(background: RGBA(200, 200, 205), product: RGBA(200, 30, 40)),
    BackdropCase(background: RGBA(40, 120, 60), product: RGBA(250, 250, 250)),
])
func plainBackdropIsSeparated(_ c: BackdropCase) {
    let r = LabRaster(productShot(background: c.background, product: c.product))
    let fg = BackgroundSeparation.separate(r)
    #expect(fg.method == .plainBackground)
    // The 48×48 product square of a 96² image is a quarter of it.
    #expect(abs(fg.foregroundFraction - 0.25) < 0.01)
}

@Test func transparentPixelsAreBackground() {
    var img = productShot(background: RGBA(255, 255, 255, 0), product: RGBA(200, 30, 40))
    img[0, 0] = RGBA(0, 0, 0, 0)
    let fg = BackgroundSeparation.separate(LabRaster(img))
    #expect(fg.method == .alpha)
    #expect(abs(fg.foregroundFraction - 0.25) < 0.01)
}

@Test func whiteOnWhiteFallsBackToTheCentre() {
    let fg = BackgroundSeparation.separate(LabRaster(RGBAImage(width: 64, height: 64, fill: RGBA(255, 255, 255))))
    #expect(fg.method == .lightOnLight)
    #expect(fg.foregroundFraction > 0.2)
}

@Test func busyBorderMeansWholeImage() {
    var img = RGBAImage(width: 64, height: 64)
    for y in 0..<64 { for x in 0..<64 { img[x, y] = (x / 4 + y / 4) % 2 == 0 ? RGBA(0, 0, 0) : RGBA(255, 200, 0) } }
    #expect(BackgroundSeparation.separate(LabRaster(img)).method == .wholeImage)
}

@Test func specksAreDropped() {
    var img = productShot(background: RGBA(255, 255, 255), product: RGBA(30, 40, 90))
    img[3, 3] = RGBA(0, 0, 0)
    let fg = BackgroundSeparation.separate(LabRaster(img))
    #expect(fg.mask[3 * fg.width + 3] == 0)
}

@Test func dominantColourOfATwoToneProduct() {
    var img = productShot(background: RGBA(255, 255, 255), product: RGBA(30, 40, 90))
    for y in 24..<36 { for x in 24..<72 { img[x, y] = RGBA(200, 30, 40) } }
    let r = LabRaster(img)
    let clusters = DominantColors.clusters(r, mask: BackgroundSeparation.separate(r).mask)
    #expect(clusters.count == 2)
    #expect(ColorDictionary.name(forPhotographed: clusters[0].center).family == .blue)
    // Three quarters of the product's pixels; shares are centre-weighted, so roughly.
    #expect(abs(clusters[0].share - 0.75) < 0.05)
    #expect(ColorDictionary.name(forPhotographed: clusters[1].center).family == .red)
}
