import Foundation
import LookbookCore
import SQLiteSupport

/// Builds a store from `StoreContent` and installs it atomically in an output directory.
///
/// Layout of `outDir` after a publish:
/// ```
/// lookbook.sqlite               hard link to the newest file in stores/
/// lookbook.manifest.json        StoreManifest of that file
/// stores/lookbook-<run>.sqlite  the newest `keep` stores, for rollback
/// ```
/// Steps (`PublishStep`): remove temp files left by a killed run; build into a temp
/// file (one transaction, prepared inserts in key order, index after the insert);
/// `VACUUM INTO` a second temp file, the compact final bytes; `integrity_check` and the
/// identification pragmas on that file; fsync; SHA-256; rename into `stores/`; hard-link
/// to a temp name and `rename(2)` it over `lookbook.sqlite`; write the manifest to a
/// temp file and rename it; fsync the directories; prune `stores/`.
///
/// Crash safety: `lookbook.sqlite` is only ever replaced by one `rename(2)` of a
/// complete, checked, fsynced file, so at every instant it is the previous store or
/// the new one. Between that rename and the manifest's, the manifest still describes
/// the previous store; readers that check the checksum compare against `stores/`
/// by the manifest's `file`. One publisher per `outDir` at a time (the pipeline's run
/// lock); temp files are named `.lookbook-tmp-*` and removed by the next publish.
public struct StorePublisher: Sendable {
    /// The stage a publish is about to enter, reported to `progress`.
    public enum Step: String, Sendable, CaseIterable {
        case cleaning, validating, building, compacting, checking, hashing, installing, writingManifest, pruning
    }

    /// Called before each step; throwing from it abandons the publish (and leaves the
    /// previous store untouched up to `installing`).
    public var progress: (@Sendable (Step) throws -> Void)?
    /// Page cache of the build connection.
    public var cacheMiB: Int

    public init(cacheMiB: Int = 128, progress: (@Sendable (Step) throws -> Void)? = nil) {
        self.cacheMiB = cacheMiB
        self.progress = progress
    }

    public static let storeFileName = "lookbook.sqlite"
    public static let manifestFileName = "lookbook.manifest.json"
    public static let storesDirectoryName = "stores"
    static let tempPrefix = ".lookbook-tmp-"

