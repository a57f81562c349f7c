import Foundation
import Imaging

/// Everything needed to draw one product photo; the generator derives it from the
/// product's ground truth, so a photo can be re-rendered at any time from its spec.
public struct ImageSpec: Sendable, Equatable, Hashable, Codable {
    public var kind: GarmentKind
    public var pattern: Pattern
    public var base: RGBA
    /// Stripes, check lines, dots, petals. Ignored for solid.
    public var secondary: RGBA
    /// Flower centres (floral only).
    public var tertiary: RGBA
    /// Studio backdrop; with `transparent`, the colour under alpha 0.
    public var background: RGBA
    /// Alpha 0 around the garment (PNG only).
    public var transparent: Bool
    /// Width and height in pixels (square).
    public var size: Int
    /// Seeds the sensor noise, so two products of the same colour differ in bytes.
    public var noiseSeed: UInt64

    public init(kind: GarmentKind, pattern: Pattern, base: RGBA, secondary: RGBA, tertiary: RGBA,
                background: RGBA, transparent: Bool, size: Int, noiseSeed: UInt64) {
        self.kind = kind; self.pattern = pattern; self.base = base; self.secondary = secondary
        self.tertiary = tertiary; self.background = background; self.transparent = transparent
        self.size = size; self.noiseSeed = noiseSeed
    }
}

/// Draws garment photos procedurally, fast enough for benchmark catalogs.
///
/// Each kind's silhouette is rasterised once per size into a template (anti-aliased
/// coverage, region, shading); a photo is then one pass over the template that applies
/// colours, the pattern tile and noise, so the cost per image is a few multiplications
/// per pixel. Thread-safe: templates are built under a lock and never change.
public final class GarmentRenderer: @unchecked Sendable {
    private let lock = NSLock()
    private var templates: [Key: Template] = [:]
    private var tiles: [TileKey: Tile] = [:]

    public init() {}

    private struct Key: Hashable { var kind: GarmentKind; var size: Int }
    private struct TileKey: Hashable { var pattern: Pattern; var size: Int }

    /// The pixel where the product's base colour shows, unpatterned and unshaded
    /// (up to noise and compression), with a margin of at least 2 px around it.
    public func probe(kind: GarmentKind, size: Int) -> (x: Int, y: Int) {
        let t = template(kind, size)
        return (t.probeX, t.probeY)
    }

    public func render(_ spec: ImageSpec) -> RGBAImage {
        let t = template(spec.kind, spec.size)
        let tile = self.tile(spec.pattern, spec.size)
        let n = spec.size
        let period = tile.period
        // Align the pattern so a cell centre (always base colour) sits on the probe.
        let ox = ((period / 2 - t.probeX) % period + period) % period
        let oy = ((period / 2 - t.probeY) % period + period) % period
        let vertical = !t.horizontalStripes

        let base = spec.base, sec = spec.secondary, ter = spec.tertiary
        let trim = RGBA(UInt8(Int(base.r) * 4 / 5), UInt8(Int(base.g) * 4 / 5), UInt8(Int(base.b) * 4 / 5))
        let dark = RGBA(38, 38, 40), light = RGBA(236, 236, 230), metal = RGBA(200, 168, 92)
        let bg = spec.background

        var out = [UInt8](repeating: 0, count: n * n * 4)
        var state = UInt32(truncatingIfNeeded: spec.noiseSeed ^ (spec.noiseSeed >> 32)) | 1
        t.coverage.withUnsafeBufferPointer { cov in
        t.region.withUnsafeBufferPointer { reg in
        t.shade.withUnsafeBufferPointer { shade in
        t.backgroundShade.withUnsafeBufferPointer { bgShade in
        tile.values.withUnsafeBufferPointer { tv in
        out.withUnsafeMutableBufferPointer { px in
            for y in 0..<n {
                let ty = (y + oy) % period
                for x in 0..<n {
                    let i = y * n + x
                    // Xorshift32 sensor noise, triangular in −7…7.
                    state ^= state << 13; state ^= state >> 17; state ^= state << 5
                    let noise = Int(state & 7) + Int((state >> 3) & 7) - 7
                    let o = i * 4
                    let c = Int(cov[i])
                    let bs = Int(bgShade[i])
                    let bgR = (Int(bg.r) * bs) >> 7, bgG = (Int(bg.g) * bs) >> 7, bgB = (Int(bg.b) * bs) >> 7
                    if c == 0 {
                        if spec.transparent {
                            px[o] = bg.r; px[o + 1] = bg.g; px[o + 2] = bg.b; px[o + 3] = 0
                        } else {
                            px[o] = clamp(bgR + noise / 2); px[o + 1] = clamp(bgG + noise / 2)
                            px[o + 2] = clamp(bgB + noise / 2); px[o + 3] = 255
                        }
                        continue
                    }
                    let colour: RGBA
                    switch reg[i] {
                    case 1:
                        let tx = (x + ox) % period
                        let v = vertical ? tv[tx * period + ty] : tv[ty * period + tx]
                        colour = v == 0 ? base : (v == 1 ? sec : ter)
                    case 2: colour = trim
                    case 3: colour = dark
                    case 4: colour = light
                    default: colour = metal
                    }
                    let s = Int(shade[i])
                    // A fine twill on fabric (body and trim): ±4 in a diagonal 4-pixel rhythm.
                    let weave = reg[i] <= 2 ? (((x &+ y) & 3) < 2 ? 4 : -4) : 0
                    var r = ((Int(colour.r) * s) >> 7) + noise + weave
                    var g = ((Int(colour.g) * s) >> 7) + noise + weave
                    var b = ((Int(colour.b) * s) >> 7) + noise + weave
                    if spec.transparent {
                        px[o + 3] = UInt8(c)
                    } else {
                        r = (r * c + bgR * (255 - c)) / 255
                        g = (g * c + bgG * (255 - c)) / 255
                        b = (b * c + bgB * (255 - c)) / 255
                        px[o + 3] = 255
                    }
                    px[o] = clamp(r); px[o + 1] = clamp(g); px[o + 2] = clamp(b)
                }
            }
        }}}}}}
        return RGBAImage(width: n, height: n, pixels: out)
    }

