/// The Lookbook store: a read-only SQLite file that storefronts open with
/// `file:PATH?mode=ro&immutable=1`.
///
/// Identification: `PRAGMA application_id` = `0x4C4B4231` ("LKB1"),
/// `PRAGMA user_version` = the schema version (1). Readers refuse anything else.
/// Rollback journal (`journal_mode=DELETE`); the published file is never written again.
///
/// ```sql
/// -- Key/value facts about the build. Keys: schema_version, build_time (RFC 3339),
/// -- snapshot, retailer, model_version, captioner_version, run_id,
/// -- products, outfits, outfit_items (row counts), complementary, fitb (list items).
/// CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
///
/// -- One row per product. `image` is the primary image's path inside the catalog,
/// -- `image_sha256` its content address, `caption` the style caption.
/// CREATE TABLE products(
///   id TEXT PRIMARY KEY, title TEXT NOT NULL, category TEXT NOT NULL, slot TEXT NOT NULL,
///   brand TEXT, color TEXT, gender TEXT, price REAL, currency TEXT,
///   in_stock INTEGER NOT NULL, url TEXT, image TEXT, image_sha256 TEXT, caption TEXT
/// ) WITHOUT ROWID;
///
/// -- Curated looks and their items; `position` is 0-based in the outfit's item list.
/// CREATE TABLE outfits(id TEXT PRIMARY KEY, name TEXT, source TEXT, likes INTEGER) WITHOUT ROWID;
/// CREATE TABLE outfit_items(
///   outfit_id TEXT NOT NULL, position INTEGER NOT NULL, product_id TEXT NOT NULL, slot TEXT NOT NULL,
///   PRIMARY KEY(outfit_id, position)) WITHOUT ROWID;
/// CREATE INDEX outfit_items_by_product ON outfit_items(product_id);  -- "looks containing"
///
/// -- The "why" texts of the lists, each stored once: a few thousand distinct texts
/// -- (templates over feature pairs) behind millions of list items. Ids are 1, 2, … in
/// -- the order the builder first meets each text.
/// CREATE TABLE reasons(id INTEGER PRIMARY KEY, text TEXT NOT NULL);
///
/// -- Complementary items per anchor and target slot, ONE row per list: `items` is a
/// -- JSON array of [item_id, score, reason_id] triples, best first (rank = position
/// -- + 1), e.g. [["P0000042",0.98765,17],["P0001337",0.9,3]]; see `ListItems`.
/// -- A storefront's lookup for one product is one range scan of ~5 rows.
/// CREATE TABLE complementary_lists(
///   anchor_id TEXT NOT NULL, target_slot TEXT NOT NULL, items TEXT NOT NULL,
///   PRIMARY KEY(anchor_id, target_slot)) WITHOUT ROWID;
///
/// -- Candidates for each blank of a curated outfit, one row per blank, same `items`.
/// CREATE TABLE fitb_lists(
///   outfit_id TEXT NOT NULL, position INTEGER NOT NULL, items TEXT NOT NULL,  -- position 0-based
///   PRIMARY KEY(outfit_id, position)) WITHOUT ROWID;
///
/// -- The lists as one row per item, for plain SQL (the README's storefront queries,
/// -- exports, spreadsheets): `rank` 1-based, 1 = best; `reason_id` → reasons.id.
/// CREATE VIEW complementary(anchor_id, target_slot, rank, item_id, score, reason_id) AS …;
/// CREATE VIEW fitb_candidates(outfit_id, position, rank, item_id, score, reason_id) AS …;
///
/// -- The curated looks each product is part of, one row per item of each look:
/// -- `position` is the product's own place in the look, `item_*` every item (itself
/// -- included). `WHERE product_id = ?` is a search of `outfit_items_by_product`
/// -- (covering: the index holds the key columns) and one primary-key range per look.
/// CREATE VIEW product_looks(product_id, outfit_id, position, outfit_name, source, likes,
///                           item_position, item_id, item_slot) AS …;
/// ```
///
/// Every table is `WITHOUT ROWID`: all lookups are by the text key, so the key
/// *is* the b-tree and a lookup is one descent instead of index + rowid table. Slots
/// are stored as their canonical names (`shoes`). The only secondary index is built
/// after the bulk insert.
///
/// Why `product_looks` did not bump `user_version`: it is a view over tables every
/// version-1 store has, and the reader reads those tables, not the view, so this
/// reader still opens a version-1 store published before the view existed (only plain
/// SQL against such an old store lacks the view). `user_version` changes when a table
/// changes in a way an older reader would misread.
///
/// Why a list is one row: with one row per item, a lookup was ~100 `sqlite3_step`
/// calls (5 lists × 20 items), and each step's fixed cost (VDBE dispatch, record
/// header decode, cursor advance) was most of the lookup's time. As one row per list
/// it is 5 steps plus a scan of ~2.5 KB of text with a purpose-built scanner; the
/// views keep plain SQL working through SQLite's built-in `json_each`. Counts in
/// `meta` and the manifest (`complementary`, `fitb`) remain list *items*, not rows.
///
/// Why reasons are a table of their own: a reason is ~45 bytes of text repeated on
/// most items. Inline, it doubled the file and made every item of a lookup decode and
/// heap-allocate a `String`; as an integer it costs a few bytes, and `StoreReader`
/// turns ids into strings through a cache, so equal reasons share one string's
/// storage. Plain SQL joins: `JOIN reasons r ON r.id = c.reason_id`.
public enum StoreSchema {
    /// `PRAGMA application_id`: "LKB1" in ASCII.
    public static let applicationID: Int32 = 0x4C4B_4231
    /// `PRAGMA user_version`: bumped on any incompatible change to the tables above.
    public static let version = 1