    /// Publishes `content` into `outDir` (created with its parents if missing),
    /// keeping the newest `keep` (≥ 1) store files in `outDir/stores`.
    ///
    /// Throws `LookbookError` (`.store` for content and SQLite problems, `.io` for file
    /// system ones), or whatever `progress` throws; in every case before `installing`
    /// completes, `outDir` is as it was apart from removed leftovers.
    public func publish(_ content: StoreContent, to outDir: String, keep: Int = 3) throws -> PublishResult {
        guard keep >= 1 else {
            throw LookbookError(.store, "keep is \(keep), but it must be at least 1: the published store itself lives in stores/")
        }
        let clock = ContinuousClock()
        let start = clock.now
        let storesDir = outDir + "/" + Self.storesDirectoryName
        let token = "\(getpid())-\(UInt32.random(in: .min ... .max))"
        let buildPath = outDir + "/" + Self.tempPrefix + token + "-build.sqlite"
        let finalPath = outDir + "/" + Self.tempPrefix + token + "-final.sqlite"
        let linkPath = outDir + "/" + Self.tempPrefix + token + "-link.sqlite"
        let manifestTemp = outDir + "/" + Self.tempPrefix + token + "-manifest.json"
        var step = Step.cleaning
        // Set once the new file is in stores/ but not yet lookbook.sqlite: a failure
        // then removes it, so stores/ only holds stores that were published.
        var unpublishedStore: String?
        defer {
            for path in [buildPath, buildPath + "-journal", finalPath, finalPath + "-journal", linkPath, manifestTemp] {
                try? FileOps.remove(path)
            }
            if let unpublishedStore { try? FileOps.remove(unpublishedStore) }
        }
        do {
            try report(step)
            try FileOps.makeDirectory(outDir)
            try FileOps.makeDirectory(storesDir)
            try Self.removeLeftovers(in: outDir)
            try Self.removeLeftovers(in: storesDir)

            step = .validating; try report(step)
            let builder = StoreBuilder(content: content)
            let slots = try builder.validate()

            step = .building; try report(step)
            try builder.build(at: buildPath, slots: slots, cacheMiB: cacheMiB)

            step = .compacting; try report(step)
            try Self.compact(buildPath, into: finalPath)
            try FileOps.remove(buildPath)

            step = .checking; try report(step)
            try Self.verify(finalPath)
            try FileOps.fsync(finalPath)

            step = .hashing; try report(step)
            let (sha256, bytes) = try FileOps.sha256(finalPath)

            step = .installing; try report(step)
            let storeName = try Self.uniqueStoreName(for: content, in: storesDir)
            let storePath = storesDir + "/" + storeName
            try FileOps.rename(finalPath, to: storePath)
            unpublishedStore = storePath
            try FileOps.fsync(storesDir, directory: true)
            try FileOps.link(storePath, to: linkPath)
            let publishedPath = outDir + "/" + Self.storeFileName
            try FileOps.rename(linkPath, to: publishedPath)
            unpublishedStore = nil

            step = .writingManifest; try report(step)
            let manifest = StoreManifest(
                file: Self.storesDirectoryName + "/" + storeName, sha256: sha256, bytes: bytes,
                counts: content.counts, snapshot: content.snapshot, retailer: content.retailer,
                modelVersion: content.modelVersion, captionerVersion: content.captionerVersion,
                buildTime: content.buildTime, runID: content.runID)
            try FileOps.write(try manifest.encoded(), to: manifestTemp)
            try FileOps.rename(manifestTemp, to: outDir + "/" + Self.manifestFileName)
            try FileOps.fsync(outDir, directory: true)

            step = .pruning; try report(step)
            try Self.prune(storesDir, keep: keep, current: storeName)

            let seconds = (clock.now - start) / .seconds(1)
            return PublishResult(path: publishedPath, storePath: storePath, sha256: sha256, bytes: bytes,
                                 counts: content.counts, seconds: seconds)
        } catch let error as SQLiteError {
            throw LookbookError(.store, "cannot publish the store in \(outDir) while \(step.rawValue): \(error.message)",
                                underlying: error.description)
        }
    }

    private func report(_ step: Step) throws { try progress?(step) }

    /// Removes `.lookbook-tmp-*` files a killed publish left behind.
    static func removeLeftovers(in dir: String) throws(LookbookError) {
        for name in try FileOps.list(dir) where name.hasPrefix(tempPrefix) {
            try FileOps.remove(dir + "/" + name)
        }
    }

    /// `VACUUM INTO`: a defragmented copy with every page full, written once.
    static func compact(_ source: String, into target: String) throws(SQLiteError) {
        let db = try SQLiteDatabase(source, mode: .readWrite)
        let vacuum = try db.prepare("VACUUM INTO ?")
        try vacuum.bind(target, at: 1)
        try vacuum.run()
    }

    /// The checks a published file must pass.
    static func verify(_ path: String) throws {
        let db = try SQLiteDatabase(path, mode: .readOnly)
        let problems = try db.integrityProblems()
        guard problems.isEmpty else {
            throw LookbookError(.store, "the new store failed its integrity check: \(problems.prefix(5).joined(separator: "; "))")
        }
        let applicationID = try db.pragmaInt("application_id")
        let version = try db.pragmaInt("user_version")
        guard applicationID == Int(StoreSchema.applicationID), version == StoreSchema.version else {
            throw LookbookError(.store, "the new store lost its identification (application_id \(applicationID), user_version \(version))")
        }
    }

