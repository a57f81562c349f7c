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
    private let fitbPositionStatement: SQLiteStatement
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
            fitbPositionStatement = try db.prepare("""
                SELECT position, items FROM fitb_lists WHERE outfit_id = ? AND position = ?
                """, persistent: true)
            // The body of the `product_looks` view, on the tables, so stores published
            // before the view existed read the same.
            looksStatement = try db.prepare("""
                SELECT me.outfit_id, me.position, o.name, o.source, o.likes, i.position, i.product_id, i.slot
                FROM outfit_items me JOIN outfits o ON o.id = me.outfit_id JOIN outfit_items i ON i.outfit_id = me.outfit_id
                WHERE me.product_id = ? ORDER BY me.outfit_id, me.position, i.position
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

    /// The candidates for one blank of a curated outfit, best first (nil when the
    /// outfit has no list for that position).
    public func fitbCandidates(outfitID: String, position: Int) throws(LookbookError) -> BlankCandidates? {
        try query(fitbPositionStatement) { s throws(SQLiteError) in
            try s.bind(outfitID, at: 1)
            try s.bind(position, at: 2)
            guard try s.step() else { return nil }
            return BlankCandidates(outfitID: outfitID, position: s.int(0), items: try items(s, 1))
        }
    }

    /// The curated looks a product is part of, each with all its items, in outfit id
    /// order: one query (the `product_looks` view's body), a search of the
    /// `outfit_items_by_product` index. A product listed twice in one look gives that
    /// look twice, once per position.
    public func looks(containing productID: String) throws(LookbookError) -> [Look] {
        try query(looksStatement) { s throws(SQLiteError) in
            try s.bind(productID, at: 1)
            var looks: [Look] = []
            while try s.step() {
                let outfitID = s.string(0) ?? "", position = s.int(1)
                let item = Look.Item(position: s.int(5), id: s.string(6) ?? "", slot: try slot(s, 7))
                if let last = looks.last, last.outfitID == outfitID, last.position == position {
                    looks[looks.count - 1].items.append(item)
                } else {
                    looks.append(Look(outfitID: outfitID, position: position, name: s.string(2), source: s.string(3),
                                      likes: s.isNull(4) ? nil : s.int(4), items: [item]))
                }
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
    /// --product ID [--slot SLOT]` prints exactly this as JSON. Nil when the product
    /// is unknown.
    ///
    /// The lists are `complementary(for:)`'s, each item joined with its product's
    /// storefront fields in the same query (one statement instead of a product lookup
    /// per item); a test checks the two agree.
    ///
    /// - Parameter slot: only the list of this target slot.
    public func productView(id: String, slot targetSlot: Slot? = nil) throws(LookbookError) -> ProductView? {
        guard let product = try product(id: id) else { return nil }
        var lists = try query(complementaryViewStatement) { s throws(SQLiteError) in
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
        if let targetSlot { lists.removeAll { $0.slot != targetSlot } }
        return ProductView(product: product, complementary: lists, looks: try looks(containing: id))
    }

    /// What a storefront needs to complete or repair a curated look: the outfit, and
    /// for each of its items (the blanks) the product there and the candidates that
    /// could take its place. `lookbook query STORE --outfit ID [--position N]` prints
    /// exactly this as JSON. Built from `outfit(id:)`, `product(id:)` and
    /// `fitbCandidates(outfitID:)`. Nil when the outfit is unknown.
    ///
    /// - Parameter position: only this blank (0-based).
    public func outfitView(id: String, position: Int? = nil) throws(LookbookError) -> OutfitView? {
        guard let outfit = try outfit(id: id) else { return nil }
        var candidates: [Int: [ScoredProduct]] = [:]
        for list in try fitbCandidates(outfitID: id) { candidates[list.position] = list.items }
        var blanks: [OutfitView.Blank] = []
        for (n, productID) in outfit.items.enumerated() where position == nil || position == n {
            let product = try self.product(id: productID)
            var items: [ProductView.Item] = []
            for (rank, scored) in (candidates[n] ?? []).enumerated() {
                let p = try self.product(id: scored.productID)
                items.append(ProductView.Item(
                    rank: rank + 1, id: scored.productID, title: p?.title ?? "", slot: p?.slot ?? product?.slot ?? .other,
                    image: p?.image, price: p?.price, currency: p?.currency, inStock: p?.inStock, url: p?.url,
                    score: scored.score, reason: scored.reason))
            }
            blanks.append(OutfitView.Blank(position: n, product: product, candidates: items))
        }
        return OutfitView(id: outfit.id, name: outfit.name, source: outfit.source, likes: outfit.likes, blanks: blanks)
    }
}

/// A curated look a product is part of (`StoreReader.looks(containing:)`).
public struct Look: Sendable, Equatable, Hashable, Codable {
    public var outfitID: String
    /// 0-based position of the product the look was read for.
    public var position: Int
    public var name: String?
    public var source: String?
    public var likes: Int?
    /// Every item of the look in position order, that product included.
    public var items: [Item]

    public struct Item: Sendable, Equatable, Hashable, Codable {
        /// 0-based position in the look.
        public var position: Int
        public var id: String
        public var slot: Slot

        public init(position: Int, id: String, slot: Slot) {
            self.position = position; self.id = id; self.slot = slot
        }
    }

    public init(outfitID: String, position: Int, name: String? = nil, source: String? = nil, likes: Int? = nil,
                items: [Item] = []) {
        self.outfitID = outfitID; self.position = position; self.name = name; self.source = source
        self.likes = likes; self.items = items
    }

    enum CodingKeys: String, CodingKey {
        case outfitID = "outfit_id"
        case position, name, source, likes, items
    }
}

/// A curated look with the candidates for each of its blanks: the JSON of `lookbook
/// query STORE --outfit ID`.
public struct OutfitView: Sendable, Equatable, Codable {
    public var id: String
    public var name: String?
    public var source: String?
    public var likes: Int?
    /// One per item of the outfit, in position order (only the asked one with `--position`).
    public var blanks: [Blank]

    public struct Blank: Sendable, Equatable, Codable {
        /// 0-based position in the outfit.
        public var position: Int
        /// The product the look has there (nil if the store lacks it, which a
        /// published store never does).
        public var product: StoreProduct?
        /// Products that could take its place, best first; `rank` 1-based.
        public var candidates: [ProductView.Item]
    }
}

/// A product page's data: the product, its complementary items per target slot with
/// what a storefront shows for each, and the curated looks it is part of. The JSON
/// of `lookbook query STORE --product ID`.
public struct ProductView: Sendable, Equatable, Codable {
    public var product: StoreProduct
    /// One list per target slot, in `Slot` order, each best first.
    public var complementary: [SlotList]
    public var looks: [Look]

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
