import Imaging
import LookbookCore

/// The eleven basic colour terms (Berlin & Kay), the families every named colour maps to.
public enum ColorFamily: String, CaseIterable, Sendable, Codable, Hashable {
    case black, white, grey, red, orange, yellow, green, blue, purple, pink, brown

    /// Neutrals combine with anything; an outfit has at most one non-neutral family
    /// (see `OutfitRules`).
    public var isNeutral: Bool {
        switch self {
        case .black, .white, .grey, .brown: true
        default: false
        }
    }
}

/// A retailer colour name with its basic family and the sRGB value the renderer paints.
public struct NamedColor: Sendable, Equatable, Hashable, Codable {
    /// English, as it appears in titles: `Navy`, `Heather Grey`.
    public var name: String
    /// Simplified Chinese, for zh-CN catalogs: `藏青`.
    public var zh: String
    public var family: ColorFamily
    public var rgb: RGBA

    public init(_ name: String, _ zh: String, _ family: ColorFamily, _ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.name = name; self.zh = zh; self.family = family; self.rgb = RGBA(r, g, b)
    }

    /// Every colour the generator uses, each unambiguous about its family.
    public static let all: [NamedColor] = [
        NamedColor("Black", "黑色", .black, 22, 22, 24),
        NamedColor("White", "白色", .white, 246, 246, 244),
        NamedColor("Ivory", "象牙白", .white, 238, 232, 214),
        NamedColor("Charcoal", "炭灰", .grey, 64, 66, 70),
        NamedColor("Grey", "灰色", .grey, 128, 128, 130),
        NamedColor("Light Grey", "浅灰", .grey, 186, 186, 188),
        NamedColor("Navy", "藏青", .blue, 30, 40, 84),
        NamedColor("Cobalt", "钴蓝", .blue, 36, 82, 190),
        NamedColor("Sky Blue", "天蓝", .blue, 120, 172, 226),
        NamedColor("Denim Blue", "牛仔蓝", .blue, 64, 96, 140),
        NamedColor("Red", "红色", .red, 196, 30, 42),
        NamedColor("Burgundy", "酒红", .red, 112, 20, 40),
        NamedColor("Orange", "橙色", .orange, 238, 122, 30),
        NamedColor("Burnt Orange", "焦橙", .orange, 196, 88, 24),
        NamedColor("Yellow", "黄色", .yellow, 242, 206, 40),
        NamedColor("Mustard", "芥末黄", .yellow, 214, 168, 34),
        NamedColor("Green", "绿色", .green, 40, 142, 72),
        NamedColor("Olive", "橄榄绿", .green, 98, 110, 44),
        NamedColor("Sage", "鼠尾草绿", .green, 146, 170, 128),
        NamedColor("Purple", "紫色", .purple, 112, 50, 142),
        NamedColor("Lavender", "薰衣草紫", .purple, 176, 150, 212),
        NamedColor("Pink", "粉色", .pink, 236, 128, 170),
        NamedColor("Blush", "浅粉", .pink, 242, 186, 196),
        NamedColor("Fuchsia", "玫红", .pink, 212, 40, 132),
        NamedColor("Brown", "棕色", .brown, 110, 70, 40),
        NamedColor("Camel", "驼色", .brown, 186, 138, 84),
        NamedColor("Chocolate", "巧克力色", .brown, 78, 48, 30),
    ]

    public static func named(_ name: String) -> NamedColor {
        guard let c = all.first(where: { $0.name == name }) else { preconditionFailure("unknown colour \(name)") }
        return c
    }
}

/// The surface pattern painted on a garment's body.
public enum Pattern: String, CaseIterable, Sendable, Codable, Hashable {
    case solid, striped, checked, dotted, floral

    /// Title word, `nil` for solid.
    var english: String? {
        switch self {
        case .solid: nil
        case .striped: "Striped"
        case .checked: "Checked"
        case .dotted: "Polka-Dot"
        case .floral: "Floral"
        }
    }

    var zh: String? {
        switch self {
        case .solid: nil
        case .striped: "条纹"
        case .checked: "格纹"
        case .dotted: "波点"
        case .floral: "碎花"
        }
    }
}

/// The style of a product and of a curated outfit. Outfits never mix styles.
public enum Style: String, CaseIterable, Sendable, Codable, Hashable {
    case casual, formal, sporty, boho, street

    var english: String {
        switch self {
        case .casual: "Casual"
        case .formal: "Tailored"
        case .sporty: "Athletic"
        case .boho: "Boho"
        case .street: "Streetwear"
        }
    }