    /// `lookbook-<run id>.sqlite` (or the build time when there is no run id), with
    /// `-2`, `-3`… when a store of that name was already published.
    static func uniqueStoreName(for content: StoreContent, in dir: String) throws(LookbookError) -> String {
        let raw = content.runID.isEmpty ? content.buildTime : content.runID
        var stem = String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "-" })
        if stem.isEmpty { stem = "store" }
        var name = "lookbook-\(stem).sqlite"
        var n = 2
        while FileOps.exists(dir + "/" + name) {
            name = "lookbook-\(stem)-\(n).sqlite"
            n += 1
        }
        return name
    }

    /// Deletes all but the newest `keep` stores (by modification time, then name),
    /// never the one just published. A storefront still reading a deleted store keeps
    /// its open file until it closes it.
    static func prune(_ dir: String, keep: Int, current: String) throws(LookbookError) {
        var stores: [(name: String, modified: Int64)] = []
        for name in try FileOps.list(dir) where name.hasPrefix("lookbook-") && name.hasSuffix(".sqlite") && name != current {
            stores.append((name, try FileOps.status(dir + "/" + name).modified))
        }
        stores.sort { $0.modified != $1.modified ? $0.modified > $1.modified : $0.name > $1.name }
        for store in stores.dropFirst(keep - 1) {
            try FileOps.remove(dir + "/" + store.name)
        }
    }
}

/// What a publish produced.
public struct PublishResult: Sendable, Equatable {
    /// `outDir/lookbook.sqlite`.
    public var path: String
    /// The same file's name in `outDir/stores/`.
    public var storePath: String
    /// Lower-case hex SHA-256 of the file.
    public var sha256: String
    public var bytes: Int
    public var counts: StoreCounts
    /// Wall time of the whole publish, validation to pruning.
    public var seconds: Double

    /// Logical rows written per second of the whole publish (`StoreCounts.total`: each
    /// list item counts as one row, though a list is stored as one table row).
    public var rowsPerSecond: Double { seconds > 0 ? Double(counts.total) / seconds : 0 }
}

/// `lookbook.manifest.json`: what a deployment or a storefront checks before using
/// the store beside it.
public struct StoreManifest: Codable, Sendable, Equatable {
    public var format: String
    public var schemaVersion: Int
    /// The store file, relative to the manifest's directory (`stores/lookbook-<run>.sqlite`);
    /// `lookbook.sqlite` is a hard link to it.
    public var file: String
    public var sha256: String
    public var bytes: Int
    public var counts: StoreCounts
    public var snapshot: String
    public var retailer: String
    public var modelVersion: String
    public var captionerVersion: String
    public var buildTime: String
    public var runID: String

    public static let formatName = "lookbook-store"

    public init(file: String, sha256: String, bytes: Int, counts: StoreCounts, snapshot: String, retailer: String,
                modelVersion: String, captionerVersion: String, buildTime: String, runID: String) {
        self.format = Self.formatName; self.schemaVersion = StoreSchema.version; self.file = file
        self.sha256 = sha256; self.bytes = bytes; self.counts = counts; self.snapshot = snapshot
        self.retailer = retailer; self.modelVersion = modelVersion; self.captionerVersion = captionerVersion
        self.buildTime = buildTime; self.runID = runID
    }

    enum CodingKeys: String, CodingKey {
        case format
        case schemaVersion = "schema_version"
        case file, sha256, bytes, counts, snapshot, retailer
        case modelVersion = "model_version"
        case captionerVersion = "captioner_version"
        case buildTime = "build_time"
        case runID = "run_id"
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// Reads `outDir/lookbook.manifest.json`.
    public static func read(from path: String) throws -> StoreManifest {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw LookbookError(.io, "cannot read the store manifest \(path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(StoreManifest.self, from: data) } catch {
            throw LookbookError(.store, "\(path) is not a Lookbook store manifest: \(error)")
        }
    }
}
