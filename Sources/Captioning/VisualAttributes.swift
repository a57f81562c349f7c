import Imaging
import LookbookCore

/// What the pixels of a product photo say, before any text is read.
public struct VisualAttributes: Sendable, Equatable {
    /// The main colour's dictionary name (`navy`, `off white`).
    public var color: String
    public var colorFamily: ColorFamily
    /// A second colour covering a fair share of the product, if it names differently.
    public var secondaryColor: String?
    public var secondaryColorFamily: ColorFamily?
    /// solid, striped, checked, dotted or floral.
    public var pattern: String
    /// Share of the analysed frame that is product, 0…1.
    public var foregroundFraction: Double
    /// How the product was told from its backdrop.
    public var backgroundMethod: ForegroundMask.Method
    /// The main colour in Lab, for callers that want distances rather than names.
    public var colorLab: Lab
    /// Foreground colour clusters, largest first.
    public var clusters: [ColorCluster]
    /// The texture measurements the pattern was decided from.
    public var patternFeatures: PatternFeatures
    /// The backdrop's colour (the border's median), `nil` when alpha or nothing told it.
    public var background: Lab? = nil
    /// The family the hand-written cluster choice names (`pickColors`): one of the
    /// learned model's inputs, and the benchmark's "before" figure.
    public var ruleColorFamily: ColorFamily? = nil
    /// What the learned colour-family model saw (`ColorFamilyFeatures`); empty when the
    /// product had no foreground.
    public var familyFeatures: [Double] = []
}

/// The pixel side of the embedded captioner: backdrop separation, dominant colours named
/// by the colour dictionary, and the pattern.
///
/// The colour family is learned (`ColorFamilyModel`, fitted on Myntra photos with even ids
/// and generated photos); the hand-written cluster choice (`pickColors`) is one of its
/// inputs. The colour word is then the dictionary name of the cluster that shows that
/// family, so word and family always agree. A garment's pattern is learned too
/// (`PatternModel`, from the texture measurements and the slot); other products keep the
/// hand-written `PatternClassifier`.
public enum VisualAnalyzer {
    /// Longest side of the raster the analysis runs on; larger images are box-averaged.
    public static let analysisSide = 112

    /// Analyses decoded pixels. `slot` (from the product's category, never its colour
    /// words) says where in the frame the product sits when a model wears it: the torso
    /// for a top, the lower half for bottoms; `nil` or `.other` weights the frame evenly.
    public static func analyze(_ image: RGBAImage, slot: Slot? = nil) -> VisualAttributes {
        let raster = LabRaster(image, maxSide: analysisSide)
        let fg = BackgroundSeparation.separate(raster)
        let garment = garmentMask(raster, fg.mask, slot: slot)
        let clusters = DominantColors.clusters(raster, mask: garment)
        let scored = scoreClusters(clusters, slot: slot)
        let (ruleMain, second) = pickColors(scored)
        var main = ruleMain, name = ColorDictionary.name(forPhotographed: ruleMain.center)
        let ruleFamily = name.family
        var features: [Double] = []
        if !clusters.isEmpty {
            features = ColorFamilyFeatures.make(raster: raster, mask: garment, clusters: clusters, ruleFamily: ruleFamily, slot: slot,
                                                background: fg.background, foregroundFraction: fg.foregroundFraction)
            (main, name) = mainColor(of: ColorFamilyModel.shipped.predict(features), scored: scored)
        }
        var secondName: ColorName? = nil
        if let second, second != main {
            let s = ColorDictionary.name(forPhotographed: second.center)
            if s.name != name.name { secondName = s }
        }
        let patternFeatures = PatternClassifier.features(raster, mask: fg.mask, clusters: clusters,
                                                         main: clusters.firstIndex(of: main) ?? 0, image: image)
        let pattern = PatternModel.pattern(patternFeatures, slot: slot)
        return VisualAttributes(color: name.name, colorFamily: name.family, secondaryColor: secondName?.name,
                                secondaryColorFamily: secondName?.family, pattern: pattern.rawValue,
                                foregroundFraction: fg.foregroundFraction, backgroundMethod: fg.method,
                                colorLab: main.center, clusters: clusters, patternFeatures: patternFeatures,
                                background: fg.background, ruleColorFamily: ruleFamily, familyFeatures: features)
    }

