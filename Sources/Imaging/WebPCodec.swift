import CWebP

/// WebP decoding (still and animated) and encoding through libwebp.
///
/// libwebp is stateless for still images; the animation decoder is created per call and
/// freed on the line after. All calls are thread-safe.
public enum WebPCodec {
    /// What `decode` returns.
    public struct Output: Sendable {
        public var image: RGBAImage
        /// The canvas size the file declares, before scaling.
        public var sourceWidth: Int, sourceHeight: Int
        /// Frames in the file; only the first is decoded.
        public var frameCount: Int
    }

    /// Decodes a still WebP (lossy, lossless, with or without alpha) to RGBA, or the first
    /// frame of an animated one (the full canvas, as a viewer shows it before playing).
    ///
    /// The declared size is checked against `maxPixels` before anything is allocated.
    /// With a `targetSize`, a still image whose short side is at least twice as long is
    /// scaled by libwebp while decoding (area averaging), by the same integer factor the
    /// box filter would use; an animation's first frame is box-filtered after decoding.
    public static func decode(_ bytes: UnsafeRawBufferPointer, maxPixels: Int, targetSize: Int?) throws(ImagingError) -> Output {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw ImagingError(.empty, "the WebP has 0 bytes")
        }
        var features = WebPBitstreamFeatures()
        try check(WebPGetFeatures(base, bytes.count, &features), "not a readable WebP")
        let width = Int(features.width), height = Int(features.height)
        guard width > 0, height > 0 else { throw ImagingError(.decode, "the WebP declares no pixels") }
        guard width * height <= maxPixels else {
            throw ImagingError(.tooLarge, "the WebP declares \(width)×\(height) pixels, more than the limit of \(maxPixels)")
        }
        if features.has_animation != 0 {
            return try firstFrame(base, bytes.count, maxPixels: maxPixels, targetSize: targetSize)
        }

