import LookbookCore

/// One entry of the colour dictionary: a retail colour name, the sRGB colour it stands
/// for, and its basic colour term.
public struct ColorName: Sendable, Equatable, Hashable {
    /// Lower-case, as it appears in a caption: `navy`, `off white`.
    public var name: String
    public var family: ColorFamily
    public var rgb: RGBA
    public var lab: Lab

    public init(_ name: String, _ family: ColorFamily, _ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.name = name; self.family = family; self.rgb = RGBA(r, g, b)
        self.lab = ColorScience.lab(r, g, b)
    }
}

/// Retail colour names with sRGB anchors, and nearest-name look-up by CIEDE2000.
///
/// Each name belongs to one of the eleven basic colour terms. Where retail usage is split,
/// the choice is made once here, and the Myntra benchmark's label mapping uses the same
/// choices: beige, tan, khaki, camel, taupe and nude are **brown** (light, low-chroma
/// yellow-reds are browns in Berlin & Kay's sense); cream, ivory and off white are
/// **white**; maroon, burgundy and wine are **red**; peach, rust and coral are **orange**;
/// magenta and fuchsia are **pink**; mauve and lavender are **purple**; turquoise is **blue**;
/// teal, olive and khaki-green are **green** (product photos of teal garments sit at
/// the green side of cyan). Metallic names (gold, silver,
/// bronze, copper, steel) are not colours a pixel can name reliably and are left out.
public enum ColorDictionary {
    public static let all: [ColorName] = [
        // black / white / grey
        ColorName("black", .black, 22, 22, 24),
        ColorName("white", .white, 250, 250, 250),
        ColorName("off white", .white, 238, 234, 222),
        ColorName("cream", .white, 240, 228, 196),
        ColorName("ivory", .white, 246, 242, 226),
        ColorName("grey", .grey, 128, 128, 130),
        ColorName("light grey", .grey, 188, 188, 190),
        ColorName("grey melange", .grey, 160, 160, 162),
        ColorName("charcoal", .grey, 62, 64, 68),
        ColorName("slate", .grey, 100, 108, 118),
        // blue
        ColorName("navy", .blue, 30, 38, 74),
        ColorName("blue", .blue, 40, 86, 170),
        ColorName("royal blue", .blue, 40, 70, 200),
        ColorName("sky blue", .blue, 130, 186, 230),
        ColorName("light blue", .blue, 176, 204, 232),
        ColorName("denim", .blue, 70, 98, 140),
        ColorName("indigo", .blue, 46, 52, 110),
                ColorName("turquoise", .blue, 50, 190, 200),
        ColorName("steel blue", .blue, 80, 120, 160),
        // green
        ColorName("green", .green, 40, 140, 70),
        ColorName("dark green", .green, 26, 78, 44),
        ColorName("olive", .green, 104, 106, 50),
        ColorName("sea green", .green, 46, 139, 100),
        ColorName("mint", .green, 170, 224, 190),
        ColorName("lime", .green, 160, 206, 60),
        ColorName("fluorescent green", .green, 110, 240, 60),
        ColorName("khaki green", .green, 120, 120, 80),
        ColorName("teal", .green, 20, 120, 124),
        // red
        ColorName("red", .red, 200, 30, 40),
        ColorName("maroon", .red, 112, 28, 40),
        ColorName("burgundy", .red, 128, 10, 40),
        ColorName("wine", .red, 90, 20, 36),
        ColorName("crimson", .red, 180, 20, 60),
        ColorName("scarlet", .red, 226, 44, 56),
        // orange
        ColorName("orange", .orange, 240, 120, 30),
        ColorName("rust", .orange, 176, 72, 30),
        ColorName("peach", .orange, 250, 196, 160),
        ColorName("coral", .orange, 246, 120, 96),
        ColorName("burnt orange", .orange, 200, 90, 24),
        // yellow
        ColorName("yellow", .yellow, 246, 210, 40),
        ColorName("mustard", .yellow, 212, 166, 40),
        ColorName("lemon", .yellow, 250, 240, 120),
        ColorName("pale yellow", .yellow, 246, 236, 170),
        // purple
        ColorName("purple", .purple, 110, 50, 140),
        ColorName("lavender", .purple, 180, 160, 214),
        ColorName("violet", .purple, 130, 80, 190),
        ColorName("plum", .purple, 96, 40, 80),
        ColorName("mauve", .purple, 176, 130, 160),
        // pink
        ColorName("pink", .pink, 238, 128, 170),
        ColorName("light pink", .pink, 246, 192, 204),
        ColorName("magenta", .pink, 200, 30, 130),
        ColorName("fuchsia", .pink, 220, 50, 150),
        ColorName("rose", .pink, 210, 100, 126),
        // brown
        ColorName("brown", .brown, 110, 70, 40),
        ColorName("coffee brown", .brown, 74, 48, 32),
        ColorName("chocolate", .brown, 60, 36, 24),
        ColorName("tan", .brown, 190, 140, 92),
        ColorName("camel", .brown, 180, 130, 80),
        ColorName("beige", .brown, 222, 204, 170),
        ColorName("khaki", .brown, 190, 172, 128),
        ColorName("taupe", .brown, 140, 124, 108),
        ColorName("nude", .brown, 226, 184, 156),
    ]

    /// The entry nearest to `lab` by CIEDE2000, with its distance.
    public static func nearest(_ lab: Lab) -> (color: ColorName, deltaE: Double) { nearest(lab, among: all) }

    /// Below this chroma (C*ab) a product colour is achromatic: black, grey or white by
    /// lightness. Tuned on the Myntra photos with even ids (see `lookbook-bench
    /// caption-quality`), like the two lightness limits: studio lighting puts black cloth
    /// at L* 15–40 and white cloth at L* 80–95, far from the nominal 0 and 100.
    public static let achromaticChroma = 5.0
    public static let blackBelowL = 42.0
    public static let whiteAboveL = 80.0

    /// The name for a colour measured on a product photo: achromatic colours by lightness
    /// (the nearest black, grey or white name within the band), chromatic ones by the
    /// nearest chromatic name (CIEDE2000). The family is always the returned name's.
    public static func name(forPhotographed lab: Lab) -> ColorName {
        if lab.chroma < achromaticChroma {
            let family: ColorFamily = lab.l < blackBelowL ? .black : lab.l > whiteAboveL ? .white : .grey
            return nearest(lab, among: all.filter { $0.family == family }).color
        }
        return nearest(lab, among: chromatic).color
    }

    /// Names with a hue: every chromatic family plus the tinted whites (cream, ivory, off
    /// white), so a faintly yellow white is named cream rather than beige. Bluish greys
    /// (slate) stay out: a dull navy is blue.
    static let chromatic = all.filter { $0.lab.chroma >= achromaticChroma && ![.black, .grey].contains($0.family) }

    /// The entry of `pool` nearest to `lab` by CIEDE2000.
    public static func nearest(_ lab: Lab, among pool: [ColorName]) -> (color: ColorName, deltaE: Double) {
        var best = pool[0], bestD = Double.infinity
        for c in pool {
            let d = ColorScience.deltaE2000(lab, c.lab)
            if d < bestD { bestD = d; best = c }
        }
        return (best, bestD)
    }

    /// The entry called `name` (case-insensitive), if any.
    public static func named(_ name: String) -> ColorName? {
        let key = name.lowercased()
        return all.first { $0.name == key }
    }
}
