/// Tiny image files made by hand, so tests need no binary fixtures.
///
/// `png` is a complete, decodable PNG (stored deflate blocks, no compression); the JPEG
/// and WebP helpers build valid *headers* (enough for sniffing and ingest), not images a
/// decoder could render.
public enum ImageFixtures {
    /// A w×h RGB PNG filled with one colour.
    public static func png(width: Int, height: Int, rgb: (UInt8, UInt8, UInt8) = (200, 30, 40)) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (1 + width * 3))
        for _ in 0..<height {
            raw.append(0)  // filter: none
            for _ in 0..<width { raw += [rgb.0, rgb.1, rgb.2] }
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0])
        out += chunk("IDAT", zlibStored(raw))
        out += chunk("IEND", [])
        return out
    }

    /// A PNG signature and IHDR declaring w×h, with no pixel data (enough to sniff).
    public static func pngHeader(width: Int, height: Int, corruptCRC: Bool = false) -> [UInt8] {
        let out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr = chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0])
        if corruptCRC { ihdr[ihdr.count - 1] ^= 0xFF }
        return out + ihdr + chunk("IEND", [])
    }

    /// SOI, a JFIF APP0 segment, a DQT-like filler segment, SOF0 declaring w×h, EOI.
    public static func jpegHeader(width: Int, height: Int, progressive: Bool = false) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        out += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
        out += [0xFF, 0xFE, 0x00, 0x07] + Array("hello".utf8)  // COM
        out += [0xFF, progressive ? 0xC2 : 0xC0, 0x00, 0x11, 8]
        out += [UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF)]
        out += [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
        out += [0xFF, 0xD9]
        return out
    }

    /// RIFF/WEBP with a lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`) first chunk.
    public enum WebPKind: String, Sendable, CaseIterable { case lossy, lossless, extended }

    public static func webpHeader(width: Int, height: Int, kind: WebPKind) -> [UInt8] {
        var payload: [UInt8]
        var fourCC: String
        switch kind {
        case .lossy:
            fourCC = "VP8 "
            payload = [0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A,
                       UInt8(width & 0xFF), UInt8(width >> 8), UInt8(height & 0xFF), UInt8(height >> 8)]
        case .lossless:
            fourCC = "VP8L"
            let bits = UInt32(width - 1) | UInt32(height - 1) << 14
            payload = [0x2F, UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
        case .extended:
            fourCC = "VP8X"
            let w = width - 1, h = height - 1
            payload = [0, 0, 0, 0, UInt8(w & 0xFF), UInt8(w >> 8 & 0xFF), UInt8(w >> 16 & 0xFF),
                       UInt8(h & 0xFF), UInt8(h >> 8 & 0xFF), UInt8(h >> 16 & 0xFF)]
        }
        if payload.count % 2 == 1 { payload.append(0) }
        let body = Array("WEBP".utf8) + Array(fourCC.utf8) + le32(UInt32(payload.count)) + payload
        return Array("RIFF".utf8) + le32(UInt32(body.count)) + body
    }

    // MARK: - Bytes

    public static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }

    /// A PNG chunk: length, type, data, CRC.
    public static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return be32(UInt32(data.count)) + typed + be32(crc32(typed))
    }

    /// zlib stream of stored (uncompressed) deflate blocks.
    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<offset + n]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return out + be32(b << 16 | a)
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }
}
