import Crypto
import Foundation
import LookbookCore
import Recommender
import SQLiteSupport

/// The job's working state: a SQLite database (WAL) in the state directory holding the
/// products, images, outfits and feedback of the last processed snapshot, and the run
/// history. A run reads it to diff the new snapshot, and writes it in ONE transaction
/// after the store was published, so a run killed at any point leaves the state of the
/// last complete run and the next run redoes the work.
///
/// Since schema 3 it also keeps the last precompute (`recommend_*` tables: its
/// fingerprint, each product's input, each anchor's and outfit's lists and what the
/// retrieval stage kept for them as JSON) so the next run recomputes only what changed.
/// Rows from an older precompute format still decode where they can; the fingerprint
/// (which names the format) then asks for a full recompute.
public final class StateStore {
    public static let schemaVersion = 3
    let db: SQLiteDatabase
    public let path: String

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("state.sqlite")
        do {
            db = try SQLiteDatabase(path)
            try db.setPragma("journal_mode", "WAL")
            try db.setPragma("synchronous", "NORMAL")
            try db.setPragma("busy_timeout", 5000)
            try migrate()
        } catch let e as SQLiteError {
            throw LookbookError(.state, "cannot open the state database \(path); move it aside to start afresh",
                                underlying: e.description)
        }
    }

    private func migrate() throws {
        let version = try db.pragmaInt("user_version")
        guard version < Self.schemaVersion else {
            if version > Self.schemaVersion {
                throw LookbookError(.state, "state database \(path) has schema \(version), newer than this lookbook (\(Self.schemaVersion)); upgrade lookbook")
            }
            return
        }
        // Version 2: the caption cache, keyed by image content and captioner version.
        try db.execute("""
            CREATE TABLE IF NOT EXISTS captions(
              image_sha256 TEXT NOT NULL, captioner TEXT NOT NULL, caption TEXT NOT NULL, created_at TEXT NOT NULL,
              PRIMARY KEY(image_sha256, captioner)) WITHOUT ROWID;
            """)
        try db.execute("""
            CREATE TABLE IF NOT EXISTS products(
              id TEXT PRIMARY KEY, content_sha256 TEXT NOT NULL, json TEXT NOT NULL, slot TEXT NOT NULL,
              first_run INTEGER NOT NULL, last_changed_run INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS images(
              path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, format TEXT NOT NULL, width INTEGER NOT NULL,
              height INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS images_sha ON images(sha256);
            CREATE TABLE IF NOT EXISTS outfits(id TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS feedback(
              anchor TEXT NOT NULL, item TEXT NOT NULL, verdict TEXT NOT NULL, slot TEXT, at TEXT,
              run INTEGER NOT NULL, PRIMARY KEY(anchor, item, verdict, at)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS runs(
              id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, catalog TEXT NOT NULL,
              retailer TEXT NOT NULL, snapshot TEXT NOT NULL, status TEXT NOT NULL,
              new INTEGER, changed INTEGER, removed INTEGER, unchanged INTEGER, store_sha256 TEXT, report TEXT);
            CREATE INDEX IF NOT EXISTS runs_snapshot ON runs(retailer, snapshot, status);
            """)
        // Version 3: the last precompute, for incremental runs.
        try db.execute("""
            CREATE TABLE IF NOT EXISTS recommend_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS recommend_inputs(id TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS recommend_anchors(id TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS recommend_outfits(id TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
            PRAGMA user_version = \(Self.schemaVersion);
            """)
    }

    // MARK: Reading

    /// Content hashes of the products of the last completed run.
    public func productHashes() throws -> [String: String] {
        let st = try db.prepare("SELECT id, content_sha256 FROM products")
        var out: [String: String] = [:]
        while try st.step() { out[st.string(0)!] = st.string(1)! }
        return out
    }

    /// Whether a completed run already processed this retailer's snapshot.
    public func hasProcessed(retailer: String, snapshot: String) throws -> Bool {
        let st = try db.prepare("SELECT 1 FROM runs WHERE retailer = ? AND snapshot = ? AND status = 'succeeded' LIMIT 1")
        try st.bind([retailer, snapshot])
        return try st.step()
    }

    /// The newest snapshot a completed run processed for `retailer`.
    public func lastSnapshot(retailer: String) throws -> String? {
        let st = try db.prepare("SELECT max(snapshot) FROM runs WHERE retailer = ? AND status = 'succeeded'")
        try st.bind([retailer])
        return try st.step() ? st.string(0) : nil
    }

    /// All feedback ever received, oldest first.
    public func feedback() throws -> [Feedback] {
        let st = try db.prepare("SELECT anchor, item, verdict, slot, at FROM feedback ORDER BY run, at, anchor, item")
        var out: [Feedback] = []
        while try st.step() {
            guard let v = Feedback.Verdict(rawValue: st.string(2) ?? "") else { continue }
            out.append(Feedback(anchor: st.string(0)!, item: st.string(1)!, verdict: v, slot: st.string(3), at: st.string(4)))
        }
        return out
    }

    /// The last successful run's precompute, or nil when there is none (a first run,
    /// or a state from before schema 3). `verdicts` are the ones it used: the state's
    /// feedback before this run's is added.
    public func precomputeState(verdicts: [String: [String: Feedback.Verdict]]) throws -> PrecomputeState? {
        let meta = try db.prepare("SELECT value FROM recommend_meta WHERE key = 'fingerprint'")
        guard try meta.step(), let fingerprint = meta.string(0) else { return nil }
        let decoder = JSONDecoder()
        func rows<T: Decodable>(_ table: String, _ type: T.Type) throws -> [String: T] {
            let st = try db.prepare("SELECT id, json FROM \(table)")
            var out: [String: T] = [:]
            while try st.step() {
                guard let id = st.string(0), let json = st.string(1) else { continue }
                do { out[id] = try decoder.decode(T.self, from: Data(json.utf8)) } catch {
                    throw LookbookError(.state, "state database \(path): unreadable row \(id) of \(table); move the state aside to recompute everything",
                                        underlying: "\(error)")
                }
            }
            return out
        }
        return PrecomputeState(fingerprint: fingerprint, inputs: try rows("recommend_inputs", ProductInput.self), verdicts: verdicts,
                               anchors: try rows("recommend_anchors", AnchorResult.self),
                               outfits: try rows("recommend_outfits", OutfitResult.self))
    }

    public struct RunRecord: Sendable, Equatable {
        public var id: Int
        public var startedAt: String
        public var finishedAt: String?
        public var catalog: String
        public var retailer: String
        public var snapshot: String
        public var status: String
        public var new: Int, changed: Int, removed: Int, unchanged: Int
        public var storeSHA256: String?
    }

    /// Run history, newest first.
    public func runs(limit: Int = 50) throws -> [RunRecord] {
        let st = try db.prepare("""
            SELECT id, started_at, finished_at, catalog, retailer, snapshot, status, new, changed, removed, unchanged, store_sha256
            FROM runs ORDER BY id DESC LIMIT ?
            """)
        try st.bind(limit, at: 1)
        var out: [RunRecord] = []
        while try st.step() {
            out.append(RunRecord(id: st.int(0), startedAt: st.string(1)!, finishedAt: st.string(2), catalog: st.string(3)!,
                                 retailer: st.string(4)!, snapshot: st.string(5)!, status: st.string(6)!,
                                 new: st.int(7), changed: st.int(8), removed: st.int(9), unchanged: st.int(10),
                                 storeSHA256: st.string(11)))
        }
        return out
    }

    /// Cached captions of `captioner` for the given image hashes.
    public func cachedCaptions(captioner: String, hashes: Set<String>) throws -> [String: Caption] {
        let st = try db.prepare("SELECT caption FROM captions WHERE image_sha256 = ? AND captioner = ?")
        let decoder = JSONDecoder()
        var out: [String: Caption] = [:]
        for h in hashes {
            try st.bind([h, captioner])
            if try st.step(), let json = st.string(0), let c = try? decoder.decode(Caption.self, from: Data(json.utf8)) {
                out[h] = c
            }
            st.reset()
        }
        return out
    }

    /// Adds captions to the cache at once (not tied to the run's success: a caption of
    /// an image's content stays right whatever happens to the run).
    public func cacheCaptions(_ captions: [(sha256: String, caption: Caption)], at time: String) throws {
        guard !captions.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try db.transaction {
            let st = try db.prepare("INSERT OR REPLACE INTO captions(image_sha256, captioner, caption, created_at) VALUES (?, ?, ?, ?)")
            for (sha, c) in captions {
                try st.bind([sha, c.captioner, String(decoding: try encoder.encode(c), as: UTF8.self), time])
                try st.run()
            }
        }
    }

    // MARK: Writing

    /// Records the start of a run and returns its id.
    public func beginRun(startedAt: String, catalog: String, retailer: String, snapshot: String) throws -> Int {
        let st = try db.prepare("INSERT INTO runs(started_at, catalog, retailer, snapshot, status) VALUES (?, ?, ?, ?, 'running')")
        try st.bind([startedAt, catalog, retailer, snapshot])
        try st.run()
        return Int(db.lastInsertRowID)
    }

    /// Marks a run failed (or skipped) without touching the catalog state.
    public func finishRun(_ id: Int, status: String, finishedAt: String, report: String?) throws {
        let st = try db.prepare("UPDATE runs SET status = ?, finished_at = ?, report = ? WHERE id = ?")
        try st.bind([status, finishedAt, report, id])
        try st.run()
    }

    /// Replaces the catalog state with `catalog` and marks the run succeeded, atomically.
    /// With `precompute`, its state replaces the stored one: everything after a full
    /// recompute, only recomputed and removed rows after an incremental one.
    public func commit(runID: Int, catalog: Catalog, diff: SnapshotDiff, hashes: [String: String],
                       storeSHA256: String?, finishedAt: String, report: String?,
                       precompute: (result: Precomputer.Result, previous: PrecomputeState?)? = nil) throws {
        try db.transaction {
            if let precompute { try savePrecompute(precompute.result, previous: precompute.previous) }
            let old = try productHashes()
            let upsert = try db.prepare("""
                INSERT INTO products(id, content_sha256, json, slot, first_run, last_changed_run) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET content_sha256 = excluded.content_sha256, json = excluded.json,
                  slot = excluded.slot, last_changed_run = excluded.last_changed_run
                """)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for p in catalog.products {
                guard let h = hashes[p.id], old[p.id] != h else { continue }
                let json = String(decoding: try encoder.encode(p), as: UTF8.self)
                try upsert.bind([p.id, h, json, p.slot.rawValue, runID, runID])
                try upsert.run()
            }
            let delete = try db.prepare("DELETE FROM products WHERE id = ?")
            for id in diff.removed { try delete.bind([id]); try delete.run() }

            try db.execute("DELETE FROM images; DELETE FROM outfits;")
            let img = try db.prepare("INSERT INTO images(path, sha256, format, width, height, bytes) VALUES (?, ?, ?, ?, ?, ?)")
            for r in catalog.images.values {
                try img.bind([r.path, r.sha256, r.format.rawValue, r.width, r.height, r.byteCount]); try img.run()
            }
            let outfit = try db.prepare("INSERT OR REPLACE INTO outfits(id, json) VALUES (?, ?)")
            for o in catalog.outfits {
                try outfit.bind([o.id, String(decoding: try encoder.encode(o), as: UTF8.self)]); try outfit.run()
            }
            let fb = try db.prepare("INSERT OR IGNORE INTO feedback(anchor, item, verdict, slot, at, run) VALUES (?, ?, ?, ?, ?, ?)")
            for f in catalog.feedback {
                try fb.bind([f.anchor, f.item, f.verdict.rawValue, f.slot, f.at ?? "", runID]); try fb.run()
            }
            let run = try db.prepare("""
                UPDATE runs SET status = 'succeeded', finished_at = ?, new = ?, changed = ?, removed = ?, unchanged = ?,
                  store_sha256 = ?, report = ? WHERE id = ?
                """)
            try run.bind([finishedAt, diff.new.count, diff.changed.count, diff.removed.count, diff.unchanged, storeSHA256, report, runID])
            try run.run()
        }
    }
}

