/// Splits product text into lower-case word tokens for the text models.
///
/// Letters and digits form words; every other character separates them. CJK
/// ideographs (and kana, hangul) have no spaces between words, so each one is a token
/// of its own: 牛仔裤 → 牛, 仔, 裤 — crude, but it lets a zh-CN catalog share
/// co-occurrence statistics character by character. Words of one letter
/// (Latin) and pure numbers are dropped: they carry no style.
public enum Words {
    public static func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        func flush() {
            if current.count > 1, !current.allSatisfy(\.isNumber) { out.append(current) }
            current.removeAll(keepingCapacity: true)
        }
        for scalar in text.unicodeScalars {
            if isIdeographic(scalar) {
                flush()
                out.append(String(scalar))
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                flush()
            }
        }
        flush()
        return out
    }

    static func isIdeographic(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
