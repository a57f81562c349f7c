import Foundation

/// The surface pattern of a product, as far as pixels show it.
public enum PatternKind: String, Sendable, CaseIterable {
    case solid, striped, checked, dotted, floral
}

/// Texture measurements of a product's interior (the foreground eroded by two pixels, so
/// the silhouette's own outline does not count as texture).
public struct PatternFeatures: Sendable, Equatable {
    /// Interior pixels measured.
    public var interior: Int
    /// Share of interior pixels whose lightness gradient is a real edge (≥ `edgeGradient`).
    public var edgeDensity: Double
    /// Gradient orientation histogram of the edge pixels, magnitude-weighted, normalised:
    /// `orientationBins` bins over 0…180°.
    public var orientations: [Double]
    /// Share of edge energy within ±15° of the strongest orientation.
    public var dominantShare: Double
    /// Share of edge energy within ±15° of the orientation perpendicular to it.
    public var perpendicularShare: Double
    /// Compact, roughly round blobs of off-colour pixels (size between 3 pixels and 3 % of
    /// the interior), and how many of them have a centre of another colour (a flower's
    /// heart).
    public var blobs: Int
    public var multiColourBlobs: Int
    /// Share of the off-colour pixels that lie in those blobs.
    public var blobCoverage: Double
    /// Line structure of the product's core (the central half of the main colour's
    /// bounding box, at the best resolution available), from its lightness with the
    /// slow shading removed: `rowShare` is the share of the fine texture's energy that
    /// the row means carry (1 for perfect horizontal stripes, about ½ for checks, near 0
    /// for a print or noise), `columnShare` the same for columns. Folds and prints average
    /// out in row and column means; stripes and checks do not.
    public var rowShare: Double = 0
    public var columnShare: Double = 0
    /// Share of the row (column) energy around the strongest row (column), ± the
    /// detrending radius: small for repeating stripes, near 1 for one seam, placket or hem.
    public var rowSpike: Double = 1
    public var columnSpike: Double = 1
    /// RMS of the fine texture in the core, in L* units: JPEG noise and soft folds stay
    /// around 1–2, printed stripes and checks reach 5 and more.
    public var coreContrast: Double = 0
}

/// Solid, striped, checked, dotted or floral from gradient orientations and blobs.
///
/// Stripes put almost all edge energy in one orientation; checks split it between two
/// perpendicular ones; dots are many small round blobs of one other colour; prints and
/// florals are textured without either structure. Anything with few edges is solid.
public enum PatternClassifier {
    public static let edgeGradient: Float = 12
    public static let orientationBins = 12
    /// Below this edge density the product is solid (shading and JPEG noise stay under).
    /// This and the next two were set on the generator's photos and on Myntra apparel
    /// whose titles name a pattern (even ids): real photos have folds, seams and logos.
    public static let solidBelow = 0.1
    /// Checks need at least this edge density.
    public static let checkedAbove = 0.2
    /// Texture without stripes, checks or blobs is a print (floral) above this density.
    public static let printedAbove = 0.25
    /// Line-structure limits (see `PatternFeatures.rowShare`), set on Myntra apparel with
    /// even ids whose titles name a pattern: checks need texture of at least
    /// `checkedContrast` L* RMS in the core with both row and column means carrying
    /// `checkedLineShare` of it; stripes need `stripedContrast` with one direction's means
    /// carrying `stripedLineShare`, spread over many rows (`stripedMaxSpike`), not one seam.
    public static let checkedContrast = 10.0
    public static let checkedLineShare = 0.04
    public static let stripedContrast = 4.0
    public static let stripedLineShare = 0.3
    public static let stripedMaxSpike = 0.5

    public static func classify(_ r: LabRaster, mask: [UInt8], clusters: [ColorCluster], main: Int = 0,
                                image: RGBAImage? = nil) -> PatternKind {
        classify(features(r, mask: mask, clusters: clusters, main: main, image: image))
    }

    /// Fewer interior pixels than this: too small to measure, solid.
    public static let minimumInterior = 64

