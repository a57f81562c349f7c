import LookbookCore

/// Everything one store holds, as values: what the pipeline assembles from the
/// catalog, the captions and the recommender, and hands to `StorePublisher`.
public struct StoreContent: Sendable, Equatable {
    /// The catalog snapshot the recommendations were computed from (RFC 3339).
    public var snapshot: String
    public var retailer: String
    /// The style model checkpoint that ranked the lists.
    public var modelVersion: String
    /// `NAME@VERSION` of the captioner that wrote the captions.
    public var captionerVersion: String
    /// The nightly run that built this store; also names the file in `stores/`.
    public var runID: String
    /// When the store was built, RFC 3339 UTC. A parameter, not a clock read, so a
    /// rebuild of the same content is byte-identical.
    public var buildTime: String
    public var products: [StoreProduct]
    public var outfits: [Outfit]
    /// Complementary items per anchor product and target slot, best first.
    public var complementary: [Recommendation]
    /// Candidates for each blank of a curated outfit, best first.
    public var fitb: [BlankCandidates]

    public init(snapshot: String, retailer: String, modelVersion: String, captionerVersion: String,
                runID: String, buildTime: String, products: [StoreProduct] = [], outfits: [Outfit] = [],
                complementary: [Recommendation] = [], fitb: [BlankCandidates] = []) {
        self.snapshot = snapshot; self.retailer = retailer; self.modelVersion = modelVersion
        self.captionerVersion = captionerVersion; self.runID = runID; self.buildTime = buildTime
        self.products = products; self.outfits = outfits
        self.complementary = complementary; self.fitb = fitb
    }

    /// Rows this content makes in each table, list items for the lists.
    public var counts: StoreCounts {
        StoreCounts(products: products.count, outfits: outfits.count,
                    outfitItems: outfits.reduce(0) { $0 + $1.items.count },
                    complementary: complementary.reduce(0) { $0 + $1.items.count },
                    fitb: fitb.reduce(0) { $0 + $1.items.count })
    }
}

/// A product as the store keeps it: what a storefront shows, not the whole catalog row
/// (no description or free-form attributes; the primary image only).
public struct StoreProduct: Sendable, Equatable, Hashable, Codable {
    public var id: String
    public var title: String
    public var category: String
    public var slot: Slot
    public var brand: String?
    public var color: String?
    public var gender: String?
    public var price: Double?
    public var currency: String?
    public var inStock: Bool
    public var url: String?
    /// The primary image's path inside the catalog.
    public var image: String?
    /// Lower-case hex SHA-256 of the primary image's bytes.
    public var imageSHA256: String?
    /// The style caption ("navy striped cotton casual shirt").
    public var caption: String?

    public init(id: String, title: String, category: String, slot: Slot, brand: String? = nil,
                color: String? = nil, gender: String? = nil, price: Double? = nil, currency: String? = nil,
                inStock: Bool = true, url: String? = nil, image: String? = nil,
                imageSHA256: String? = nil, caption: String? = nil) {
        self.id = id; self.title = title; self.category = category; self.slot = slot
        self.brand = brand; self.color = color; self.gender = gender; self.price = price
        self.currency = currency; self.inStock = inStock; self.url = url; self.image = image
        self.imageSHA256 = imageSHA256; self.caption = caption
    }

    /// The store's view of a catalog product: its primary image, with that image's
    /// hash and the product's caption when known.
    public init(_ product: Product, imageSHA256: String? = nil, caption: String? = nil) {
        self.init(id: product.id, title: product.title, category: product.category, slot: product.slot,
                  brand: product.brand, color: product.color, gender: product.gender, price: product.price,
                  currency: product.currency, inStock: product.inStock, url: product.url,
                  image: product.images.first, imageSHA256: imageSHA256, caption: caption)
    }

    enum CodingKeys: String, CodingKey {
        case id, title, category, slot, brand, color, gender, price, currency
        case inStock = "in_stock"
        case url, image
        case imageSHA256 = "image_sha256"
        case caption
    }
}

/// Row counts per table. `complementary` and `fitb` count list *items* (the rows of
/// the `complementary` and `fitb_candidates` views), not the one-per-list table rows,
/// so the figures read the same as when every item was a row.
public struct StoreCounts: Sendable, Equatable, Hashable, Codable {
    public var products: Int
    public var outfits: Int
    public var outfitItems: Int
    public var complementary: Int
    public var fitb: Int

    public init(products: Int = 0, outfits: Int = 0, outfitItems: Int = 0, complementary: Int = 0, fitb: Int = 0) {
        self.products = products; self.outfits = outfits; self.outfitItems = outfitItems
        self.complementary = complementary; self.fitb = fitb
    }

    /// All rows, list items counted one by one: the figure publish throughput is
    /// measured in.
    public var total: Int { products + outfits + outfitItems + complementary + fitb }

    enum CodingKeys: String, CodingKey {
        case products, outfits
        case outfitItems = "outfit_items"
        case complementary, fitb
    }
}

/// The `meta` table of a published store.
public struct StoreMeta: Sendable, Equatable, Hashable, Codable {
    public var schemaVersion: Int
    public var buildTime: String
    public var snapshot: String
    public var retailer: String
    public var modelVersion: String
    public var captionerVersion: String
    public var runID: String
    public var counts: StoreCounts

    public init(schemaVersion: Int, buildTime: String, snapshot: String, retailer: String, modelVersion: String,
                captionerVersion: String, runID: String, counts: StoreCounts) {
        self.schemaVersion = schemaVersion; self.buildTime = buildTime; self.snapshot = snapshot
        self.retailer = retailer; self.modelVersion = modelVersion; self.captionerVersion = captionerVersion
        self.runID = runID; self.counts = counts
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case buildTime = "build_time"
        case snapshot, retailer
        case modelVersion = "model_version"
        case captionerVersion = "captioner_version"
        case runID = "run_id"
        case counts
    }
}
