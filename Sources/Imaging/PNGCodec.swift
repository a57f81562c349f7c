import CPNG

/// PNG encoding and decoding of RGBA rasters through libpng's simplified API
/// (`png_image_*`, libpng ≥ 1.6.29), which reports errors in `png_image.message`
/// instead of longjmp-ing, so it is safe to call from Swift.
public enum PNGCodec {
    /// 8-bit RGBA PNG bytes of `image`, alpha kept.
    public static func encode(_ image: RGBAImage) throws -> [UInt8] {
        // One pass into a buffer big enough for incompressible data (raw size plus a
        // filter byte per row plus zlib's and the chunks' overhead); libpng reports the
        // size it needed if that is ever too small, and the write is repeated once.
        let raw = image.width * image.height * 4
        var capacity = raw + image.height + raw / 100 + 4096
        for _ in 0..<2 {
            var png = png_image()
            png.version = UInt32(PNG_IMAGE_VERSION)
            png.width = UInt32(image.width)
            png.height = UInt32(image.height)
            png.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA) // PNG_FORMAT_RGBA (a macro Swift cannot import)
            // The write functions free `opaque` themselves; this is for the failure paths.
            defer { png_image_free(&png) }
            var out = [UInt8](repeating: 0, count: capacity)
            var size = png_alloc_size_t(capacity)
            let ok = out.withUnsafeMutableBytes { dst in
                image.pixels.withUnsafeBytes { px in
                    png_image_write_to_memory(&png, dst.baseAddress, &size, 0, px.baseAddress, Int32(image.width * 4), nil)
                }
            }
            if ok != 0 {
                out.removeSubrange(Int(size)...)
                return out
            }
            guard Int(size) > capacity else {
                throw error(png, .encode, "cannot encode a \(image.width)×\(image.height) PNG")
            }
            capacity = Int(size)
        }
        throw ImagingError(.encode, "cannot encode a \(image.width)×\(image.height) PNG", underlying: "libpng: output buffer still too small")
    }

    /// Decodes any PNG (palette, grey, 16-bit…) to 8-bit RGBA.
    public static func decode(_ bytes: [UInt8]) throws -> RGBAImage {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&png) }
        let ok = bytes.withUnsafeBytes { b in png_image_begin_read_from_memory(&png, b.baseAddress, b.count) }
        guard ok != 0 else { throw error(png, .decode, "not a readable PNG") }
        png.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA) // PNG_FORMAT_RGBA (a macro Swift cannot import)
        let width = Int(png.width), height = Int(png.height)
        guard width > 0, height > 0 else { throw ImagingError(.decode, "PNG has no pixels") }
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        let ok2 = pixels.withUnsafeMutableBytes { dst in
            png_image_finish_read(&png, nil, dst.baseAddress, Int32(width * 4), nil)
        }
        guard ok2 != 0 else { throw error(png, .decode, "cannot decode a \(width)×\(height) PNG") }
        return RGBAImage(width: width, height: height, pixels: pixels)
    }

    /// The one place libpng's simplified-API failures become errors.
    private static func error(_ png: png_image, _ code: ImagingError.Code, _ message: String) -> ImagingError {
        var m = png.message
        let text = withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return ImagingError(code, message, underlying: "libpng: " + (text.isEmpty ? "unknown error" : text))
    }
}
