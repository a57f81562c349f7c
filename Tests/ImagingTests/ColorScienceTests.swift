import Imaging
import Testing

/// One row of Sharma, Wu & Dalal (2005), Table 1: two Lab colours and their published ΔE00.
struct SharmaPair: Sendable, CustomTestStringConvertible {
    var n: Int
    var p: Lab
    var q: Lab
    var deltaE: Double
    var testDescription: String { "pair \(n)" }
}

/// The 34 CIEDE2000 test pairs published by Sharma, Wu & Dalal, "The CIEDE2000
/// color-difference formula: implementation notes, supplementary test data, and
/// mathematical observations", Color Res. Appl. 30 (2005), typed from the paper's table.
let sharmaPairs: [SharmaPair] = [
    (1, 50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (2, 50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (3, 50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (4, 50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (5, 50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (6, 50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (7, 50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (8, 50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (9, 50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (10, 50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (11, 50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (12, 50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (13, 50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (14, 50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (15, 50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (16, 50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (17, 50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (18, 50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (19, 50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (20, 50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (21, 50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (22, 50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (23, 50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (24, 50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (25, 60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (26, 63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (27, 61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (28, 35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (29, 22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (30, 36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (31, 90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (32, 90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (33, 6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (34, 2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
].map { SharmaPair(n: $0.0, p: Lab($0.1, $0.2, $0.3), q: Lab($0.4, $0.5, $0.6), deltaE: $0.7) }

@Test(arguments: sharmaPairs)
func ciede2000MatchesSharmaTable(_ pair: SharmaPair) {
    #expect(abs(ColorScience.deltaE2000(pair.p, pair.q) - pair.deltaE) < 0.00005 + 1e-9)
}

@Test(arguments: sharmaPairs)
func ciede2000IsSymmetric(_ pair: SharmaPair) {
    #expect(abs(ColorScience.deltaE2000(pair.p, pair.q) - ColorScience.deltaE2000(pair.q, pair.p)) < 1e-9)
}

struct KnownLab: Sendable, CustomTestStringConvertible {
    var rgb: RGBA
    var lab: Lab
    var testDescription: String { "(\(rgb.r), \(rgb.g), \(rgb.b))" }
}

/// sRGB → CIELAB (D65) values as published by colour calculators that follow IEC
/// 61966-2-1 and CIE 15 (e.g. Lindbloom's, colormine.org).
let knownLabs: [KnownLab] = [
    KnownLab(rgb: RGBA(255, 0, 0), lab: Lab(53.2408, 80.0925, 67.2032)),
    KnownLab(rgb: RGBA(0, 255, 0), lab: Lab(87.7347, -86.1827, 83.1793)),
    KnownLab(rgb: RGBA(0, 0, 255), lab: Lab(32.2970, 79.1875, -107.8602)),
    KnownLab(rgb: RGBA(255, 255, 255), lab: Lab(100, 0, 0)),
    KnownLab(rgb: RGBA(0, 0, 0), lab: Lab(0, 0, 0)),
    KnownLab(rgb: RGBA(128, 128, 128), lab: Lab(53.5850, 0, 0)),
    KnownLab(rgb: RGBA(255, 255, 0), lab: Lab(97.1393, -21.5537, 94.4780)),
]

@Test(arguments: knownLabs)
func srgbToLabMatchesPublishedValues(_ k: KnownLab) {
    let lab = ColorScience.lab(k.rgb)
    #expect(abs(lab.l - k.lab.l) < 0.01)
    #expect(abs(lab.a - k.lab.a) < 0.01)
    #expect(abs(lab.b - k.lab.b) < 0.01)
}

@Test(arguments: knownLabs)
func labToSRGBRoundTrips(_ k: KnownLab) {
    #expect(ColorScience.rgb(ColorScience.lab(k.rgb)) == k.rgb)
}

@Test func linearisationHasTheSRGBBreakpoint() {
    #expect(abs(ColorScience.srgbToLinear(0.04045) - 0.04045 / 12.92) < 1e-12)
    #expect(abs(ColorScience.srgbToLinear(1) - 1) < 1e-12)
    #expect(abs(ColorScience.linearToSRGB(ColorScience.srgbToLinear(0.5)) - 0.5) < 1e-12)
}
