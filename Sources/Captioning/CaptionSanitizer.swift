import Foundation
import LookbookCore

/// Turns a model's free-form answer into a `Caption`, treating it as untrusted data.
///
/// A multimodal LLM may wrap its JSON in ```json fences, put prose around it, invent
/// attribute values or emit control characters. The sanitizer takes the first JSON
/// object in the text, keeps only the known keys, strips control and format characters
/// (bidi overrides included) and markup, lower-cases, length-limits every field, and
/// validates `color_family` against `ColorFamily` and `pattern` against
/// `CaptionSanitizer.patterns`. Invalid values are dropped, never fatal. A result with
/// neither a caption nor any attribute is `nil`: the caller treats that as a failed
/// request.
public struct CaptionSanitizer: Sendable {
    /// The pattern vocabulary of `Caption.attributes["pattern"]`.
    public static let patterns: Set<String> = ["solid", "striped", "checked", "dotted", "floral"]
    /// Attribute keys kept from the model's JSON, in caption order.
    public static let attributeKeys = ["color", "color_family", "pattern", "material", "style", "type"]

    /// Characters kept per attribute value.
    public var maxFieldCharacters = 64
    /// Characters and words kept of the caption.
    public var maxCaptionCharacters = 80
    public var maxCaptionWords = 8
    /// Longest answer text searched for a JSON object; the rest is ignored.
    public var maxContentCharacters = 64 * 1024

    public init() {}

    /// The sanitized caption of `content` (an assistant message), or nil when it holds
    /// no usable JSON object or nothing survives sanitizing.
    public func caption(fromModelOutput content: String, captioner: String) -> Caption? {
        guard let object = Self.firstJSONObject(in: String(content.prefix(maxContentCharacters))) else { return nil }
        return caption(from: object, captioner: captioner)
    }

    /// The sanitized caption of an already parsed JSON object.
    public func caption(from object: [String: Any], captioner: String) -> Caption? {
        var attributes: [String: String] = [:]
        for key in Self.attributeKeys {
            guard let raw = object[key] as? String else { continue }
            let value = Self.clean(raw, maxCharacters: maxFieldCharacters, maxWords: nil)
            guard !value.isEmpty else { continue }
            switch key {
            case "color_family":
                if let family = Self.colorFamily(value) { attributes[key] = family.rawValue }
            case "pattern":
                if let pattern = Self.pattern(value) { attributes[key] = pattern }
            default:
                attributes[key] = value
            }
        }
        var text = (object["caption"] as? String).map {
            Self.clean($0, maxCharacters: maxCaptionCharacters, maxWords: maxCaptionWords)
        } ?? ""
        if text.isEmpty {
            // The paper's order: colour, pattern, material, style, type.
            let words = ["color", "pattern", "material", "style", "type"].compactMap { attributes[$0] }
            text = Self.clean(words.joined(separator: " "), maxCharacters: maxCaptionCharacters, maxWords: maxCaptionWords)
        }
        guard !text.isEmpty else { return nil }
        return Caption(text: text, attributes: attributes, captioner: captioner)
    }

    /// `value` as a basic colour term; American "gray" is accepted.
    static func colorFamily(_ value: String) -> ColorFamily? {
        if value == "gray" { return .grey }
        return ColorFamily(rawValue: value)
    }

    /// `value` mapped onto the pattern vocabulary, or nil.
    static func pattern(_ value: String) -> String? {
        if patterns.contains(value) { return value }
        let synonyms: [String: String] = [
            "plain": "solid", "solid color": "solid", "solid colour": "solid", "none": "solid",
            "stripe": "striped", "stripes": "striped", "pinstripe": "striped", "pinstriped": "striped",
            "check": "checked", "checks": "checked", "checkered": "checked", "chequered": "checked",
            "plaid": "checked", "gingham": "checked", "tartan": "checked",
            "dot": "dotted", "dots": "dotted", "polka dot": "dotted", "polka dots": "dotted",
            "polka-dot": "dotted", "spotted": "dotted",
            "flower": "floral", "flowers": "floral", "printed": "floral", "print": "floral",
            "floral print": "floral",
        ]
        return synonyms[value]
    }

    /// Lower-cased text with control, format and markup characters removed, whitespace
    /// collapsed, surrounding punctuation trimmed, and at most `maxWords` words and
    /// `maxCharacters` characters (cut at a word boundary when one is near).
    static func clean(_ raw: String, maxCharacters: Int, maxWords: Int?) -> String {
        var scalars = String.UnicodeScalarView()
        for s in raw.prefix(maxCharacters * 8).unicodeScalars {
            switch s.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator:
                scalars.append(" ")
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .nonspacingMark, .spacingMark, .enclosingMark,
                 .decimalNumber, .letterNumber, .otherNumber:
                scalars.append(s)
            default:
                // Punctuation and symbols: keep the few that occur in product words.
                scalars.append("-'&+.,%".unicodeScalars.contains(s) ? s : " ")
            }
        }
        var words = String(scalars).lowercased().split(separator: " ").map(String.init)
        if let maxWords, words.count > maxWords { words = Array(words.prefix(maxWords)) }
        var text = words.joined(separator: " ")
        if text.count > maxCharacters {
            let cut = String(text.prefix(maxCharacters))
            if let space = cut.lastIndex(of: " "), cut.distance(from: cut.startIndex, to: space) >= maxCharacters / 2 {
                text = String(cut[..<space])
            } else {
                text = cut
            }
        }
        let edge = CharacterSet(charactersIn: "-'&+.,% ")
        return text.trimmingCharacters(in: edge)
    }

    /// The first balanced `{...}` in `text` that parses as a JSON object. Braces inside
    /// JSON strings are skipped; at most 16 candidates are tried, so a hostile answer
    /// full of braces costs linear time.
    static func firstJSONObject(in text: String) -> [String: Any]? {
        let bytes = Array(text.utf8)
        var start = 0
        var candidates = 0
        while start < bytes.count, candidates < 16 {
            guard let open = bytes[start...].firstIndex(of: UInt8(ascii: "{")) else { return nil }
            candidates += 1
            var depth = 0, inString = false, escaped = false
            var end: Int?
            scan: for i in open..<bytes.count {
                let b = bytes[i]
                if inString {
                    if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                switch b {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"): depth += 1
                case UInt8(ascii: "}"):
                    depth -= 1
                    if depth == 0 { end = i; break scan }
                default: break
                }
            }
            if let end, let object = try? JSONSerialization.jsonObject(with: Data(bytes[open...end])) as? [String: Any] {
                return object
            }
            start = open + 1
        }
        return nil
    }
}
