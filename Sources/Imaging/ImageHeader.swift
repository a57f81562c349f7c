import LookbookCore

/// Reads an image's format and pixel size from the first bytes of the file, without
/// decoding it.
///
/// Ingest sees every image as a stream and keeps only a prefix (256 KiB): enough for a
/// JPEG's markers up to the frame header, a PNG's IHDR, a WebP's first chunk. The sizes
/// are what the file *declares*; a hostile file can declare anything, which is exactly
/// what the pixel limit is checked against before any decoder touches it.
public enum ImageHeader {
    public typealias Info = (format: ImageRecord.Format, width: Int, height: Int)

    public static func sniff(_ bytes: [UInt8]) -> Info? {
        bytes.withUnsafeBytes { sniff($0) }
    }

    /// The format and declared size, or nil when the prefix is not a JPEG, PNG or WebP
    /// header that can be read (bad signature, bad IHDR CRC, no frame header in the
    /// prefix, a zero dimension).
    public static func sniff(_ p: UnsafeRawBufferPointer) -> Info? {
        if p.count >= 3, p[0] == 0xFF, p[1] == 0xD8, p[2] == 0xFF { return jpeg(p) }
        if p.count >= 8, p[0] == 0x89, p[1] == 0x50, p[2] == 0x4E, p[3] == 0x47,
           p[4] == 0x0D, p[5] == 0x0A, p[6] == 0x1A, p[7] == 0x0A { return png(p) }
        if p.count >= 12, fourCC(p, 0) == "RIFF", fourCC(p, 8) == "WEBP" { return webp(p) }
        return nil
    }

    // MARK: - JPEG: walk the marker segments to the first SOFn

    private static func jpeg(_ p: UnsafeRawBufferPointer) -> Info? {
        var i = 2
        while i + 1 < p.count {
            guard p[i] == 0xFF else { return nil }
            var marker = p[i + 1]
            i += 2
            while marker == 0xFF {  // fill bytes
                guard i < p.count else { return nil }
                marker = p[i]; i += 1
            }
            switch marker {
            case 0xD8, 0x01, 0xD0...0xD7: continue  // no length
            case 0xD9, 0xDA: return nil  // end of image / start of scan before any frame
            default: break
            }
            guard i + 1 < p.count else { return nil }
            let length = Int(be16(p, i))
            guard length >= 2 else { return nil }
            let isSOF = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isSOF {
                guard length >= 7, i + 7 <= p.count else { return nil }
                let height = Int(be16(p, i + 3)), width = Int(be16(p, i + 5))
                guard width > 0, height > 0 else { return nil }
                return (.jpeg, width, height)
            }
            i += length
        }
        return nil
    }

    // MARK: - PNG: signature, then IHDR with a valid CRC

    private static func png(_ p: UnsafeRawBufferPointer) -> Info? {
        guard p.count >= 33, be32(p, 8) == 13, fourCC(p, 12) == "IHDR" else { return nil }
        let crc = crc32(UnsafeRawBufferPointer(rebasing: p[12..<29]))
        guard crc == be32(p, 29) else { return nil }
        let width = Int(be32(p, 16)), height = Int(be32(p, 20))
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else { return nil }
        return (.png, width, height)
    }

    // MARK: - WebP: RIFF container, first chunk VP8 / VP8L / VP8X

    private static func webp(_ p: UnsafeRawBufferPointer) -> Info? {
        guard p.count >= 20 else { return nil }
        let chunk = fourCC(p, 12)
        let d = 20
        switch chunk {
        case "VP8 ":
            // frame tag (3 bytes), start code 9D 01 2A, then 14-bit width and height.
            guard p.count >= d + 10, p[d + 3] == 0x9D, p[d + 4] == 0x01, p[d + 5] == 0x2A else { return nil }
            let w = Int(le16(p, d + 6) & 0x3FFF), h = Int(le16(p, d + 8) & 0x3FFF)
            guard w > 0, h > 0 else { return nil }
            return (.webp, w, h)
        case "VP8L":
            guard p.count >= d + 5, p[d] == 0x2F else { return nil }
            let bits = UInt32(p[d + 1]) | UInt32(p[d + 2]) << 8 | UInt32(p[d + 3]) << 16 | UInt32(p[d + 4]) << 24
            return (.webp, Int(bits & 0x3FFF) + 1, Int((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            guard p.count >= d + 10 else { return nil }
            let w = Int(p[d + 4]) | Int(p[d + 5]) << 8 | Int(p[d + 6]) << 16
            let h = Int(p[d + 7]) | Int(p[d + 8]) << 8 | Int(p[d + 9]) << 16
            return (.webp, w + 1, h + 1)
        default:
            return nil
        }
    }

    // MARK: - Bytes

    private static func be16(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt16 { UInt16(p[i]) << 8 | UInt16(p[i + 1]) }
    private static func le16(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt16 { UInt16(p[i]) | UInt16(p[i + 1]) << 8 }
    private static func be32(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(p[i]) << 24 | UInt32(p[i + 1]) << 16 | UInt32(p[i + 2]) << 8 | UInt32(p[i + 3])
    }
    private static func fourCC(_ p: UnsafeRawBufferPointer, _ i: Int) -> String {
        guard i + 4 <= p.count else { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: p[i..<i + 4]), as: UTF8.self)
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 as PNG uses it (ISO 3309, reflected, initial and final xor 0xFFFFFFFF).
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