    // MARK: - Templates

    /// A silhouette rasterised at one size. Shade is a fixed-point factor, 128 = 1.0.
    private final class Template: Sendable {
        let coverage: [UInt8]
        let region: [UInt8]
        let shade: [UInt8]
        let backgroundShade: [UInt8]
        let probeX: Int, probeY: Int
        let horizontalStripes: Bool

        init(_ s: Silhouette, size n: Int) {
            let parts = s.parts.map { (shape: $0.0, region: $0.1, bounds: $0.0.bounds) }
            var coverage = [UInt8](repeating: 0, count: n * n)
            var region = [UInt8](repeating: 0, count: n * n)
            // Body bounds drive the cylindrical shading.
            let body = parts.filter { $0.region == .body }.map(\.bounds)
            let bx0 = body.map(\.0).min() ?? 0, by0 = body.map(\.1).min() ?? 0
            let bx1 = body.map(\.2).max() ?? 1, by1 = body.map(\.3).max() ?? 1
            let cx = (bx0 + bx1) / 2, hw = max(0.05, (bx1 - bx0) / 2)
            let cy = (by0 + by1) / 2, hh = max(0.05, (by1 - by0) / 2)
            func shadeAt(_ x: Double, _ y: Double) -> Double {
                let dx = (x - cx) / hw, dy = (y - cy) / hh
                return 1 - 0.16 * dx * dx - 0.06 * dy
            }
            let probeShade = shadeAt(s.probe.0, s.probe.1)
            var shade = [UInt8](repeating: 128, count: n * n)
            var bgShade = [UInt8](repeating: 128, count: n * n)
            let inv = 1 / Double(n)
            for py in 0..<n {
                for px in 0..<n {
                    var hits = 0
                    var topRegion = Silhouette.Region.background
                    for sy in 0..<2 {
                        for sx in 0..<2 {
                            let x = (Double(px) + 0.25 + 0.5 * Double(sx)) * inv
                            let y = (Double(py) + 0.25 + 0.5 * Double(sy)) * inv
                            var r = Silhouette.Region.background
                            for part in parts.reversed() {
                                let b = part.bounds
                                if x < b.0 || x > b.2 || y < b.1 || y > b.3 { continue }
                                if part.shape.contains(x, y) { r = part.region; break }
                            }
                            if r != .background {
                                hits += 1
                                if topRegion == .background || r == .body { topRegion = r }
                            }
                        }
                    }
                    let i = py * n + px
                    coverage[i] = UInt8(hits * 255 / 4)
                    region[i] = topRegion.rawValue
                    let x = (Double(px) + 0.5) * inv, y = (Double(py) + 0.5) * inv
                    shade[i] = UInt8(max(0, min(255, (128 * shadeAt(x, y) / probeShade).rounded())))
                    let rx = (x - 0.5) / 0.5, ry = (y - 0.5) / 0.5
                    bgShade[i] = UInt8(max(0, min(128, (128 * (1 - 0.025 * (rx * rx + ry * ry))).rounded())))
                }
            }
            self.coverage = coverage
            self.region = region
            self.shade = shade
            self.backgroundShade = bgShade
            self.horizontalStripes = s.horizontalStripes
            // The probe pixel: the designed point, nudged to the nearest pixel whose 5×5
            // neighbourhood is all body (buttons and seams avoided).
            let want = (Int(s.probe.0 * Double(n)), Int(s.probe.1 * Double(n)))
            func clean(_ x: Int, _ y: Int) -> Bool {
                guard x >= 2, y >= 2, x < n - 2, y < n - 2 else { return false }
                for yy in (y - 2)...(y + 2) {
                    for xx in (x - 2)...(x + 2) where region[yy * n + xx] != 1 || coverage[yy * n + xx] != 255 {
                        return false
                    }
                }
                return true
            }
            var best = want
            search: for radius in 0..<max(1, n / 4) {
                for dy in -radius...radius {
                    for dx in -radius...radius where max(abs(dx), abs(dy)) == radius {
                        if clean(want.0 + dx, want.1 + dy) { best = (want.0 + dx, want.1 + dy); break search }
                    }
                }
            }
            probeX = best.0; probeY = best.1
        }
    }

