import Foundation

/// An image in CIELAB at analysis resolution: planar `Float` channels, row-major, plus
/// the (box-averaged) alpha. Built once per image; every pixel-side stage reads it.
public struct LabRaster: Sendable {
    public var width: Int
    public var height: Int
    public var l: [Float]
    public var a: [Float]
    public var b: [Float]
    public var alpha: [UInt8]

    public var count: Int { width * height }

    public func lab(_ i: Int) -> Lab { Lab(Double(l[i]), Double(a[i]), Double(b[i])) }

    /// `image` box-averaged by the smallest integer factor that brings its longer side to
    /// at most `maxSide` pixels, then converted to Lab. Averaging happens in gamma-encoded
    /// sRGB, like any thumbnailer: fine for naming colours, cheap for 12-megapixel photos.
    public init(_ image: RGBAImage, maxSide: Int = 128) {
        let f = max(1, (max(image.width, image.height) + maxSide - 1) / maxSide)
        let w = max(1, image.width / f), h = max(1, image.height / f)
        width = w; height = h
        l = [Float](repeating: 0, count: w * h)
        a = l; b = l
        alpha = [UInt8](repeating: 255, count: w * h)
        let table = ColorScience.linearTable
        let inv = 1.0 / Double(f * f)
        image.pixels.withUnsafeBufferPointer { px in
            for y in 0..<h {
                for x in 0..<w {
                    var r = 0, g = 0, bl = 0, al = 0
                    for yy in (y * f)..<(y * f + f) {
                        var i = (yy * image.width + x * f) * 4
                        for _ in 0..<f {
                            r += Int(px[i]); g += Int(px[i + 1]); bl += Int(px[i + 2]); al += Int(px[i + 3])
                            i += 4
                        }
                    }
                    let o = y * w + x
                    let lab: Lab
                    if f == 1 {
                        lab = ColorScience.lab(UInt8(r), UInt8(g), UInt8(bl))
                    } else {
                        // Interpolate the linearisation table between neighbouring bytes.
                        func lin(_ s: Int) -> Double {
                            let v = Double(s) * inv
                            let i0 = min(254, Int(v))
                            return table[i0] + (table[i0 + 1] - table[i0]) * (v - Double(i0))
                        }
                        let xyz = ColorScience.linearToXYZ(lin(r), lin(g), lin(bl))
                        lab = ColorScience.xyzToLab(xyz.x, xyz.y, xyz.z)
                    }
                    l[o] = Float(lab.l); a[o] = Float(lab.a); b[o] = Float(lab.b)
                    alpha[o] = UInt8((Double(al) * inv).rounded())
                }
            }
        }
    }
}

/// Which pixels of a `LabRaster` belong to the product, and how that was decided.
public struct ForegroundMask: Sendable {
    public enum Method: String, Sendable {
        /// Alpha below one half is background (transparent PNGs).
        case alpha
        /// Flood fill from the border through pixels close to the border's colour.
        case plainBackground
        /// The border is not one colour (a full-bleed photo): everything is foreground.
        case wholeImage
        /// A white-on-white product: the fill ate almost everything, so the mask is the
        /// region enclosed by what it left (or the centre of the frame).
        case lightOnLight
    }

    public var width: Int
    public var height: Int
    /// 1 for foreground, 0 for background, row-major.
    public var mask: [UInt8]
    public var method: Method
    /// The estimated backdrop (the border's median), `nil` for `.alpha`.
    public var background: Lab?

    public var foregroundCount: Int { mask.reduce(0) { $0 + Int($1) } }
    public var foregroundFraction: Double { Double(foregroundCount) / Double(max(1, mask.count)) }
}

/// Separates a product from a studio backdrop: transparent, white or another plain colour.
public enum BackgroundSeparation {
    /// CIEDE2000 distance from the backdrop below which a pixel connected to the border
    /// is backdrop. JPEG noise on a white sweep stays under 2; cream and light-grey
    /// garments sit at 4–8 from white.
    public static let threshold: Double = 3.5
    /// Share of border pixels that must match the border's median for the backdrop to
    /// count as plain.
    public static let plainBorderShare = 0.6

