import LookbookCore

/// The content features a text model sees for a product: its slot, the words of its
/// category path, title and caption, and a few retailer attributes (material, style…).
///
/// Never anything derived from the product id: the same product under another id must
/// score the same (the evaluation harness tests this).
public enum ProductFeatures {
    /// Feature strings, de-duplicated, in a stable order. Prefixes keep the spaces apart:
    /// `s:` slot, `c:` category word, `w:` title/caption/attribute word.
    public static func strings(of product: Product, caption: String? = nil) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        func add(_ f: String) { if seen.insert(f).inserted { out.append(f) } }
        add("s:" + product.slot.rawValue)
        for w in Words.tokens(product.category) { add("c:" + w) }
        for w in Words.tokens(product.title) { add("w:" + w) }
        if let caption { for w in Words.tokens(caption) { add("w:" + w) } }
        for key in ["material", "style", "pattern", "fabric", "occasion", "usage"] {
            if let v = product.attributes[key] { for w in Words.tokens(v) { add("w:" + w) } }
        }
        if let c = product.color { for w in Words.tokens(c) { add("w:" + w) } }
        return out
    }
}