extension StateStore {
    /// Writes the precompute's state (inside the caller's transaction).
    func savePrecompute(_ result: Precomputer.Result, previous: PrecomputeState?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let state = result.state, stats = result.stats
        let incremental = !stats.full && previous != nil
        if !incremental {
            try db.execute("DELETE FROM recommend_inputs; DELETE FROM recommend_anchors; DELETE FROM recommend_outfits;")
        }
        func upsert<T: Encodable>(_ table: String, _ rows: some Sequence<(String, T)>) throws {
            let st = try db.prepare("INSERT OR REPLACE INTO \(table)(id, json) VALUES (?, ?)")
            for (id, value) in rows {
                try st.bind([id, String(decoding: try encoder.encode(value), as: UTF8.self)])
                try st.run()
            }
        }
        func delete(_ table: String, _ ids: some Sequence<String>) throws {
            let st = try db.prepare("DELETE FROM \(table) WHERE id = ?")
            for id in ids { try st.bind([id]); try st.run() }
        }
        if incremental, let previous {
            try upsert("recommend_inputs", state.inputs.lazy.filter { previous.inputs[$0.key] != $0.value }.map { ($0.key, $0.value) })
            try delete("recommend_inputs", previous.inputs.keys.filter { state.inputs[$0] == nil })
            try upsert("recommend_anchors", (stats.recomputedAnchorIDs + stats.patchedAnchorIDs).lazy.compactMap { id in state.anchors[id].map { (id, $0) } })
            try delete("recommend_anchors", stats.removedAnchorIDs)
            try upsert("recommend_outfits", (stats.recomputedOutfitIDs + stats.patchedOutfitIDs).lazy.compactMap { id in state.outfits[id].map { (id, $0) } })
            try delete("recommend_outfits", stats.removedOutfitIDs)
        } else {
            try upsert("recommend_inputs", state.inputs.lazy.map { ($0.key, $0.value) })
            try upsert("recommend_anchors", state.anchors.lazy.map { ($0.key, $0.value) })
            try upsert("recommend_outfits", state.outfits.lazy.map { ($0.key, $0.value) })
        }
        let meta = try db.prepare("INSERT OR REPLACE INTO recommend_meta(key, value) VALUES ('fingerprint', ?)")
        try meta.bind([state.fingerprint])
        try meta.run()
    }
}

