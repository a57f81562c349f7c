/// Maps a product's category path (and title, when the category is vague) to its slot.
///
/// How a category is read:
/// 1. Job overrides first: a category containing an override's pattern
///    (case-insensitive) gets its slot; the longest matching pattern wins.
/// 2. The path is split into segments (`>`, `›`, `»`, `/`, `|`) and read from the most
///    specific (last) segment back to the first. The first segment that names a slot
///    decides: `Women > Shoes > Ankle Boots` is decided by `Ankle Boots`.
/// 3. Inside a segment (or title) the keyword that ends *last* wins, because in English
///    retail names the head noun comes last: `Shirt Dress` is a dress, `Dress Shirts` a
///    top, `Shoe Accessories` an accessory. Among keywords ending at the same word the
///    longer one wins (`Tank Tops` over `Tops`, `Innerwear Vests` over `Vests`).
/// 4. When no segment names a slot, or only a vague one does (`Accessories`), the title
///    is read the same way: `Women > New In` + "Leather ankle boots" is shoes.
///
/// Words are matched after `Words.tokens` (lower case, punctuation dropped, each CJK
/// ideograph a token of its own, so 连衣裙 is matched as 连 衣 裙) and a light plural
/// stemmer (`dresses` → `dress`, `accessories` → `accessory`).
public struct SlotRules: Sendable, Equatable {
    /// A job-file override: a category containing `pattern` (case-insensitive) gets `slot`.
    /// The longest matching pattern wins.
    public struct Override: Sendable, Equatable {
        public var pattern: String
        public var slot: Slot
        public init(pattern: String, slot: Slot) { self.pattern = pattern; self.slot = slot }
    }

    public var overrides: [Override]
    public init(overrides: [Override] = []) { self.overrides = overrides }

    public func slot(category: String, title: String) -> Slot {
        slot(reading: read(category: category), title: title)
    }

    /// What a category says on its own. Catalogs repeat a few hundred categories over
    /// many products, so ingest reads each category once and keeps the reading.
    public enum CategoryReading: Sendable, Equatable {
        /// The category decides (an override or a specific word).
        case decided(Slot)
        /// The title must be read; `fallback` (a vague word such as "Accessories") is
        /// used when the title names no slot either.
        case vague(fallback: Slot?)
    }

    public func read(category: String) -> CategoryReading {
        if !overrides.isEmpty {
            let c = category.lowercased()
            if let o = overrides.filter({ !$0.pattern.isEmpty && c.contains($0.pattern.lowercased()) })
                .max(by: { $0.pattern.count < $1.pattern.count }) {
                return .decided(o.slot)
            }
        }
        let segments = category.split(whereSeparator: { "›»>/|".contains($0) })
        var vague: Slot?
        for segment in segments.reversed() {
            guard let m = Self.keywords.match(String(segment)) else { continue }
            if m.vague { vague = vague ?? m.slot; continue }
            return .decided(m.slot)
        }
        return .vague(fallback: vague)
    }

    public func slot(reading: CategoryReading, title: String) -> Slot {
        switch reading {
        case .decided(let slot): return slot
        case .vague(let fallback):
            if let m = Self.keywords.match(title), !m.vague || fallback == nil { return m.slot }
            return fallback ?? .other
        }
    }

    // MARK: - Built-in keywords

