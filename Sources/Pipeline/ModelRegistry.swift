import Foundation
import LookbookCore
import StyleModel

/// Every StyleLM a state directory made, and which one reranks:
///
/// ```
/// STATE/models/registry.json          versions, their lineage and figures; `current`
/// STATE/models/versions/<version>/    one model directory per kept version
/// STATE/models/stylelm(.checkpoint)   supervised training in progress (resumable)
/// ```
///
/// A version's name is the model's own version (`stylelm-…`, `stylelm-dpo-…`, a hash of
/// its weights), so the store's `model_version` names the registry entry. Promoted
/// versions keep their model directory (a rollback needs it); a candidate the gate
/// rejected is recorded with its figures but without its weights. `registry.json` is
/// replaced by one `rename(2)`, so a reader sees the old registry or the new one.
///
/// A state directory from before the registry (a model at `STATE/models/stylelm` and no
/// registry) is migrated the first time `open()` runs: the model becomes the first
/// version, and current.
public struct ModelRegistry: Sendable {
    public static let formatVersion = 1

    public enum Kind: String, Codable, Sendable {
        /// Supervised fine-tuning on curated outfits (`StyleLMTraining`).
        case sft
        /// A preference-tuning round on a parent version (`PreferenceTuning`).
        case dpo
    }

    public enum Status: String, Codable, Sendable {
        /// Passed the gate (or was the first model) and became current.
        case promoted
        /// The gate kept the current model; only the figures are kept.
        case rejected
        /// Taken over from the layout before the registry.
        case migrated
    }

    /// What a version learnt from.
    public struct DataSeen: Codable, Sendable, Equatable {
        /// A hash of the training outfits (ids and items) and feedback verdicts it saw.
        public var fingerprint: String
        public var products: Int
        /// Curated outfits trained on; the held-out ones are never among them.
        public var outfits: Int
        public var heldOutOutfits: Int
        public var feedback: Int
        /// Preference pairs by source (`random`, `hard`, `mistake`, `merchandiser`); DPO only.
        public var pairs: [String: Int]?

        public init(fingerprint: String, products: Int, outfits: Int, heldOutOutfits: Int, feedback: Int, pairs: [String: Int]? = nil) {
            self.fingerprint = fingerprint; self.products = products; self.outfits = outfits
            self.heldOutOutfits = heldOutOutfits; self.feedback = feedback; self.pairs = pairs
        }

        enum CodingKeys: String, CodingKey {
            case fingerprint, products, outfits, feedback, pairs
            case heldOutOutfits = "held_out_outfits"
        }
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var version: String
        public var parent: String?
        public var kind: Kind
        public var status: Status
        /// RFC 3339.
        public var createdAt: String
        /// FITB on the gate's held-out questions when it was registered.
        public var metrics: ModelGate.Score?
        public var data: DataSeen?
        /// Whether `versions/<version>/` holds the model (false for rejected candidates).
        public var stored: Bool
        /// The gate's reason, a cut-short training, a migration…
        public var note: String?

        public init(version: String, parent: String?, kind: Kind, status: Status, createdAt: String, metrics: ModelGate.Score? = nil,
                    data: DataSeen? = nil, stored: Bool, note: String? = nil) {
            self.version = version; self.parent = parent; self.kind = kind; self.status = status; self.createdAt = createdAt
            self.metrics = metrics; self.data = data; self.stored = stored; self.note = note
        }

        enum CodingKeys: String, CodingKey {
            case version, parent, kind, status, metrics, data, stored, note
            case createdAt = "created_at"
        }
    }

    /// `registry.json`.
    public struct Contents: Codable, Sendable, Equatable {
        public var format: Int
        public var current: String?
        /// Oldest first.
        public var versions: [Entry]

        public init(format: Int = ModelRegistry.formatVersion, current: String? = nil, versions: [Entry] = []) {
            self.format = format; self.current = current; self.versions = versions
        }

        public func entry(_ version: String) -> Entry? { versions.last { $0.version == version } }
        public var currentEntry: Entry? { current.flatMap(entry) }
    }

