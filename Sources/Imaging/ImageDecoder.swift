import LookbookCore

/// Bytes in, a small RGBA raster out: the front door for every image the embedded
/// captioner looks at.
///
/// The format comes from the first bytes, never from a file name, so a PNG called
/// `photo.jpg` decodes as the PNG it is and a text file called `photo.jpg` is refused as
/// one. Before any decoder allocates pixels, the size the header declares is checked
/// against `maxPixels` (a 100,000 × 100,000 PNG of a few hundred bytes is refused, not
/// attempted). Large images come out reduced so feature extraction always works on about
/// `targetSize` pixels per short side, upright as a viewer shows them (EXIF orientation
/// applied): JPEGs by DCT scaling inside libjpeg-turbo (a
/// 12-megapixel photo decodes at 1/4, skipping most of the work), WebPs by libwebp's
/// scaler, PNGs and animation frames by a box filter.
///
/// A value; safe to share between tasks. Each call makes and frees its own C handles.
public struct ImageDecoder: Sendable {
    /// Declared width × height above which an image is refused (`tooLarge`). The default,
    /// 64 Mi pixels, admits any phone or DSLR photo; a PNG that size needs 256 MiB of RGBA.
    public var maxPixels: Int
    /// When set, images whose short side is at least this long come out with a short side
    /// in [targetSize, 2·targetSize]; smaller images come out as they are. Nil: full size.
    public var targetSize: Int?

    public static let defaultMaxPixels = 64 << 20

    public init(maxPixels: Int = ImageDecoder.defaultMaxPixels, targetSize: Int? = 512) {
        precondition(maxPixels > 0, "maxPixels must be positive")
        self.maxPixels = maxPixels
        self.targetSize = targetSize
    }

    /// One decoded image and what the decoder learned on the way.
    public struct Decoded: Sendable {
        /// The pixels, reduced towards `targetSize`.
        public var image: RGBAImage
        /// What the bytes are, whatever the file was called.
        public var format: ImageRecord.Format
        /// The size the file declares (the canvas for an animation).
        public var sourceWidth: Int, sourceHeight: Int
        /// Frames in an animated WebP, of which the first was decoded; 1 otherwise.
        public var frameCount: Int
        /// Problems the library recovered from in a complete file, in its own words (e.g.
        /// `libturbojpeg: Corrupt JPEG data: 2 extraneous bytes before marker 0xd9`).
        /// Worth a diagnostic; the image is usable.
        public var warnings: [String]
        /// The JPEG's EXIF orientation, already applied to `image` (so a photo taken with
        /// the phone on its side comes out upright, its width and height swapped);
        /// `sourceWidth` and `sourceHeight` stay as stored.
        public var orientation: ExifOrientation = .up
    }

    public func decode(_ bytes: [UInt8]) throws(ImagingError) -> Decoded {
        // withUnsafeBytes rethrows untyped errors; Result carries the typed one across.
        try bytes.withUnsafeBytes { p in Result { () throws(ImagingError) in try decode(p) } }.get()
    }

