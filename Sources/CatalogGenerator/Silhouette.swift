/// Flat drawings of garments in a unit square (x right, y down), painted in order:
/// a later shape covers an earlier one, `.background` cuts holes (bag handles).
struct Silhouette: Sendable {
    /// What a pixel shows; only `.body` carries the product's colour and pattern.
    enum Region: UInt8, Sendable {
        case background = 0
        /// Base colour + pattern: the product's colour.
        case body
        /// Base colour darkened, no pattern: collars, waistbands, pockets, straps.
        case trim
        /// Near black: soles, buttons, frames, zips.
        case dark
        /// Off white: sneaker soles, laces, shirt buttons.
        case light
        /// Gold tone: buckles, chains, clasps.
        case metal
    }

    enum Shape: Sendable {
        case polygon([(Double, Double)])
        case ellipse(cx: Double, cy: Double, rx: Double, ry: Double)

        static func rect(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) -> Shape {
            .polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        }

        var bounds: (Double, Double, Double, Double) {
            switch self {
            case .polygon(let p):
                return (p.map(\.0).min()!, p.map(\.1).min()!, p.map(\.0).max()!, p.map(\.1).max()!)
            case .ellipse(let cx, let cy, let rx, let ry):
                return (cx - rx, cy - ry, cx + rx, cy + ry)
            }
        }

        func contains(_ x: Double, _ y: Double) -> Bool {
            switch self {
            case .ellipse(let cx, let cy, let rx, let ry):
                let dx = (x - cx) / rx, dy = (y - cy) / ry
                return dx * dx + dy * dy <= 1
            case .polygon(let p):
                // Even-odd ray casting.
                var inside = false
                var j = p.count - 1
                for i in 0..<p.count {
                    let (xi, yi) = p[i], (xj, yj) = p[j]
                    if (yi > y) != (yj > y), x < (xj - xi) * (y - yi) / (yj - yi) + xi { inside.toggle() }
                    j = i
                }
                return inside
            }
        }
    }

    var parts: [(Shape, Region)]
    /// A point of the body, away from details, where the base colour shows (the pattern
    /// is aligned so that a base-coloured patch sits here); see `GroundTruth.ImageTruth.probe`.
    var probe: (Double, Double)
    /// Stripes run across (`true`) or down the garment.
    var horizontalStripes = true

