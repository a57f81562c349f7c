import CTurboJPEG

/// Encodes RGBA rasters as JPEG with libturbojpeg.
///
/// Alpha is dropped: callers composite onto a background first. One instance owns one
/// TurboJPEG handle; reuse it for many images (it is not thread-safe, make one per
/// thread).
public final class JPEGEncoder {
    /// How the pixels are stored in the file. `.grey` keeps only luma (one component);
    /// `.cmyk` writes a four-component Adobe YCCK file, as print workflows do, with the
    /// RGB → CMYK conversion libjpeg-turbo's own tools use.
    public enum ColorSpace: Sendable { case rgb, grey, cmyk }

    private let handle: tjhandle

    public init() throws {
        guard let h = tjInitCompress() else {
            throw ImagingError(.codecUnavailable, "cannot create a JPEG compressor", underlying: TurboJPEG.lastError(nil))
        }
        handle = h
    }

    deinit { tjDestroy(handle) }

    /// JPEG bytes of `image`; `quality` is libjpeg's 1–100 scale. RGB files use 4:2:0
    /// chroma subsampling; `progressive` writes a multi-scan file.
    public func encode(_ image: RGBAImage, quality: Int, colorSpace: ColorSpace = .rgb,
                       progressive: Bool = false) throws -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let source = colorSpace == .cmyk ? CMYK.fromRGBA(image.pixels) : image.pixels
        let format = colorSpace == .cmyk ? TJPF_CMYK : TJPF_RGBA
        let subsampling = colorSpace == .grey ? TJSAMP_GRAY : TJSAMP_420
        let flags = progressive ? TJFLAG_PROGRESSIVE : 0
        let rc = source.withUnsafeBufferPointer { px in
            tjCompress2(handle, px.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(format.rawValue),
                        &buffer, &size, Int32(subsampling.rawValue), Int32(max(1, min(100, quality))), flags)
        }
        defer { if let buffer { tjFree(buffer) } }
        try TurboJPEG.check(rc, handle, "cannot encode a \(image.width)×\(image.height) JPEG")
        guard let buffer else { throw ImagingError(.encode, "JPEG encoder returned no data") }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }
}

/// Decodes JPEG bytes to RGBA (alpha 255) with libturbojpeg. Not thread-safe: one
/// instance per task.
///
/// Greyscale files come out as grey RGB; CMYK and YCCK files (print workflows, Photoshop
/// exports) are decoded to CMYK and converted with the same formula libjpeg-turbo uses.
/// A file that ends before its image data does is refused (`truncated`) rather than
/// returned with the missing part painted grey, which would skew every colour feature;
/// other libjpeg warnings on a complete file are returned with the image.
public final class JPEGDecoder {
    /// What `decode` returns: the pixels and libjpeg's warnings about a complete file.
    public struct Output: Sendable {
        public var image: RGBAImage
        /// The size the file declares, before DCT scaling.
        public var sourceWidth: Int, sourceHeight: Int
        /// e.g. `libturbojpeg: Corrupt JPEG data: 2 extraneous bytes before marker 0xd9`.
        public var warnings: [String]
    }

    private let handle: tjhandle

    public init() throws(ImagingError) {
        guard let h = tjInitDecompress() else {
            throw ImagingError(.codecUnavailable, "cannot create a JPEG decompressor", underlying: TurboJPEG.lastError(nil))
        }
        handle = h
    }

    deinit { tjDestroy(handle) }

    /// The full-size image.
    public func decode(_ bytes: [UInt8]) throws(ImagingError) -> RGBAImage {
        try bytes.withUnsafeBytes { b in
            Result { () throws(ImagingError) in try decode(b, maxPixels: Int.max, targetSize: nil) }
        }.get().image
    }

