import LookbookCore
import SQLiteSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The read side storefronts use: one read-only connection to an immutable store
/// file, with its statements prepared once.
///
/// Opened as `file:PATH?mode=ro&immutable=1`: no locks, no journal checks, and the
/// file is memory-mapped, which is only safe because a published store is never
/// written again (a new one is renamed over the path; this reader keeps the old inode
/// until it is closed). Not `Sendable`: give each thread its own reader; they are cheap.
public final class StoreReader {
    public let path: String
    let db: SQLiteDatabase
    private let productStatement: SQLiteStatement
    private let complementaryStatement: SQLiteStatement
    private let complementarySlotStatement: SQLiteStatement
    private let complementaryViewStatement: SQLiteStatement
    private let fitbStatement: SQLiteStatement
    private let looksStatement: SQLiteStatement
    private let outfitStatement: SQLiteStatement
    private let outfitItemsStatement: SQLiteStatement
    private let reasonStatement: SQLiteStatement
    /// Reason texts by `reasons.id` (`reasonCache[id]`), filled as lists are read.
    /// Equal reasons then share one string's storage instead of allocating a copy per
    /// row. Ids are dense (1…`maxReasonID`), so an array indexed by id: no hashing on
    /// the hot path. Unchecked exclusivity: only this class's non-reentrant methods
    /// touch it, and the dynamic check (swift_beginAccess, a TLS lookup) showed in the lookup profile.
    @exclusivity(unchecked) private var reasonCache: [String?] = []
    private let maxReasonID: Int

