import Foundation
import Imaging
import Testing
import TestSupport

/// Round trips with known colours, and the reduction towards `targetSize`.
@Suite struct DecodeTests {
    @Test func pngKeepsColoursAndAlphaExactly() throws {
        let image = Fixtures.quadrants()
        let decoded = try ImageDecoder(targetSize: nil).decode(try PNGCodec.encode(image))
        #expect(decoded.format == .png)
        #expect(decoded.image == image)
    }

    @Test func losslessWebPKeepsColoursAndAlphaExactly() throws {
        let image = Fixtures.quadrants()
        let decoded = try ImageDecoder(targetSize: nil).decode(try WebPCodec.encode(image, lossless: true))
        #expect(decoded.format == .webp && decoded.frameCount == 1)
        #expect(decoded.image == image)
    }

    enum Lossy: String, CaseIterable, Sendable { case jpeg, progressiveJPEG, webp }

    @Test(arguments: Lossy.allCases)
    func lossyFormatsKeepColoursClose(_ kind: Lossy) throws {
        let image = Fixtures.quadrants(width: 96, height: 64, alpha: kind == .webp)
        let bytes: [UInt8] = switch kind {
        case .jpeg: try JPEGEncoder().encode(image, quality: 95)
        case .progressiveJPEG: try JPEGEncoder().encode(image, quality: 95, progressive: true)
        case .webp: try WebPCodec.encode(image, quality: 95)
        }
        let decoded = try ImageDecoder().decode(bytes).image
        #expect(decoded.width == 96 && decoded.height == 64)
        for (x, y) in [(24, 16), (72, 16), (24, 48), (72, 48)] {
            expectClose(decoded.mean(x: x, y: y, radius: 6), image[x, y], tolerance: 6)
        }
    }

    enum Layout: String, CaseIterable, Sendable { case palette, paletteWithTRNS, grey1Bit, grey8Bit }

    @Test(arguments: Layout.allCases)
    func pngLayoutsDecodeToRGBA(_ layout: Layout) throws {
        let bytes: [UInt8]
        let expected: [RGBA]  // the two pixels of the one row
        switch layout {
        case .palette, .paletteWithTRNS:
            let trns: [(String, [UInt8])] = layout == .paletteWithTRNS ? [("tRNS", [255, 0])] : []
            bytes = Fixtures.png(width: 2, height: 1, bitDepth: 8, colourType: 3, scanlines: [[0, 1]],
                                 chunksBeforeIDAT: [("PLTE", [10, 200, 30, 250, 240, 5])] + trns)
            expected = [RGBA(10, 200, 30), RGBA(250, 240, 5, layout == .paletteWithTRNS ? 0 : 255)]
        case .grey1Bit:
            bytes = Fixtures.png(width: 2, height: 1, bitDepth: 1, colourType: 0, scanlines: [[0b0100_0000]])
            expected = [RGBA(0, 0, 0), RGBA(255, 255, 255)]
        case .grey8Bit:
            bytes = Fixtures.png(width: 2, height: 1, bitDepth: 8, colourType: 0, scanlines: [[17, 230]])
            expected = [RGBA(17, 17, 17), RGBA(230, 230, 230)]
        }
        let image = try ImageDecoder().decode(bytes).image
        #expect([image[0, 0], image[1, 0]] == expected)
    }

    /// A 12-megapixel photo decodes at 1/4 (1000×750): short side ≥ 512 and ≤ 1024.
    @Test(arguments: [(4000, 3000, 512, 1000, 750), (3000, 4000, 512, 750, 1000), (4000, 3000, 256, 500, 375),
                      (600, 400, 512, 600, 400), (1100, 1100, 512, 550, 550)])
    func largeJPEGDecodesDCTScaled(width: Int, height: Int, target: Int, expectedWidth: Int, expectedHeight: Int) throws {
        let colours = [RGBA(200, 30, 40), RGBA(30, 60, 200), RGBA(240, 240, 240)]
        let bytes = try JPEGEncoder().encode(Fixtures.bands(width: width, height: height, colours: colours), quality: 85)
        let decoded = try ImageDecoder(targetSize: target).decode(bytes)
        #expect(decoded.image.width == expectedWidth && decoded.image.height == expectedHeight)
        #expect((decoded.sourceWidth, decoded.sourceHeight) == (width, height))
        #expect(min(decoded.image.width, decoded.image.height) >= min(target, width, height))
        let h = decoded.image.height, w = decoded.image.width
        for (i, c) in colours.enumerated() {
            expectClose(decoded.image.mean(x: w / 2, y: (2 * i + 1) * h / 6, radius: 3), c, tolerance: 6)
        }
    }

    @Test func jpegWithoutTargetDecodesFullSize() throws {
        let bytes = try JPEGEncoder().encode(Fixtures.bands(width: 1200, height: 900, colours: [RGBA(9, 9, 9)]), quality: 80)
        let decoded = try ImageDecoder(targetSize: nil).decode(bytes)
        #expect((decoded.image.width, decoded.image.height) == (1200, 900))
    }

    enum Reduced: String, CaseIterable, Sendable { case png, webpLossless, webpLossy, webpAnimated }

