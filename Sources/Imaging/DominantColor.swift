import Foundation

/// One colour cluster of a product's foreground.
public struct ColorCluster: Sendable, Equatable {
    /// Mean Lab of the cluster's pixels.
    public var center: Lab
    /// Share of the (weighted) foreground, 0…1; the clusters' shares sum to 1.
    public var share: Double
    /// 10th and 90th percentiles of the cluster's L*: a white garment's lit parts reach
    /// the backdrop's lightness where a light grey one's do not, and a black one's folds
    /// go darker than a charcoal one's.
    public var lowL: Double
    public var highL: Double
    /// Where the cluster lies: its share of the sampled foreground pixels (not centre
    /// weighted) in each cell of a `layoutSide`×`layoutSide` grid laid over the
    /// foreground's bounding box, row-major from the top left. Sums to the cluster's
    /// unweighted share. Empty for clusters made by hand.
    public var layout: [Double]

    /// Cells per side of `layout`.
    public static let layoutSide = 6

    public init(center: Lab, share: Double, lowL: Double? = nil, highL: Double? = nil, layout: [Double] = []) {
        self.center = center; self.share = share; self.lowL = lowL ?? center.l; self.highL = highL ?? center.l
        self.layout = layout
    }
}

/// Dominant colours of a foreground by k-means in CIELAB.
///
/// Deterministic: the pixels are subsampled on a fixed stride, and seeding is k-means++
/// with the farthest candidate taken instead of a random one, starting from the pixel
/// nearest the mean. Clusters closer than `mergeDeltaE` (CIEDE2000) are merged afterwards,
/// so one garment in light and shadow stays one colour.
public enum DominantColors {
    public static let mergeDeltaE = 9.0
    /// Clusters before merging; 3 splits two-tone products too coarsely, 7 gains nothing.
    public static let defaultK = 5
    /// Pixels are weighted by a Gaussian around the frame's centre (σ = `centreSigma` ×
    /// the longer side): photographers centre the product, and in model shots the
    /// product is the garment in the middle, not the trousers, hair or shoes at the edges.
    public static let centreSigma = 0.3