/// What changed between the last processed snapshot and this one.
public struct SnapshotDiff: Sendable, Equatable, Codable {
    public var new: [String]
    public var changed: [String]
    public var removed: [String]
    public var unchanged: Int

    public var isEmpty: Bool { new.isEmpty && changed.isEmpty && removed.isEmpty }

    /// Compares content hashes: `previous` from the state, `current` from the snapshot.
    public static func compute(previous: [String: String], current: [String: String]) -> SnapshotDiff {
        var d = SnapshotDiff(new: [], changed: [], removed: [], unchanged: 0)
        for (id, h) in current {
            switch previous[id] {
            case nil: d.new.append(id)
            case h?: d.unchanged += 1
            default: d.changed.append(id)
            }
        }
        for id in previous.keys where current[id] == nil { d.removed.append(id) }
        d.new.sort(); d.changed.sort(); d.removed.sort()
        return d
    }
}

/// The content hash of a product: SHA-256 of its canonical JSON (sorted keys) plus the
/// hashes of its images, so a re-shot photo under the same path counts as a change.
public func contentHash(of product: Product, images: [String: ImageRecord]) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var hasher = SHA256()
    hasher.update(data: (try? encoder.encode(product)) ?? Data())
    for path in product.images { hasher.update(data: Data((images[path]?.sha256 ?? "-").utf8)) }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}
