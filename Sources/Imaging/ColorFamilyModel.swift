import Foundation
import LookbookCore

/// The measurements a product photo's colour family is learned from: where each colour
/// family lies on the product (from the k-means clusters and their layouts), a
/// perceptual histogram of the garment's pixels, and what the photo is of.
///
/// Every block is a share of the foreground (so 0…1 and comparable across image sizes),
/// square-rooted where it is a histogram (a Hellinger embedding: small shares count more
/// than their size, as a trim or a logo does to a shopper). The layout is fixed: the
/// fitted weights in `ColorFamilyModel+Weights.swift` index it, and
/// `Tests/ImagingTests/Reference/fit_color_family.py` names it. Change the layout and the
/// weights must be refitted (the count check in `ColorFamilyModel` refuses a mismatch).
///
/// | offset | count | block |
/// |---|---|---|
/// | 0 | 396 | family × row of the clusters, for the slot's group only (3 groups: worn top, bottom, other) × (soft, hard) × 11 families × 6 rows |
/// | 396 | 11 | the hand-written rule's family, one-hot |
/// | 407 | 11 | soft family of the clusters, weighted by their centre-weighted share |
/// | 418 | 46 | perceptual histogram of the garment's pixels, centre-weighted |
/// | 464 | 46 | the same over the middle two thirds of the foreground's height |
/// | 510 | 12 | slot, one-hot (`Slot.allCases`, then none) |
/// | 522 | 4 | backdrop L*, a*, b* (÷ 100; 0 when unknown) and the foreground fraction |
public enum ColorFamilyFeatures {
    public static let count = 526
    /// Rows of a cluster's layout grid.
    static let rows = ColorCluster.layoutSide
    static let families = ColorFamily.allCases
    /// Temperature (in ΔE00) of a cluster's soft family: softmax over families of minus
    /// the distance to the family's nearest dictionary entry, divided by this.
    public static let softTemperature = 4.0
    /// Perceptual histogram: pixels under this chroma go to 10 lightness bins; the others
    /// to 12 hue sectors of 30° × 3 lightness bands (L* < 34, < 68, above).
    public static let achromaticChroma: Float = 8
    static let histogramBins = 10 + 12 * 3

    /// Which copy of the family × row block a slot fills: model shots of tops show a face
    /// above and trousers below, of bottoms a shirt above; other products have no wearer.
    static func slotGroup(_ slot: Slot?) -> Int {
        switch slot {
        case .top, .dress, .outerwear: 0
        case .bottom: 1
        default: 2
        }
    }