    /// Opens the store at `path` and checks it is a Lookbook store of a schema version
    /// this reader knows.
    ///
    /// - Parameter mmapMiB: how much of the file SQLite may memory-map (0 turns it off).
    public init(path: String, mmapMiB: Int = 1024) throws(LookbookError) {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            throw LookbookError(.store, "no store at \(path): \(String(cString: strerror(code))); run `lookbook run` to publish one",
                                underlying: "errno \(code)")
        }
        let uri = "file:" + Self.uriEscaped(path) + "?mode=ro&immutable=1"
        do {
            db = try SQLiteDatabase(uri, mode: .readOnly, uri: true)
            let applicationID: Int
            do { applicationID = try db.pragmaInt("application_id") } catch {
                throw LookbookError(.store, "\(path) is not a Lookbook store (\(error.message))", underlying: error.description)
            }
            guard applicationID == Int(StoreSchema.applicationID) else {
                throw LookbookError(.store, "\(path) is not a Lookbook store (application_id \(applicationID), expected \(StoreSchema.applicationID))")
            }
            let version = try db.pragmaInt("user_version")
            guard version == StoreSchema.version else {
                throw LookbookError(.store, "\(path): store schema version \(version), this reader supports \(StoreSchema.version); use a matching lookbook version")
            }
            try db.setPragma("mmap_size", mmapMiB << 20)
            productStatement = try db.prepare("""
                SELECT id, title, category, slot, brand, color, gender, price, currency, in_stock, url, image, image_sha256, caption
                FROM products WHERE id = ?
                """, persistent: true)
            complementaryStatement = try db.prepare("""
                SELECT target_slot, items FROM complementary_lists WHERE anchor_id = ? ORDER BY target_slot
                """, persistent: true)
            complementarySlotStatement = try db.prepare("""
                SELECT target_slot, items FROM complementary_lists WHERE anchor_id = ? AND target_slot = ?
                """, persistent: true)
            complementaryViewStatement = try db.prepare("""
                SELECT c.target_slot, c.rank, c.item_id, c.score, c.reason_id,
                       p.title, p.slot, p.image, p.price, p.currency, p.in_stock, p.url
                FROM complementary c LEFT JOIN products p ON p.id = c.item_id
                WHERE c.anchor_id = ? ORDER BY c.target_slot, c.rank
                """, persistent: true)
            fitbStatement = try db.prepare("""
                SELECT position, items FROM fitb_lists WHERE outfit_id = ? ORDER BY position
                """, persistent: true)
            looksStatement = try db.prepare("""
                SELECT oi.outfit_id, oi.position, o.name FROM outfit_items oi JOIN outfits o ON o.id = oi.outfit_id
                WHERE oi.product_id = ? ORDER BY oi.outfit_id, oi.position
                """, persistent: true)
            outfitStatement = try db.prepare("SELECT id, name, source, likes FROM outfits WHERE id = ?", persistent: true)
            outfitItemsStatement = try db.prepare(
                "SELECT product_id FROM outfit_items WHERE outfit_id = ? ORDER BY position", persistent: true)
            reasonStatement = try db.prepare("SELECT text FROM reasons WHERE id = ?", persistent: true)
            let maxID = try db.prepare("SELECT ifnull(max(id), 0) FROM reasons")
            maxReasonID = try maxID.step() ? maxID.int(0) : 0
        } catch let error as SQLiteError {
            throw LookbookError(.store, "cannot read the store \(path): \(error.message)", underlying: error.description)
        } catch let error as LookbookError {
            throw error
        } catch {
            throw LookbookError(.store, "cannot read the store \(path): \(error)")
        }
    }

    /// `%`, `?` and `#` would end or escape the path part of an SQLite URI.
    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for ch in path.unicodeScalars {
            switch ch {
            case "%": out += "%25"
            case "?": out += "%3f"
            case "#": out += "%23"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Runs a query body, turning SQLite's errors into the store's error type.
    @inline(__always)
    private func query<T>(_ statement: SQLiteStatement, _ body: (SQLiteStatement) throws(SQLiteError) -> T) throws(LookbookError) -> T {
        defer { statement.reset() }
        do { return try body(statement) } catch {
            throw LookbookError(.store, "cannot read the store \(path): \(error.message)", underlying: error.description)
        }
    }

    private func slot(_ statement: SQLiteStatement, _ column: Int) throws(SQLiteError) -> Slot {
        let name = statement.string(column) ?? ""
        guard let slot = Slot(rawValue: name) else {
            throw SQLiteError(code: 11 /* SQLITE_CORRUPT */, message: "unknown slot '\(name)' in the store", sql: statement.sql)
        }
        return slot
    }

    /// The text of reason `id`, from the cache or, the first time, the `reasons` table.
    @inline(__always)
    private func reason(_ id: Int) throws(SQLiteError) -> String {
        if id < reasonCache.count, let text = reasonCache[id] { return text }
        return try loadReason(id)
    }

    @inline(never)
    private func loadReason(_ id: Int) throws(SQLiteError) -> String {
        defer { reasonStatement.reset() }
        try reasonStatement.bind(id, at: 1)
        guard (1...max(1, maxReasonID)).contains(id), try reasonStatement.step(), let text = reasonStatement.string(0) else {
            throw SQLiteError(code: 11 /* SQLITE_CORRUPT */, message: "reason \(id) is missing from the store", sql: reasonStatement.sql)
        }
        if id >= reasonCache.count { reasonCache.append(contentsOf: repeatElement(nil, count: id + 1 - reasonCache.count)) }
        reasonCache[id] = text
        return text
    }

    // MARK: Lookups

    /// The store's build facts and row counts.
    public func meta() throws(LookbookError) -> StoreMeta {
        let rows = try query(try prepareOnce("SELECT key, value FROM meta")) { s throws(SQLiteError) in
            var rows: [String: String] = [:]
            while try s.step() { rows[s.string(0) ?? ""] = s.string(1) ?? "" }
            return rows
        }
        typealias K = StoreSchema.MetaKey
        func int(_ key: String) -> Int { rows[key].flatMap(Int.init) ?? 0 }
        return StoreMeta(
            schemaVersion: int(K.schemaVersion), buildTime: rows[K.buildTime] ?? "", snapshot: rows[K.snapshot] ?? "",
            retailer: rows[K.retailer] ?? "", modelVersion: rows[K.modelVersion] ?? "",
            captionerVersion: rows[K.captionerVersion] ?? "", runID: rows[K.runID] ?? "",
            counts: StoreCounts(products: int(K.products), outfits: int(K.outfits), outfitItems: int(K.outfitItems),
                                complementary: int(K.complementary), fitb: int(K.fitb)))
    }

    private func prepareOnce(_ sql: String) throws(LookbookError) -> SQLiteStatement {
        do { return try db.prepare(sql) } catch {
            throw LookbookError(.store, "cannot read the store \(path): \(error.message)", underlying: error.description)
        }
    }

    public func product(id: String) throws(LookbookError) -> StoreProduct? {
        try query(productStatement) { s throws(SQLiteError) in
            try s.bind(id, at: 1)
            guard try s.step() else { return nil }
            return StoreProduct(
                id: s.string(0) ?? "", title: s.string(1) ?? "", category: s.string(2) ?? "", slot: try slot(s, 3),
                brand: s.string(4), color: s.string(5), gender: s.string(6),
                price: s.isNull(7) ? nil : s.double(7), currency: s.string(8), inStock: s.int(9) != 0,
                url: s.string(10), image: s.string(11), imageSHA256: s.string(12), caption: s.string(13))
        }
    }

    /// Every complementary list of a product, one per target slot in `Slot` order
    /// (head to toe), each best first. Empty when the product has none or is unknown.
    public func complementary(for productID: String) throws(LookbookError) -> [Recommendation] {
        try query(complementaryStatement) { s throws(SQLiteError) in
            try s.bind(productID, at: 1)
            var lists = try readLists(s, anchorID: productID)
            if lists.count > 1 { lists.sort { $0.targetSlot < $1.targetSlot } }
            return lists
        }
    }

    /// The complementary list of one target slot, best first (nil when there is none).
    public func complementary(for productID: String, slot: Slot) throws(LookbookError) -> Recommendation? {
        try query(complementarySlotStatement) { s throws(SQLiteError) in
            try s.bind(productID, at: 1)
            try s.bind(slot.rawValue, at: 2)
            return try readLists(s, anchorID: productID).first
        }
    }

    /// Rows of (target_slot, items) → lists.
    ///
    /// The hot path of a storefront: one row per list, its items scanned straight
    /// from SQLite's buffer (`ListItemsScanner`), reasons from the id cache.
    @inline(__always)
    private func readLists(_ s: SQLiteStatement, anchorID: String) throws(SQLiteError) -> [Recommendation] {
        var lists: [Recommendation] = []
        while try s.step() {
            let target = try slot(s, 0)
            lists.append(Recommendation(anchorID: anchorID, targetSlot: target, items: try items(s, 1)))
        }
        return lists
    }

    /// The `items` text in column `column` of the current row, decoded.
    @inline(__always)
    private func items(_ s: SQLiteStatement, _ column: Int) throws(SQLiteError) -> [ScoredProduct] {
        try s.withUTF8(column) { (utf8) throws(SQLiteError) -> [ScoredProduct] in
            var scanner = ListItemsScanner(utf8)
            var items: [ScoredProduct] = []
            items.reserveCapacity(24)
            while true {
                let next: ListItemsScanner.Item?
                do throws(ListItemsScanner.Malformed) { next = try scanner.next() } catch {
                    throw SQLiteError(code: 11 /* SQLITE_CORRUPT */, message: "malformed list items at byte \(error.offset) in the store",
                                      sql: s.sql)
                }
                guard let item = next else { return items }
                items.append(ScoredProduct(productID: item.id, score: item.score, reason: try reason(item.reasonID)))
            }
        }
    }

    /// Candidates for every blank of a curated outfit, by position, each best first.
    public func fitbCandidates(outfitID: String) throws(LookbookError) -> [BlankCandidates] {
        try query(fitbStatement) { s throws(SQLiteError) in
            try s.bind(outfitID, at: 1)
            var lists: [BlankCandidates] = []
            while try s.step() {
                lists.append(BlankCandidates(outfitID: outfitID, position: s.int(0), items: try items(s, 1)))
            }
            return lists
        }
    }

    /// The curated looks a product appears in, and where.
    public func looks(containing productID: String) throws(LookbookError) -> [LookRef] {
        try query(looksStatement) { s throws(SQLiteError) in
            try s.bind(productID, at: 1)
            var looks: [LookRef] = []
            while try s.step() {
                looks.append(LookRef(outfitID: s.string(0) ?? "", position: s.int(1), name: s.string(2)))
            }
            return looks
        }
    }

    /// A curated outfit with its items in position order.
    public func outfit(id: String) throws(LookbookError) -> Outfit? {
        guard var outfit = try query(outfitStatement, { s throws(SQLiteError) -> Outfit? in
            try s.bind(id, at: 1)
            guard try s.step() else { return nil }
            return Outfit(id: s.string(0) ?? "", items: [], name: s.string(1), source: s.string(2),
                          likes: s.isNull(3) ? nil : s.int(3))
        }) else { return nil }
        outfit.items = try query(outfitItemsStatement) { s throws(SQLiteError) in
            try s.bind(id, at: 1)
            var items: [String] = []
            while try s.step() { items.append(s.string(0) ?? "") }
            return items
        }
        return outfit
    }

    /// Every product id, in key order (for benchmarks and exports).
    public func productIDs() throws(LookbookError) -> [String] {
        try query(try prepareOnce("SELECT id FROM products ORDER BY id")) { s throws(SQLiteError) in
            var ids: [String] = []
            while try s.step() { ids.append(s.string(0) ?? "") }
            return ids
        }
    }

    /// What a storefront's product page needs, in one value: `lookbook query STORE
    /// --product ID` prints exactly this as JSON. Nil when the product is unknown.
    public func productView(id: String) throws(LookbookError) -> ProductView? {
        guard let product = try product(id: id) else { return nil }
        let lists = try query(complementaryViewStatement) { s throws(SQLiteError) in
            try s.bind(id, at: 1)
            var lists: [ProductView.SlotList] = []
            while try s.step() {
                let target = try slot(s, 0)
                let item = ProductView.Item(
                    rank: s.int(1), id: s.string(2) ?? "", title: s.string(5) ?? "",
                    slot: s.isNull(6) ? target : try slot(s, 6), image: s.string(7),
                    price: s.isNull(8) ? nil : s.double(8), currency: s.string(9),
                    inStock: s.isNull(10) ? nil : s.int(10) != 0, url: s.string(11),
                    score: s.double(3), reason: try reason(s.int(4)))
                if lists.last?.slot == target {
                    lists[lists.count - 1].items.append(item)
                } else {
                    lists.append(ProductView.SlotList(slot: target, items: [item]))
                }
            }
            return lists.sorted { $0.slot < $1.slot }
        }
        return ProductView(product: product, complementary: lists, looks: try looks(containing: id))
    }
}

/// A curated look a product appears in.
public struct LookRef: Sendable, Equatable, Hashable, Codable {
    public var outfitID: String
    /// 0-based position of the product in the outfit's items.
    public var position: Int
    public var name: String?

    public init(outfitID: String, position: Int, name: String? = nil) {
        self.outfitID = outfitID; self.position = position; self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case outfitID = "outfit_id"
        case position, name
    }
}

/// A product page's data: the product, its complementary items per target slot with
/// what a storefront shows for each, and the curated looks it is part of. The JSON
/// of `lookbook query STORE --product ID`.
public struct ProductView: Sendable, Equatable, Codable {
    public var product: StoreProduct
    /// One list per target slot, in `Slot` order, each best first.
    public var complementary: [SlotList]
    public var looks: [LookRef]

    public struct SlotList: Sendable, Equatable, Codable {
        public var slot: Slot
        public var items: [Item]
    }

    public struct Item: Sendable, Equatable, Codable {
        /// 1-based, 1 = best.
        public var rank: Int
        public var id: String
        public var title: String
        public var slot: Slot
        public var image: String?
        public var price: Double?
        public var currency: String?
        public var inStock: Bool?
        public var url: String?
        public var score: Double
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case rank, id, title, slot, image, price, currency
            case inStock = "in_stock"
            case url, score, reason
        }
    }
}
