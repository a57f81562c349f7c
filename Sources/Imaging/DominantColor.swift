import Foundation

/// One colour cluster of a product's foreground.
public struct ColorCluster: Sendable, Equatable {
    /// Mean Lab of the cluster's pixels.
    public var center: Lab
    /// Share of the (weighted) foreground, 0…1; the clusters' shares sum to 1.
    public var share: Double

    public init(center: Lab, share: Double) { self.center = center; self.share = share }
}

/// Dominant colours of a foreground by k-means in CIELAB.
///
/// Deterministic: the pixels are subsampled on a fixed stride, and seeding is k-means++
/// with the farthest candidate taken instead of a random one, starting from the pixel
/// nearest the mean. Clusters closer than `mergeDeltaE` (CIEDE2000) are merged afterwards,
/// so one garment in light and shadow stays one colour.
public enum DominantColors {
    public static let mergeDeltaE = 9.0

    /// Clusters sorted by share, largest first; empty when `mask` selects no pixel.
    public static func clusters(_ r: LabRaster, mask: [UInt8], k: Int = 5, maxSamples: Int = 3000,
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
        var pl = idx.map { r.l[$0] }, pa = idx.map { r.a[$0] }, pb = idx.map { r.b[$0] }
        _ = (pl.count, pa.count, pb.count)
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
        var counts = [Double](repeating: 0, count: kk)
        for i in 0..<n { counts[assign[i]] += 1 }
        var out: [ColorCluster] = (0..<kk).compactMap { j in
            counts[j] > 0 ? ColorCluster(center: Lab(Double(cl[j]), Double(ca[j]), Double(cb[j])), share: counts[j] / Double(n)) : nil
        }
        pl = []; pa = []; pb = []
        // Merge near-identical clusters, closest pair first.
        while out.count > 1 {
            var bi = 0, bj = 0, bd = Double.infinity
            for i in 0..<out.count { for j in (i + 1)..<out.count {
                let d = ColorScience.deltaE2000(out[i].center, out[j].center)
                if d < bd { bd = d; bi = i; bj = j }
            } }
            if bd >= mergeDeltaE { break }
            let p = out[bi], q = out[bj], s = p.share + q.share
            let c = Lab((p.center.l * p.share + q.center.l * q.share) / s, (p.center.a * p.share + q.center.a * q.share) / s,
                        (p.center.b * p.share + q.center.b * q.share) / s)
            out[bi] = ColorCluster(center: c, share: s)
            out.remove(at: bj)
        }
        return out.sorted { $0.share > $1.share }
    }
}
