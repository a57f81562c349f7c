/// A product's style caption in the paper's order — colour, pattern, material, style,
/// type ("navy striped cotton casual shirt") — with the attributes it was made from.
///
/// Attribute keys (all optional, lower-case values): `color` (a colour name from the
/// dictionary), `color_family` (one of `ColorFamily`), `pattern` (solid, striped,
/// checked, dotted, floral), `material`, `style`, `type`. `captioner` is `NAME@VERSION`:
/// captions are cached per image hash and captioner, so a new version re-captions.
public struct Caption: Codable, Sendable, Equatable, Hashable {
    public var text: String
    public var attributes: [String: String]
    public var captioner: String

    public init(text: String, attributes: [String: String] = [:], captioner: String) {
        self.text = text; self.attributes = attributes; self.captioner = captioner
    }
}

/// The eleven basic colour terms (Berlin & Kay) that every caption's `color_family` is
/// one of.
public enum ColorFamily: String, Codable, Sendable, CaseIterable {
    case black, white, grey, red, orange, yellow, green, blue, purple, pink, brown
}