    /// Singular and plural forms reduce to one stem, so most words are listed once.
    /// `other` entries exist to stop a slot word inside them from matching
    /// (`Innerwear Vests`, `Jewelry Storage`).
    static let builtIn: [(Slot, [String])] = [
        (.top, ["top", "topwear", "tee", "t-shirt", "tshirt", "shirt", "blouse", "tank", "camisole", "cami",
                "chemise", "sweater", "jumper", "pullover", "sweatshirt", "hoodie", "hoodies", "hoody", "polo",
                "tunic", "kurta", "kurti", "kurtis", "bodysuit", "henley", "turtleneck", "knitwear", "jersey",
                "crop top", "oxford shirt", "bikini top", "lounge tshirt",
                "上衣", "衬衫", "衬衣", "t恤", "恤", "毛衣", "卫衣", "针织衫", "背心", "吊带", "衫", "打底衫", "羊毛衫",
                "雪纺衫", "polo衫"]),
        (.bottom, ["bottom", "bottomwear", "pant", "trouser", "jean", "jegging", "short", "skirt", "legging",
                   "capri", "capris", "chino", "jogger", "sweatpant", "culotte", "salwar", "churidar", "patiala",
                   "palazzo", "dhoti", "slack", "cargo", "skort", "salwar and dupatta", "bikini bottom",
                   "下装", "裤", "半身裙", "短裙", "长裤", "短裤", "百褶裙", "a字裙", "包臀裙", "铅笔裙", "伞裙"]),
        (.dress, ["dress", "gown", "romper", "jumpsuit", "playsuit", "cover up", "cover ups", "coverup", "saree", "sari",
                  "lehenga", "lehenga choli", "anarkali", "sundress", "suit", "kurta set", "pinafore",
                  "overall", "dungaree",
                  "裙", "连衣裙", "长裙", "礼服", "连体裤", "旗袍"]),
        (.outerwear, ["outerwear", "jacket", "coat", "blazer", "cardigan", "vest", "gilet", "parka", "trench",
                      "anorak", "windbreaker", "poncho", "cape", "waistcoat", "shrug", "sportcoat", "raincoat",
                      "puffer", "bomber", "kimono", "fleece", "overcoat", "peacoat",
                      "外套", "夹克", "大衣", "风衣", "羽绒服", "西装", "马甲", "开衫", "皮衣", "棉服", "冲锋衣"]),
        (.shoes, ["shoe", "footwear", "boot", "bootie", "booties", "sneaker", "trainer", "pump", "heel", "sandal",
                  "flat", "loafer", "moccasin", "oxford", "slipper", "flip flop", "flipflop", "clog", "mule",
                  "espadrille", "wedge", "stiletto", "brogue", "derby", "slingback", "platform",
                  "鞋", "靴", "拖鞋", "凉鞋"]),
        (.bag, ["bag", "handbag", "clutch", "tote", "backpack", "rucksack", "satchel", "purse", "wallet",
                "duffel", "duffle", "luggage", "pouch", "briefcase", "crossbody", "hobo", "tablet sleeve",
                "laptop sleeve", "suitcase",
                "包", "钱包", "手提包", "背包", "手袋"]),
        (.accessory, ["accessory", "accessories", "belt", "scarf", "scarves", "muffler", "stole", "tie", "ties", "bow tie", "bow ties", "glove", "cufflink",
                      "cuff link", "watch", "hair accessory", "hair accessories", "umbrella", "suspender",
                      "key ring", "key chain", "keychain", "key ring chain", "handkerchief", "sock", "tight",
                      "hosiery", "stocking", "wristband", "dupatta", "tech accessory", "tech accessories",
                      "shoe accessory", "shoe accessories", "shoe lace", "money clip", "bandana", "shawl",
                      "accessory gift set", "hairband", "scrunchie",
                      "围巾", "腰带", "皮带", "手表", "领带", "袜", "手套", "丝巾", "配饰", "领结", "袖扣", "发饰", "披肩"]),
        (.jewellery, ["jewellery", "jewelry", "jewel", "necklace", "chain", "pendant", "charm", "earring", "ring",
                      "bracelet", "bangle", "brooch", "anklet", "choker", "jewellery set", "jewelry set",
                      "项链", "首饰", "耳环", "耳钉", "戒指", "手链", "手镯", "珠宝", "胸针"]),
        (.hat, ["hat", "cap", "beanie", "beret", "fedora", "headwear", "visor", "headband", "balaclava",
                "帽"]),
        (.eyewear, ["eyewear", "sunglass", "sunglasses", "eyeglass", "eyeglasses", "glasses", "spectacles",
                    "goggles", "眼镜", "墨镜", "太阳镜"]),
        (.other, ["lipstick", "mascara", "eyeliner", "eyeshadow", "makeup", "make up", "fragrance", "perfume",
                  "deodorant", "nail polish", "lip gloss", "blush", "powder", "foundation", "concealer",
                  "cosmetic", "skincare", "lotion", "moisturizer", "moisturiser", "serum", "sunscreen",
                  "bra", "sports bra", "panty", "panties", "brief", "boxer", "trunk", "underwear", "lingerie",
                  "innerwear", "innerwear vest", "shapewear", "sleepwear", "nightwear", "pajama", "pyjama",
                  "nightdress", "nightgown", "night suit", "baby doll", "robe", "bathrobe", "bath robe",
                  "swimwear", "swimsuit", "one piece swimsuit", "bikini", "tracksuit", "decor", "furniture",
                  "jewelry storage", "jewellery storage", "patio umbrella", "bath accessory",
                  "bath accessories", "bed accessory", "bed accessories", "fireplace accessory",
                  "fireplace accessories", "beach towel", "water bottle", "gift set", "fragrance gift set",
                  "grooming kit", "grooming bag", "costume", "hair styling tool", "makeup brush",
                  "内衣", "文胸", "睡衣", "泳衣", "化妆品", "口红", "香水"]),
    ]

    /// Words too broad to decide alone: the title gets a say.
    static let vagueWords: Set<String> = ["accessory", "accessories", "配饰"]

    static let keywords = KeywordIndex(builtIn, vague: vagueWords)
}

/// Keyword patterns indexed by their last token, for the "ends last, then longest" rule.
struct KeywordIndex: Sendable, Equatable {
    struct Pattern: Sendable, Equatable {
        var tokens: [String]
        var slot: Slot
        var vague: Bool
    }
    var byLast: [String: [Pattern]] = [:]

    init(_ table: [(Slot, [String])], vague: Set<String>) {
        for (slot, words) in table {
            for word in words {
                let tokens = Self.tokens(word)
                guard let last = tokens.last else { continue }
                byLast[last, default: []].append(Pattern(tokens: tokens, slot: slot, vague: vague.contains(word)))
            }
        }
        for key in byLast.keys { byLast[key]!.sort { $0.tokens.count > $1.tokens.count } }
    }

    static func tokens(_ text: String) -> [String] { Words.tokens(text).map(stem) }

    /// Plural → singular, crudely but identically for text and patterns.
    static func stem(_ w: String) -> String {
        guard w.count > 3, w.hasSuffix("s"), !w.hasSuffix("ss") else { return w }
        if w.hasSuffix("ies") { return String(w.dropLast(3)) + "y" }
        if w.hasSuffix("sses") || w.hasSuffix("ches") || w.hasSuffix("shes") || w.hasSuffix("xes") {
            return String(w.dropLast(2))
        }
        return String(w.dropLast())
    }

    /// The slot of the keyword that ends last in `text` (longest on ties), if any.
    func match(_ text: String) -> (slot: Slot, vague: Bool)? {
        let t = Self.tokens(text)
        var i = t.count - 1
        while i >= 0 {
            if let candidates = byLast[t[i]] {
                for p in candidates where p.tokens.count <= i + 1 {
                    if t[(i + 1 - p.tokens.count)...i].elementsEqual(p.tokens) { return (p.slot, p.vague) }
                }
            }
            i -= 1
        }
        return nil
    }
}