    static func of(_ kind: GarmentKind) -> Silhouette {
        switch kind {
        case .tshirt:
            return Silhouette(parts: [
                (.polygon([(0.38, 0.14), (0.27, 0.17), (0.10, 0.33), (0.19, 0.43), (0.29, 0.36), (0.29, 0.88),
                           (0.71, 0.88), (0.71, 0.36), (0.81, 0.43), (0.90, 0.33), (0.73, 0.17), (0.62, 0.14),
                           (0.56, 0.20), (0.44, 0.20)]), .body),
                (.polygon([(0.38, 0.14), (0.44, 0.20), (0.56, 0.20), (0.62, 0.14), (0.58, 0.14), (0.55, 0.175),
                           (0.45, 0.175), (0.42, 0.14)]), .trim),
            ], probe: (0.5, 0.55))
        case .shirt, .blouse, .sweater, .hoodie:
            var parts: [(Shape, Region)] = []
            if kind == .hoodie { parts.append((.ellipse(cx: 0.5, cy: 0.16, rx: 0.15, ry: 0.10), .trim)) }
            parts.append((.polygon([(0.38, 0.13), (0.27, 0.16), (0.12, 0.30), (0.08, 0.80), (0.17, 0.81), (0.27, 0.40),
                                    (0.29, 0.88), (0.71, 0.88), (0.73, 0.40), (0.83, 0.81), (0.92, 0.80), (0.88, 0.30),
                                    (0.73, 0.16), (0.62, 0.13), (0.5, 0.2)]), .body))
            switch kind {
            case .shirt:
                parts.append((.polygon([(0.38, 0.13), (0.5, 0.2), (0.43, 0.26)]), .trim))
                parts.append((.polygon([(0.62, 0.13), (0.5, 0.2), (0.57, 0.26)]), .trim))
                for y in [0.30, 0.42, 0.54, 0.66, 0.78] {
                    parts.append((.ellipse(cx: 0.5, cy: y, rx: 0.013, ry: 0.013), .light))
                }
                return Silhouette(parts: parts, probe: (0.39, 0.55), horizontalStripes: false)
            case .blouse:
                parts.append((.ellipse(cx: 0.5, cy: 0.2, rx: 0.05, ry: 0.035), .trim))
                return Silhouette(parts: parts, probe: (0.5, 0.55), horizontalStripes: false)
            case .sweater:
                parts.append((.rect(0.29, 0.83, 0.71, 0.88), .trim))
                parts.append((.polygon([(0.08, 0.76), (0.17, 0.77), (0.17, 0.81), (0.08, 0.80)]), .trim))
                parts.append((.polygon([(0.83, 0.77), (0.92, 0.76), (0.92, 0.80), (0.83, 0.81)]), .trim))
                return Silhouette(parts: parts, probe: (0.5, 0.55))
            default:
                parts.append((.polygon([(0.36, 0.62), (0.64, 0.62), (0.68, 0.80), (0.32, 0.80)]), .trim))
                parts.append((.rect(0.455, 0.2, 0.465, 0.34), .light))
                parts.append((.rect(0.535, 0.2, 0.545, 0.34), .light))
                return Silhouette(parts: parts, probe: (0.5, 0.48))
            }
        case .trousers, .jeans, .joggers:
            var parts: [(Shape, Region)] = [
                (.polygon([(0.30, 0.10), (0.70, 0.10), (0.73, 0.92), (0.55, 0.92), (0.50, 0.36), (0.45, 0.92),
                           (0.27, 0.92)]), .body),
                (.rect(0.30, 0.10, 0.70, 0.15), .trim),
            ]
            if kind == .joggers {
                parts.append((.rect(0.26, 0.87, 0.46, 0.93), .trim))
                parts.append((.rect(0.54, 0.87, 0.74, 0.93), .trim))
            }
            if kind == .jeans {
                parts.append((.ellipse(cx: 0.36, cy: 0.125, rx: 0.008, ry: 0.008), .metal))
                parts.append((.ellipse(cx: 0.5, cy: 0.125, rx: 0.012, ry: 0.012), .metal))
            }
            return Silhouette(parts: parts, probe: (0.38, 0.6), horizontalStripes: false)
        case .shorts:
            return Silhouette(parts: [
                (.polygon([(0.28, 0.2), (0.72, 0.2), (0.77, 0.68), (0.54, 0.70), (0.50, 0.42), (0.46, 0.70),
                           (0.23, 0.68)]), .body),
                (.rect(0.28, 0.2, 0.72, 0.25), .trim),
            ], probe: (0.36, 0.52))
        case .skirt:
            return Silhouette(parts: [
                (.polygon([(0.35, 0.18), (0.65, 0.18), (0.80, 0.84), (0.20, 0.84)]), .body),
                (.rect(0.35, 0.18, 0.65, 0.23), .trim),
            ], probe: (0.5, 0.55), horizontalStripes: false)
        case .dress:
            return Silhouette(parts: [
                (.polygon([(0.38, 0.10), (0.42, 0.10), (0.44, 0.22), (0.56, 0.22), (0.58, 0.10), (0.62, 0.10),
                           (0.64, 0.26), (0.60, 0.42), (0.80, 0.92), (0.20, 0.92), (0.40, 0.42), (0.36, 0.26)]), .body),
                (.rect(0.40, 0.40, 0.60, 0.44), .trim),
            ], probe: (0.5, 0.66))
        case .coat, .jacket, .blazer:
            let hem = kind == .coat ? 0.93 : 0.76
            let cuff = kind == .coat ? 0.82 : 0.74
            var parts: [(Shape, Region)] = [
                (.polygon([(0.38, 0.10), (0.25, 0.14), (0.10, 0.30), (0.07, cuff), (0.17, cuff + 0.01), (0.26, 0.42),
                           (0.26, hem), (0.74, hem), (0.74, 0.42), (0.83, cuff + 0.01), (0.93, cuff), (0.90, 0.30),
                           (0.75, 0.14), (0.62, 0.10), (0.5, 0.24)]), .body),
            ]
            if kind == .jacket {
                parts.append((.rect(0.495, 0.24, 0.505, hem), .dark))
                parts.append((.rect(0.26, hem - 0.05, 0.74, hem), .trim))
            } else {
                parts.append((.polygon([(0.38, 0.10), (0.5, 0.24), (0.44, 0.38)]), .trim))
                parts.append((.polygon([(0.62, 0.10), (0.5, 0.24), (0.56, 0.38)]), .trim))
                let rows = kind == .coat ? [0.46, 0.60, 0.74] : [0.46, 0.58]
                for y in rows {
                    parts.append((.ellipse(cx: 0.46, cy: y, rx: 0.015, ry: 0.015), .dark))
                    parts.append((.ellipse(cx: 0.54, cy: y, rx: 0.015, ry: 0.015), .dark))
                }
            }
            return Silhouette(parts: parts, probe: (0.36, kind == .coat ? 0.66 : 0.55), horizontalStripes: false)
        case .sneakers:
            return Silhouette(parts: [
                (.polygon([(0.12, 0.62), (0.16, 0.40), (0.34, 0.38), (0.50, 0.48), (0.78, 0.54), (0.88, 0.62),
                           (0.88, 0.68), (0.12, 0.68)]), .body),
                (.rect(0.10, 0.68, 0.90, 0.76), .light),
                (.rect(0.37, 0.43, 0.42, 0.45), .light),
                (.rect(0.42, 0.46, 0.47, 0.48), .light),
                (.rect(0.47, 0.49, 0.52, 0.51), .light),
            ], probe: (0.26, 0.56))
        case .boots:
            return Silhouette(parts: [
                (.polygon([(0.22, 0.16), (0.46, 0.16), (0.48, 0.56), (0.80, 0.62), (0.86, 0.72), (0.86, 0.78),
                           (0.20, 0.78)]), .body),
                (.rect(0.18, 0.78, 0.88, 0.83), .dark),
                (.rect(0.20, 0.83, 0.32, 0.88), .dark),
            ], probe: (0.34, 0.45))
        case .heels:
            return Silhouette(parts: [
                (.polygon([(0.12, 0.48), (0.28, 0.46), (0.52, 0.58), (0.80, 0.56), (0.90, 0.64), (0.88, 0.72),
                           (0.12, 0.72)]), .body),
                (.polygon([(0.12, 0.72), (0.20, 0.72), (0.18, 0.88), (0.15, 0.88)]), .dark),
            ], probe: (0.62, 0.65))
        case .loafers:
            return Silhouette(parts: [
                (.polygon([(0.12, 0.52), (0.40, 0.50), (0.70, 0.54), (0.88, 0.62), (0.88, 0.72), (0.12, 0.72)]), .body),
                (.rect(0.11, 0.72, 0.89, 0.77), .dark),
                (.rect(0.50, 0.55, 0.66, 0.585), .trim),
            ], probe: (0.28, 0.63))
        case .sandals:
            return Silhouette(parts: [
                (.polygon([(0.40, 0.40), (0.56, 0.40), (0.63, 0.67), (0.47, 0.67)]), .body),
                (.polygon([(0.18, 0.50), (0.30, 0.50), (0.34, 0.67), (0.22, 0.67)]), .body),
                (.rect(0.12, 0.66, 0.88, 0.73), .trim),
                (.rect(0.11, 0.73, 0.89, 0.77), .dark),
            ], probe: (0.51, 0.53))
        case .tote:
            return Silhouette(parts: [
                (.ellipse(cx: 0.5, cy: 0.30, rx: 0.19, ry: 0.17), .trim),
                (.ellipse(cx: 0.5, cy: 0.30, rx: 0.14, ry: 0.12), .background),
                (.polygon([(0.22, 0.34), (0.78, 0.34), (0.84, 0.88), (0.16, 0.88)]), .body),
            ], probe: (0.5, 0.62))
        case .crossbody:
            return Silhouette(parts: [
                (.ellipse(cx: 0.5, cy: 0.40, rx: 0.32, ry: 0.30), .trim),
                (.ellipse(cx: 0.5, cy: 0.40, rx: 0.29, ry: 0.27), .background),
                (.polygon([(0.22, 0.50), (0.78, 0.50), (0.80, 0.86), (0.20, 0.86)]), .body),
                (.polygon([(0.22, 0.50), (0.78, 0.50), (0.75, 0.63), (0.25, 0.63)]), .trim),
                (.ellipse(cx: 0.5, cy: 0.63, rx: 0.03, ry: 0.022), .metal),
            ], probe: (0.5, 0.76))
        case .backpack:
            return Silhouette(parts: [
                (.ellipse(cx: 0.5, cy: 0.20, rx: 0.09, ry: 0.07), .trim),
                (.ellipse(cx: 0.5, cy: 0.20, rx: 0.06, ry: 0.045), .background),
                (.polygon([(0.28, 0.22), (0.72, 0.22), (0.78, 0.30), (0.78, 0.88), (0.22, 0.88), (0.22, 0.30)]), .body),
                (.rect(0.32, 0.60, 0.68, 0.82), .trim),
                (.rect(0.32, 0.60, 0.68, 0.615), .dark),
            ], probe: (0.5, 0.42))
        case .cap:
            return Silhouette(parts: [
                (.ellipse(cx: 0.5, cy: 0.60, rx: 0.28, ry: 0.28), .body),
                (.rect(0, 0.60, 1, 1), .background),
                (.polygon([(0.22, 0.57), (0.84, 0.57), (0.93, 0.66), (0.22, 0.63)]), .trim),
                (.ellipse(cx: 0.5, cy: 0.32, rx: 0.025, ry: 0.015), .trim),
            ], probe: (0.5, 0.46))
        case .beanie:
            return Silhouette(parts: [
                (.ellipse(cx: 0.5, cy: 0.54, rx: 0.26, ry: 0.28), .body),
                (.rect(0, 0.64, 1, 1), .background),
                (.rect(0.23, 0.58, 0.77, 0.74), .trim),
                (.ellipse(cx: 0.5, cy: 0.25, rx: 0.07, ry: 0.06), .light),
            ], probe: (0.5, 0.44))
        case .sunHat:
            return Silhouette(parts: [
                (.ellipse(cx: 0.5, cy: 0.62, rx: 0.40, ry: 0.12), .body),
                (.ellipse(cx: 0.5, cy: 0.50, rx: 0.20, ry: 0.17), .body),
                (.rect(0.30, 0.54, 0.70, 0.60), .dark),
            ], probe: (0.5, 0.44))
        case .sunglasses:
            return Silhouette(parts: [
                (.rect(0.08, 0.44, 0.18, 0.47), .dark),
                (.rect(0.82, 0.44, 0.92, 0.47), .dark),
                (.rect(0.44, 0.44, 0.56, 0.47), .dark),
                (.ellipse(cx: 0.32, cy: 0.5, rx: 0.16, ry: 0.13), .dark),
                (.ellipse(cx: 0.68, cy: 0.5, rx: 0.16, ry: 0.13), .dark),
                (.ellipse(cx: 0.32, cy: 0.5, rx: 0.13, ry: 0.10), .body),
                (.ellipse(cx: 0.68, cy: 0.5, rx: 0.13, ry: 0.10), .body),
            ], probe: (0.32, 0.5))
        case .necklace:
            return Silhouette(parts: [
                (.ellipse(cx: 0.5, cy: 0.36, rx: 0.26, ry: 0.26), .metal),
                (.ellipse(cx: 0.5, cy: 0.36, rx: 0.245, ry: 0.245), .background),
                (.ellipse(cx: 0.5, cy: 0.61, rx: 0.025, ry: 0.025), .metal),
                (.ellipse(cx: 0.5, cy: 0.72, rx: 0.11, ry: 0.12), .body),
            ], probe: (0.5, 0.72))
        case .scarf:
            var parts: [(Shape, Region)] = [(.polygon([(0.30, 0.10), (0.70, 0.10), (0.66, 0.84), (0.34, 0.84)]), .body)]
            var x = 0.35
            while x < 0.65 {
                parts.append((.rect(x, 0.84, x + 0.012, 0.90), .trim))
                x += 0.03
            }
            return Silhouette(parts: parts, probe: (0.5, 0.45), horizontalStripes: true)
        case .belt:
            return Silhouette(parts: [
                (.rect(0.06, 0.44, 0.94, 0.56), .body),
                (.rect(0.13, 0.40, 0.28, 0.60), .metal),
                (.rect(0.16, 0.43, 0.25, 0.57), .body),
                (.ellipse(cx: 0.70, cy: 0.5, rx: 0.01, ry: 0.01), .dark),
                (.ellipse(cx: 0.76, cy: 0.5, rx: 0.01, ry: 0.01), .dark),
                (.ellipse(cx: 0.82, cy: 0.5, rx: 0.01, ry: 0.01), .dark),
            ], probe: (0.5, 0.5))
        }
    }
}