    /// `STATE/models`.
    public let directory: URL

    public init(stateDirectory: String) {
        directory = URL(fileURLWithPath: stateDirectory).appendingPathComponent("models")
    }

    public var file: URL { directory.appendingPathComponent("registry.json") }
    public func modelDirectory(_ version: String) -> URL { directory.appendingPathComponent("versions").appendingPathComponent(version) }
    /// Where supervised training writes (and resumes from `stylelm.checkpoint`); the
    /// whole model lived here before the registry.
    public var trainingDirectory: URL { directory.appendingPathComponent("stylelm") }
    var trainingCheckpoint: URL { trainingDirectory.appendingPathExtension("checkpoint") }
    public var trainingPending: Bool { FileManager.default.fileExists(atPath: trainingCheckpoint.path) }

    /// A model from before the registry that `open()` would migrate.
    public var hasUnmigratedModel: Bool {
        !FileManager.default.fileExists(atPath: file.path) && StyleLMScoring.isModelDirectory(trainingDirectory) && !trainingPending
    }

    // MARK: Reading

    /// The registry as on disk (empty when there is none). A file that is not a
    /// registry throws `LookbookError(.state)` saying what to do; it is never overwritten.
    public func read() throws -> Contents {
        guard FileManager.default.fileExists(atPath: file.path) else { return Contents() }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw LookbookError(.state, "cannot read the model registry \(file.path)", underlying: "\(error)")
        }
        let contents: Contents
        do { contents = try JSONDecoder().decode(Contents.self, from: data) } catch {
            throw LookbookError(.state, "\(file.path) is not a readable model registry; restore it, or move it aside to start a new one (the models under versions/ stay, and `lookbook models` lists what is there)",
                                underlying: Self.describe(error))
        }
        guard contents.format <= Self.formatVersion else {
            throw LookbookError(.state, "\(file.path) has format \(contents.format), newer than this lookbook's (\(Self.formatVersion)); upgrade lookbook")
        }
        if let current = contents.current, contents.entry(current)?.stored != true {
            throw LookbookError(.state, "\(file.path) names \(current) as current but keeps no such model; run `lookbook models rollback VERSION` with a listed version")
        }
        return contents
    }

    /// The registry, after migrating a model from before it.
    public func open(now: Date = Date()) throws -> Contents {
        if hasUnmigratedModel { try migrate(now: now) }
        return try read()
    }

    /// The current version and its model directory.
    public func current() throws -> (entry: Entry, url: URL)? {
        let contents = try open()
        guard let entry = contents.currentEntry else { return nil }
        return (entry, modelDirectory(entry.version))
    }

    // MARK: Writing

    func write(_ contents: Contents) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(contents), as: UTF8.self) + "\n"
        do { try writeAtomically(text, to: file.path) } catch {
            throw LookbookError(.io, "cannot write the model registry \(file.path)", underlying: "\(error)")
        }
    }

    /// Adds a version. With `model`, its directory is written first (so the registry
    /// never names a model that is not there); `makeCurrent` moves the pointer to it.
    @discardableResult
    public func register(_ entry: Entry, model: TunableModel?, makeCurrent: Bool) throws -> Contents {
        var entry = entry
        var contents = try read()
        if let model {
            let url = modelDirectory(entry.version)
            do { try model.save(to: url) } catch {
                throw LookbookError(.io, "cannot write model version \(entry.version) to \(url.path)", underlying: "\(error)")
            }
            entry.stored = true
        } else {
            entry.stored = entry.stored && StyleLMScoring.isModelDirectory(modelDirectory(entry.version))
        }
        precondition(!makeCurrent || entry.stored, "a version without its model cannot be current")
        contents.versions.append(entry)
        if makeCurrent { contents.current = entry.version }
        try write(contents)
        return contents
    }

    /// Makes an earlier version current again; the next run reranks with it (and, its
    /// version differing, recomputes every list).
    @discardableResult
    public func rollback(to version: String) throws -> Entry {
        let contents = try open()
        let kept = contents.versions.filter(\.stored).map(\.version)
        guard let entry = contents.entry(version) else {
            throw LookbookError(.usage, "no model version \(version) in \(file.path); kept versions: \(kept.isEmpty ? "none" : kept.joined(separator: ", "))")
        }
        guard entry.stored, StyleLMScoring.isModelDirectory(modelDirectory(version)) else {
            throw LookbookError(.usage, "version \(version) was \(entry.status == .rejected ? "rejected by the gate and its weights were not kept" : "not kept") (\(modelDirectory(version).path) holds no model); kept versions: \(kept.joined(separator: ", "))")
        }
        var updated = contents
        updated.current = version
        try write(updated)
        return entry
    }

    /// Deletes the model directories of all but the newest `keep` stored versions (the
    /// current version is always kept, and counts among them), so a nightly refresh does
    /// not fill the disk. Their entries stay, with their figures, `stored = false` and a
    /// note: the registry still tells the lineage, a rollback to them says they are gone.
    /// Returns the pruned versions, oldest first.
    @discardableResult
    public func prune(keep: Int, now: Date = Date()) throws -> [String] {
        precondition(keep >= 1, "keep at least one version")
        var contents = try read()
        let stored = contents.versions.indices.filter { contents.versions[$0].stored }
        // Newest first: the current version, then the others from the newest.
        let current = stored.filter { contents.versions[$0].version == contents.current }
        let kept = Set((current + stored.reversed().filter { !current.contains($0) }).prefix(keep))
        let pruned = stored.filter { !kept.contains($0) }
        guard !pruned.isEmpty else { return [] }
        for i in pruned {
            contents.versions[i].stored = false
            let note = "model files pruned \(iso(now)) (keeping the newest \(keep))"
            contents.versions[i].note = [contents.versions[i].note, note].compactMap { $0 }.joined(separator: "; ")
        }
        // The registry first, so it never names a model that is gone. A crash between the
        // two leaves directories of versions marked not stored: the next prune removes
        // them. Directories the registry does not name are left alone.
        try write(contents)
        let keptNames = Set(contents.versions.filter(\.stored).map(\.version))
        for version in Set(contents.versions.map(\.version)).subtracting(keptNames).sorted() {
            let url = modelDirectory(version)
            if FileManager.default.fileExists(atPath: url.path) { try? FileManager.default.removeItem(at: url) }
        }
        return pruned.map { contents.versions[$0].version }
    }

    /// Moves a model from before the registry into `versions/` and makes it current.
    func migrate(now: Date) throws {
        let model: TunableModel
        do { model = try TunableModel(directory: trainingDirectory) } catch {
            throw LookbookError(.model, "cannot load the StyleLM at \(trainingDirectory.path) to move it into the model registry", underlying: "\(error)")
        }
        let entry = Entry(version: model.version, parent: model.metadata["parent"], kind: model.metadata["dpo"] == nil ? .sft : .dpo,
                          status: .migrated, createdAt: iso(now), stored: true,
                          note: "migrated from \(trainingDirectory.path)")
        try register(entry, model: model, makeCurrent: true)
        try? FileManager.default.removeItem(at: trainingDirectory)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): "invalid JSON: \(c.debugDescription)"
        case DecodingError.keyNotFound(let key, let c): "missing \((c.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: "\(error)"
        }
    }
}

extension ModelRegistry {
    /// A fingerprint of what a model learnt from: the training outfits (ids and items)
    /// and the feedback verdicts.
    static func fingerprint(outfits: [Outfit], feedback: [Feedback]) -> String {
        var h = StableHash.fnv1a("lookbook-data-1")
        for o in outfits.sorted(by: { $0.id < $1.id }) { h = StableHash.fnv1a(o.id + ":" + o.items.joined(separator: ",") + ";", h) }
        for f in feedback { h = StableHash.fnv1a("\(f.anchor)|\(f.item)|\(f.verdict.rawValue)|\(f.at ?? "");", h) }
        return String(h, radix: 16)
    }
}
