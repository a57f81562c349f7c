import Foundation
import LookbookCore

/// The measurements a garment's pattern is learned from: `PatternFeatures` (edges, their
/// orientations, blobs, the core's line structure), a few of their products and ratios,
/// and the slot.
///
/// The layout is fixed: the fitted weights in `PatternModel+Weights.swift` index it, and
/// `Tests/ImagingTests/Reference/fit_pattern.py` reads it from the bench's dump. Change it
/// and the weights must be refitted (the count check in `PatternModel` refuses a mismatch).
///
/// | offset | count | block |
/// |---|---|---|
/// | 0 | 17 | edge density, dominant and perpendicular shares, log(1 + blobs), log(1 + multicoloured blobs), blob coverage, log(1 + interior pixels), row share, column share, row spike, column spike, log(1 + core contrast), row × column share, their max, min and absolute difference, log(1 + blobs) / log(1 + interior) |
/// | 17 | 12 | orientation histogram of the edges (`PatternClassifier.orientationBins`) |
/// | 29 | 12 | slot, one-hot (`Slot.allCases`, then none) |
public enum PatternModelFeatures {
    public static let count = 41

    /// The slots whose pattern the learned model decides: garments, which the Myntra
    /// apparel photos it was fitted on show. Shoes, bags and the rest keep the rule.
    public static let slots: Set<Slot> = [.top, .bottom, .dress, .outerwear]

    public static func make(_ f: PatternFeatures, slot: Slot?) -> [Double] {
        let logInterior = log1p(Double(f.interior))
        var x: [Double] = [
            f.edgeDensity, f.dominantShare, f.perpendicularShare, log1p(Double(f.blobs)), log1p(Double(f.multiColourBlobs)),
            f.blobCoverage, logInterior, f.rowShare, f.columnShare, f.rowSpike, f.columnSpike, log1p(max(0, f.coreContrast)),
            f.rowShare * f.columnShare, max(f.rowShare, f.columnShare), min(f.rowShare, f.columnShare), abs(f.rowShare - f.columnShare),
            log1p(Double(f.blobs)) / max(1, logInterior),
        ]
        var orientations = [Double](repeating: 0, count: PatternClassifier.orientationBins)
        for (i, v) in f.orientations.prefix(orientations.count).enumerated() { orientations[i] = v }
        x += orientations
        var slotOneHot = [Double](repeating: 0, count: Slot.allCases.count + 1)
        slotOneHot[slot.flatMap { Slot.allCases.firstIndex(of: $0) } ?? Slot.allCases.count] = 1
        x += slotOneHot
        precondition(x.count == count, "PatternModelFeatures layout and count disagree")
        return x
    }
}

/// A multinomial logistic regression from `PatternModelFeatures` to the five patterns,
/// fitted by `Tests/ImagingTests/Reference/fit_pattern.py` on Myntra apparel photos with
/// even ids (labelled by the pattern word of their titles, which the captioner never
/// reads) and photos from the project's own catalog generator (labelled by the pattern it
/// drew: the only dotted examples), written to `PatternModel+Weights.swift`.
public typealias PatternModel = SoftmaxRegression<PatternKind>

extension SoftmaxRegression where Label == PatternKind {
    /// The fitted model shipped with the library.
    public static var shipped: PatternModel { ShippedModels.pattern }

    /// The pattern of a product of `slot`: the learned model's for garments
    /// (`PatternModelFeatures.slots`), the hand-written rule's otherwise and for a
    /// product too small to measure.
    public static func pattern(_ f: PatternFeatures, slot: Slot?) -> PatternKind {
        guard let slot, PatternModelFeatures.slots.contains(slot), f.interior >= PatternClassifier.minimumInterior else {
            return PatternClassifier.classify(f)
        }
        return shipped.predict(PatternModelFeatures.make(f, slot: slot))
    }
}

extension ShippedModels {
    static let pattern: PatternModel = {
        let p = ShippedPatternParameters.self
        return PatternModel(labels: p.labels.split(separator: " ").map { PatternKind(rawValue: String($0))! },
                            mean: p.mean, scale: p.scale, weights: p.weights, bias: p.bias,
                            featureCount: PatternModelFeatures.count, file: "PatternModel+Weights.swift")
    }()
}
