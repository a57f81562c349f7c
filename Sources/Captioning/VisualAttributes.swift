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
}

/// The pixel side of the embedded captioner: backdrop separation, dominant colours named
/// by the colour dictionary, and the pattern.
public enum VisualAnalyzer {
    /// Longest side of the raster the analysis runs on; larger images are box-averaged.
    public static let analysisSide = 112

    /// Analyses decoded pixels.
    public static func analyze(_ image: RGBAImage) -> VisualAttributes {
        let raster = LabRaster(image, maxSide: analysisSide)
        let fg = BackgroundSeparation.separate(raster)
        let clusters = DominantColors.clusters(raster, mask: fg.mask)
        let (main, second) = pickColors(clusters)
        let name = ColorDictionary.name(forPhotographed: main.center)
        var secondName: ColorName? = nil
        if let second {
            let s = ColorDictionary.name(forPhotographed: second.center)
            if s.name != name.name { secondName = s }
        }
        let features = PatternClassifier.features(raster, mask: fg.mask, clusters: clusters,
                                                  main: clusters.firstIndex(of: main) ?? 0)
        let pattern = PatternClassifier.classify(features)
        return VisualAttributes(color: name.name, colorFamily: name.family, secondaryColor: secondName?.name,
                                secondaryColorFamily: secondName?.family, pattern: pattern.rawValue,
                                foregroundFraction: fg.foregroundFraction, backgroundMethod: fg.method,
                                colorLab: main.center, clusters: clusters, patternFeatures: features)
    }

    /// Decodes JPEG, PNG or WebP bytes with `ImageDecoder` (format from the bytes, pixel
    /// limit before allocation, DCT-scaled JPEG decoding for large photos) and analyses
    /// them. Throws the decoder's `ImagingError` for bytes that are not a usable image.
    public static func analyze(bytes: [UInt8], decoder: ImageDecoder = ImageDecoder(targetSize: analysisSide)) throws -> VisualAttributes {
        try analyze(decoder.decode(bytes).image)
    }

    /// How much more a fully chromatic cluster (C* ≥ 30) counts than a grey one of the
    /// same size: a coloured garment worn over dark trousers, or with white trim, is named
    /// by its colour. Tuned on even Myntra ids.
    static let chromaBonus = 1.0
    /// Weight of a skin-coloured cluster when the rest of the foreground is at least 15 %:
    /// model shots show arms and faces that are not the product.
    static let skinWeight = 0.3

    /// Skin tones under studio light: mid-to-light, warm (hue 35–75°), moderately chromatic.
    static func looksLikeSkin(_ c: Lab) -> Bool {
        (40...88).contains(c.l) && (8...45).contains(c.chroma) && (35...75).contains(c.hue) && c.a > 4
    }

    /// The main colour and, when there is one, a secondary colour: clusters are scored by
    /// share, with a bonus for chroma and a penalty for skin.
    static func pickColors(_ clusters: [ColorCluster]) -> (ColorCluster, ColorCluster?) {
        guard !clusters.isEmpty else {
            return (ColorCluster(center: Lab(100, 0, 0), share: 1), nil)
        }
        let nonSkin = clusters.filter { !looksLikeSkin($0.center) }.reduce(0) { $0 + $1.share }
        let scored = clusters.map { c -> (ColorCluster, Double) in
            var s = c.share * (1 + chromaBonus * min(c.center.chroma, 30) / 30)
            if looksLikeSkin(c.center) && nonSkin >= 0.15 { s *= skinWeight }
            return (c, s)
        }.sorted { $0.1 > $1.1 }
        let main = scored[0].0
        let second = scored.dropFirst().first { $0.0.share >= 0.15 && !looksLikeSkin($0.0.center) }?.0
        return (main, second)
    }
}