    /// PNG and animation frames go through the box filter, still WebPs through libwebp's
    /// scaler; both by the integer factor ⌊short side / target⌋.
    @Test(arguments: Reduced.allCases)
    func largePNGAndWebPAreReducedTowardsTheTarget(_ kind: Reduced) throws {
        let colours = [RGBA(200, 30, 40), RGBA(30, 60, 200), RGBA(240, 240, 240, 60)]
        let image = Fixtures.bands(width: 1600, height: 1100, colours: colours)
        let bytes: [UInt8] = switch kind {
        case .png: try PNGCodec.encode(image)
        case .webpLossless: try WebPCodec.encode(image, lossless: true)
        case .webpLossy: try WebPCodec.encode(image, quality: 95)
        case .webpAnimated: try WebPCodec.encodeAnimation([image, RGBAImage(width: 1600, height: 1100)])
        }
        let decoded = try ImageDecoder(targetSize: 512).decode(bytes)
        #expect((decoded.image.width, decoded.image.height) == (800, 550))
        #expect((decoded.sourceWidth, decoded.sourceHeight) == (1600, 1100))
        let h = decoded.image.height
        // libwebp's scaler premultiplies alpha, which costs a little colour precision in
        // the alpha-60 band; lossy WebP loses more.
        let tolerance: Double = switch kind { case .png, .webpAnimated: 1; case .webpLossless: 3; case .webpLossy: 6 }
        for (i, c) in colours.enumerated() {
            expectClose(decoded.image.mean(x: 400, y: (2 * i + 1) * h / 6, radius: 3), c, tolerance: tolerance)
        }
    }

    /// Where the stored top-left (red) and top-right (green) quadrants show, by the EXIF
    /// specification's wording ("the 0th row is the visual right-hand side…"): the display's
    /// top-left and top-right quadrant colours for each orientation.
    @Test(arguments: [
        (1, "red", "green"), (2, "green", "red"), (3, "yellow", "blue"), (4, "blue", "yellow"),
        (5, "red", "blue"), (6, "blue", "red"), (7, "yellow", "green"), (8, "green", "yellow"),
    ], [false, true])
    func exifOrientationIsApplied(_ expected: (orientation: Int, topLeft: String, topRight: String), bigEndian: Bool) throws {
        let (orientation, topLeft, topRight) = expected
        let colours = ["red": RGBA(220, 20, 30), "green": RGBA(30, 180, 60), "blue": RGBA(20, 40, 200), "yellow": RGBA(240, 220, 40)]
        let stored = Fixtures.quadrants(width: 64, height: 48, alpha: false)
        let bytes = Fixtures.withExifOrientation(try JPEGEncoder().encode(stored, quality: 95), orientation, bigEndian: bigEndian)
        let decoded = try ImageDecoder().decode(bytes)
        #expect(decoded.orientation.rawValue == orientation)
        #expect((decoded.sourceWidth, decoded.sourceHeight) == (64, 48))
        let image = decoded.image
        #expect((image.width, image.height) == (orientation >= 5 ? (48, 64) : (64, 48)))
        expectClose(image.mean(x: image.width / 4, y: image.height / 4, radius: 3), colours[topLeft]!, tolerance: 8)
        expectClose(image.mean(x: 3 * image.width / 4, y: image.height / 4, radius: 3), colours[topRight]!, tolerance: 8)
    }

    @Test func throughputCountsDecodedAndRefusedImages() throws {
        let good = try JPEGEncoder().encode(Fixtures.quadrants(alpha: false), quality: 80)
        let figures = ImageDecoder().throughput([good, good, [0x00, 0x01]], threads: 2, minimumSeconds: 0)
        #expect(figures.decodedImages >= 2 && figures.failedImages >= 1)
        #expect(figures.decodedImages == 2 * figures.failedImages)
    }

    @Test func boxFilterWeightsColourByAlpha() {
        var image = RGBAImage(width: 2, height: 2, fill: RGBA(0, 0, 0, 0))
        image[0, 0] = RGBA(200, 100, 50, 255)
        let reduced = image.boxDownscaled(by: 2)
        #expect(reduced.width == 1 && reduced.height == 1)
        #expect(reduced[0, 0] == RGBA(200, 100, 50, 64))
    }

    @Test func boxFilterAveragesPartialBlocksAtTheEdges() {
        var image = RGBAImage(width: 3, height: 1, fill: RGBA(10, 10, 10))
        image[2, 0] = RGBA(250, 250, 250)
        let reduced = image.boxDownscaled(by: 2)
        #expect(reduced.width == 2 && reduced.height == 1)
        #expect(reduced[0, 0] == RGBA(10, 10, 10) && reduced[1, 0] == RGBA(250, 250, 250))
    }

    @Test(.enabled(if: SharedData.isAvailable, "\(SharedData.missingReason)"))
    func catalogPhotosDecode() throws {
        let folder = try #require(SharedData.file("myntra/images"))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().prefix(50)
        for name in names {
            let bytes = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
            let decoded = try ImageDecoder().decode(bytes)
            #expect(decoded.format == .jpeg && decoded.image.width == decoded.sourceWidth, "\(name)")
        }
    }
}
