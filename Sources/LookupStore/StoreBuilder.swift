import LookbookCore
import SQLiteSupport

/// Writes a `StoreContent` into a fresh database file: schema, rows in key order in
/// one transaction with prepared inserts, then the secondary index.
///
/// The file is private to the publisher until it is renamed into place, so it is
/// built with `synchronous=OFF`; durability comes from the publisher's fsyncs.
struct StoreBuilder {
    var content: StoreContent

    /// Checks the references between tables before anything is written, so a bad
    /// list is reported by id rather than as a half-built file.
    func validate() throws(LookbookError) -> [String: Slot] {
        guard !content.products.isEmpty else {
            throw LookbookError(.store, "refusing to publish a store with no products: check the catalog and the recommender's output")
        }
        var slots: [String: Slot] = [:]
        slots.reserveCapacity(content.products.count)
        for product in content.products {
            if slots.updateValue(product.slot, forKey: product.id) != nil {
                throw LookbookError(.store, "product \(product.id) appears twice in the store content")
            }
        }
        var outfitSizes: [String: Int] = [:]
        for outfit in content.outfits {
            if outfitSizes.updateValue(outfit.items.count, forKey: outfit.id) != nil {
                throw LookbookError(.store, "outfit \(outfit.id) appears twice in the store content")
            }
            for item in outfit.items where slots[item] == nil {
                throw LookbookError(.store, "outfit \(outfit.id) refers to product \(item), which is not in the store content")
            }
        }
        for list in content.complementary {
            guard slots[list.anchorID] != nil else {
                throw LookbookError(.store, "complementary list for unknown product \(list.anchorID) (slot \(list.targetSlot.rawValue))")
            }
            for item in list.items where slots[item.productID] == nil {
                throw LookbookError(.store, "complementary list \(list.anchorID)/\(list.targetSlot.rawValue) refers to unknown product \(item.productID)")
            }
            for item in list.items where item.score.isNaN {
                throw LookbookError(.store, "complementary list \(list.anchorID)/\(list.targetSlot.rawValue) scores \(item.productID) as NaN: check the recommender's output")
            }
        }
        for list in content.fitb {
            guard let size = outfitSizes[list.outfitID] else {
                throw LookbookError(.store, "FITB candidates for unknown outfit \(list.outfitID)")
            }
            guard (0..<size).contains(list.position) else {
                throw LookbookError(.store, "FITB candidates for outfit \(list.outfitID) at position \(list.position), but it has \(size) items")
            }
            for item in list.items where slots[item.productID] == nil {
                throw LookbookError(.store, "FITB candidates for \(list.outfitID)#\(list.position) refer to unknown product \(item.productID)")
            }
            for item in list.items where item.score.isNaN {
                throw LookbookError(.store, "FITB candidates for \(list.outfitID)#\(list.position) score \(item.productID) as NaN: check the recommender's output")
            }
        }
        return slots
    }

    /// Creates the file at `path` (which must not exist) and fills it.
    func build(at path: String, slots: [String: Slot], cacheMiB: Int = 128) throws {
        let db = try SQLiteDatabase(path, mode: .readWriteCreate)
        try db.setPragma("journal_mode", "DELETE")
        try db.setPragma("synchronous", "OFF")
        try db.setPragma("locking_mode", "EXCLUSIVE")
        try db.setPragma("cache_size", -cacheMiB * 1024)
        try db.setPragma("page_size", StoreSchema.pageSize)
        try db.setPragma("application_id", Int(StoreSchema.applicationID))
        try db.setPragma("user_version", StoreSchema.version)
        try db.execute(StoreSchema.createTables)
        try db.transaction { () throws(SQLiteError) in
            try insertMeta(db)
            try insertProducts(db)
            try insertOutfits(db, slots: slots)
            var reasons = ReasonIDs()
            try insertComplementary(db, reasons: &reasons)
            try insertFITB(db, reasons: &reasons)
            try insertReasons(db, reasons)
            try db.execute(StoreSchema.createIndexes)
        }
    }

    private func insertMeta(_ db: SQLiteDatabase) throws(SQLiteError) {
        let counts = content.counts
        typealias K = StoreSchema.MetaKey
        let rows: [(String, String)] = [
            (K.schemaVersion, String(StoreSchema.version)), (K.buildTime, content.buildTime),
            (K.snapshot, content.snapshot), (K.retailer, content.retailer),
            (K.modelVersion, content.modelVersion), (K.captionerVersion, content.captionerVersion),
            (K.runID, content.runID), (K.products, String(counts.products)), (K.outfits, String(counts.outfits)),
            (K.outfitItems, String(counts.outfitItems)), (K.complementary, String(counts.complementary)),
            (K.fitb, String(counts.fitb)),
        ]
        let insert = try db.prepare("INSERT INTO meta(key, value) VALUES (?, ?)")
        for (key, value) in rows {
            try insert.bind(key, at: 1)
            try insert.bind(value, at: 2)
            try insert.run()
        }
    }