    /// Soft family memberships of a colour (sums to 1), ordered as `ColorFamily.allCases`.
    public static func softFamily(_ lab: Lab) -> [Double] {
        var nearest = [Double](repeating: .infinity, count: families.count)
        for entry in ColorDictionary.all {
            let k = familyIndex(entry.family)
            nearest[k] = min(nearest[k], ColorScience.deltaE2000(lab, entry.lab))
        }
        let top = nearest.min() ?? 0
        let e = nearest.map { exp(-($0 - top) / softTemperature) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    @inline(__always) static func familyIndex(_ f: ColorFamily) -> Int { families.firstIndex(of: f)! }

    /// The feature vector (`count` values) of one photo.
    /// - Parameters:
    ///   - raster, mask: the analysis raster and the garment's pixels (1 = product).
    ///   - clusters: the garment's colour clusters, with layouts.
    ///   - ruleFamily: the family the hand-written cluster choice names.
    public static func make(raster r: LabRaster, mask: [UInt8], clusters: [ColorCluster], ruleFamily: ColorFamily,
                            slot: Slot?, background: Lab?, foregroundFraction: Double) -> [Double] {
        var x = [Double](repeating: 0, count: count)
        let nf = families.count
        // Family × row of the clusters.
        let base = slotGroup(slot) * 2 * nf * rows
        var soft = [Double](repeating: 0, count: nf)
        for c in clusters {
            let s = softFamily(c.center)
            let hard = familyIndex(ColorDictionary.name(forPhotographed: c.center).family)
            for f in 0..<nf { soft[f] += c.share * s[f] }
            guard c.layout.count == rows * rows else { continue }
            for row in 0..<rows {
                var share = 0.0
                for col in 0..<rows { share += c.layout[row * rows + col] }
                for f in 0..<nf { x[base + f * rows + row] += s[f] * share }
                x[base + nf * rows + hard * rows + row] += share
            }
        }
        for i in base..<(base + 2 * nf * rows) { x[i] = x[i].squareRoot() }
        let ruleOffset = 3 * 2 * nf * rows
        x[ruleOffset + familyIndex(ruleFamily)] = 1
        for f in 0..<nf { x[ruleOffset + nf + f] = soft[f] }
        // Perceptual histograms.
        let hist = histograms(r, mask: mask)
        let histOffset = ruleOffset + 2 * nf
        for i in 0..<(2 * histogramBins) { x[histOffset + i] = hist[i].squareRoot() }
        let slotOffset = histOffset + 2 * histogramBins
        x[slotOffset + (slot.flatMap { Slot.allCases.firstIndex(of: $0) } ?? Slot.allCases.count)] = 1
        let tail = slotOffset + Slot.allCases.count + 1
        if let background { x[tail] = background.l / 100; x[tail + 1] = background.a / 100; x[tail + 2] = background.b / 100 }
        x[tail + 3] = foregroundFraction
        precondition(tail + 4 == count, "ColorFamilyFeatures layout and count disagree")
        return x
    }

    /// The bin of one pixel in the perceptual histogram.
    @inline(__always) static func bin(l: Float, a: Float, b: Float) -> Int {
        let c2 = a * a + b * b
        if c2 < achromaticChroma * achromaticChroma { return min(9, max(0, Int(l / 10))) }
        var h = atan2(b, a) * (180 / .pi)
        if h < 0 { h += 360 }
        let sector = min(11, Int(h / 30))
        let band = l < 34 ? 0 : l < 68 ? 1 : 2
        return 10 + sector * 3 + band
    }

    /// Two normalised histograms back to back: all of `mask`, and its middle band (rows
    /// from 1/6 to 5/6 of the foreground's bounding box), each pixel weighted by a
    /// Gaussian around the frame's centre (σ = `DominantColors.centreSigma` × longer side).
    static func histograms(_ r: LabRaster, mask: [UInt8]) -> [Double] {
        let w = r.width, h = r.height
        var y0 = h, y1 = -1
        for y in 0..<h { for x in 0..<w where mask[y * w + x] == 1 { y0 = min(y0, y); y1 = max(y1, y); break } }
        var out = [Double](repeating: 0, count: 2 * histogramBins)
        guard y1 >= y0 else { return out }
        let side = Double(max(w, h)), sigma = DominantColors.centreSigma * side
        let k = 1 / (2 * sigma * sigma)
        let cx = Double(w - 1) / 2, cy = Double(h - 1) / 2
        let wx = (0..<w).map { exp(-(Double($0) - cx) * (Double($0) - cx) * k) }
        let height = Double(y1 - y0 + 1)
        for y in y0...y1 {
            let wy = exp(-(Double(y) - cy) * (Double(y) - cy) * k)
            let t = Double(y - y0) / height
            let middle = t >= 1.0 / 6 && t < 5.0 / 6
            for x in 0..<w where mask[y * w + x] == 1 {
                let i = y * w + x
                let b = bin(l: r.l[i], a: r.a[i], b: r.b[i])
                let weight = wx[x] * wy
                out[b] += weight
                if middle { out[histogramBins + b] += weight }
            }
        }
        for part in 0..<2 {
            let range = (part * histogramBins)..<((part + 1) * histogramBins)
            let total = out[range].reduce(0, +)
            if total > 0 { for i in range { out[i] /= total } }
        }
        return out
    }
}

/// A multinomial logistic regression over standardised features, fitted in numpy by a
/// script under `Tests/ImagingTests/Reference/` that writes its parameters as a Swift
/// file: the colour family (`ColorFamilyModel`) and the pattern (`PatternModel`).
///
/// logits = W · ((x − mean) / scale) + bias, one row of W per entry of `labels`.
public struct SoftmaxRegression<Label: Sendable & Equatable>: Sendable {
    public var labels: [Label]
    public var mean: [Double]
    public var scale: [Double]
    /// Row-major, `labels.count` × feature count.
    public var weights: [Double]
    public var bias: [Double]

    public var featureCount: Int { mean.count }

    /// Checks the shapes: a mismatch is a programmer's error (weights from another
    /// layout), caught by the tests.
    public init(labels: [Label], mean: [Double], scale: [Double], weights: [Double], bias: [Double]) {
        precondition(scale.count == mean.count && weights.count == labels.count * mean.count && bias.count == labels.count,
                     "SoftmaxRegression: shapes disagree")
        self.labels = labels; self.mean = mean; self.scale = scale; self.weights = weights; self.bias = bias
    }

    /// Parameters written by a fitting script as whitespace-separated decimal numbers (a
    /// string compiles in no time where a literal of thousands of `Double`s would not),
    /// checked against the feature layout they must fit.
    init(labels: [Label], mean: String, scale: String, weights: String, bias: String, featureCount: Int, file: String) {
        func numbers(_ s: String) -> [Double] { s.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Double($0)! } }
        self.init(labels: labels, mean: numbers(mean), scale: numbers(scale), weights: numbers(weights), bias: numbers(bias))
        precondition(self.featureCount == featureCount,
                     "\(file) was fitted for \(self.featureCount) features, the layout has \(featureCount): refit")
    }

    /// One logit per entry of `labels`.
    public func logits(_ x: [Double]) -> [Double] {
        precondition(x.count == featureCount, "SoftmaxRegression: \(x.count) features, expected \(featureCount)")
        let d = featureCount
        let z = (0..<d).map { (x[$0] - mean[$0]) / scale[$0] }
        return (0..<labels.count).map { k in
            var s = bias[k]
            for j in 0..<d { s += weights[k * d + j] * z[j] }
            return s
        }
    }

    /// Probabilities (softmax of the logits), in `labels` order.
    public func probabilities(_ x: [Double]) -> [Double] {
        let z = logits(x)
        let top = z.max() ?? 0
        let e = z.map { exp($0 - top) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// The most probable label (the first on a tie).
    public func predict(_ x: [Double]) -> Label {
        let z = logits(x)
        var best = 0
        for k in 1..<z.count where z[k] > z[best] { best = k }
        return labels[best]
    }
}

/// A multinomial logistic regression from `ColorFamilyFeatures` to the eleven basic
/// colour terms, fitted on the Myntra photos with even ids only (odd ids are held out)
/// by `Tests/ImagingTests/Reference/fit_color_family.py`, which writes the parameters to
/// `ColorFamilyModel+Weights.swift`.
public typealias ColorFamilyModel = SoftmaxRegression<ColorFamily>

extension SoftmaxRegression where Label == ColorFamily {
    public init(families: [ColorFamily], mean: [Double], scale: [Double], weights: [Double], bias: [Double]) {
        self.init(labels: families, mean: mean, scale: scale, weights: weights, bias: bias)
    }

    public var families: [ColorFamily] { labels }

    /// The fitted model shipped with the library.
    public static var shipped: ColorFamilyModel { ShippedModels.colorFamily }
}

/// The fitted models, parsed once on first use.
enum ShippedModels {
    static let colorFamily: ColorFamilyModel = {
        let p = ShippedColorFamilyParameters.self
        return ColorFamilyModel(labels: p.families.split(separator: " ").map { ColorFamily(rawValue: String($0))! },
                                mean: p.mean, scale: p.scale, weights: p.weights, bias: p.bias,
                                featureCount: ColorFamilyFeatures.count, file: "ColorFamilyModel+Weights.swift")
    }()
}
