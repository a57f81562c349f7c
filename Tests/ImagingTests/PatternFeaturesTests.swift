import Imaging
import Testing

/// A 112² white-backdrop photo of a 80×80 product whose pixel colour `paint(x, y)` gives,
/// with a soft left-to-right shading and a little deterministic noise, like a studio shot.
func patterned(_ paint: (Int, Int) -> RGBA) -> RGBAImage {
    var img = RGBAImage(width: 112, height: 112, fill: RGBA(255, 255, 255))
    var seed: UInt32 = 12345
    for y in 16..<96 {
        for x in 16..<96 {
            seed = seed &* 1_664_525 &+ 1_013_904_223
            let noise = Int(seed >> 29) - 4  // −4…3
            let shade = -(x - 16) / 8       // 0…−10
            let c = paint(x - 16, y - 16)
            func ch(_ v: UInt8) -> UInt8 { UInt8(clamping: Int(v) + noise + shade) }
            img[x, y] = RGBA(ch(c.r), ch(c.g), ch(c.b))
        }
    }
    return img
}

let navy = RGBA(30, 40, 90), cream = RGBA(240, 230, 200), red = RGBA(200, 30, 40), yellow = RGBA(245, 210, 40)

func patternOf(_ img: RGBAImage) -> PatternKind {
    let r = LabRaster(img)
    let fg = BackgroundSeparation.separate(r)
    return PatternClassifier.classify(r, mask: fg.mask, clusters: DominantColors.clusters(r, mask: fg.mask))
}

struct PatternCase: Sendable, CustomTestStringConvertible {
    var name: String
    var expected: PatternKind
    var paint: @Sendable (Int, Int) -> RGBA
    var testDescription: String { name }
}

@Test(arguments: [
    PatternCase(name: "solid navy", expected: .solid) { _, _ in navy },
    PatternCase(name: "horizontal stripes", expected: .striped) { _, y in y % 10 < 4 ? cream : navy },
    PatternCase(name: "vertical stripes", expected: .striped) { x, _ in x % 8 < 3 ? red : cream },
    PatternCase(name: "diagonal stripes", expected: .striped) { x, y in (x + y) % 12 < 5 ? navy : cream },
    PatternCase(name: "checks", expected: .checked) { x, y in (x % 10 < 3 || y % 10 < 3) ? red : cream },
    PatternCase(name: "gingham", expected: .checked) { x, y in (x / 6 + y / 6) % 2 == 0 ? navy : cream },
    PatternCase(name: "polka dots", expected: .dotted) { x, y in
        let dx = x % 12 - 6, dy = y % 12 - 6
        return dx * dx + dy * dy <= 6 ? cream : navy
    },
    PatternCase(name: "flowers with yellow hearts", expected: .floral) { x, y in
        let dx = x % 16 - 8, dy = y % 16 - 8, d2 = dx * dx + dy * dy
        return d2 <= 3 ? yellow : d2 <= 20 ? red : cream
    },
])
func syntheticPatternIsRecognised(_ c: PatternCase) {
    #expect(patternOf(patterned(c.paint)) == c.expected)
}

@Test func solidProductHasFewEdges() {
    let r = LabRaster(patterned { _, _ in red })
    let fg = BackgroundSeparation.separate(r)
    let f = PatternClassifier.features(r, mask: fg.mask, clusters: DominantColors.clusters(r, mask: fg.mask))
    #expect(f.edgeDensity < PatternClassifier.solidBelow)
    #expect(f.interior > 4000)
}