    public static func classify(_ f: PatternFeatures) -> PatternKind {
        if f.interior < minimumInterior { return .solid }
        let blobby = f.blobs >= 6 && f.blobCoverage >= 0.6
        let twoOrientations = f.dominantShare + f.perpendicularShare >= 0.7 && f.perpendicularShare >= 0.2
        if blobby && f.multiColourBlobs * 2 >= f.blobs { return .floral }
        if blobby && !twoOrientations { return .dotted }
        let fewEdges = f.edgeDensity < solidBelow
        if !fewEdges && f.dominantShare >= 0.6 && f.perpendicularShare < 0.15 { return .striped }
        if twoOrientations && f.edgeDensity >= checkedAbove { return .checked }
        // Line structure of the core: on real photos fine checks and stripes are too
        // small for the orientation histogram at analysis size, but their rows and
        // columns keep their means.
        if f.coreContrast >= checkedContrast && min(f.rowShare, f.columnShare) >= checkedLineShare { return .checked }
        let (lines, spike) = f.rowShare >= f.columnShare ? (f.rowShare, f.rowSpike) : (f.columnShare, f.columnSpike)
        if f.coreContrast >= stripedContrast && lines >= stripedLineShare && spike <= stripedMaxSpike { return .striped }
        if fewEdges { return .solid }
        if blobby { return .dotted }
        // Textured without structure: a print when there is a lot of it; folds, seams
        // and logos on a plain garment stay below.
        return f.edgeDensity >= printedAbove ? .floral : .solid
    }

