/// A curated look (catalog format v1, `outfits.jsonl`): the training signal.
public struct Outfit: Codable, Sendable, Equatable, Hashable {
    public var id: String
    /// Product ids, two or more, each in the catalog's products.
    public var items: [String]
    public var name: String?
    public var source: String?
    /// Popularity, usable as a training weight.
    public var likes: Int?

    public init(id: String, items: [String], name: String? = nil, source: String? = nil, likes: Int? = nil) {
        self.id = id; self.items = items; self.name = name; self.source = source; self.likes = likes
    }
}

/// A merchandiser's verdict on a recommendation (catalog format v1, `feedback.jsonl`).
public struct Feedback: Codable, Sendable, Equatable, Hashable {
    public enum Verdict: String, Codable, Sendable { case approve, reject }
    public var anchor: String
    public var item: String
    public var verdict: Verdict
    public var slot: String?
    public var at: String?

    public init(anchor: String, item: String, verdict: Verdict, slot: String? = nil, at: String? = nil) {
        self.anchor = anchor; self.item = item; self.verdict = verdict; self.slot = slot; self.at = at
    }
}

/// `catalog.json`: identifies the retailer and orders its snapshots.
public struct CatalogManifest: Codable, Sendable, Equatable {
    public var format: String
    public var version: Int
    public var retailer: String
    /// RFC 3339; snapshots of one retailer are ordered by it.
    public var snapshot: String
    public var locale: String?
    public var currency: String?

    public static let formatName = "lookbook-catalog"
    public static let supportedVersion = 1

    public init(format: String = CatalogManifest.formatName, version: Int = CatalogManifest.supportedVersion,
                retailer: String, snapshot: String, locale: String? = nil, currency: String? = nil) {
        self.format = format; self.version = version; self.retailer = retailer
        self.snapshot = snapshot; self.locale = locale; self.currency = currency
    }
}

/// An image file of the catalog, content-addressed by its SHA-256.
public struct ImageRecord: Codable, Sendable, Equatable, Hashable {
    public enum Format: String, Codable, Sendable { case jpeg, png, webp }
    /// Path inside the catalog, `/`-separated, relative.
    public var path: String
    /// Lower-case hex SHA-256 of the file's bytes.
    public var sha256: String
    public var byteCount: Int
    public var format: Format
    public var width: Int
    public var height: Int

    public init(path: String, sha256: String, byteCount: Int, format: Format, width: Int, height: Int) {
        self.path = path; self.sha256 = sha256; self.byteCount = byteCount
        self.format = format; self.width = width; self.height = height
    }
}

/// A whole catalog snapshot as values: what ingest produces and every later stage reads.
public struct Catalog: Sendable, Equatable {
    public var manifest: CatalogManifest
    public var products: [Product]
    public var outfits: [Outfit]
    public var feedback: [Feedback]
    /// Images that were read and recognised, by path inside the catalog.
    public var images: [String: ImageRecord]

    public init(manifest: CatalogManifest, products: [Product] = [], outfits: [Outfit] = [],
                feedback: [Feedback] = [], images: [String: ImageRecord] = [:]) {
        self.manifest = manifest; self.products = products; self.outfits = outfits
        self.feedback = feedback; self.images = images
    }
}
