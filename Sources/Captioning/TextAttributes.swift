import LookbookCore

/// Material, style, pattern, colour and garment-type words read from a product's
/// title, description, category and attributes, in English and Chinese retail
/// vocabulary. Values are normalised to one English word each, so captions share one
/// vocabulary whatever the catalog's language (棉 → cotton, 休闲 → casual).
public enum TextAttributes {
    public struct Found: Sendable, Equatable {
        public var material: String?
        public var style: String?
        public var pattern: String?
        public var color: String?
        public var type: String?
    }

    /// Reads the attributes from a product's text. Retailer attributes (`material`,
    /// `style`, `pattern`) win over words found in free text; the title wins over the
    /// description for the garment type.
    public static func read(_ p: Product) -> Found {
        let structured = [p.attributes["material"], p.attributes["fabric"], p.attributes["style"], p.attributes["usage"],
                          p.attributes["pattern"]].compactMap { $0 }.joined(separator: " ")
        let free = [p.title, p.color ?? "", p.category, p.description ?? ""].joined(separator: " ")
        func first(_ table: [(String, String)], in texts: [String]) -> String? {
            for text in texts {
                if let hit = match(table, in: text) { return hit }
            }
            return nil
        }
        return Found(
            material: first(materials, in: [structured, free]),
            style: first(styles, in: [structured, free]),
            pattern: first(patterns, in: [structured, free]),
            color: first(colors, in: [p.color ?? "", p.title, p.description ?? ""]),
            type: first(types, in: [p.title, p.category, p.description ?? ""]))
    }