    /// `main` is the index in `clusters` of the product's main colour: only the part of
    /// the foreground within 3 pixels of that colour is measured, so a model's face,
    /// arms and jeans do not count as the shirt's print. `image`, when given, is the
    /// decoded photo the raster was made from: the core's line structure is measured on
    /// it, where fine stripes are not yet averaged away.
    public static func features(_ r: LabRaster, mask: [UInt8], clusters: [ColorCluster], main: Int = 0,
                                image: RGBAImage? = nil) -> PatternFeatures {
        let w = r.width, h = r.height
        // Nearest cluster of every foreground pixel.
        var nearest = [Int8](repeating: -1, count: w * h)
        for i in 0..<(w * h) where mask[i] == 1 {
            var bj = 0, bd = Float.infinity
            for (j, c) in clusters.enumerated() {
                let dl = r.l[i] - Float(c.center.l), da = r.a[i] - Float(c.center.a), db = r.b[i] - Float(c.center.b)
                let d = dl * dl + da * da + db * db
                if d < bd { bd = d; bj = j }
            }
            nearest[i] = Int8(bj)
        }
        let mainColour = Int8(main)
        // Interior: foreground pixels whose 5×5 neighbourhood is all foreground and whose
        // 7×7 neighbourhood holds the main colour.
        var interior = [Bool](repeating: false, count: w * h)
        var count = 0
        if w > 6 && h > 6 {
            for y in 3..<(h - 3) {
                for x in 3..<(w - 3) where mask[y * w + x] == 1 {
                    var all = true
                    for dy in -2...2 where all { for dx in -2...2 where mask[(y + dy) * w + x + dx] == 0 { all = false; break } }
                    guard all else { continue }
                    var nearMain = clusters.isEmpty
                    for dy in -3...3 where !nearMain { for dx in -3...3 where nearest[(y + dy) * w + x + dx] == mainColour { nearMain = true; break } }
                    if nearMain { interior[y * w + x] = true; count += 1 }
                }
            }
        }
        let bins = orientationBins
        var hist = [Double](repeating: 0, count: bins)
        var edges = 0
        for y in 1..<max(1, h - 1) {
            for x in 1..<max(1, w - 1) where interior[y * w + x] {
                // Colour gradient: the structure tensor of the L*, a*, b* gradients, so a
                // red-on-green print with equal lightness still has edges. Chroma counts
                // half: JPEG's subsampled chroma is noisy at this scale.
                let i = y * w + x
                let lx = (r.l[i + 1] - r.l[i - 1]) / 2, ly = (r.l[i + w] - r.l[i - w]) / 2
                let ax = (r.a[i + 1] - r.a[i - 1]) / 4, ay = (r.a[i + w] - r.a[i - w]) / 4
                let bx = (r.b[i + 1] - r.b[i - 1]) / 4, by = (r.b[i + w] - r.b[i - w]) / 4
                let jxx = lx * lx + ax * ax + bx * bx, jyy = ly * ly + ay * ay + by * by
                let jxy = lx * ly + ax * ay + bx * by
                let root = ((jxx - jyy) * (jxx - jyy) + 4 * jxy * jxy).squareRoot()
                let m = ((jxx + jyy + root) / 2).squareRoot()
                guard m >= edgeGradient else { continue }
                edges += 1
                var angle = 0.5 * atan2(Double(2 * jxy), Double(jxx - jyy))  // −π/2…π/2
                if angle < 0 { angle += .pi }
                hist[min(bins - 1, Int(angle / .pi * Double(bins)))] += Double(m)
            }
        }
        let total = hist.reduce(0, +)
        if total > 0 { hist = hist.map { $0 / total } }
        func around(_ b: Int) -> Double { hist[(b + bins - 1) % bins] + hist[b] + hist[(b + 1) % bins] }
        let peak = (0..<bins).max { around($0) < around($1) } ?? 0
        let dominant = total > 0 ? around(peak) : 0
        let perpendicular = total > 0 ? around((peak + bins / 2) % bins) : 0

        // Off-colour pixels: interior pixels nearer another cluster than the main one.
        var blobs = 0, multi = 0, inBlobs = 0, off = 0
        if clusters.count >= 2 {
            for i in 0..<(w * h) where interior[i] && nearest[i] != mainColour { off += 1 }
            var seen = [Bool](repeating: false, count: w * h)
            var stack: [Int] = []
            let maxBlob = max(3, count * 3 / 100)
            for s in 0..<(w * h) where interior[s] && nearest[s] != mainColour && !seen[s] {
                seen[s] = true; stack.append(s)
                var size = 0, x0 = w, x1 = 0, y0 = h, y1 = 0
                var colours = [Int](repeating: 0, count: clusters.count)
                while let i = stack.popLast() {
                    size += 1
                    colours[Int(nearest[i])] += 1
                    let x = i % w, y = i / w
                    x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
                    for j in [i - 1, i + 1, i - w, i + w] where j >= 0 && j < w * h && interior[j] && nearest[j] != mainColour && !seen[j] {
                        if (j == i - 1 && x == 0) || (j == i + 1 && x == w - 1) { continue }
                        seen[j] = true; stack.append(j)
                    }
                }
                let bw = x1 - x0 + 1, bh = y1 - y0 + 1
                let round = Double(size) / Double(bw * bh) >= 0.45 && max(bw, bh) <= 2 * min(bw, bh)
                if size >= 3 && size <= maxBlob && round {
                    blobs += 1; inBlobs += size
                    // A flower's heart is a few pixels of a third colour.
                    // A flower has a heart of another colour: its centre is not the colour of
                    // its petals, where a dot's centre is the dot's colour.
                    let major = colours.indices.max { colours[$0] < colours[$1] } ?? 0
                    if Int(nearest[((y0 + y1) / 2) * w + (x0 + x1) / 2]) != major { multi += 1 }
                }
            }
        }
        var out = PatternFeatures(interior: count, edgeDensity: count > 0 ? Double(edges) / Double(count) : 0,
                                  orientations: hist, dominantShare: dominant, perpendicularShare: perpendicular,
                                  blobs: blobs, multiColourBlobs: multi,
                                  blobCoverage: off > 0 ? Double(inBlobs) / Double(off) : 0)
        // The core: the central half of the main colour's bounding box.
        var x0 = w, x1 = -1, y0 = h, y1 = -1
        for i in 0..<(w * h) where nearest[i] == mainColour {
            let x = i % w, y = i / w
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
        }
        if x1 >= x0 && y1 >= y0 {
            let cw = Double(x1 - x0 + 1), ch = Double(y1 - y0 + 1)
            let core = (x0: Double(x0) + cw / 4, y0: Double(y0) + ch / 4, x1: Double(x0) + cw * 3 / 4, y1: Double(y0) + ch * 3 / 4)
            if let image, image.width >= w, image.height >= h {
                let sx = Double(image.width) / Double(w), sy = Double(image.height) / Double(h)
                let ix0 = Int(core.x0 * sx), iy0 = Int(core.y0 * sy), ix1 = Int(core.x1 * sx), iy1 = Int(core.y1 * sy)
                image.pixels.withUnsafeBufferPointer { px in
                    lineStructure(&out, width: ix1 - ix0, height: iy1 - iy0) { x, y in
                        let i = ((iy0 + y) * image.width + ix0 + x) * 4
                        // Gamma-encoded luma on the L* scale (0…100): close enough for texture.
                        return (0.299 * Float(px[i]) + 0.587 * Float(px[i + 1]) + 0.114 * Float(px[i + 2])) / 2.55
                    }
                }
            } else {
                let cx0 = Int(core.x0), cy0 = Int(core.y0)
                lineStructure(&out, width: Int(core.x1) - cx0, height: Int(core.y1) - cy0) { x, y in
                    r.l[(cy0 + y) * w + cx0 + x]
                }
            }
        }
        return out
    }