    var zh: String {
        switch self {
        case .casual: "休闲"
        case .formal: "通勤"
        case .sporty: "运动"
        case .boho: "波西米亚"
        case .street: "街头"
        }
    }

    /// Colours products of this style come in.
    var palette: [String] {
        switch self {
        case .formal: ["Black", "White", "Ivory", "Charcoal", "Grey", "Light Grey", "Navy", "Camel", "Burgundy",
                       "Cobalt", "Chocolate", "Sky Blue", "Blush"]
        case .casual: ["White", "Grey", "Light Grey", "Navy", "Denim Blue", "Olive", "Red", "Mustard", "Sky Blue",
                       "Green", "Pink", "Camel", "Black", "Orange", "Brown"]
        case .sporty: ["Black", "White", "Grey", "Red", "Cobalt", "Orange", "Yellow", "Green", "Fuchsia", "Navy",
                       "Light Grey"]
        case .boho: ["Ivory", "Camel", "Brown", "Burnt Orange", "Mustard", "Olive", "Sage", "Burgundy", "Lavender",
                     "Blush", "White", "Chocolate"]
        case .street: ["Black", "White", "Grey", "Charcoal", "Olive", "Red", "Orange", "Yellow", "Purple", "Navy",
                       "Denim Blue"]
        }
    }

    /// Patterns with weights (solid dominates).
    var patterns: [(Pattern, Double)] {
        switch self {
        case .formal: [(.solid, 6), (.striped, 2), (.checked, 2)]
        case .casual: [(.solid, 5), (.striped, 2), (.checked, 2), (.dotted, 1)]
        case .sporty: [(.solid, 7), (.striped, 3)]
        case .boho: [(.solid, 4), (.floral, 4), (.dotted, 1), (.striped, 1)]
        case .street: [(.solid, 6), (.checked, 2), (.striped, 2)]
        }
    }

    var materials: Set<Material> {
        switch self {
        case .formal: [.wool, .cashmere, .silk, .leather, .cotton, .linen, .suede, .enamel, .acetate, .metal]
        case .casual: [.cotton, .denim, .linen, .jersey, .canvas, .leather, .suede, .wool, .knit, .nylon, .straw, .acetate, .glass]
        case .sporty: [.nylon, .polyester, .mesh, .jersey, .fleece, .cotton, .canvas, .acetate]
        case .boho: [.linen, .crochet, .suede, .straw, .cotton, .silk, .leather, .glass, .resin, .denim, .wool]
        case .street: [.cotton, .denim, .leather, .nylon, .fleece, .canvas, .mesh, .metal, .acetate, .wool, .resin]
        }
    }

    var brands: [String] {
        switch self {
        case .formal: ["Harlow & Vane", "Maison Ardent", "Whitcombe"]
        case .casual: ["Northway", "Field & Pine", "Common Thread"]
        case .sporty: ["Kinetic Lab", "Stride Co."]
        case .boho: ["Sundry Row", "Wildflower Atelier"]
        case .street: ["Block Nine", "Concrete Supply"]
        }
    }
}

/// What a product is made of (`attributes["material"]`).
public enum Material: String, CaseIterable, Sendable, Codable, Hashable {
    case cotton, linen, wool, cashmere, silk, denim, leather, suede, polyester, nylon, jersey, fleece, knit
    case crochet, canvas, mesh, straw, acetate, metal, enamel, glass, resin

    var english: String {
        switch self {
        case .glass: "Beaded"
        case .metal: "Metal-Frame"
        default: rawValue.prefix(1).uppercased() + rawValue.dropFirst()
        }
    }

    var zh: String {
        switch self {
        case .cotton: "棉质"
        case .linen: "亚麻"
        case .wool: "羊毛"
        case .cashmere: "羊绒"
        case .silk: "真丝"
        case .denim: "牛仔"
        case .leather: "真皮"
        case .suede: "麂皮"
        case .polyester: "涤纶"
        case .nylon: "尼龙"
        case .jersey: "平纹针织"
        case .fleece: "抓绒"
        case .knit: "针织"
        case .crochet: "钩织"
        case .canvas: "帆布"
        case .mesh: "网面"
        case .straw: "草编"
        case .acetate: "板材"
        case .metal: "金属框"
        case .enamel: "珐琅"
        case .glass: "串珠"
        case .resin: "树脂"
        }
    }

    /// Price multiplier.
    var priceFactor: Double {
        switch self {
        case .cashmere: 2.2
        case .silk: 1.7
        case .leather, .suede: 1.5
        case .wool: 1.3
        case .linen: 1.1
        case .polyester, .mesh, .canvas, .resin, .glass: 0.85
        default: 1.0
        }
    }
}