    public static func separate(_ r: LabRaster) -> ForegroundMask {
        let w = r.width, h = r.height, n = r.count
        // Transparent images: alpha decides.
        let transparent = r.alpha.reduce(0) { $0 + ($1 < 128 ? 1 : 0) }
        if transparent > n / 50 {
            var m = r.alpha.map { $0 >= 128 ? UInt8(1) : 0 }
            keepMainComponents(&m, w, h)
            if m.contains(1) { return ForegroundMask(width: w, height: h, mask: m, method: .alpha, background: nil) }
        }

        // The border's median colour, and how much of the border it explains.
        var border: [Int] = []
        border.reserveCapacity(2 * (w + h))
        for x in 0..<w { border.append(x); border.append((h - 1) * w + x) }
        for y in 1..<(h - 1) { border.append(y * w); border.append(y * w + w - 1) }
        func med(_ c: [Float]) -> Double {
            var v = border.map { c[$0] }
            v.sort()
            return Double(v[v.count / 2])
        }
        let bg = Lab(med(r.l), med(r.a), med(r.b))
        let near = border.filter { ColorScience.deltaE76(r.lab($0), bg) < 6 }.count
        if Double(near) < plainBorderShare * Double(border.count) {
            return ForegroundMask(width: w, height: h, mask: [UInt8](repeating: 1, count: n), method: .wholeImage, background: nil)
        }

        // Backdrop-likeness of every pixel, CIEDE2000 only where ΔE76 is inconclusive.
        var isBG = [Bool](repeating: false, count: n)
        for i in 0..<n {
            let lab = r.lab(i)
            let d76 = ColorScience.deltaE76(lab, bg)
            if d76 < threshold { isBG[i] = true } else if d76 < 4 * threshold {
                isBG[i] = ColorScience.deltaE2000(lab, bg) < threshold
            }
        }
        // Flood fill from the border through backdrop-like pixels.
        var m = [UInt8](repeating: 1, count: n)
        var stack: [Int] = border.filter { isBG[$0] }
        for i in stack { m[i] = 0 }
        while let i = stack.popLast() {
            let x = i % w, y = i / w
            if x > 0, m[i - 1] == 1, isBG[i - 1] { m[i - 1] = 0; stack.append(i - 1) }
            if x < w - 1, m[i + 1] == 1, isBG[i + 1] { m[i + 1] = 0; stack.append(i + 1) }
            if y > 0, m[i - w] == 1, isBG[i - w] { m[i - w] = 0; stack.append(i - w) }
            if y < h - 1, m[i + w] == 1, isBG[i + w] { m[i + w] = 0; stack.append(i + w) }
        }
        keepMainComponents(&m, w, h)
        let fg = m.reduce(0) { $0 + Int($1) }
        if fg >= n / 50 {
            return ForegroundMask(width: w, height: h, mask: m, method: .plainBackground, background: bg)
        }
        // Light on light: little survived. Take what survived plus everything inside its
        // bounding box that is not the backdrop's exact colour; failing that, the centre.
        var m2 = [UInt8](repeating: 0, count: n)
        var x0 = w, x1 = -1, y0 = h, y1 = -1
        for i in 0..<n where m[i] == 1 {
            x0 = min(x0, i % w); x1 = max(x1, i % w); y0 = min(y0, i / w); y1 = max(y1, i / w)
        }
        if x1 - x0 < w / 8 || y1 - y0 < h / 8 {
            x0 = w / 4; x1 = w - w / 4; y0 = h / 4; y1 = h - h / 4
        }
        for y in y0...y1 { for x in x0...x1 { m2[y * w + x] = 1 } }
        return ForegroundMask(width: w, height: h, mask: m2, method: .lightOnLight, background: bg)
    }

    /// Keeps the 4-connected foreground components of at least a quarter of the largest
    /// one's size (a pair of shoes stays a pair), dropping specks and stray shadows.
    static func keepMainComponents(_ m: inout [UInt8], _ w: Int, _ h: Int) {
        let n = w * h
        var label = [Int32](repeating: -1, count: n)
        var sizes: [Int] = []
        var stack: [Int] = []
        for s in 0..<n where m[s] == 1 && label[s] < 0 {
            let id = Int32(sizes.count)
            var size = 0
            label[s] = id; stack.append(s)
            while let i = stack.popLast() {
                size += 1
                let x = i % w, y = i / w
                if x > 0, m[i - 1] == 1, label[i - 1] < 0 { label[i - 1] = id; stack.append(i - 1) }
                if x < w - 1, m[i + 1] == 1, label[i + 1] < 0 { label[i + 1] = id; stack.append(i + 1) }
                if y > 0, m[i - w] == 1, label[i - w] < 0 { label[i - w] = id; stack.append(i - w) }
                if y < h - 1, m[i + w] == 1, label[i + w] < 0 { label[i + w] = id; stack.append(i + w) }
            }
            sizes.append(size)
        }
        guard let largest = sizes.max() else { return }
        let minSize = max(largest / 4, 1)
        for i in 0..<n where m[i] == 1 && sizes[Int(label[i])] < minSize { m[i] = 0 }
    }
}
