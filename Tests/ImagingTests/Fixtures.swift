import TestSupport
import Imaging

/// Images made in the test, so no binary fixture is checked in: rasters with known
/// colours, and PNGs written byte by byte for the layouts libpng's simplified writer
/// cannot produce (sRGB 16-bit without gAMA, palette, grey).
enum Fixtures {
    /// Four quadrants: red, green, blue, and half-transparent yellow.
    static func quadrants(width: Int = 64, height: Int = 48, alpha: Bool = true) -> RGBAImage {
        var image = RGBAImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                image[x, y] = quadrantColour(x: x, y: y, width: width, height: height, alpha: alpha)
            }
        }
        return image
    }

    static func quadrantColour(x: Int, y: Int, width: Int, height: Int, alpha: Bool = true) -> RGBA {
        switch (x < width / 2, y < height / 2) {
        case (true, true): return RGBA(220, 20, 30)
        case (false, true): return RGBA(30, 180, 60)
        case (true, false): return RGBA(20, 40, 200)
        case (false, false): return RGBA(240, 220, 40, alpha ? 128 : 255)
        }
    }

    /// A large image without a per-pixel Swift loop (debug builds are slow): horizontal
    /// bands of colour, so both DCT scaling and colour survive checking.
    static func bands(width: Int, height: Int, colours: [RGBA]) -> RGBAImage {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 4)
        for (i, c) in colours.enumerated() {
            let rows = (i + 1) * height / colours.count - i * height / colours.count
            let row = [UInt8](unsafeUninitializedCapacity: width * 4) { buf, n in
                for x in 0..<width { buf[4 * x] = c.r; buf[4 * x + 1] = c.g; buf[4 * x + 2] = c.b; buf[4 * x + 3] = c.a }
                n = width * 4
            }
            for _ in 0..<rows { pixels += row }
        }
        return RGBAImage(width: width, height: height, pixels: pixels)
    }

    /// `jpeg` with an APP1 Exif segment right after SOI whose IFD0 holds only the
    /// orientation tag (0x0112, SHORT), in big- or little-endian TIFF.
    static func withExifOrientation(_ jpeg: [UInt8], _ value: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        let tiff = (bigEndian ? Array("MM".utf8) : Array("II".utf8)) + u16(42) + u32(8)
            + u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(value) + [0, 0] + u32(0)
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }

    // MARK: - PNG by hand

    /// A PNG from raw scanlines (without filter bytes, added here as filter 0) and IHDR
    /// fields, plus any extra chunks before IDAT (PLTE, tRNS…).
    static func png(width: Int, height: Int, bitDepth: UInt8, colourType: UInt8, scanlines: [[UInt8]],
                    chunksBeforeIDAT: [(String, [UInt8])] = []) -> [UInt8] {
        var raw: [UInt8] = []
        for line in scanlines { raw.append(0); raw += line }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, colourType, 0, 0, 0])
        for (type, data) in chunksBeforeIDAT { out += chunk(type, data) }
        out += chunk("IDAT", zlibStored(raw))
        out += chunk("IEND", [])
        return out
    }

    static func be32(_ v: UInt32) -> [UInt8] { ImageFixtures.be32(v) }
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] { ImageFixtures.chunk(type, data) }
    static func zlibStored(_ data: [UInt8]) -> [UInt8] { ImageFixtures.zlibStored(data) }

    /// Byte offset of the first chunk of `type` (its length field).
    static func chunkOffset(_ png: [UInt8], _ type: String) -> Int? {
        var i = 8
        while i + 8 <= png.count {
            let length = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            if String(decoding: png[i + 4..<i + 8], as: UTF8.self) == type { return i }
            i += 12 + length
        }
        return nil
    }
}