    /// Bytes per b-tree page of a published store, set before the first table so
    /// `VACUUM INTO` keeps it. SQLite's default, kept on measurement: with 16 KiB the
    /// 100-row lookup was no faster, with 64 KiB it was ~10 % faster but a one-row
    /// point query's p99 went from 6 to 16 µs (`lookbook-bench lookup --page-size`).
    static let pageSize = 4096

    static let createTables = """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
        CREATE TABLE products(
          id TEXT PRIMARY KEY, title TEXT NOT NULL, category TEXT NOT NULL, slot TEXT NOT NULL,
          brand TEXT, color TEXT, gender TEXT, price REAL, currency TEXT,
          in_stock INTEGER NOT NULL, url TEXT, image TEXT, image_sha256 TEXT, caption TEXT
        ) WITHOUT ROWID;
        CREATE TABLE outfits(id TEXT PRIMARY KEY, name TEXT, source TEXT, likes INTEGER) WITHOUT ROWID;
        CREATE TABLE outfit_items(
          outfit_id TEXT NOT NULL, position INTEGER NOT NULL, product_id TEXT NOT NULL, slot TEXT NOT NULL,
          PRIMARY KEY(outfit_id, position)) WITHOUT ROWID;
        CREATE TABLE reasons(id INTEGER PRIMARY KEY, text TEXT NOT NULL);
        CREATE TABLE complementary_lists(
          anchor_id TEXT NOT NULL, target_slot TEXT NOT NULL, items TEXT NOT NULL,
          PRIMARY KEY(anchor_id, target_slot)) WITHOUT ROWID;
        CREATE TABLE fitb_lists(
          outfit_id TEXT NOT NULL, position INTEGER NOT NULL, items TEXT NOT NULL,
          PRIMARY KEY(outfit_id, position)) WITHOUT ROWID;
        CREATE VIEW complementary(anchor_id, target_slot, rank, item_id, score, reason_id) AS
          SELECT l.anchor_id, l.target_slot, j.key + 1,
                 json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]')
          FROM complementary_lists l, json_each(l.items) j;
        CREATE VIEW fitb_candidates(outfit_id, position, rank, item_id, score, reason_id) AS
          SELECT l.outfit_id, l.position, j.key + 1,
                 json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]')
          FROM fitb_lists l, json_each(l.items) j;
        CREATE VIEW product_looks(product_id, outfit_id, position, outfit_name, source, likes, item_position, item_id, item_slot) AS
          SELECT me.product_id, o.id, me.position, o.name, o.source, o.likes, i.position, i.product_id, i.slot
          FROM outfit_items me JOIN outfits o ON o.id = me.outfit_id JOIN outfit_items i ON i.outfit_id = me.outfit_id;
        """

    /// Built after the bulk insert: one sort instead of a random insert per row.
    static let createIndexes = """
        CREATE INDEX outfit_items_by_product ON outfit_items(product_id);
        """

    enum MetaKey {
        static let schemaVersion = "schema_version"
        static let buildTime = "build_time"
        static let snapshot = "snapshot"
        static let retailer = "retailer"
        static let modelVersion = "model_version"
        static let captionerVersion = "captioner_version"
        static let runID = "run_id"
        static let products = "products"
        static let outfits = "outfits"
        static let outfitItems = "outfit_items"
        static let complementary = "complementary"
        static let fitb = "fitb"
    }
}
