/// One product of a catalog (catalog format v1, `products.jsonl` / `products.csv`).
///
/// Field names in files are snake_case (`in_stock`, `updated_at`); Swift names are
/// camelCase. `slot` is not in the file: ingest assigns it with `SlotRules`.
public struct Product: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var title: String
    public var category: String
    public var description: String?
    public var brand: String?
    public var color: String?
    public var gender: String?
    public var price: Double?
    public var currency: String?
    public var inStock: Bool
    public var url: String?
    /// Paths inside the catalog; the first is the primary image.
    public var images: [String]
    public var attributes: [String: String]
    public var updatedAt: String?
    /// Assigned by ingest from category and title; never read from the file.
    public var slot: Slot

    public init(
        id: String, title: String, category: String, description: String? = nil,
        brand: String? = nil, color: String? = nil, gender: String? = nil,
        price: Double? = nil, currency: String? = nil, inStock: Bool = true,
        url: String? = nil, images: [String] = [], attributes: [String: String] = [:],
        updatedAt: String? = nil, slot: Slot = .other
    ) {
        self.id = id; self.title = title; self.category = category
        self.description = description; self.brand = brand; self.color = color
        self.gender = gender; self.price = price; self.currency = currency
        self.inStock = inStock; self.url = url; self.images = images
        self.attributes = attributes; self.updatedAt = updatedAt; self.slot = slot
    }

    enum CodingKeys: String, CodingKey {
        case id, title, category, description, brand, color, gender, price, currency
        case inStock = "in_stock"
        case url, images, attributes
        case updatedAt = "updated_at"
        case slot
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        title = try c.decode(String.self, forKey: .title)
        category = try c.decode(String.self, forKey: .category)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        brand = try c.decodeIfPresent(String.self, forKey: .brand)
        color = try c.decodeIfPresent(String.self, forKey: .color)
        gender = try c.decodeIfPresent(String.self, forKey: .gender)
        price = try c.decodeIfPresent(Double.self, forKey: .price)
        currency = try c.decodeIfPresent(String.self, forKey: .currency)
        inStock = try c.decodeIfPresent(Bool.self, forKey: .inStock) ?? true
        url = try c.decodeIfPresent(String.self, forKey: .url)
        images = try c.decodeIfPresent([String].self, forKey: .images) ?? []
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        updatedAt = try c.decodeIfPresent(String.self, forKey: .updatedAt)
        slot = try c.decodeIfPresent(Slot.self, forKey: .slot) ?? .other
    }

    /// The product's gender normalised for the compatibility rule.
    public var normalizedGender: Gender { Gender(retailerWord: gender) }

    /// Attributes that name a finer kind of item than the category (the coarse Polyvore
    /// import keeps the fine category as `polyvore_category`), in the order they are read.
    public static let kindAttributes = ["subcategory", "sub_category", "product_type", "article_type", "polyvore_category"]

    /// The first of `kindAttributes` the product carries that says more than its category
    /// (trimmed; nil when there is none).
    public var finerKind: String? {
        for key in Self.kindAttributes {
            if let finer = attributes[key]?.trimmingCharacters(in: .whitespaces), !finer.isEmpty, finer != category {
                return finer
            }
        }
        return nil
    }

    /// The most specific name of what the product is: its `finerKind`, else the last step
    /// of its category path (`Women > Shoes > Ankle Boots` → `Ankle Boots`); "" when the
    /// category is empty.
    public var kindName: String {
        if let finer = finerKind { return finer }
        let last = category.split(separator: ">").last.map(String.init) ?? category
        return last.trimmingCharacters(in: .whitespaces)
    }

    /// Valid ids: 1–128 characters of `A-Za-z0-9._:-` (catalog format v1).
    public static func isValidID(_ id: String) -> Bool {
        guard (1...128).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x2E || b == 0x5F || b == 0x3A || b == 0x2D
        }
    }
}

/// A retailer's gender word, normalised. Products without one go with every gender.
public enum Gender: String, Codable, Sendable {
    case women, men, unisex, kids, unspecified

    public init(retailerWord: String?) {
        guard let w = retailerWord?.lowercased().trimmingCharacters(in: .whitespaces), !w.isEmpty else {
            self = .unspecified; return
        }
        switch w {
        case "women", "woman", "female", "womens", "women's", "ladies", "girls", "girl", "女", "女装", "女士":
            self = w.hasPrefix("girl") ? .kids : .women
        case "men", "man", "male", "mens", "men's", "boys", "boy", "男", "男装", "男士":
            self = w.hasPrefix("boy") ? .kids : .men
        case "unisex", "all", "中性":
            self = .unisex
        case "kids", "kid", "children", "child", "baby", "儿童", "童装":
            self = .kids
        default:
            self = .unspecified
        }
    }

    /// Whether two products may be recommended together: equal genders, or either
    /// side unisex or unspecified.
    public func goes(with other: Gender) -> Bool {
        self == other || self == .unisex || other == .unisex || self == .unspecified || other == .unspecified
    }
}