    /// Decodes with the coarsest DCT scaling (1/8, 1/4, 3/8, … 7/8) that keeps the short
    /// side at least `targetSize` (no scaling when the image is already that small or
    /// `targetSize` is nil). Scaling inside the IDCT skips most of the work: a 4000×3000
    /// photo with target 512 decodes at 1/4, to 1000×750.
    ///
    /// The declared size is checked against `maxPixels` before any pixel is allocated.
    public func decode(_ bytes: UnsafeRawBufferPointer, maxPixels: Int, targetSize: Int?) throws(ImagingError) -> Output {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw ImagingError(.empty, "the JPEG has 0 bytes")
        }
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let rc = tjDecompressHeader3(handle, base, UInt(bytes.count), &width, &height, &subsamp, &colorspace)
        let headerWarning = try TurboJPEG.check(rc, handle, "not a readable JPEG", decoding: bytes)
        guard width > 0, height > 0 else {  // the tables ended (or the bytes did) before a frame header
            let underlying = headerWarning ?? "libturbojpeg: no frame header"
            throw TurboJPEG.hasEndMarker(bytes)
                ? ImagingError(.decode, "not a readable JPEG", underlying: underlying)
                : ImagingError(.truncated, "the JPEG ends before its frame header (\(bytes.count) bytes)", underlying: underlying)
        }
        let sourcePixels = Int(width) * Int(height)
        guard sourcePixels <= maxPixels else {
            throw ImagingError(.tooLarge, "the JPEG declares \(width)×\(height) pixels, more than the limit of \(maxPixels)")
        }

        let factor = TurboJPEG.scalingFactor(width: Int(width), height: Int(height), targetSize: targetSize)
        let w = Int(TurboJPEG.scaled(width, factor)), h = Int(TurboJPEG.scaled(height, factor))
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let format = isCMYK ? TJPF_CMYK : TJPF_RGBA
        // LIMITSCANS: a progressive file with thousands of tiny scans is refused instead
        // of taking minutes (a known denial of service of progressive JPEG).
        func decompress(stopOnWarning: Bool) -> (Int32, [UInt8]) {
            var rc: Int32 = 0
            let pixels = [UInt8](unsafeUninitializedCapacity: w * h * 4) { buffer, count in
                rc = tjDecompress2(handle, base, UInt(bytes.count), buffer.baseAddress, Int32(w), 0, Int32(h),
                                   Int32(format.rawValue), TJFLAG_LIMITSCANS | (stopOnWarning ? TJFLAG_STOPONWARNING : 0))
                count = w * h * 4
            }
            return (rc, pixels)
        }
        // The first pass stops at the first warning, so its outcome is unambiguous (see
        // `TurboJPEG.check`). Only a complete file with a recoverable problem needs the
        // second pass, which decodes past the warning.
        let message = "cannot decode a \(width)×\(height) JPEG"
        var (rc2, pixels) = decompress(stopOnWarning: true)
        var warnings: [String] = []
        if let warning = try TurboJPEG.check(rc2, handle, message, decoding: bytes) {
            (rc2, pixels) = decompress(stopOnWarning: false)
            try TurboJPEG.check(rc2, handle, message, pastWarning: warning)
            warnings.append(warning)
        }
        if isCMYK { CMYK.toRGBA(&pixels) }
        return Output(image: RGBAImage(width: w, height: h, pixels: pixels),
                      sourceWidth: Int(width), sourceHeight: Int(height), warnings: warnings)
    }
}

/// The one place TurboJPEG return codes are checked.
enum TurboJPEG {
    static func lastError(_ handle: tjhandle?) -> String {
        guard let s = tjGetErrorStr2(handle) else { return "libturbojpeg: unknown error" }
        return "libturbojpeg: " + String(cString: s)
    }