    /// The first vocabulary entry found in `text`: whole words for Latin script, any
    /// substring for CJK (no spaces there). Longer keys are tried first, so "t-shirt"
    /// wins over "shirt" and 牛仔裤 over 裤.
    static func match(_ table: [(String, String)], in text: String) -> String? {
        guard !text.isEmpty else { return nil }
        let lower = text.lowercased()
        let words = Set(lower.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }).map(String.init))
        var best: (key: String, value: String, position: String.Index)?
        for (key, value) in table {
            let found: String.Index?
            if key.unicodeScalars.contains(where: { $0.value >= 0x2E80 }) {
                found = lower.range(of: key)?.lowerBound
            } else if key.contains(" ") || key.contains("-") {
                found = lower.range(of: key).flatMap { r in isWordBoundary(lower, r) ? r.lowerBound : nil }
            } else {
                found = words.contains(key) ? lower.range(of: key)?.lowerBound : nil
            }
            guard let position = found else { continue }
            // Prefer the longest key; among equals, the earliest in the text.
            if best == nil || key.count > best!.key.count || (key.count == best!.key.count && position < best!.position) {
                best = (key, value, position)
            }
        }
        return best?.value
    }

    private static func isWordBoundary(_ s: String, _ r: Range<String.Index>) -> Bool {
        let before = r.lowerBound == s.startIndex || !s[s.index(before: r.lowerBound)].isLetter
        let after = r.upperBound == s.endIndex || !s[r.upperBound].isLetter
        return before && after
    }

    static let materials: [(String, String)] = [
        ("cotton", "cotton"), ("organic cotton", "cotton"), ("linen", "linen"), ("silk", "silk"), ("satin", "satin"),
        ("wool", "wool"), ("merino", "wool"), ("cashmere", "cashmere"), ("denim", "denim"), ("leather", "leather"),
        ("faux leather", "leather"), ("suede", "suede"), ("polyester", "polyester"), ("nylon", "nylon"),
        ("viscose", "viscose"), ("rayon", "viscose"), ("velvet", "velvet"), ("lace", "lace"), ("chiffon", "chiffon"),
        ("knit", "knit"), ("knitted", "knit"), ("jersey", "jersey"), ("fleece", "fleece"), ("corduroy", "corduroy"),
        ("tweed", "tweed"), ("canvas", "canvas"), ("mesh", "mesh"), ("sequin", "sequin"), ("sequined", "sequin"),
        ("faux fur", "fur"), ("fur", "fur"), ("acrylic", "acrylic"), ("modal", "modal"), ("down", "down"),
        ("twill", "twill"), ("crepe", "crepe"), ("chambray", "chambray"), ("patent", "leather"),
        ("棉", "cotton"), ("纯棉", "cotton"), ("亚麻", "linen"), ("麻", "linen"), ("真丝", "silk"), ("丝绸", "silk"),
        ("羊毛", "wool"), ("羊绒", "cashmere"), ("牛仔", "denim"), ("真皮", "leather"), ("皮革", "leather"),
        ("麂皮", "suede"), ("涤纶", "polyester"), ("聚酯", "polyester"), ("尼龙", "nylon"), ("针织", "knit"),
        ("雪纺", "chiffon"), ("蕾丝", "lace"), ("丝绒", "velvet"), ("灯芯绒", "corduroy"), ("帆布", "canvas"),
        ("羽绒", "down"), ("摇粒绒", "fleece"),
    ]

    static let styles: [(String, String)] = [
        ("casual", "casual"), ("formal", "formal"), ("business", "formal"), ("office", "formal"), ("tailored", "formal"),
        ("sporty", "sporty"), ("sport", "sporty"), ("sports", "sporty"), ("athletic", "sporty"), ("athleisure", "sporty"),
        ("running", "sporty"), ("boho", "boho"), ("bohemian", "boho"), ("street", "street"), ("streetwear", "street"),
        ("urban", "street"), ("vintage", "vintage"), ("retro", "vintage"), ("classic", "classic"),
        ("minimalist", "minimalist"), ("minimal", "minimalist"), ("elegant", "elegant"), ("party", "party"),
        ("evening", "party"), ("cocktail", "party"), ("ethnic", "ethnic"), ("preppy", "preppy"), ("romantic", "romantic"),
        ("edgy", "edgy"), ("punk", "edgy"), ("smart casual", "smart"),
        ("休闲", "casual"), ("正装", "formal"), ("商务", "formal"), ("通勤", "formal"), ("运动", "sporty"),
        ("波西米亚", "boho"), ("街头", "street"), ("复古", "vintage"), ("经典", "classic"), ("简约", "minimalist"),
        ("优雅", "elegant"), ("派对", "party"), ("晚宴", "party"), ("学院", "preppy"),
    ]

    static let patterns: [(String, String)] = [
        ("striped", "striped"), ("stripe", "striped"), ("stripes", "striped"), ("pinstripe", "striped"),
        ("breton", "striped"), ("checked", "checked"), ("check", "checked"), ("checks", "checked"), ("plaid", "checked"),
        ("tartan", "checked"), ("gingham", "checked"), ("houndstooth", "checked"), ("dotted", "dotted"),
        ("polka dot", "dotted"), ("polka", "dotted"), ("dots", "dotted"), ("spotted", "dotted"), ("floral", "floral"),
        ("flower", "floral"), ("flowers", "floral"), ("printed", "printed"), ("print", "printed"), ("graphic", "printed"),
        ("paisley", "printed"), ("leopard", "printed"), ("camo", "printed"), ("solid", "solid"), ("plain", "solid"),
        ("条纹", "striped"), ("格子", "checked"), ("格纹", "checked"), ("波点", "dotted"), ("圆点", "dotted"),
        ("碎花", "floral"), ("花卉", "floral"), ("印花", "printed"), ("纯色", "solid"),
    ]

    static let colors: [(String, String)] = [
        "black", "white", "grey", "gray", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown",
        "navy", "beige", "khaki", "maroon", "olive", "teal", "mustard", "cream", "charcoal", "burgundy", "coral",
        "lavender", "tan", "camel", "ivory", "turquoise", "magenta", "rust", "mint", "peach", "silver", "gold",
    ].map { ($0, $0 == "gray" ? "grey" : $0) } + [
        ("黑", "black"), ("白", "white"), ("灰", "grey"), ("红", "red"), ("橙", "orange"), ("黄", "yellow"),
        ("绿", "green"), ("蓝", "blue"), ("紫", "purple"), ("粉", "pink"), ("棕", "brown"), ("咖啡", "brown"),
        ("藏青", "navy"), ("米色", "beige"), ("卡其", "khaki"), ("酒红", "burgundy"),
    ]

    static let types: [(String, String)] = [
        "t-shirt", "shirt", "blouse", "top", "tank", "camisole", "sweater", "jumper", "cardigan", "hoodie", "sweatshirt",
        "polo", "jacket", "coat", "blazer", "parka", "trench", "vest", "gilet", "dress", "gown", "skirt", "jeans",
        "trousers", "pants", "chinos", "shorts", "leggings", "joggers", "jumpsuit", "sneakers", "trainers", "boots",
        "sandals", "heels", "pumps", "loafers", "flats", "mules", "shoes", "bag", "tote", "clutch", "backpack",
        "handbag", "satchel", "wallet", "hat", "cap", "beanie", "sunglasses", "glasses", "necklace", "earrings",
        "bracelet", "ring", "watch", "scarf", "belt", "tie", "socks", "gloves",
    ].map { t in (t, ["tee": "t-shirt", "trainers": "sneakers", "pants": "trousers", "jumper": "sweater"][t] ?? t) }
    + [("tee", "t-shirt")] + [
        ("衬衫", "shirt"), ("t恤", "t-shirt"), ("上衣", "top"), ("毛衣", "sweater"), ("开衫", "cardigan"), ("卫衣", "hoodie"),
        ("夹克", "jacket"), ("外套", "coat"), ("大衣", "coat"), ("西装", "blazer"), ("风衣", "trench"), ("马甲", "vest"),
        ("连衣裙", "dress"), ("半身裙", "skirt"), ("裙", "skirt"), ("牛仔裤", "jeans"), ("裤", "trousers"),
        ("短裤", "shorts"), ("运动鞋", "sneakers"), ("靴", "boots"), ("凉鞋", "sandals"), ("高跟鞋", "heels"),
        ("鞋", "shoes"), ("包", "bag"), ("手提包", "handbag"), ("双肩包", "backpack"), ("帽", "hat"),
        ("太阳镜", "sunglasses"), ("眼镜", "glasses"), ("项链", "necklace"), ("耳环", "earrings"),
        ("手链", "bracelet"), ("戒指", "ring"), ("手表", "watch"), ("围巾", "scarf"), ("腰带", "belt"),
    ]
}

/// Builds the caption text in the paper's order: colour, pattern, material, style, type.
/// A `solid` pattern is left out of the words (a "navy cotton casual shirt" reads
/// better than "navy solid cotton…"); missing parts are skipped.
public func captionText(color: String?, pattern: String?, material: String?, style: String?, type: String?) -> String {
    [color, pattern == "solid" ? nil : pattern, material, style, type]
        .compactMap { $0?.isEmpty == false ? $0 : nil }
        .joined(separator: " ")
}