        let factor = RGBAImage.reductionFactor(width: width, height: height, targetSize: targetSize)
        let w = (width + factor - 1) / factor, h = (height + factor - 1) / factor
        var config = WebPDecoderConfig()
        guard WebPInitDecoderConfig(&config) != 0 else {
            throw ImagingError(.codecUnavailable, "libwebp decoder version mismatch")
        }
        defer { WebPFreeDecBuffer(&config.output) }  // a no-op for our buffer; owns any other
        if factor > 1 {
            config.options.use_scaling = 1
            config.options.scaled_width = Int32(w)
            config.options.scaled_height = Int32(h)
        }
        var status = VP8_STATUS_OK
        let pixels = [UInt8](unsafeUninitializedCapacity: w * h * 4) { dst, count in
            config.output.colorspace = MODE_RGBA
            config.output.is_external_memory = 1
            config.output.u.RGBA.rgba = dst.baseAddress
            config.output.u.RGBA.stride = Int32(w * 4)
            config.output.u.RGBA.size = w * h * 4
            status = WebPDecode(base, bytes.count, &config)
            count = w * h * 4
        }
        try check(status, "cannot decode a \(width)×\(height) WebP")
        return Output(image: RGBAImage(width: w, height: h, pixels: pixels),
                      sourceWidth: width, sourceHeight: height, frameCount: 1)
    }

    private static func firstFrame(_ base: UnsafePointer<UInt8>, _ count: Int, maxPixels: Int, targetSize: Int?) throws(ImagingError) -> Output {
        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else {
            throw ImagingError(.codecUnavailable, "libwebpdemux version mismatch")
        }
        options.color_mode = MODE_RGBA
        options.use_threads = 0
        var data = WebPData(bytes: base, size: count)
        // WebPAnimDecoder reports no message of its own: nil means the container or a
        // frame header is malformed.
        guard let decoder = WebPAnimDecoderNew(&data, &options) else {
            throw ImagingError(.decode, "cannot read the animated WebP's frames", underlying: "libwebpdemux: WebPAnimDecoderNew failed")
        }
        defer { WebPAnimDecoderDelete(decoder) }
        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0 else {
            throw ImagingError(.decode, "cannot read the animated WebP's canvas", underlying: "libwebpdemux: WebPAnimDecoderGetInfo failed")
        }
        let width = Int(info.canvas_width), height = Int(info.canvas_height)
        guard width > 0, height > 0, width * height <= maxPixels else {
            throw ImagingError(.tooLarge, "the animated WebP's canvas is \(width)×\(height) pixels, more than the limit of \(maxPixels)")
        }
        var frame: UnsafeMutablePointer<UInt8>? = nil
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &frame, &timestamp) != 0, let frame else {
            throw ImagingError(.decode, "cannot decode the animated WebP's first frame", underlying: "libwebpdemux: WebPAnimDecoderGetNext failed")
        }
        // The canvas belongs to the decoder: copy it out before `defer` frees it.
        let canvas = RGBAImage(width: width, height: height,
                               pixels: Array(UnsafeBufferPointer(start: frame, count: width * height * 4)))
        let factor = RGBAImage.reductionFactor(width: width, height: height, targetSize: targetSize)
        return Output(image: canvas.boxDownscaled(by: factor), sourceWidth: width, sourceHeight: height,
                      frameCount: Int(info.frame_count))
    }

    // MARK: - Encoding

    /// WebP bytes of `image`, alpha kept. `quality` (0–100) applies to lossy files.
    public static func encode(_ image: RGBAImage, quality: Int = 90, lossless: Bool = false) throws(ImagingError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>? = nil
        let size = image.pixels.withUnsafeBufferPointer { px in
            lossless
                ? WebPEncodeLosslessRGBA(px.baseAddress, Int32(image.width), Int32(image.height), Int32(image.width * 4), &output)
                : WebPEncodeRGBA(px.baseAddress, Int32(image.width), Int32(image.height), Int32(image.width * 4),
                                 Float(max(0, min(100, quality))), &output)
        }
        defer { WebPFree(output) }
        guard size > 0, let output else {
            throw ImagingError(.encode, "cannot encode a \(image.width)×\(image.height) WebP", underlying: "libwebp: WebPEncode failed")
        }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    /// An animated WebP of same-sized `frames`, each shown for `frameMilliseconds`,
    /// losslessly encoded. Animated product images are rare in catalogs; this exists so
    /// that tests and sample catalogs can contain one.
    public static func encodeAnimation(_ frames: [RGBAImage], frameMilliseconds: Int = 100) throws(ImagingError) -> [UInt8] {
        guard let first = frames.first, frames.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw ImagingError(.encode, "an animation needs at least one frame, all of the same size")
        }
        var options = WebPAnimEncoderOptions()
        var config = WebPConfig()
        guard WebPAnimEncoderOptionsInit(&options) != 0, WebPConfigInit(&config) != 0 else {
            throw ImagingError(.codecUnavailable, "libwebpmux version mismatch")
        }
        config.lossless = 1
        guard let encoder = WebPAnimEncoderNew(Int32(first.width), Int32(first.height), &options) else {
            throw ImagingError(.codecUnavailable, "cannot create a WebP animation encoder")
        }
        defer { WebPAnimEncoderDelete(encoder) }
        var timestamp: Int32 = 0
        for frame in frames {
            var picture = WebPPicture()
            guard WebPPictureInit(&picture) != 0 else { throw ImagingError(.codecUnavailable, "libwebp version mismatch") }
            defer { WebPPictureFree(&picture) }
            picture.use_argb = 1
            picture.width = Int32(frame.width)
            picture.height = Int32(frame.height)
            let imported = frame.pixels.withUnsafeBufferPointer { WebPPictureImportRGBA(&picture, $0.baseAddress, Int32(frame.width * 4)) }
            guard imported != 0, WebPAnimEncoderAdd(encoder, &picture, timestamp, &config) != 0 else {
                throw animationError(encoder)
            }
            timestamp += Int32(frameMilliseconds)
        }
        var data = WebPData()
        defer { WebPDataClear(&data) }
        guard WebPAnimEncoderAdd(encoder, nil, timestamp, nil) != 0, WebPAnimEncoderAssemble(encoder, &data) != 0,
              let bytes = data.bytes else {
            throw animationError(encoder)
        }
        return Array(UnsafeBufferPointer(start: bytes, count: data.size))
    }

    private static func animationError(_ encoder: OpaquePointer) -> ImagingError {
        let text = WebPAnimEncoderGetError(encoder).map { String(cString: $0) } ?? "unknown error"
        return ImagingError(.encode, "cannot encode a WebP animation", underlying: "libwebpmux: " + text)
    }

    // MARK: - Status codes

    /// The one place libwebp status codes become errors. A stream that stops early is
    /// `truncated`; a feature libwebp lacks is `unsupported`.
    static func check(_ status: VP8StatusCode, _ message: String) throws(ImagingError) {
        let code: ImagingError.Code
        let name: String
        switch status {
        case VP8_STATUS_OK: return
        case VP8_STATUS_NOT_ENOUGH_DATA: (code, name) = (.truncated, "VP8_STATUS_NOT_ENOUGH_DATA")
        case VP8_STATUS_UNSUPPORTED_FEATURE: (code, name) = (.unsupported, "VP8_STATUS_UNSUPPORTED_FEATURE")
        case VP8_STATUS_OUT_OF_MEMORY: (code, name) = (.codecUnavailable, "VP8_STATUS_OUT_OF_MEMORY")
        case VP8_STATUS_BITSTREAM_ERROR: (code, name) = (.decode, "VP8_STATUS_BITSTREAM_ERROR")
        case VP8_STATUS_INVALID_PARAM: (code, name) = (.decode, "VP8_STATUS_INVALID_PARAM")
        default: (code, name) = (.decode, "VP8StatusCode \(status.rawValue)")
        }
        throw ImagingError(code, message, underlying: "libwebp: " + name)
    }
}