    /// The cluster that shows `family`, and its dictionary name within that family, so the
    /// caption's colour word always belongs to the predicted family. The best-scoring
    /// cluster whose own name is in the family, when there is one; otherwise the cluster
    /// (of at least a tenth of the product, when any is) nearest to the family's
    /// dictionary entries, named by the nearest of them.
    static func mainColor(of family: ColorFamily, scored: [ScoredCluster]) -> (ColorCluster, ColorName) {
        if let hit = scored.filter({ $0.name.family == family }).max(by: { $0.score < $1.score }) {
            return (hit.cluster, hit.name)
        }
        let pool = ColorDictionary.all.filter { $0.family == family }
        let large = scored.filter { $0.cluster.share >= 0.1 }
        let candidates = large.isEmpty ? scored : large
        let best = candidates.map { ($0.cluster, ColorDictionary.nearest($0.cluster.center, among: pool)) }
            .min { $0.1.deltaE < $1.1.deltaE }
        guard let best else { return (ColorCluster(center: pool[0].lab, share: 1), pool[0]) }
        return (best.0, best.1.color)
    }

    /// Decodes JPEG, PNG or WebP bytes with `ImageDecoder` (format from the bytes, pixel
    /// limit before allocation, DCT-scaled JPEG decoding for large photos) and analyses
    /// them. Throws the decoder's `ImagingError` for bytes that are not a usable image.
    /// The default decoder keeps twice the analysis resolution, as the captioner's does
    /// for catalogue-sized photos: fine stripes survive for the pattern's line structure.
    public static func analyze(bytes: [UInt8], slot: Slot? = nil,
                               decoder: ImageDecoder = ImageDecoder(targetSize: 2 * analysisSide)) throws -> VisualAttributes {
        try analyze(decoder.decode(bytes).image, slot: slot)
    }

    /// How much more a fully chromatic cluster (C* ≥ 30) counts than a grey one of the
    /// same size: a coloured garment worn over dark trousers, or with white trim, is named
    /// by its colour. Tuned on even Myntra ids.
    static let chromaBonus = 1.0
    /// Weight of a skin-coloured cluster when the rest of the foreground is at least 15 %:
    /// model shots show arms and faces that are not the product.
    static let skinWeight = 0.3

    /// The foreground without skin-toned pixels for worn garments (a model's face, arms
    /// and legs are not the product), unless that would leave under 40 % of it: then the
    /// garment itself is skin-toned.
    static func garmentMask(_ r: LabRaster, _ mask: [UInt8], slot: Slot?) -> [UInt8] {
        guard let slot, [.top, .bottom, .dress, .outerwear].contains(slot) else { return mask }
        var m = mask
        var kept = 0, total = 0
        for i in 0..<r.count where mask[i] == 1 {
            total += 1
            if looksLikeSkin(l: r.l[i], a: r.a[i], b: r.b[i]) { m[i] = 0 } else { kept += 1 }
        }
        return Double(kept) >= 0.4 * Double(total) ? m : mask
    }

    /// Skin tones under studio light: mid-to-light, warm (hue 35–75°), moderately chromatic.
    static func looksLikeSkin(_ c: Lab) -> Bool {
        (40...88).contains(c.l) && (8...45).contains(c.chroma) && (35...75).contains(c.hue) && c.a > 4
    }

