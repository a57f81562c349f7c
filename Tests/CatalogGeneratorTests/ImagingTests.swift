import CatalogGenerator
import Imaging
import Testing

@Suite struct CodecTests {
    @Test func jpegRoundTripKeepsSizeAndColour() throws {
        var image = RGBAImage(width: 64, height: 48, fill: RGBA(30, 40, 84))
        for y in 0..<48 { for x in 32..<64 { image[x, y] = RGBA(240, 200, 40) } }
        let bytes = try JPEGEncoder().encode(image, quality: 90)
        #expect(bytes.starts(with: [0xFF, 0xD8]))
        let back = try JPEGDecoder().decode(bytes)
        #expect(back.width == 64 && back.height == 48)
        #expect(channelError(back.mean(x: 12, y: 24, radius: 3), (30, 40, 84)) < 8)
        #expect(channelError(back.mean(x: 50, y: 24, radius: 3), (240, 200, 40)) < 8)
    }

    @Test func pngRoundTripIsLosslessWithAlpha() throws {
        var image = RGBAImage(width: 33, height: 17, fill: RGBA(10, 20, 30, 0))
        image[5, 7] = RGBA(200, 100, 50, 128)
        let bytes = try PNGCodec.encode(image)
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try PNGCodec.decode(bytes) == image)
    }

    @Test func decodersRejectGarbage() {
        #expect(throws: ImagingError.self) { try JPEGDecoder().decode([0xFF, 0xD8, 0x00, 0x01, 0x02]) }
        #expect(throws: ImagingError.self) { try PNGCodec.decode(Array("not a png".utf8)) }
    }
}

@Suite struct RenderingTests {
    static let renderer = GarmentRenderer()

    static func spec(_ kind: GarmentKind, _ pattern: Pattern = .solid, transparent: Bool = false) -> ImageSpec {
        ImageSpec(kind: kind, pattern: pattern, base: RGBA(196, 30, 42), secondary: RGBA(246, 246, 244),
                  tertiary: RGBA(242, 206, 40), background: RGBA(250, 250, 248), transparent: transparent,
                  size: 96, noiseSeed: 42)
    }

    @Test(arguments: GarmentKind.allCases)
    func probeShowsTheBaseColourAndCornersTheBackdrop(kind: GarmentKind) {
        let image = Self.renderer.render(Self.spec(kind, .striped))
        let p = Self.renderer.probe(kind: kind, size: 96)
        #expect(channelError(image.mean(x: p.x, y: p.y, radius: 2), (196, 30, 42)) < 6)
        #expect(channelError(image.mean(x: 1, y: 1, radius: 1), (250, 250, 248)) < 20)
    }

    @Test(arguments: [Pattern.striped, .checked, .dotted, .floral])
    func patternShowsItsSecondaryColour(pattern: Pattern) {
        let image = Self.renderer.render(Self.spec(.tshirt, pattern))
        var whiteish = 0
        for y in 0..<96 { for x in 30..<66 where image[x, y].r > 200 && image[x, y].g > 200 && image[x, y].b > 200 {
            // Inside the shirt's body only: background columns near the middle are
            // above the neckline, excluded by the row range.
            if y > 30 && y < 80 { whiteish += 1 }
        } }
        #expect(whiteish > 50)
    }

    @Test func transparentPhotoHasAlphaZeroAroundTheGarment() {
        let image = Self.renderer.render(Self.spec(.sneakers, transparent: true))
        let p = Self.renderer.probe(kind: .sneakers, size: 96)
        #expect(image[0, 0].a == 0)
        #expect(image[95, 95].a == 0)
        #expect(image[p.x, p.y].a == 255)
    }
}
