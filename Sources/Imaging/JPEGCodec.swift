import CTurboJPEG

/// Encodes RGBA rasters as baseline JPEG (4:2:0 chroma subsampling) with libturbojpeg.
///
/// Alpha is dropped: callers composite onto a background first. One instance owns one
/// TurboJPEG handle; reuse it for many images (it is not thread-safe, make one per
/// thread).
public final class JPEGEncoder {
    private let handle: tjhandle

    public init() throws {
        guard let h = tjInitCompress() else {
            throw ImagingError(.codecUnavailable, "cannot create a JPEG compressor", underlying: TurboJPEG.lastError(nil))
        }
        handle = h
    }

    deinit { tjDestroy(handle) }

    /// JPEG bytes of `image`; `quality` is libjpeg's 1–100 scale.
    public func encode(_ image: RGBAImage, quality: Int) throws -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let rc = image.pixels.withUnsafeBufferPointer { px in
            tjCompress2(handle, px.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(TJPF_RGBA.rawValue),
                        &buffer, &size, Int32(TJSAMP_420.rawValue), Int32(max(1, min(100, quality))), 0)
        }
        defer { if let buffer { tjFree(buffer) } }
        try TurboJPEG.check(rc, handle, .encode, "cannot encode a \(image.width)×\(image.height) JPEG")
        guard let buffer else { throw ImagingError(.encode, "JPEG encoder returned no data") }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }
}

/// Decodes JPEG bytes to RGBA (alpha 255) with libturbojpeg. Not thread-safe.
public final class JPEGDecoder {
    private let handle: tjhandle

    public init() throws {
        guard let h = tjInitDecompress() else {
            throw ImagingError(.codecUnavailable, "cannot create a JPEG decompressor", underlying: TurboJPEG.lastError(nil))
        }
        handle = h
    }

    deinit { tjDestroy(handle) }

    public func decode(_ bytes: [UInt8]) throws -> RGBAImage {
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let rc = bytes.withUnsafeBufferPointer { b in
            tjDecompressHeader3(handle, b.baseAddress, UInt(b.count), &width, &height, &subsamp, &colorspace)
        }
        try TurboJPEG.check(rc, handle, .decode, "not a readable JPEG")
        guard width > 0, height > 0 else { throw ImagingError(.decode, "JPEG has no pixels") }
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 4)
        let rc2 = pixels.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { b in
                tjDecompress2(handle, b.baseAddress, UInt(b.count), dst.baseAddress, width, 0, height,
                              Int32(TJPF_RGBA.rawValue), 0)
            }
        }
        try TurboJPEG.check(rc2, handle, .decode, "cannot decode a \(width)×\(height) JPEG")
        return RGBAImage(width: Int(width), height: Int(height), pixels: pixels)
    }
}

/// The one place TurboJPEG return codes are checked.
enum TurboJPEG {
    static func lastError(_ handle: tjhandle?) -> String {
        guard let s = tjGetErrorStr2(handle) else { return "libturbojpeg: unknown error" }
        return "libturbojpeg: " + String(cString: s)
    }

    static func check(_ rc: Int32, _ handle: tjhandle, _ code: ImagingError.Code, _ message: String) throws {
        guard rc != 0 else { return }
        // Warnings (TJERR_WARNING) still produce a usable image; only fatal errors throw.
        if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) { return }
        throw ImagingError(code, message, underlying: lastError(handle))
    }
}