    /// `looksLikeSkin` for one raster pixel without square roots or arc tangents (the
    /// hue test as a slope test: 35° ≤ h ≤ 75° with a > 0 is tan 35° ≤ b/a ≤ tan 75°).
    @inline(__always)
    static func looksLikeSkin(l: Float, a: Float, b: Float) -> Bool {
        guard l >= 40, l <= 88, a > 4 else { return false }
        let c2 = a * a + b * b
        return c2 >= 64 && c2 <= 2025 && b >= 0.70020754 * a && b <= 3.7320508 * a
    }

    /// Weights of the six rows of a cluster's layout grid (top to bottom of the
    /// foreground's bounding box) by where the product sits in a model shot: a top's
    /// wearer shows a face above it and legs below; bottoms have a shirt above them and
    /// shoes below; shoes have soles and shadows at the bottom. Set on even Myntra ids.
    static func rowWeights(for slot: Slot?) -> [Double]? {
        switch slot {
        case .top, .dress, .outerwear: [0.4, 1, 1, 1, 1, 0.3]
        case .bottom: [0.3, 1, 1, 1, 1, 0.6]
        case .shoes: [1, 1, 1, 1, 1, 0.5]
        default: nil
        }
    }

    /// A cluster's centre-weighted share, reweighted by where its pixels lie.
    static func placedShare(_ c: ColorCluster, rowWeights: [Double]?) -> Double {
        guard let rowWeights, !c.layout.isEmpty else { return c.share }
        let side = ColorCluster.layoutSide
        var total = 0.0, weighted = 0.0
        for (i, v) in c.layout.enumerated() { total += v; weighted += v * rowWeights[i / side] }
        return total > 0 ? c.share * weighted / total : c.share
    }

    /// A cluster with its choice score and its own dictionary name.
    struct ScoredCluster {
        var cluster: ColorCluster
        var score: Double
        var name: ColorName
    }

    /// Clusters scored by share, reweighted by position for the slot, with a bonus for
    /// chroma and a penalty for skin.
    static func scoreClusters(_ clusters: [ColorCluster], slot: Slot? = nil) -> [ScoredCluster] {
        let rows = rowWeights(for: slot)
        let nonSkin = clusters.filter { !looksLikeSkin($0.center) }.reduce(0) { $0 + $1.share }
        return clusters.map { c in
            var s = placedShare(c, rowWeights: rows) * (1 + chromaBonus * min(c.center.chroma, 30) / 30)
            if looksLikeSkin(c.center) && nonSkin >= 0.15 { s *= skinWeight }
            return ScoredCluster(cluster: c, score: s, name: ColorDictionary.name(forPhotographed: c.center))
        }
    }

    /// The main colour and, when there is one, a secondary colour, by the hand-written
    /// rule: clusters are scored (`scoreClusters`), then the scores of clusters of the
    /// same colour family are added (a garment in light and shade is one colour even when
    /// k-means splits it), and the main colour is the best-scoring cluster of the best
    /// family. The learned model (`ColorFamilyModel`) takes this choice as one input and
    /// makes the final one.
    static func pickColors(_ clusters: [ColorCluster], slot: Slot? = nil) -> (ColorCluster, ColorCluster?) {
        pickColors(scoreClusters(clusters, slot: slot))
    }

    static func pickColors(_ scored: [ScoredCluster]) -> (ColorCluster, ColorCluster?) {
        guard !scored.isEmpty else {
            return (ColorCluster(center: Lab(100, 0, 0), share: 1), nil)
        }
        var familyScore: [ColorFamily: Double] = [:]
        for s in scored { familyScore[s.name.family, default: 0] += s.score }
        // Ties go to the family of the higher-scoring cluster, so the choice is deterministic.
        let best = scored.max { a, b in
            let fa = familyScore[a.name.family]!, fb = familyScore[b.name.family]!
            return fa != fb ? fa < fb : a.score < b.score
        }!
        let main = best.cluster
        let second = scored.sorted { $0.score > $1.score }
            .first { $0.cluster != main && $0.cluster.share >= 0.15 && !looksLikeSkin($0.cluster.center) }?.cluster
        return (main, second)
    }
}
