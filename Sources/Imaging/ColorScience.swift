import Foundation

/// A CIELAB colour (D65 white, 2° observer): `l` 0…100, `a` green(−)…red(+),
/// `b` blue(−)…yellow(+).
public struct Lab: Sendable, Equatable, Hashable, Codable {
    public var l: Double
    public var a: Double
    public var b: Double
    public init(_ l: Double, _ a: Double, _ b: Double) { self.l = l; self.a = a; self.b = b }

    /// Chroma C*ab = √(a² + b²).
    public var chroma: Double { (a * a + b * b).squareRoot() }
    /// Hue angle h_ab in degrees, 0…360 (0 = +a red, 90 = +b yellow, 180 green, 270 blue).
    public var hue: Double {
        let h = atan2(b, a) * 180 / .pi
        return h < 0 ? h + 360 : h
    }
}

/// Colour conversions and differences, pure functions on `Double`.
///
/// The chain is sRGB (IEC 61966-2-1, 8-bit gamma-encoded) → linear RGB → CIE XYZ (D65,
/// Y of white = 1) → CIELAB. Colour differences are CIEDE2000 (Sharma, Wu & Dalal 2005),
/// which weights hue and chroma the way people see them: use it wherever "how different
/// do these look" matters, and the cheaper ΔE*ab (`deltaE76`) only to prune.
public enum ColorScience {
    /// D65 reference white, the XYZ of sRGB (255, 255, 255) through `linearToXYZ`.
    public static let whiteD65 = (x: 0.95047, y: 1.0, z: 1.08883)

    /// One gamma-encoded sRGB component (0…1) to linear light (0…1).
    public static func srgbToLinear(_ v: Double) -> Double {
        v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
    }

    /// Linear light (0…1) to gamma-encoded sRGB (0…1), clamped.
    public static func linearToSRGB(_ v: Double) -> Double {
        let c = min(max(v, 0), 1)
        return c <= 0.0031308 ? c * 12.92 : 1.055 * pow(c, 1 / 2.4) - 0.055
    }

    /// `srgbToLinear` of every 8-bit value, so per-pixel conversion is a table look-up.
    public static let linearTable: [Double] = (0..<256).map { srgbToLinear(Double($0) / 255) }

    /// Linear sRGB to XYZ (D65), the IEC 61966-2-1 matrix.
    public static func linearToXYZ(_ r: Double, _ g: Double, _ b: Double) -> (x: Double, y: Double, z: Double) {
        (0.4124564 * r + 0.3575761 * g + 0.1804375 * b,
         0.2126729 * r + 0.7151522 * g + 0.0721750 * b,
         0.0193339 * r + 0.1191920 * g + 0.9503041 * b)
    }

    /// XYZ (D65) to linear sRGB, the inverse of `linearToXYZ` (unclamped).
    public static func xyzToLinear(_ x: Double, _ y: Double, _ z: Double) -> (r: Double, g: Double, b: Double) {
        (3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
         -0.9692660 * x + 1.8760108 * y + 0.0415560 * z,
         0.0556434 * x - 0.2040259 * y + 1.0572252 * z)
    }