    private func insertProducts(_ db: SQLiteDatabase) throws(SQLiteError) {
        let insert = try db.prepare("""
            INSERT INTO products(id, title, category, slot, brand, color, gender, price, currency,
                                 in_stock, url, image, image_sha256, caption)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let products = content.products
        // Key order: each insert appends to the b-tree instead of splitting pages.
        for i in products.indices.sorted(by: { products[$0].id < products[$1].id }) {
            let p = products[i]
            try insert.bind(p.id, at: 1)
            try insert.bind(p.title, at: 2)
            try insert.bind(p.category, at: 3)
            try insert.bind(p.slot.rawValue, at: 4)
            try insert.bind(p.brand, at: 5)
            try insert.bind(p.color, at: 6)
            try insert.bind(p.gender, at: 7)
            try insert.bind(p.price, at: 8)
            try insert.bind(p.currency, at: 9)
            try insert.bind(p.inStock, at: 10)
            try insert.bind(p.url, at: 11)
            try insert.bind(p.image, at: 12)
            try insert.bind(p.imageSHA256, at: 13)
            try insert.bind(p.caption, at: 14)
            try insert.run()
        }
    }

    private func insertOutfits(_ db: SQLiteDatabase, slots: [String: Slot]) throws(SQLiteError) {
        let insertOutfit = try db.prepare("INSERT INTO outfits(id, name, source, likes) VALUES (?, ?, ?, ?)")
        let insertItem = try db.prepare("INSERT INTO outfit_items(outfit_id, position, product_id, slot) VALUES (?, ?, ?, ?)")
        let outfits = content.outfits
        for i in outfits.indices.sorted(by: { outfits[$0].id < outfits[$1].id }) {
            let o = outfits[i]
            try insertOutfit.bind(o.id, at: 1)
            try insertOutfit.bind(o.name, at: 2)
            try insertOutfit.bind(o.source, at: 3)
            try insertOutfit.bind(o.likes, at: 4)
            try insertOutfit.run()
            try insertItem.bind(o.id, at: 1)
            for (position, item) in o.items.enumerated() {
                try insertItem.bind(position, at: 2)
                try insertItem.bind(item, at: 3)
                try insertItem.bind((slots[item] ?? .other).rawValue, at: 4)
                try insertItem.run()
            }
        }
    }

    private func insertComplementary(_ db: SQLiteDatabase, reasons: inout ReasonIDs) throws(SQLiteError) {
        var insert = try ListInsert(db, table: "complementary_lists(anchor_id, target_slot, items)")
        let lists = content.complementary
        let order = lists.indices.sorted { a, b in
            let x = lists[a], y = lists[b]
            return x.anchorID != y.anchorID ? x.anchorID < y.anchorID : x.targetSlot.rawValue < y.targetSlot.rawValue
        }
        for i in order {
            try insert.run(key: lists[i].anchorID, lists[i].targetSlot.rawValue, items: lists[i].items, reasons: &reasons)
        }
    }

    private func insertFITB(_ db: SQLiteDatabase, reasons: inout ReasonIDs) throws(SQLiteError) {
        var insert = try ListInsert(db, table: "fitb_lists(outfit_id, position, items)")
        let lists = content.fitb
        let order = lists.indices.sorted { a, b in
            let x = lists[a], y = lists[b]
            return x.outfitID != y.outfitID ? x.outfitID < y.outfitID : x.position < y.position
        }
        for i in order {
            try insert.run(key: lists[i].outfitID, lists[i].position, items: lists[i].items, reasons: &reasons)
        }
    }

    /// After the lists, so only texts some row uses are stored; ids are already in
    /// key order, so each insert appends.
    private func insertReasons(_ db: SQLiteDatabase, _ reasons: ReasonIDs) throws(SQLiteError) {
        let insert = try db.prepare("INSERT INTO reasons(id, text) VALUES (?, ?)")
        for (offset, text) in reasons.texts.enumerated() {
            try insert.bind(offset + 1, at: 1)
            try insert.bind(text, at: 2)
            try insert.run()
        }
    }
}

/// Numbers the distinct reason texts 1, 2, … in the order the lists are written (key
/// order), so the same content always gets the same ids and the same bytes.
struct ReasonIDs {
    private var ids: [String: Int] = [:]
    /// `texts[id - 1]` is the text of `id`.
    private(set) var texts: [String] = []

    mutating func id(for text: String) -> Int {
        if let id = ids[text] { return id }
        texts.append(text)
        ids[text] = texts.count
        return texts.count
    }
}

/// Inserts a ranked list as one row: its two key columns and the `items` text
/// (`ListItems`), encoded into a buffer reused from list to list.
struct ListInsert {
    private let statement: SQLiteStatement
    private var buffer: [UInt8] = []

    init(_ db: SQLiteDatabase, table: String) throws(SQLiteError) {
        statement = try db.prepare("INSERT INTO \(table) VALUES (?, ?, ?)", persistent: true)
        buffer.reserveCapacity(4096)
    }

    /// Ranks are 1-based positions in `items`.
    mutating func run(key first: String, _ second: some SQLiteBindable, items: [ScoredProduct],
                      reasons: inout ReasonIDs) throws(SQLiteError) {
        buffer.removeAll(keepingCapacity: true)
        ListItems.append(items, reasons: &reasons, to: &buffer)
        try statement.bind(first, at: 1)
        try second.bind(to: statement, at: 2)
        try statement.bindText(buffer, at: 3)
        try statement.run()
    }
}
