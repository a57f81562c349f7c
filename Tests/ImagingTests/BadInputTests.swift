import Foundation
import Imaging
import LookbookCore
import Testing
import TestSupport

/// The bad inputs of issue 4, one test each: every one is decoded or refused with a
/// code and a reason, none crashes or hangs.
@Suite struct BadInputTests {
    let decoder = ImageDecoder(maxPixels: 50_000_000, targetSize: 512)

    /// Runs the decoder and returns the error it threw (nil when it decoded).
    func refusal(_ bytes: [UInt8], _ decoder: ImageDecoder? = nil) -> ImagingError? {
        do {
            _ = try (decoder ?? self.decoder).decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func zeroBytesAreRefusedAsEmpty() {
        let error = refusal([])
        #expect(error?.code == .empty)
        #expect(error?.message.contains("0 bytes") == true)
    }

    @Test(arguments: [false, true], [0.3, 0.7])
    func truncatedJPEGIsRefusedWithLibjpegsMessage(progressive: Bool, kept: Double) throws {
        let whole = try JPEGEncoder().encode(Fixtures.quadrants(width: 320, height: 240, alpha: false), quality: 90,
                                             progressive: progressive)
        let cut = Array(whole.prefix(Int(Double(whole.count) * kept)))
        let error = try #require(refusal(cut))
        #expect(error.code == .truncated)
        #expect(error.underlying?.contains("Premature end of JPEG file") == true, "\(error)")
    }

    @Test func jpegCutInsideItsHeaderIsRefused() throws {
        let whole = try JPEGEncoder().encode(Fixtures.quadrants(alpha: false), quality: 90)
        let error = try #require(refusal(Array(whole.prefix(40))))
        #expect(error.code == .truncated)
        #expect(error.underlying?.hasPrefix("libturbojpeg: ") == true, "\(error)")
    }

    enum Cut: String, CaseIterable, Sendable { case png, webpLossy, webpLossless }

    @Test(arguments: Cut.allCases)
    func truncatedPNGAndWebPAreRefusedAsTruncated(_ kind: Cut) throws {
        var image = RGBAImage(width: 64, height: 48)
        for y in 0..<48 { for x in 0..<64 { image[x, y] = RGBA(UInt8(x * 3), UInt8(y * 5), UInt8((x * y) & 255)) } }
        let whole: [UInt8] = switch kind {
        case .png: try PNGCodec.encode(image)
        case .webpLossy: try WebPCodec.encode(image)
        case .webpLossless: try WebPCodec.encode(image, lossless: true)
        }
        let error = try #require(refusal(Array(whole.prefix(whole.count / 2))))
        #expect(error.code == .truncated, "\(error)")
    }

    /// A complete file that libjpeg warns about is decoded; the warning is kept.
    @Test func jpegWithExtraneousBytesDecodesWithAWarning() throws {
        var bytes = try JPEGEncoder().encode(Fixtures.quadrants(alpha: false), quality: 90)
        #expect(bytes[20...21] == [0xFF, 0xDB])  // SOI, APP0 (JFIF, 16 bytes), then DQT
        bytes.insert(contentsOf: [0x12, 0x34], at: 20)  // junk between two segments
        let decoded = try decoder.decode(bytes)
        #expect(decoded.image.width == 64)
        #expect(decoded.warnings.count == 1)
        #expect(decoded.warnings.first?.contains("extraneous bytes") == true, "\(decoded.warnings)")
    }

    enum Variant: String, CaseIterable, Sendable { case lossless, twelveBit }

    /// Valid JPEG kinds outside libjpeg-turbo's 8-bit DCT decoder are `unsupported`, not
    /// `decode` (damaged): the retailer can re-export them.
    @Test(arguments: Variant.allCases)
    func jpegVariantsLibjpegCannotDecodeAreUnsupported(_ variant: Variant) throws {
        var bytes = try JPEGEncoder().encode(Fixtures.quadrants(alpha: false), quality: 90)
        let sof = try #require((0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        switch variant {
        case .lossless: bytes[sof + 1] = 0xC3  // SOF3
        case .twelveBit: bytes[sof + 4] = 12  // sample precision
        }
        let error = try #require(refusal(bytes))
        #expect(error.code == .unsupported)
        #expect(error.underlying?.hasPrefix("libturbojpeg: Unsupported JPEG") == true, "\(error)")
    }

    enum CRCDamage: String, CaseIterable, Sendable { case ihdr = "IHDR", idat = "IDAT" }

    @Test(arguments: CRCDamage.allCases)
    func pngWithABadCRCIsRefusedWithLibpngsMessage(_ damaged: CRCDamage) throws {
        var bytes = try PNGCodec.encode(Fixtures.quadrants())
        let chunk = try #require(Fixtures.chunkOffset(bytes, damaged.rawValue))
        let length = Int(bytes[chunk]) << 24 | Int(bytes[chunk + 1]) << 16 | Int(bytes[chunk + 2]) << 8 | Int(bytes[chunk + 3])
        bytes[chunk + 8 + length] ^= 0xFF  // first CRC byte
        let error = try #require(refusal(bytes))
        #expect(error.code == .decode)
        #expect(error.underlying == "libpng: \(damaged.rawValue): CRC error", "\(error)")
    }

    @Test func pngDeclaring100000By100000PixelsIsRefusedBeforeDecoding() throws {
        let error = try #require(refusal(ImageFixtures.pngHeader(width: 100_000, height: 100_000)))
        #expect(error.code == .tooLarge)
        #expect(error.message.contains("100000×100000"), "\(error)")
    }

    enum HugeHeader: String, CaseIterable, Sendable { case jpeg, webpLossy, webpExtended }

    @Test(arguments: HugeHeader.allCases)
    func otherFormatsDeclaringTooManyPixelsAreRefused(_ kind: HugeHeader) throws {
        let bytes: [UInt8]
        switch kind {
        case .jpeg: bytes = ImageFixtures.jpegHeader(width: 60_000, height: 60_000)
        case .webpLossy: bytes = ImageFixtures.webpHeader(width: 16_000, height: 16_000, kind: .lossy)
        case .webpExtended: bytes = ImageFixtures.webpHeader(width: 100_000, height: 100_000, kind: .extended)
        }
        #expect(refusal(bytes)?.code == .tooLarge)
    }

    /// Each codec checks the limit itself too, from its own header reader, before any
    /// pixel buffer exists: the sniffer is not the only guard.
    @Test func everyCodecChecksThePixelLimitItself() throws {
        let image = Fixtures.quadrants()
        let png = try PNGCodec.encode(image)
        let jpeg = try JPEGEncoder().encode(image, quality: 80)
        let webp = try WebPCodec.encode(image)
        func code(_ body: () throws(ImagingError) -> Void) -> ImagingError.Code? {
            do { try body(); return nil } catch { return error.code }
        }
        #expect(code { () throws(ImagingError) in
            _ = try png.withUnsafeBytes { p in Result { () throws(ImagingError) in try PNGCodec.decode(p, maxPixels: 1_000) } }.get()
        } == .tooLarge)
        #expect(code { () throws(ImagingError) in
            let decoder = try JPEGDecoder()
            _ = try jpeg.withUnsafeBytes { p in Result { () throws(ImagingError) in try decoder.decode(p, maxPixels: 1_000, targetSize: nil) } }.get()
        } == .tooLarge)
        #expect(code { () throws(ImagingError) in
            _ = try webp.withUnsafeBytes { p in Result { () throws(ImagingError) in try WebPCodec.decode(p, maxPixels: 1_000, targetSize: nil) } }.get()
        } == .tooLarge)
    }

    @Test func cmykJPEGDecodesToItsRGBColours() throws {
        let original = Fixtures.quadrants(width: 64, height: 64, alpha: false)
        let bytes = try JPEGEncoder().encode(original, quality: 95, colorSpace: .cmyk)
        let decoded = try decoder.decode(bytes)
        #expect(decoded.format == .jpeg)
        #expect(decoded.image.width == 64 && decoded.image.height == 64)
        for (x, y) in [(16, 16), (48, 16), (16, 48), (48, 48)] {
            expectClose(decoded.image.mean(x: x, y: y, radius: 4), original[x, y], tolerance: 8)
        }
    }

    @Test func greyscaleJPEGDecodesToGreyRGB() throws {
        let original = Fixtures.quadrants(width: 64, height: 64, alpha: false)
        let bytes = try JPEGEncoder().encode(original, quality: 95, colorSpace: .grey)
        let decoded = try decoder.decode(bytes).image
        let p = decoded[16, 16]
        #expect(p.r == p.g && p.g == p.b && p.a == 255)
        // Rec. 601 luma of (220, 20, 30), as libjpeg computes it.
        let luma = 0.299 * 220 + 0.587 * 20 + 0.114 * 30
        #expect(abs(decoded.mean(x: 16, y: 16, radius: 4).r - luma) < 4)
    }

    enum SixteenBit: String, CaseIterable, Sendable { case rgba, greyAlpha, rgbWithGAMA }

    /// 16-bit samples 0xC8C8 etc. are 200 in 8 bits. Without colour chunks they are read
    /// as sRGB (what editors mean); with gAMA 1.0 (linear light) libpng converts to sRGB.
    @Test(arguments: SixteenBit.allCases)
    func sixteenBitPNGDecodesTo8Bit(_ kind: SixteenBit) throws {
        let w = 4, h = 3
        let bytes: [UInt8]
        let expected: RGBA
        switch kind {
        case .rgba:
            let px: [UInt8] = [0xC8, 0xC8, 0x1E, 0x1E, 0x64, 0x64, 0x80, 0x80]  // 200, 30, 100, alpha 128
            bytes = Fixtures.png(width: w, height: h, bitDepth: 16, colourType: 6,
                                 scanlines: Array(repeating: Array([[UInt8]](repeating: px, count: w).joined()), count: h))
            expected = RGBA(200, 30, 100, 128)
        case .greyAlpha:
            let px: [UInt8] = [0x50, 0x50, 0xFF, 0xFF]  // 80, opaque
            bytes = Fixtures.png(width: w, height: h, bitDepth: 16, colourType: 4,
                                 scanlines: Array(repeating: Array([[UInt8]](repeating: px, count: w).joined()), count: h))
            expected = RGBA(80, 80, 80, 255)
        case .rgbWithGAMA:
            // Linear 0.5 is 186 (libpng encodes with a 1/2.2 power: 0.5^(1/2.2) × 255).
            let px: [UInt8] = [0x80, 0x00, 0x80, 0x00, 0x80, 0x00]
            bytes = Fixtures.png(width: w, height: h, bitDepth: 16, colourType: 2,
                                 scanlines: Array(repeating: Array([[UInt8]](repeating: px, count: w).joined()), count: h),
                                 chunksBeforeIDAT: [("gAMA", Fixtures.be32(100_000))])
            expected = RGBA(186, 186, 186, 255)
        }
        let decoded = try decoder.decode(bytes)
        #expect(decoded.format == .png)
        #expect(decoded.image.width == w && decoded.image.height == h)
        let p = decoded.image[1, 1]
        #expect(abs(Int(p.r) - Int(expected.r)) <= 1 && abs(Int(p.g) - Int(expected.g)) <= 1
                && abs(Int(p.b) - Int(expected.b)) <= 1 && p.a == expected.a, "\(p) vs \(expected)")
    }

    @Test func animatedWebPDecodesItsFirstFrame() throws {
        let red = RGBAImage(width: 40, height: 30, fill: RGBA(200, 20, 20))
        let blue = RGBAImage(width: 40, height: 30, fill: RGBA(20, 20, 200))
        let bytes = try WebPCodec.encodeAnimation([red, blue, red], frameMilliseconds: 80)
        let decoded = try decoder.decode(bytes)
        #expect(decoded.format == .webp)
        #expect(decoded.frameCount == 3)
        #expect(decoded.image == red)
    }

    @Test func damagedAnimatedWebPIsRefused() throws {
        let frames = [RGBAImage(width: 40, height: 30, fill: RGBA(200, 20, 20)),
                      RGBAImage(width: 40, height: 30, fill: RGBA(20, 20, 200))]
        var bytes = try WebPCodec.encodeAnimation(frames)
        bytes.removeLast(bytes.count / 3)
        let error = try #require(refusal(bytes))
        #expect([.decode, .truncated].contains(error.code), "\(error)")
    }

    enum Lie: String, CaseIterable, Sendable {
        case pngCalledJPG = "photo.jpg", jpegCalledWebP = "photo.webp", webpCalledPNG = "photo.png"
    }

    /// The file name says one format, the bytes another: the bytes win.
    @Test(arguments: Lie.allCases)
    func fileWhoseExtensionLiesDecodesAsWhatItIs(_ lie: Lie) throws {
        let image = Fixtures.quadrants(alpha: false)
        let (bytes, actual): ([UInt8], String) = switch lie {
        case .pngCalledJPG: (try PNGCodec.encode(image), "png")
        case .jpegCalledWebP: (try JPEGEncoder().encode(image, quality: 90), "jpeg")
        case .webpCalledPNG: (try WebPCodec.encode(image, lossless: true), "webp")
        }
        let dir = try TempDirectory("imaging")
        let path = try dir.write(lie.rawValue, bytes)
        let decoded = try decoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(decoded.format.rawValue == actual)
        expectClose(decoded.image.mean(x: 10, y: 10, radius: 3), image[10, 10], tolerance: 6)
    }

    @Test(arguments: [
        ("photo.jpg", Array("<!DOCTYPE html><html>Not found</html>".utf8), "HTML"),
        ("photo.jpg", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0], "GIF"),
        ("photo.png", [0, 0, 0, 0x1C] + Array("ftypheic".utf8), "HEIF"),
        ("photo.webp", Array("RIFF".utf8) + [4, 0, 0, 0] + Array("WAVE".utf8), "RIFF file that is not WebP"),
        ("photo.jpg", [0xFF, 0xD8, 0x00, 0x01, 0x02], "JPEG start-of-image"),
    ])
    func fileThatIsNoImageIsRefusedSayingWhatItLooksLike(name: String, bytes: [UInt8], named: String) throws {
        let dir = try TempDirectory("imaging")
        let path = try dir.write(name, bytes)
        let error = try #require(refusal(Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
        #expect(error.code == .unknownFormat)
        #expect(error.message.contains(named), "\(error)")
    }

    enum Fuzzed: String, CaseIterable, Sendable { case jpeg, progressiveJPEG, png, webpLossy, webpLossless, webpAnimated }

    /// Flipped bytes and cuts anywhere: decoded or refused, never a crash or a hang.
    @Test(arguments: Fuzzed.allCases)
    func damagedFilesNeverCrash(_ kind: Fuzzed) throws {
        let image = Fixtures.quadrants(width: 48, height: 40)
        let valid: [UInt8] = switch kind {
        case .jpeg: try JPEGEncoder().encode(image, quality: 80)
        case .progressiveJPEG: try JPEGEncoder().encode(image, quality: 80, progressive: true)
        case .png: try PNGCodec.encode(image)
        case .webpLossy: try WebPCodec.encode(image)
        case .webpLossless: try WebPCodec.encode(image, lossless: true)
        case .webpAnimated: try WebPCodec.encodeAnimation([image, Fixtures.quadrants(width: 48, height: 40, alpha: false)])
        }
        var rng = SplitMix64(seed: UInt64(valid.count))
        var refused = 0
        for _ in 0..<150 {
            var bytes = valid
            for _ in 0...rng.below(4) {
                bytes[rng.below(bytes.count)] = UInt8(rng.below(256))
            }
            if rng.below(2) == 0 { bytes.removeLast(rng.below(bytes.count)) }
            if refusal(bytes) != nil { refused += 1 }
        }
        #expect(refused > 0)
    }
}

func expectClose(_ m: (r: Double, g: Double, b: Double, a: Double), _ c: RGBA, tolerance: Double,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let ok = abs(m.r - Double(c.r)) <= tolerance && abs(m.g - Double(c.g)) <= tolerance
        && abs(m.b - Double(c.b)) <= tolerance && abs(m.a - Double(c.a)) <= tolerance
    #expect(ok, "mean \(m) vs \(c)", sourceLocation: sourceLocation)
}