    /// XYZ (D65) to CIELAB.
    public static func xyzToLab(_ x: Double, _ y: Double, _ z: Double) -> Lab {
        let fx = labF(x / whiteD65.x), fy = labF(y / whiteD65.y), fz = labF(z / whiteD65.z)
        return Lab(116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    }

    /// CIELAB to XYZ (D65).
    public static func labToXYZ(_ lab: Lab) -> (x: Double, y: Double, z: Double) {
        let fy = (lab.l + 16) / 116, fx = fy + lab.a / 500, fz = fy - lab.b / 200
        return (whiteD65.x * labFInverse(fx), whiteD65.y * labFInverse(fy), whiteD65.z * labFInverse(fz))
    }

    /// 8-bit sRGB to CIELAB.
    public static func lab(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Lab {
        let t = linearTable
        let xyz = linearToXYZ(t[Int(r)], t[Int(g)], t[Int(b)])
        return xyzToLab(xyz.x, xyz.y, xyz.z)
    }

    public static func lab(_ c: RGBA) -> Lab { lab(c.r, c.g, c.b) }

    /// CIELAB to 8-bit sRGB, rounded and clamped to the gamut's cube.
    public static func rgb(_ lab: Lab) -> RGBA {
        let xyz = labToXYZ(lab)
        let lin = xyzToLinear(xyz.x, xyz.y, xyz.z)
        func byte(_ v: Double) -> UInt8 { UInt8((linearToSRGB(v) * 255).rounded()) }
        return RGBA(byte(lin.r), byte(lin.g), byte(lin.b))
    }

    private static let epsilon = 216.0 / 24389.0  // (6/29)³
    private static let kappa = 24389.0 / 27.0

    @inline(__always) static func labF(_ t: Double) -> Double {
        t > epsilon ? cbrt(t) : (kappa * t + 16) / 116
    }

    @inline(__always) static func labFInverse(_ f: Double) -> Double {
        let f3 = f * f * f
        return f3 > epsilon ? f3 : (116 * f - 16) / kappa
    }

    /// ΔE*ab (CIE76): Euclidean distance in Lab.
    public static func deltaE76(_ p: Lab, _ q: Lab) -> Double {
        let dl = p.l - q.l, da = p.a - q.a, db = p.b - q.b
        return (dl * dl + da * da + db * db).squareRoot()
    }

    /// CIEDE2000 ΔE00 with parametric factors kL = kC = kH = 1, exactly as in Sharma, Wu &
    /// Dalal, "The CIEDE2000 color-difference formula: implementation notes, supplementary
    /// test data, and mathematical observations" (2005), including their conventions for
    /// hue angles when a chroma is zero. Symmetric in its arguments.
    public static func deltaE2000(_ p: Lab, _ q: Lab) -> Double {
        let rad = Double.pi / 180
        let c1 = p.chroma, c2 = q.chroma
        let cBar = (c1 + c2) / 2
        let cBar7 = pow(cBar, 7)
        let g = 0.5 * (1 - (cBar7 / (cBar7 + 6_103_515_625)).squareRoot())  // 25⁷
        let a1 = (1 + g) * p.a, a2 = (1 + g) * q.a
        let c1p = (a1 * a1 + p.b * p.b).squareRoot(), c2p = (a2 * a2 + q.b * q.b).squareRoot()
        func hueAngle(_ b: Double, _ a: Double) -> Double {
            if a == 0 && b == 0 { return 0 }
            let h = atan2(b, a) / rad
            return h < 0 ? h + 360 : h
        }
        let h1p = hueAngle(p.b, a1), h2p = hueAngle(q.b, a2)

        let dLp = q.l - p.l
        let dCp = c2p - c1p
        var dhp = 0.0
        if c1p * c2p != 0 {
            dhp = h2p - h1p
            if dhp > 180 { dhp -= 360 } else if dhp < -180 { dhp += 360 }
        }
        let dHp = 2 * (c1p * c2p).squareRoot() * sin(dhp / 2 * rad)

        let lBarP = (p.l + q.l) / 2
        let cBarP = (c1p + c2p) / 2
        var hBarP = h1p + h2p
        if c1p * c2p != 0 {
            if abs(h1p - h2p) <= 180 { hBarP /= 2 } else if h1p + h2p < 360 { hBarP = (hBarP + 360) / 2 } else { hBarP = (hBarP - 360) / 2 }
        }
        let t = 1 - 0.17 * cos((hBarP - 30) * rad) + 0.24 * cos(2 * hBarP * rad)
            + 0.32 * cos((3 * hBarP + 6) * rad) - 0.20 * cos((4 * hBarP - 63) * rad)
        let dTheta = 30 * exp(-pow((hBarP - 275) / 25, 2))
        let cBarP7 = pow(cBarP, 7)
        let rc = 2 * (cBarP7 / (cBarP7 + 6_103_515_625)).squareRoot()
        let l50 = (lBarP - 50) * (lBarP - 50)
        let sl = 1 + 0.015 * l50 / (20 + l50).squareRoot()
        let sc = 1 + 0.045 * cBarP
        let sh = 1 + 0.015 * cBarP * t
        let rt = -sin(2 * dTheta * rad) * rc
        let tl = dLp / sl, tc = dCp / sc, th = dHp / sh
        return (tl * tl + tc * tc + th * th + rt * tc * th).squareRoot()
    }
}
