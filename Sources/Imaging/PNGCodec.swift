import CPNG

/// PNG encoding and decoding of RGBA rasters through libpng's simplified API
/// (`png_image_*`, libpng ≥ 1.6.29), which reports errors in `png_image.message`
/// instead of longjmp-ing, so it is safe to call from Swift.
public enum PNGCodec {
    /// 8-bit RGBA PNG bytes of `image`, alpha kept.
    public static func encode(_ image: RGBAImage) throws -> [UInt8] {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA) // PNG_FORMAT_RGBA (a macro Swift cannot import)
        // The write functions free `opaque` themselves; this is for the early-exit paths.
        defer { png_image_free(&png) }
        let stride = Int32(image.width * 4)
        var size: png_alloc_size_t = 0
        // First call measures, second writes.
        let ok1 = image.pixels.withUnsafeBytes { px in
            png_image_write_to_memory(&png, nil, &size, 0, px.baseAddress, stride, nil)
        }
        guard ok1 != 0, size > 0 else { throw error(png, .encode, "cannot size a \(image.width)×\(image.height) PNG") }
        var out = [UInt8](repeating: 0, count: Int(size))
        let ok2 = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBytes { px in
                png_image_write_to_memory(&png, dst.baseAddress, &size, 0, px.baseAddress, stride, nil)
            }
        }
        guard ok2 != 0 else { throw error(png, .encode, "cannot encode a \(image.width)×\(image.height) PNG") }
        out.removeSubrange(Int(size)...)
        return out
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