    /// Half-width of the moving averages that remove slow shading before the line
    /// structure is measured: texture finer than about 2·`detrendRadius` + 1 pixels counts.
    static let detrendRadius = 3

    /// Share of a detrended profile's energy within `detrendRadius` samples of its
    /// strongest sample: one line (and the dip the detrending leaves beside it) is all
    /// of it, repeating stripes spread it over the whole window.
    static func spike(_ p: [Double], energy: Double) -> Double {
        guard energy > 0, let top = p.indices.max(by: { p[$0] * p[$0] < p[$1] * p[$1] }) else { return 1 }
        let lo = max(0, top - detrendRadius), hi = min(p.count - 1, top + detrendRadius)
        return p[lo...hi].reduce(0) { $0 + $1 * $1 } / energy
    }

    /// Fills the line-structure fields of `f` from a `width`×`height` lightness window.
    static func lineStructure(_ f: inout PatternFeatures, width: Int, height: Int, lightness: (Int, Int) -> Float) {
        guard width >= 12 && height >= 12 else { return }
        var v = [Float](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { v[y * width + x] = lightness(x, y) } }
        // Moving average along one axis of a 1-D profile, clipped at the ends.
        func detrended(_ p: [Double]) -> [Double] {
            let k = detrendRadius
            return p.indices.map { i in
                let lo = max(0, i - k), hi = min(p.count - 1, i + k)
                var s = 0.0
                for j in lo...hi { s += p[j] }
                return p[i] - s / Double(hi - lo + 1)
            }
        }
        var rows = [Double](repeating: 0, count: height), cols = [Double](repeating: 0, count: width)
        for y in 0..<height { for x in 0..<width { let t = Double(v[y * width + x]); rows[y] += t; cols[x] += t } }
        rows = detrended(rows.map { $0 / Double(width) })
        cols = detrended(cols.map { $0 / Double(height) })
        // Fine texture: each pixel minus the mean of its (2k+1)² box, by an integral image.
        let k = detrendRadius, iw = width + 1
        var integral = [Double](repeating: 0, count: iw * (height + 1))
        for y in 0..<height {
            var run = 0.0
            for x in 0..<width {
                run += Double(v[y * width + x])
                integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + run
            }
        }
        var fine = 0.0
        for y in 0..<height {
            let ya = max(0, y - k), yb = min(height, y + k + 1)
            for x in 0..<width {
                let xa = max(0, x - k), xb = min(width, x + k + 1)
                let sum = integral[yb * iw + xb] - integral[ya * iw + xb] - integral[yb * iw + xa] + integral[ya * iw + xa]
                let d = Double(v[y * width + x]) - sum / Double((yb - ya) * (xb - xa))
                fine += d * d
            }
        }
        fine /= Double(width * height)
        let rowEnergy = rows.reduce(0) { $0 + $1 * $1 }, colEnergy = cols.reduce(0) { $0 + $1 * $1 }
        f.coreContrast = fine.squareRoot()
        guard fine > 0 else { return }
        f.rowShare = rowEnergy / Double(height) / fine
        f.columnShare = colEnergy / Double(width) / fine
        f.rowSpike = spike(rows, energy: rowEnergy)
        f.columnSpike = spike(cols, energy: colEnergy)
    }
}