    /// One cell of a pattern, `period`² values: 0 base, 1 secondary, 2 tertiary. The
    /// cell centre and its surroundings are always base.
    private final class Tile: Sendable {
        let period: Int
        let values: [UInt8]

        init(_ pattern: Pattern, size: Int) {
            let p = max(6, size / 8)
            period = p
            var v = [UInt8](repeating: 0, count: p * p)
            let P = Double(p)
            // Petal directions at 72° steps (cos, sin), written out to stay libm-free.
            let petals: [(Double, Double)] = [(1, 0), (0.309017, 0.951057), (-0.809017, 0.587785),
                                              (-0.809017, -0.587785), (0.309017, -0.951057)]
            for y in 0..<p {
                for x in 0..<p {
                    let fx = (Double(x) + 0.5) / P, fy = (Double(y) + 0.5) / P
                    // Offset from the nearest cell corner, in periods.
                    let cx = fx < 0.5 ? fx : fx - 1, cy = fy < 0.5 ? fy : fy - 1
                    var value: UInt8 = 0
                    switch pattern {
                    case .solid: break
                    case .striped: if fy < 0.15 || fy >= 0.85 { value = 1 }
                    case .checked: if fy < 0.15 || fy >= 0.85 || fx < 0.15 || fx >= 0.85 { value = 1 }
                    case .dotted: if cx * cx + cy * cy < 0.2 * 0.2 { value = 1 }
                    case .floral:
                        if cx * cx + cy * cy < 0.08 * 0.08 {
                            value = 2
                        } else {
                            for (c, s) in petals {
                                let dx = cx - 0.17 * c, dy = cy - 0.17 * s
                                if dx * dx + dy * dy < 0.1 * 0.1 { value = 1; break }
                            }
                        }
                    }
                    v[y * p + x] = value
                }
            }
            values = v
        }
    }

    private func template(_ kind: GarmentKind, _ size: Int) -> Template {
        lock.lock(); defer { lock.unlock() }
        if let t = templates[Key(kind: kind, size: size)] { return t }
        let t = Template(Silhouette.of(kind), size: size)
        templates[Key(kind: kind, size: size)] = t
        return t
    }

    private func tile(_ pattern: Pattern, _ size: Int) -> Tile {
        lock.lock(); defer { lock.unlock() }
        if let t = tiles[TileKey(pattern: pattern, size: size)] { return t }
        let t = Tile(pattern, size: size)
        tiles[TileKey(pattern: pattern, size: size)] = t
        return t
    }
}

@inline(__always) private func clamp(_ v: Int) -> UInt8 { UInt8(max(0, min(255, v))) }
