import Imaging
import LookbookCore
import Testing

// MARK: - Inference against numpy

func parse(_ s: String) -> [Double] {
    s.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Double($0)! }
}

/// A shipped model's logits, arg-max and probabilities on one golden case equal numpy's.
func expectInferenceEqualsNumpy<Label: RawRepresentable>(_ model: SoftmaxRegression<Label>, _ golden: GoldenCase, featureCount: Int)
    where Label.RawValue == String {
    let x = parse(golden.features), expected = parse(golden.logits)
    #expect(x.count == featureCount)
    let z = model.logits(x)
    #expect(z.count == expected.count)
    for (a, b) in zip(z, expected) {
        #expect(abs(a - b) <= 1e-9 * max(1, abs(b)), "logit \(a) vs numpy \(b)")
    }
    #expect(model.predict(x).rawValue == golden.family)
    #expect(abs(model.probabilities(x).reduce(0, +) - 1) < 1e-12)
}

/// The golden vectors are synthetic (zeros, noise, the mean pushed along a family's
/// weights), and their logits come from `Reference/fit_color_family.py` with the same
/// parameters the library ships.
@Test(arguments: colorFamilyGolden.indices)
func swiftInferenceEqualsNumpy(_ index: Int) {
    expectInferenceEqualsNumpy(ColorFamilyModel.shipped, colorFamilyGolden[index], featureCount: ColorFamilyFeatures.count)
}

@Test func theGoldenCasesCoverSeveralFamilies() {
    #expect(Set(colorFamilyGolden.map(\.family)).count >= 3)
}

@Test func theShippedModelFitsTheFeatureLayout() {
    let model = ColorFamilyModel.shipped
    #expect(model.featureCount == ColorFamilyFeatures.count)
    #expect(model.families == ColorFamily.allCases)
    #expect(model.scale.allSatisfy { $0 > 0 })
}

@Test func argmaxFollowsTheLogits() {
    // A two-feature model by hand: family k's logit is x[0] * (k == 2) + x[1] * (k == 7).
    var w = [Double](repeating: 0, count: 11 * 2)
    w[2 * 2 + 0] = 1; w[7 * 2 + 1] = 1
    let m = ColorFamilyModel(families: ColorFamily.allCases, mean: [0, 0], scale: [1, 2], weights: w,
                             bias: [Double](repeating: 0, count: 11))
    #expect(m.predict([3, 1]) == .grey)
    #expect(m.predict([1, 4]) == .blue)   // x[1] / scale 2 = 2 > 1
    #expect(m.logits([1, 4])[7] == 2)
}

// MARK: - Features

@Test(arguments: ColorDictionary.all.filter { $0.lab.chroma > 20 }.map(\.name))
func aSaturatedAnchorIsMostlyItsOwnFamily(_ name: String) {
    let entry = ColorDictionary.named(name)!
    let soft = ColorFamilyFeatures.softFamily(entry.lab)
    #expect(abs(soft.reduce(0, +) - 1) < 1e-12)
    let top = soft.indices.max { soft[$0] < soft[$1] }!
    #expect(ColorFamily.allCases[top] == entry.family, "\(soft)")
}

/// A 64×64 raster: a navy square (rows 16–47, columns 16–47) on white.
private func navySquare() -> (LabRaster, [UInt8]) {
    var img = RGBAImage(width: 64, height: 64, fill: RGBA(255, 255, 255))
    for y in 16..<48 { for x in 16..<48 { img[x, y] = RGBA(30, 38, 74) } }
    let r = LabRaster(img, maxSide: 64)
    let mask = (0..<r.count).map { i in (16..<48).contains(i / 64) && (16..<48).contains(i % 64) ? UInt8(1) : 0 }
    return (r, mask)
}

@Test func featureBlocksHaveTheDocumentedLayout() {
    let (r, mask) = navySquare()
    let navy = ColorDictionary.named("navy")!.lab
    var layout = [Double](repeating: 0, count: 36)
    for row in 1...4 { for col in 1...4 { layout[row * 6 + col] = 1.0 / 16 } }
    let cluster = ColorCluster(center: navy, share: 1, layout: layout)
    let x = ColorFamilyFeatures.make(raster: r, mask: mask, clusters: [cluster], ruleFamily: .blue, slot: .bottom,
                                     background: Lab(100, 0, 0), foregroundFraction: 0.25)
    #expect(x.count == ColorFamilyFeatures.count)
    let blue = ColorFamily.allCases.firstIndex(of: .blue)!
    // Family × row: only the bottom group (the second of three, 132 values each) is filled,
    // and its hard half has √(share of the row) for blue in rows 1–4.
    let otherGroups = Array(x[0..<132]) + Array(x[264..<396])
    #expect(otherGroups.allSatisfy { $0 == 0 })
    let hard = 132 + 66
    for row in 0..<6 {
        let expected = row >= 1 && row <= 4 ? 0.5 : 0
        #expect(abs(x[hard + blue * 6 + row] - expected) < 1e-12)
    }
    // Rule one-hot, soft family summing to the clusters' shares.
    let rule = Array(x[396..<407])
    #expect(rule[blue] == 1)
    #expect(rule.reduce(0, +) == 1)
    let softSum = x[407..<418].reduce(0, +)
    #expect(abs(softSum - 1) < 1e-12)
    // Histograms: square roots of shares, so squares sum to 1; a navy square is one
    // chromatic bin (blue hue, dark band) in both.
    for range in [418..<464, 464..<510] {
        let h = Array(x[range])
        let squares = h.map { $0 * $0 }.reduce(0, +)
        #expect(abs(squares - 1) < 1e-9)
        #expect(h.filter { $0 > 0 }.count == 1)
    }
    #expect(x[418..<428].allSatisfy { $0 == 0 }, "navy is not achromatic")
    // Slot one-hot, then backdrop and foreground fraction.
    let slots = Array(x[510..<522])
    #expect(slots[Slot.allCases.firstIndex(of: .bottom)!] == 1)
    #expect(slots.reduce(0, +) == 1)
    #expect(Array(x[522...]) == [1, 0, 0, 0.25])
}

@Test func anEmptyMaskGivesEmptyHistogramsNotACrash() {
    let (r, _) = navySquare()
    let x = ColorFamilyFeatures.make(raster: r, mask: [UInt8](repeating: 0, count: r.count), clusters: [], ruleFamily: .white,
                                     slot: nil, background: nil, foregroundFraction: 0)
    #expect(x.count == ColorFamilyFeatures.count)
    #expect(x[418..<510].allSatisfy { $0 == 0 })
    #expect(x[510 + Slot.allCases.count] == 1)
}