    /// Throws on a fatal error; returns the library's text when the call succeeded with a
    /// warning (`TJERR_WARNING`), nil when it succeeded cleanly.
    ///
    /// When decoding (`bytes` given): libjpeg meets the end of a cut file with a warning
    /// (`Premature end of JPEG file`) and pads the rest with grey, and TurboJPEG 2.x
    /// reports a fatal error that follows a warning as a warning too. So a warning on a
    /// file without its EOI marker is `truncated`; on a complete file it is returned, and
    /// is trustworthy only from a call made with `TJFLAG_STOPONWARNING`.
    @discardableResult
    static func check(_ rc: Int32, _ handle: tjhandle, _ message: String,
                      decoding bytes: UnsafeRawBufferPointer? = nil) throws(ImagingError) -> String? {
        guard rc != 0 else { return nil }
        let text = lastError(handle)
        guard tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) else {
            guard bytes != nil else { throw ImagingError(.encode, message, underlying: text) }
            // libjpeg's JERR_SOF_UNSUPPORTED, JERR_BAD_PRECISION…: a valid file of a kind
            // it does not decode (lossless, hierarchical, 12-bit), not a damaged one.
            if text.hasPrefix("libturbojpeg: Unsupported JPEG") {
                throw ImagingError(.unsupported, "a JPEG variant libjpeg-turbo does not decode (lossless, hierarchical or 12-bit)",
                                   underlying: text)
            }
            throw ImagingError(.decode, message, underlying: text)
        }
        if let bytes, !hasEndMarker(bytes) {
            throw ImagingError(.truncated, "the JPEG ends before its image data (\(bytes.count) bytes)", underlying: text)
        }
        return text
    }

    /// After a call without `TJFLAG_STOPONWARNING` on a file whose first warning is
    /// known: libjpeg prints only the first warning, so any other last message is a fatal
    /// error that came after it.
    static func check(_ rc: Int32, _ handle: tjhandle, _ message: String, pastWarning warning: String) throws(ImagingError) {
        guard rc != 0 else { return }
        let text = lastError(handle)
        if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue), text == warning { return }
        throw ImagingError(.decode, message, underlying: text)
    }

    /// The scaling factors libturbojpeg offers, read once.
    static let factors: [tjscalingfactor] = {
        var n: Int32 = 0
        guard let p = tjGetScalingFactors(&n), n > 0 else { return [tjscalingfactor(num: 1, denom: 1)] }
        return Array(UnsafeBufferPointer(start: p, count: Int(n)))
    }()

    /// `TJSCALED`: a dimension scaled by a factor, rounded up.
    static func scaled(_ dimension: Int32, _ f: tjscalingfactor) -> Int32 {
        (dimension * f.num + f.denom - 1) / f.denom
    }

    /// The smallest factor ≤ 1 whose scaled short side is still ≥ `targetSize`; 1/1 when
    /// there is no target or the image is not larger than it.
    static func scalingFactor(width: Int, height: Int, targetSize: Int?) -> tjscalingfactor {
        let one = tjscalingfactor(num: 1, denom: 1)
        guard let targetSize, targetSize > 0 else { return one }
        let short = Int32(min(width, height))
        var best = one
        for f in factors where f.num <= f.denom && scaled(short, f) >= targetSize {
            if f.num * best.denom < best.num * f.denom { best = f }
        }
        return best
    }

    /// Whether an EOI marker (FF D9) is in the last 4 KiB. Entropy-coded data stuffs every
    /// FF with 00, so FF D9 there is a real marker; a few bytes of padding after it are fine.
    static func hasEndMarker(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 2 else { return false }
        var i = bytes.count - 2
        let stop = max(0, bytes.count - 4096)
        while i >= stop {
            if bytes[i] == 0xFF, bytes[i + 1] == 0xD9 { return true }
            i -= 1
        }
        return false
    }
}

/// CMYK as libjpeg-turbo stores it: Adobe's inverted convention (255 = no ink), which is
/// also what Photoshop writes. The formulas are libjpeg-turbo's `cmyk.h`; exact colour
/// needs an ICC profile, but hue and lightness survive, which is what captions need.
enum CMYK {
    static func fromRGBA(_ rgba: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rgba.count)
        for i in stride(from: 0, to: rgba.count, by: 4) {
            let r = Double(rgba[i]) / 255, g = Double(rgba[i + 1]) / 255, b = Double(rgba[i + 2]) / 255
            let k = 1 - max(r, g, b)
            let ink = { (x: Double) -> Double in k >= 1 ? 0 : (1 - x - k) / (1 - k) }
            out[i] = UInt8((255 - ink(r) * 255).rounded())
            out[i + 1] = UInt8((255 - ink(g) * 255).rounded())
            out[i + 2] = UInt8((255 - ink(b) * 255).rounded())
            out[i + 3] = UInt8((255 - k * 255).rounded())
        }
        return out
    }

    /// In place: inverted C, M, Y, K → R, G, B, 255.
    static func toRGBA(_ pixels: inout [UInt8]) {
        pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i + 3 < p.count {
                let k = UInt32(p[i + 3])
                p[i] = UInt8((UInt32(p[i]) * k + 127) / 255)
                p[i + 1] = UInt8((UInt32(p[i + 1]) * k + 127) / 255)
                p[i + 2] = UInt8((UInt32(p[i + 2]) * k + 127) / 255)
                p[i + 3] = 255
                i += 4
            }
        }
    }
}
