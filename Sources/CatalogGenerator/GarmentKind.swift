import LookbookCore

/// The product types the generator makes, each with its slot, words, allowed styles,
/// materials, patterns and silhouette.
public enum GarmentKind: String, CaseIterable, Sendable, Codable, Hashable {
    case tshirt, shirt, blouse, sweater, hoodie
    case trousers, joggers, jeans, shorts, skirt
    case dress
    case coat, jacket, blazer
    case sneakers, boots, heels, loafers, sandals
    case tote, crossbody, backpack
    case cap, beanie, sunHat
    case sunglasses, necklace, scarf, belt

    public var slot: Slot {
        switch self {
        case .tshirt, .shirt, .blouse, .sweater, .hoodie: .top
        case .trousers, .joggers, .jeans, .shorts, .skirt: .bottom
        case .dress: .dress
        case .coat, .jacket, .blazer: .outerwear
        case .sneakers, .boots, .heels, .loafers, .sandals: .shoes
        case .tote, .crossbody, .backpack: .bag
        case .cap, .beanie, .sunHat: .hat
        case .sunglasses: .eyewear
        case .necklace: .jewellery
        case .scarf, .belt: .accessory
        }
    }

    /// Title noun (singular).
    var noun: String {
        switch self {
        case .tshirt: "T-Shirt"
        case .shirt: "Shirt"
        case .blouse: "Blouse"
        case .sweater: "Sweater"
        case .hoodie: "Hoodie"
        case .trousers: "Trousers"
        case .joggers: "Joggers"
        case .jeans: "Jeans"
        case .shorts: "Shorts"
        case .skirt: "Skirt"
        case .dress: "Dress"
        case .coat: "Coat"
        case .jacket: "Jacket"
        case .blazer: "Blazer"
        case .sneakers: "Sneakers"
        case .boots: "Ankle Boots"
        case .heels: "Heels"
        case .loafers: "Loafers"
        case .sandals: "Sandals"
        case .tote: "Tote Bag"
        case .crossbody: "Crossbody Bag"
        case .backpack: "Backpack"
        case .cap: "Baseball Cap"
        case .beanie: "Beanie"
        case .sunHat: "Sun Hat"
        case .sunglasses: "Sunglasses"
        case .necklace: "Pendant Necklace"
        case .scarf: "Scarf"
        case .belt: "Belt"
        }
    }

    var zhNoun: String {
        switch self {
        case .tshirt: "T恤"
        case .shirt: "衬衫"
        case .blouse: "女式衬衫"
        case .sweater: "毛衣"
        case .hoodie: "连帽卫衣"
        case .trousers: "长裤"
        case .joggers: "束脚运动裤"
        case .jeans: "牛仔裤"
        case .shorts: "短裤"
        case .skirt: "半身裙"
        case .dress: "连衣裙"
        case .coat: "大衣"
        case .jacket: "夹克"
        case .blazer: "西装外套"
        case .sneakers: "运动鞋"
        case .boots: "短靴"
        case .heels: "高跟鞋"
        case .loafers: "乐福鞋"
        case .sandals: "凉鞋"
        case .tote: "托特包"
        case .crossbody: "斜挎包"
        case .backpack: "双肩包"
        case .cap: "棒球帽"
        case .beanie: "针织帽"
        case .sunHat: "遮阳帽"
        case .sunglasses: "太阳镜"
        case .necklace: "吊坠项链"
        case .scarf: "围巾"
        case .belt: "腰带"
        }
    }

    /// English category path without the gender department, e.g. `Tops > Shirts`.
    var categoryTail: [String] {
        switch self {
        case .tshirt: ["Tops", "T-Shirts"]
        case .shirt: ["Tops", "Shirts"]
        case .blouse: ["Tops", "Blouses"]
        case .sweater: ["Tops", "Sweaters"]
        case .hoodie: ["Tops", "Hoodies"]
        case .trousers: ["Bottoms", "Trousers"]
        case .joggers: ["Bottoms", "Joggers"]
        case .jeans: ["Bottoms", "Jeans"]
        case .shorts: ["Bottoms", "Shorts"]
        case .skirt: ["Bottoms", "Skirts"]
        case .dress: ["Dresses"]
        case .coat: ["Outerwear", "Coats"]
        case .jacket: ["Outerwear", "Jackets"]
        case .blazer: ["Outerwear", "Blazers"]
        case .sneakers: ["Shoes", "Sneakers"]
        case .boots: ["Shoes", "Ankle Boots"]
        case .heels: ["Shoes", "Heels"]
        case .loafers: ["Shoes", "Loafers"]
        case .sandals: ["Shoes", "Sandals"]
        case .tote: ["Bags", "Totes"]
        case .crossbody: ["Bags", "Crossbody Bags"]
        case .backpack: ["Bags", "Backpacks"]
        case .cap: ["Hats", "Caps"]
        case .beanie: ["Hats", "Beanies"]
        case .sunHat: ["Hats", "Sun Hats"]
        case .sunglasses: ["Eyewear", "Sunglasses"]
        case .necklace: ["Jewellery", "Necklaces"]
        case .scarf: ["Scarves"]
        case .belt: ["Belts"]
        }
    }