    /// Decodes `bytes` or says why not: `empty`, `unknownFormat` (with a guess at what the
    /// bytes are), `tooLarge`, `truncated`, `unsupported`, or `decode` with the library's
    /// message for damaged data.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ImagingError) -> Decoded {
        guard bytes.count > 0 else { throw ImagingError(.empty, "the image file has 0 bytes") }
        guard let format = Self.format(of: bytes) else {
            throw ImagingError(.unknownFormat, "not a JPEG, PNG or WebP image" + Self.describe(bytes))
        }
        // The header as ingest reads it. When it cannot be read (a damaged IHDR, a JPEG
        // without a frame header) the codec's own header reader decides, and checks the
        // limit again before allocating.
        if let declared = ImageHeader.sniff(bytes), declared.width * declared.height > maxPixels {
            throw ImagingError(.tooLarge, "the \(format.rawValue.uppercased()) declares \(declared.width)×\(declared.height) pixels, "
                               + "more than the limit of \(maxPixels)")
        }
        switch format {
        case .jpeg:
            let out = try JPEGDecoder().decode(bytes, maxPixels: maxPixels, targetSize: targetSize)
            let orientation = ExifOrientation.read(jpeg: bytes) ?? .up
            return Decoded(image: orientation.apply(to: out.image), format: .jpeg, sourceWidth: out.sourceWidth,
                           sourceHeight: out.sourceHeight, frameCount: 1, warnings: out.warnings, orientation: orientation)
        case .png:
            let full = try PNGCodec.decode(bytes, maxPixels: maxPixels)
            let factor = RGBAImage.reductionFactor(width: full.width, height: full.height, targetSize: targetSize)
            return Decoded(image: full.boxDownscaled(by: factor), format: .png, sourceWidth: full.width,
                           sourceHeight: full.height, frameCount: 1, warnings: [])
        case .webp:
            let out = try WebPCodec.decode(bytes, maxPixels: maxPixels, targetSize: targetSize)
            return Decoded(image: out.image, format: .webp, sourceWidth: out.sourceWidth, sourceHeight: out.sourceHeight,
                           frameCount: out.frameCount, warnings: [])
        }
    }

    /// `ImageDecoder(maxPixels:targetSize:).decode(bytes)`.
    public static func decode(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels, targetSize: Int? = 512) throws(ImagingError) -> Decoded {
        try ImageDecoder(maxPixels: maxPixels, targetSize: targetSize).decode(bytes)
    }

    // MARK: - Signatures

    /// The format the signature names (JPEG SOI, the PNG signature, RIFF…WEBP), or nil.
    /// Only the magic bytes: whether the rest is readable is the decoder's business.
    public static func format(of p: UnsafeRawBufferPointer) -> ImageRecord.Format? {
        if starts(p, [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(p, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(p, Array("RIFF".utf8)), p.count >= 12, starts(UnsafeRawBufferPointer(rebasing: p[8...]), Array("WEBP".utf8)) {
            return .webp
        }
        return nil
    }

    public static func format(of bytes: [UInt8]) -> ImageRecord.Format? {
        bytes.withUnsafeBytes { format(of: $0) }
    }

    /// ": it looks like a GIF image" for signatures people do upload by mistake, so the
    /// report says what to convert; otherwise the first bytes in hex.
    static func describe(_ p: UnsafeRawBufferPointer) -> String {
        let known: [(String, [UInt8], Int)] = [
            ("a GIF image", Array("GIF8".utf8), 0), ("a BMP image", Array("BM".utf8), 0),
            ("a TIFF image", [0x49, 0x49, 0x2A, 0x00], 0), ("a TIFF image", [0x4D, 0x4D, 0x00, 0x2A], 0),
            ("a HEIF/AVIF image", Array("ftyp".utf8), 4), ("a PDF document", Array("%PDF".utf8), 0),
            ("a zip archive", [0x50, 0x4B, 0x03, 0x04], 0), ("a gzip file", [0x1F, 0x8B], 0),
            ("a RIFF file that is not WebP", Array("RIFF".utf8), 0),
            ("a JPEG 2000 image", [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50], 0),
            ("an HTML or XML document (an error page or an SVG?)", Array("<".utf8), 0),
        ]
        for (name, magic, offset) in known where p.count >= offset + magic.count {
            if starts(UnsafeRawBufferPointer(rebasing: p[offset...]), magic) { return ": it looks like \(name)" }
        }
        if p.count > 2, p[0] == 0xFF, p[1] == 0xD8 { return ": a JPEG start-of-image marker not followed by a marker" }
        let hex = p.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
        return " (\(p.count) bytes, starting \(hex))"
    }

    private static func starts(_ p: UnsafeRawBufferPointer, _ magic: [UInt8]) -> Bool {
        guard p.count >= magic.count else { return false }
        for (i, b) in magic.enumerated() where p[i] != b { return false }
        return true
    }
}
