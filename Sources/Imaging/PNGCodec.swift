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
        try bytes.withUnsafeBytes { (b) throws(ImagingError) in try decode(b, maxPixels: Int.max) }
    }

    /// Decodes any PNG (palette, grey with or without alpha, 1- to 16-bit) to 8-bit RGBA,
    /// alpha kept. The size in IHDR is checked against `maxPixels` before the pixel
    /// buffer is allocated.
    ///
    /// A 16-bit file without gAMA, sRGB or iCCP chunks is read as sRGB, as image editors
    /// mean it (libpng would otherwise assume linear light and brighten it); CRC errors
    /// are refused as `decode` with libpng's message (`libpng: IDAT: CRC error`), a file
    /// that stops early as `truncated`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, maxPixels: Int) throws(ImagingError) -> RGBAImage {
        guard bytes.count > 0 else { throw ImagingError(.empty, "the PNG has 0 bytes") }
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&png) }
        let ok = png_image_begin_read_from_memory(&png, bytes.baseAddress, bytes.count)
        guard ok != 0 else { throw error(png, .decode, "not a readable PNG") }
        let width = Int(png.width), height = Int(png.height)
        guard width > 0, height > 0 else { throw ImagingError(.decode, "the PNG declares no pixels") }
        guard width * height <= maxPixels else {
            throw ImagingError(.tooLarge, "the PNG declares \(width)×\(height) pixels, more than the limit of \(maxPixels)")
        }
        png.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA) // PNG_FORMAT_RGBA (a macro Swift cannot import)
        png.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        var ok2: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 4) { dst, count in
            ok2 = png_image_finish_read(&png, nil, dst.baseAddress, Int32(width * 4), nil)
            count = width * height * 4
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
        // The simplified API's memory reader says this, and only this, when the bytes end
        // before the image does.
        if code == .decode, text == "read beyond end of data" {
            return ImagingError(.truncated, "the PNG ends before its image data", underlying: "libpng: " + text)
        }
        return ImagingError(code, message, underlying: "libpng: " + (text.isEmpty ? "unknown error" : text))
    }
}
