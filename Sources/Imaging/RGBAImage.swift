/// An 8-bit RGBA raster, rows top to bottom, 4 bytes per pixel (R, G, B, A), no padding.
///
/// Alpha is straight (not premultiplied): a transparent pixel keeps its colour bytes.
public struct RGBAImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `width * height * 4` bytes.
    public var pixels: [UInt8]

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: RGBA = RGBA(255, 255, 255)) {
        precondition(width > 0 && height > 0, "image dimensions must be positive")
        self.width = width
        self.height = height
        var row = [UInt8]()
        row.reserveCapacity(width * height * 4)
        for _ in 0..<(width * height) { row.append(fill.r); row.append(fill.g); row.append(fill.b); row.append(fill.a) }
        self.pixels = row
    }

    /// Wraps existing bytes; `pixels.count` must be `width * height * 4`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 4, "pixel buffer does not match dimensions")
        self.width = width; self.height = height; self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> RGBA {
        get {
            let i = (y * width + x) * 4
            return RGBA(pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3])
        }
        set {
            let i = (y * width + x) * 4
            pixels[i] = newValue.r; pixels[i + 1] = newValue.g; pixels[i + 2] = newValue.b; pixels[i + 3] = newValue.a
        }
    }

    /// Mean colour of the pixels in the square of side `2 * radius + 1` around (x, y),
    /// clipped to the image. Used to read a colour back through JPEG noise.
    public func mean(x: Int, y: Int, radius: Int) -> (r: Double, g: Double, b: Double, a: Double) {
        var s = (0.0, 0.0, 0.0, 0.0), n = 0.0
        for yy in max(0, y - radius)...min(height - 1, y + radius) {
            for xx in max(0, x - radius)...min(width - 1, x + radius) {
                let p = self[xx, yy]
                s.0 += Double(p.r); s.1 += Double(p.g); s.2 += Double(p.b); s.3 += Double(p.a); n += 1
            }
        }
        return (s.0 / n, s.1 / n, s.2 / n, s.3 / n)
    }
}

/// One 8-bit RGBA colour.
public struct RGBA: Sendable, Equatable, Hashable, Codable {
    public var r: UInt8, g: UInt8, b: UInt8, a: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8 = 255) {
        self.r = r; self.g = g; self.b = b; self.a = a
    }
}
