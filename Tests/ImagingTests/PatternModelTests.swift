import Foundation
@testable import Imaging
import LookbookCore
import Testing

/// The golden vectors are synthetic (zeros, noise, the mean pushed along a pattern's
/// weights), and their logits come from `Reference/fit_pattern.py` with the same
/// parameters the library ships.
@Test(arguments: patternGolden.indices)
func patternInferenceEqualsNumpy(_ index: Int) {
    expectInferenceEqualsNumpy(PatternModel.shipped, patternGolden[index], featureCount: PatternModelFeatures.count)
}

@Test func theShippedPatternModelFitsTheFeatureLayout() {
    let model = PatternModel.shipped
    #expect(model.featureCount == PatternModelFeatures.count)
    #expect(model.labels == PatternKind.allCases)
    #expect(model.scale.allSatisfy { $0 > 0 })
    #expect(Set(patternGolden.map(\.family)).count >= 3)
}

/// The features are the documented transforms of `PatternFeatures`, and only garments go
/// to the learned model: a shoe, a product without a slot and a photo too small to
/// measure keep the hand-written rule.
@Test func patternFeaturesFollowTheLayoutAndTheRuleKeepsOtherSlots() {
    var f = PatternFeatures(interior: 999, edgeDensity: 0.3, orientations: [0.5, 0.25, 0.25], dominantShare: 0.5,
                            perpendicularShare: 0.2, blobs: 7, multiColourBlobs: 1, blobCoverage: 0.4)
    f.rowShare = 0.6; f.columnShare = 0.2; f.coreContrast = 5
    let x = PatternModelFeatures.make(f, slot: .top)
    #expect(x.count == PatternModelFeatures.count)
    #expect(x[0] == 0.3 && x[3] == log1p(7.0) && x[6] == log1p(999.0) && x[11] == log1p(5.0))
    #expect(abs(x[12] - 0.12) < 1e-15 && x[13] == 0.6 && x[14] == 0.2 && abs(x[15] - 0.4) < 1e-15)
    #expect(x[17] == 0.5 && x[18] == 0.25 && x[20] == 0)
    #expect(x[29 + Slot.allCases.firstIndex(of: .top)!] == 1 && x[29...].reduce(0, +) == 1)
    #expect(PatternModelFeatures.make(f, slot: nil)[40] == 1)
    for slot: Slot? in [.shoes, .bag, nil] {
        #expect(PatternModel.pattern(f, slot: slot) == PatternClassifier.classify(f))
    }
    var tiny = f
    tiny.interior = PatternClassifier.minimumInterior - 1
    #expect(PatternModel.pattern(tiny, slot: .top) == .solid)
    #expect(PatternModel.pattern(f, slot: .top) == PatternModel.shipped.predict(x))
}