    /// Clusters sorted by (centre-weighted) share, largest first; empty when `mask`
    /// selects no pixel.
    public static func clusters(_ r: LabRaster, mask: [UInt8], k: Int = defaultK, maxSamples: Int = 3000,
                                iterations: Int = 10) -> [ColorCluster] {
        var idx: [Int] = []
        let fg = mask.reduce(0) { $0 + Int($1) }
        guard fg > 0 else { return [] }
        let stride = max(1, fg / maxSamples)
        var seen = 0
        for i in 0..<r.count where mask[i] == 1 {
            if seen % stride == 0 { idx.append(i) }
            seen += 1
        }
        let n = idx.count
        let side = Double(max(r.width, r.height))
        let cx = Double(r.width - 1) / 2, cy = Double(r.height - 1) / 2
        let inv2s2 = 1 / (2 * centreSigma * centreSigma * side * side)
        let weight: [Double] = idx.map { i in
            let dx = Double(i % r.width) - cx, dy = Double(i / r.width) - cy
            return exp(-(dx * dx + dy * dy) * inv2s2)
        }
        let totalWeight = weight.reduce(0, +)
        let pl = idx.map { r.l[$0] }, pa = idx.map { r.a[$0] }, pb = idx.map { r.b[$0] }
        // Seeds.
        let ml = pl.reduce(0, +) / Float(n), ma = pa.reduce(0, +) / Float(n), mb = pb.reduce(0, +) / Float(n)
        func d2(_ i: Int, _ l: Float, _ a: Float, _ b: Float) -> Float {
            let dl = pl[i] - l, da = pa[i] - a, db = pb[i] - b
            return dl * dl + da * da + db * db
        }
        var first = 0, best = Float.infinity
        for i in 0..<n { let d = d2(i, ml, ma, mb); if d < best { best = d; first = i } }
        var cl: [Float] = [pl[first]], ca: [Float] = [pa[first]], cb: [Float] = [pb[first]]
        var nearest = (0..<n).map { d2($0, cl[0], ca[0], cb[0]) }
        while cl.count < min(k, n) {
            var far = 0, farD: Float = -1
            for i in 0..<n where nearest[i] > farD { farD = nearest[i]; far = i }
            if farD < 4 { break }  // everything within ΔE 2 of a seed: fewer colours
            cl.append(pl[far]); ca.append(pa[far]); cb.append(pb[far])
            for i in 0..<n { nearest[i] = min(nearest[i], d2(i, pl[far], pa[far], pb[far])) }
        }
        let kk = cl.count
        var assign = [Int](repeating: 0, count: n)
        for _ in 0..<iterations {
            var changed = false
            var sl = [Float](repeating: 0, count: kk), sa = sl, sb = sl, sn = sl
            for i in 0..<n {
                var bj = 0, bd = Float.infinity
                for j in 0..<kk { let d = d2(i, cl[j], ca[j], cb[j]); if d < bd { bd = d; bj = j } }
                if assign[i] != bj { assign[i] = bj; changed = true }
                sl[bj] += pl[i]; sa[bj] += pa[i]; sb[bj] += pb[i]; sn[bj] += 1
            }
            for j in 0..<kk where sn[j] > 0 { cl[j] = sl[j] / sn[j]; ca[j] = sa[j] / sn[j]; cb[j] = sb[j] / sn[j] }
            if !changed { break }
        }
        var members = [[Int]](repeating: [], count: kk)
        for i in 0..<n { members[assign[i]].append(i) }
        // Clusters carry their members' indices until merging is done, for percentiles.
        var groups: [(ColorCluster, [Int])] = (0..<kk).compactMap { j in
            members[j].isEmpty ? nil
                : (ColorCluster(center: Lab(Double(cl[j]), Double(ca[j]), Double(cb[j])),
                                share: members[j].reduce(0) { $0 + weight[$1] } / totalWeight), members[j])
        }
        // Merge near-identical clusters, closest pair first.
        while groups.count > 1 {
            var bi = 0, bj = 0, bd = Double.infinity
            for i in 0..<groups.count { for j in (i + 1)..<groups.count {
                let d = ColorScience.deltaE2000(groups[i].0.center, groups[j].0.center)
                if d < bd { bd = d; bi = i; bj = j }
            } }
            if bd >= mergeDeltaE { break }
            let p = groups[bi].0, q = groups[bj].0, s = p.share + q.share
            let c = Lab((p.center.l * p.share + q.center.l * q.share) / s, (p.center.a * p.share + q.center.a * q.share) / s,
                        (p.center.b * p.share + q.center.b * q.share) / s)
            groups[bi] = (ColorCluster(center: c, share: s), groups[bi].1 + groups[bj].1)
            groups.remove(at: bj)
        }
        // The foreground's bounding box, for the clusters' layouts.
        var x0 = r.width, x1 = 0, y0 = r.height, y1 = 0
        for i in idx {
            let x = i % r.width, y = i / r.width
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
        }
        let grid = ColorCluster.layoutSide
        let cellW = Double(x1 - x0 + 1) / Double(grid), cellH = Double(y1 - y0 + 1) / Double(grid)
        let out = groups.map { g -> ColorCluster in
            var ls = g.1.map { pl[$0] }
            ls.sort()
            var c = g.0
            c.lowL = Double(ls[ls.count / 10]); c.highL = Double(ls[(ls.count * 9) / 10])
            var layout = [Double](repeating: 0, count: grid * grid)
            for m in g.1 {
                let i = idx[m]
                let gx = min(grid - 1, Int(Double(i % r.width - x0) / cellW))
                let gy = min(grid - 1, Int(Double(i / r.width - y0) / cellH))
                layout[gy * grid + gx] += 1 / Double(n)
            }
            c.layout = layout
            return c
        }
        return out.sorted { $0.share > $1.share }
    }
}
