/// The EXIF orientation of a JPEG, and the raster as a viewer shows it.
///
/// Phones store the sensor's rows as they come and record the rotation in EXIF tag 0x0112;
/// every viewer applies it, so a retailer who photographs a shirt upright sees it upright.
/// Decoding applies it too, or stripes would be read across instead of down.
public enum ExifOrientation: Int, Sendable, CaseIterable {
    case up = 1, mirrored = 2, down = 3, mirroredDown = 4
    case transposed = 5, rotatedClockwise = 6, transverse = 7, rotatedCounterClockwise = 8

    /// The orientation in a JPEG's APP1 Exif segment (IFD0), or nil when there is none or
    /// it cannot be read. Reads only the marker segments before the first scan; never
    /// reads out of bounds whatever the offsets say.
    public static func read(jpeg p: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard p.count >= 4, p[0] == 0xFF, p[1] == 0xD8 else { return nil }
        var i = 2
        while i + 4 <= p.count, p[i] == 0xFF {
            let marker = p[i + 1]
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan / end of image
            if marker == 0xFF { i += 1; continue }  // fill byte
            let length = Int(p[i + 2]) << 8 | Int(p[i + 3])
            guard length >= 2, i + 2 + length <= p.count else { return nil }
            if marker == 0xE1, length >= 16,
               p[i + 4] == 0x45, p[i + 5] == 0x78, p[i + 6] == 0x69, p[i + 7] == 0x66, p[i + 8] == 0, p[i + 9] == 0 {
                return tiff(UnsafeRawBufferPointer(rebasing: p[(i + 10)..<(i + 2 + length)]))
            }
            i += 2 + length
        }
        return nil
    }

    /// IFD0's orientation entry in a TIFF structure (`II*\0` or `MM\0*`).
    private static func tiff(_ t: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard t.count >= 8 else { return nil }
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= t.count else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for n in 0..<min(entries, 512) {
            let e = ifd + 2 + 12 * n
            guard let tag = u16(e) else { return nil }
            if tag == 0x0112 {
                guard u16(e + 2) == 3, let value = u16(e + 8) else { return nil }  // SHORT
                return ExifOrientation(rawValue: value)
            }
        }
        return nil
    }

    /// `image` as a viewer shows it: mirrored and/or rotated; width and height swap for
    /// the four orientations that turn by 90°.
    public func apply(to image: RGBAImage) -> RGBAImage {
        guard self != .up else { return image }
        let W = image.width, H = image.height
        let swaps = rawValue >= 5
        let w = swaps ? H : W, h = swaps ? W : H
        var out = [UInt8](repeating: 0, count: w * h * 4)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<h {
                    for ox in 0..<w {
                        // The stored pixel that shows at (ox, oy).
                        let (sx, sy): (Int, Int) = switch self {
                        case .up: (ox, oy)
                        case .mirrored: (W - 1 - ox, oy)
                        case .down: (W - 1 - ox, H - 1 - oy)
                        case .mirroredDown: (ox, H - 1 - oy)
                        case .transposed: (oy, ox)
                        case .rotatedClockwise: (oy, H - 1 - ox)
                        case .transverse: (W - 1 - oy, H - 1 - ox)
                        case .rotatedCounterClockwise: (W - 1 - oy, ox)
                        }
                        let s = (sy * W + sx) * 4, d = (oy * w + ox) * 4
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]; dst[d + 3] = src[s + 3]
                    }
                }
            }
        }
        return RGBAImage(width: w, height: h, pixels: out)
    }
}