    /// Chinese category path without the department, e.g. `上衣 > 衬衫`.
    var zhCategoryTail: [String] {
        switch slot {
        case .top: ["上衣", zhNoun]
        case .bottom: ["下装", zhNoun]
        case .dress: ["连衣裙"]
        case .outerwear: ["外套", zhNoun]
        case .shoes: ["鞋", zhNoun]
        case .bag: ["包", zhNoun]
        case .hat: ["帽子", zhNoun]
        case .eyewear: ["眼镜", zhNoun]
        case .jewellery: ["首饰", zhNoun]
        default: [zhNoun]
        }
    }

    /// Clothing and shoes sit under a gender department (`Women > …`); bags, hats,
    /// eyewear, jewellery, scarves and belts under `Accessories > …`.
    var isAccessory: Bool {
        switch slot {
        case .bag, .hat, .eyewear, .jewellery, .accessory: true
        default: false
        }
    }

    /// Kinds only made for women.
    var womenOnly: Bool { self == .blouse || self == .skirt || self == .dress || self == .heels }

    public var styles: [Style] {
        switch self {
        case .tshirt: [.casual, .sporty, .street]
        case .shirt: [.casual, .formal]
        case .blouse: [.formal, .boho, .casual]
        case .sweater: [.casual, .formal, .boho]
        case .hoodie: [.sporty, .street]
        case .trousers: [.formal, .casual]
        case .joggers: [.sporty, .street]
        case .jeans: [.casual, .street, .boho]
        case .shorts: [.casual, .sporty]
        case .skirt: [.formal, .casual, .boho]
        case .dress: [.formal, .casual, .boho]
        case .coat: [.formal, .casual]
        case .jacket: [.casual, .street, .sporty]
        case .blazer: [.formal]
        case .sneakers: [.casual, .sporty, .street]
        case .boots: [.boho, .street, .casual]
        case .heels: [.formal]
        case .loafers: [.formal, .casual]
        case .sandals: [.boho, .casual]
        case .tote: [.casual, .formal, .boho]
        case .crossbody: [.casual, .street, .boho, .formal]
        case .backpack: [.sporty, .street]
        case .cap: [.sporty, .street, .casual]
        case .beanie: [.street, .casual]
        case .sunHat: [.boho, .casual]
        case .sunglasses: [.casual, .street, .boho, .sporty]
        case .necklace: [.boho, .formal, .street]
        case .scarf: [.boho, .formal, .casual]
        case .belt: [.formal, .casual, .boho]
        }
    }

    var materials: [Material] {
        switch self {
        case .tshirt: [.cotton, .jersey, .linen, .polyester]
        case .shirt: [.cotton, .linen, .silk, .denim]
        case .blouse: [.silk, .cotton, .linen]
        case .sweater: [.wool, .cashmere, .cotton, .crochet, .knit]
        case .hoodie: [.cotton, .fleece, .polyester]
        case .trousers: [.wool, .cotton, .linen]
        case .joggers: [.jersey, .fleece, .polyester, .cotton]
        case .jeans: [.denim]
        case .shorts: [.cotton, .nylon, .linen, .denim]
        case .skirt: [.wool, .cotton, .linen, .silk, .denim]
        case .dress: [.silk, .cotton, .linen, .jersey]
        case .coat: [.wool, .cashmere]
        case .jacket: [.denim, .leather, .nylon, .suede, .cotton]
        case .blazer: [.wool, .linen]
        case .sneakers: [.canvas, .leather, .mesh]
        case .boots: [.leather, .suede]
        case .heels: [.leather, .suede]
        case .loafers: [.leather, .suede]
        case .sandals: [.leather, .suede]
        case .tote: [.canvas, .leather, .straw]
        case .crossbody: [.leather, .nylon, .suede]
        case .backpack: [.nylon, .canvas]
        case .cap: [.cotton, .nylon]
        case .beanie: [.wool, .knit]
        case .sunHat: [.straw, .cotton]
        case .sunglasses: [.acetate, .metal]
        case .necklace: [.enamel, .glass, .resin]
        case .scarf: [.silk, .wool, .cashmere, .cotton]
        case .belt: [.leather, .suede, .canvas]
        }
    }

    /// Patterns the kind can carry; the style's patterns are intersected with these.
    var patterns: Set<Pattern> {
        if self == .jeans { return [.solid] }
        return switch slot {
        case .top, .bottom, .dress: Set(Pattern.allCases)
        case .outerwear: [.solid, .checked]
        case .bag: [.solid, .striped, .checked]
        case .hat: self == .beanie ? [.solid, .striped] : [.solid]
        case .accessory: self == .scarf ? Set(Pattern.allCases) : [.solid]
        default: [.solid]
        }
    }

    /// Typical price range in USD before the material factor.
    var priceRange: ClosedRange<Double> {
        switch self {
        case .tshirt: 15...40
        case .shirt, .blouse: 35...95
        case .sweater, .hoodie: 45...120
        case .trousers, .jeans, .skirt: 45...130
        case .joggers, .shorts: 25...70
        case .dress: 60...220
        case .coat: 150...420
        case .jacket, .blazer: 90...280
        case .sneakers, .loafers, .boots, .heels: 60...210
        case .sandals: 35...110
        case .tote, .crossbody, .backpack: 40...260
        case .cap, .beanie, .sunHat: 18...60
        case .sunglasses: 25...160
        case .necklace: 20...140
        case .scarf, .belt: 22...120
        }
    }
}
