import Imaging
import LookbookCore
import Testing
import TestSupport

@Suite struct ImageHeaderTests {
    @Test(arguments: [(1, 1), (640, 480), (65535, 3)])
    func jpeg(width: Int, height: Int) {
        let info = ImageHeader.sniff(ImageFixtures.jpegHeader(width: width, height: height))
        #expect(info?.format == .jpeg && info?.width == width && info?.height == height)
    }

    @Test func progressiveJPEG() {
        let info = ImageHeader.sniff(ImageFixtures.jpegHeader(width: 300, height: 200, progressive: true))
        #expect(info?.format == .jpeg && info?.width == 300 && info?.height == 200)
    }

    @Test func png() {
        let info = ImageHeader.sniff(ImageFixtures.png(width: 7, height: 5))
        #expect(info?.format == .png && info?.width == 7 && info?.height == 5)
    }

    @Test func pngWithABadIHDRChecksum() {
        #expect(ImageHeader.sniff(ImageFixtures.pngHeader(width: 7, height: 5, corruptCRC: true)) == nil)
    }

    @Test(arguments: ImageFixtures.WebPKind.allCases)
    func webp(kind: ImageFixtures.WebPKind) {
        let info = ImageHeader.sniff(ImageFixtures.webpHeader(width: 123, height: 45, kind: kind))
        #expect(info?.format == .webp && info?.width == 123 && info?.height == 45)
    }

    @Test(arguments: [
        [UInt8](),
        Array("GIF89a".utf8),
        [0xFF, 0xD8, 0xFF, 0xD9],                     // JPEG with no frame
        [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 8, 0, 0, 0, 0],  // zero size
        Array(ImageFixtures.png(width: 3, height: 3).prefix(20)),  // cut inside IHDR
        Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8),
    ])
    func unrecognised(bytes: [UInt8]) {
        #expect(ImageHeader.sniff(bytes) == nil)
    }

    @Test func pngCRCMatchesTheStandardCheckValue() {
        let check = Array("123456789".utf8).withUnsafeBytes { ImageHeader.crc32($0) }
        #expect(check == 0xCBF4_3926)
    }
}
