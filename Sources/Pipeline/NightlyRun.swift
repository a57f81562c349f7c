import Captioning
import CatalogIngest
import Foundation
import LookbookCore
import LookupStore
import Recommender
import StyleModel

/// What a run tells the outside while it works. The pipeline never prints: the CLI
/// turns these into a progress bar on a terminal and log lines otherwise.
public enum RunEvent: Sendable {
    case stage(String)
    case progress(stage: String, done: Int, total: Int)
    case info(String)
    case warning(String)
}

/// The nightly job: ingest the newest unprocessed catalog snapshot, diff it against the
/// state, recompute recommendations, publish the store atomically, then commit the state.
///
/// Order matters for crash safety: the published store is replaced by one `rename(2)`
/// only when complete, and the state database is updated in one transaction only after
/// that, so a run killed anywhere leaves the old store and old state (the next run redoes
/// the work) or the new store and old state (the next run redoes it and republishes the
/// same content), never a partial store.
public struct NightlyRun: Sendable {
    public var job: JobConfig
    public var now: @Sendable () -> Date
    public var events: @Sendable (RunEvent) -> Void
    /// Captions the products; nil: the one the job file chooses.
    public var captioner: (any Captioner)?
    /// Seams of the model stage for tests.
    var modelHooks = ModelStage.Hooks()

    /// The reranker the recommend stage uses when no StyleLM does (`[recommend] reranker`):
    /// the co-occurrence one over `model` (the co-occurrence model the run trained), or
    /// PPMI-SVD word vectors trained here on the same outfits and captions. Its `version`
    /// decides when everything is recomputed.
    public static func makeReranker(_ kind: RerankerKind, model: CooccurrenceModel, products: [Product], outfits: [Outfit],
                                    captions: [String: String]) -> any Reranker {
        switch kind {
        case .cooccurrence:
            CooccurrenceReranker(model: model, products: products, captions: captions)
        case .ppmiSVD:
            PPMISVDReranker(model: PPMISVDModel.train(products: products, outfits: outfits, captions: captions),
                            products: products, captions: captions)
        }
    }

    /// A bag-of-words StyleLM with PPMI-SVD trained here on the catalog, as `lookbook
    /// train` combines them (`HybridReranker`, spreads measured on the catalog's outfits).
    /// nil, with a warning, when the catalog gives no spread to measure (too few outfits
    /// or products): the StyleLM then reranks alone.
    func combined(_ stylelm: StyleLMReranker, catalog: Catalog, captions: [String: String]) -> HybridReranker? {
        let ppmi = PPMISVDReranker(model: PPMISVDModel.train(products: catalog.products, outfits: catalog.outfits, captions: captions),
                                   products: catalog.products, captions: captions)
        do {
            return try HybridReranker.calibrated(ppmi: ppmi, stylelm: stylelm, catalog: catalog)
        } catch {
            events(.warning("StyleLM reranks alone, not combined with PPMI-SVD: \((error as? LookbookError)?.description ?? "\(error)")"))
            return nil
        }
    }

    /// `hybrid` with the outfit-structure model trained here on the catalog's outfits added
    /// to its sum, as `lookbook eval` scores a directory `lookbook train` wrote
    /// (`HybridReranker.calibratedStructure`: the structure term's spreads measured on the
    /// same questions as the hybrid's). nil, with a warning, when the outfits give no
    /// spread of category or price scores: the hybrid then reranks without it.
    func structured(_ hybrid: HybridReranker, catalog: Catalog) -> HybridReranker? {
        do {
            return hybrid.adding(structure: try HybridReranker.calibratedStructure(catalog: catalog))
        } catch {
            events(.warning("StyleLM and PPMI-SVD rerank without the outfit-structure model: \((error as? LookbookError)?.description ?? "\(error)")"))
            return nil
        }
    }

    /// PPMI-SVD with the outfit-structure model trained here on the catalog's outfits, as
    /// `lookbook eval` adds them (`StructuredReranker`: `ppmi/σ_ppmi` plus the category and
    /// price terms over their spreads on the catalog's outfits). nil, with a warning, when
    /// the catalog gives no spread to measure (too few outfits or products, or outfits that
    /// say nothing about categories or prices): PPMI-SVD then reranks alone.
    func structured(_ ppmi: PPMISVDReranker, catalog: Catalog) -> StructuredReranker? {
        do {
            return try StructuredReranker.calibrated(ppmi: ppmi, catalog: catalog)
        } catch {
            events(.warning("PPMI-SVD reranks alone, without the outfit-structure model: \((error as? LookbookError)?.description ?? "\(error)")"))
            return nil
        }
    }

    public init(job: JobConfig, captioner: (any Captioner)? = nil, now: @escaping @Sendable () -> Date = { Date() },
                events: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.job = job; self.now = now; self.events = events
        self.captioner = captioner
    }

    public struct Outcome: Sendable {
        public var report: RunReport
        /// The CLI's exit code: 0 success or nothing to do, 1 failure.
        public var exitCode: Int32 { report.status == .failed ? 1 : 0 }
        /// Where the JSON report was written, if it could be.
        public var reportPath: String?
    }

    /// Runs the job. Never throws: failures come back as a failed report.
    public func run() async -> Outcome {
        let started = now()
        var report = RunReport(job: job.name, status: .failed, message: "", startedAt: iso(started), finishedAt: iso(started),
                               counts: .init(), stages: [], quarantined: 0)
        var stageStart = started
        var currentStage = "start"
        func stage(_ name: String) {
            let t = now()
            if currentStage != "start" { report.stages.append(.init(name: currentStage, seconds: t.timeIntervalSince(stageStart))) }
            currentStage = name; stageStart = t
            events(.stage(name))
        }
        var state: StateStore?
        var runID: Int?
        var lock: RunLock?
        defer { _ = lock }
        do {
            lock = try RunLock(directory: job.state, now: iso(started))
            let st = try StateStore(directory: job.state)
            state = st

            stage("select")
            let (catalogPath, manifest) = try selectCatalog(state: st)
            report.catalog = catalogPath
            report.retailer = manifest.retailer
            report.snapshot = manifest.snapshot
            if try st.hasProcessed(retailer: manifest.retailer, snapshot: manifest.snapshot) {
                report.status = .unchanged
                report.message = "snapshot \(manifest.snapshot) of \(manifest.retailer) was already processed; nothing to do, the published store is unchanged"
                return finish(report, state: st, runID: nil)
            }
            if let last = try st.lastSnapshot(retailer: manifest.retailer), last > manifest.snapshot {
                report.status = .unchanged
                report.message = "snapshot \(manifest.snapshot) of \(manifest.retailer) is older than the last processed one (\(last)); nothing to do, the published store is unchanged"
                return finish(report, state: st, runID: nil)
            }
            let id = try st.beginRun(startedAt: iso(started), catalog: catalogPath, retailer: manifest.retailer, snapshot: manifest.snapshot)
            runID = id
            report.runID = id

            stage("ingest")
            // Progress through an archive: compressed bytes read of the file's size.
            let archiveBytes = (try? FileManager.default.attributesOfItem(atPath: catalogPath)[.size] as? Int) ?? nil
            let ingested = try CatalogReader.read(path: catalogPath, limits: job.limits,
                                                  slotRules: SlotRules(overrides: job.slotOverrides)) { p in
                if let archiveBytes { events(.progress(stage: "ingest", done: Int(p.compressedBytes), total: archiveBytes)) }
            }
            let catalog = ingested.catalog
            report.counts.products = catalog.products.count
            report.counts.outfits = catalog.outfits.count
            report.counts.feedback = catalog.feedback.count
            report.counts.images = catalog.images.count
            report.quarantined = ingested.diagnostics.count
            if !ingested.diagnostics.isEmpty {
                report.quarantineReport = try writeQuarantine(ingested.diagnostics, runID: id)
                events(.warning("\(ingested.diagnostics.count) problem(s) in the catalog set aside; see \(report.quarantineReport!)"))
            }

            stage("caption")
            let captioner = try self.captioner ?? CaptionerFactory.make(job.captioner, maxPixels: job.limits.maxImagePixels)
            let cached = try st.cachedCaptions(captioner: captioner.id, hashes: Set(catalog.images.values.map(\.sha256)))
            let captioned = try await CaptionStage(captioner: captioner, concurrency: job.captioner.concurrency)
                .run(catalog: catalog, catalogPath: catalogPath, cached: cached) { done, total in
                    events(.progress(stage: "caption", done: done, total: total))
                }
            try st.cacheCaptions(captioned.newEntries, at: iso(now()))
            report.counts.captioned = captioned.captioned
            report.counts.captionsFromCache = captioned.fromCache
            report.counts.captionFallbacks = captioned.fallbacks
            report.counts.captionRetries = captioned.remoteActivity?.retries ?? 0
            report.counts.breakerOpenings = captioned.remoteActivity?.breakerOpenings ?? 0
            if captioned.fallbacks > 0 {
                events(.warning("\(captioned.fallbacks) image(s) captioned by the fallback captioner because \(captioner.id) failed"
                                + (report.counts.breakerOpenings > 0 ? " (its circuit breaker opened \(report.counts.breakerOpenings) time(s))" : "")
                                + "; the next run asks it again"))
            }
            report.captioner = captioner.id
            if !captioned.diagnostics.isEmpty {
                events(.warning("\(captioned.diagnostics.count) image(s) could not be captioned; their products use text-only captions"))
            }
            events(.info("captioned \(captioned.captioned) new image(s), \(captioned.fromCache) from the cache, \(captioned.textOnly) product(s) from text"))
            let captions = captioned.captions.mapValues(\.text)

            stage("diff")
            var hashes: [String: String] = [:]
            for p in catalog.products { hashes[p.id] = contentHash(of: p, images: catalog.images) }
            let diff = SnapshotDiff.compute(previous: try st.productHashes(), current: hashes)
            report.diff = .init(diff)
            events(.info("\(diff.new.count) new, \(diff.changed.count) changed, \(diff.removed.count) removed, \(diff.unchanged) unchanged products"))

            stage("train")
            let model = CooccurrenceModel.train(products: catalog.products, outfits: catalog.outfits, captions: captions)
            let reranker: any Reranker
            if let choice = try ModelStage(job: job, events: events, hooks: modelHooks, now: now)
                .choose(catalog: catalog, captions: captions, state: st) {
                let stylelm = StyleLMReranker(scoring: choice.scoring, captions: captions)
                report.modelSource = "\(choice.source): \(choice.path)"
                report.modelDecision = choice.decision
                if job.recommend.combinePPMISVD, choice.scoring.options.method == .bagOfWords,
                   let hybrid = combined(stylelm, catalog: catalog, captions: captions) {
                    if job.recommend.structure, let three = structured(hybrid, catalog: catalog), let t = three.structure {
                        reranker = three
                        report.reranker = "stylelm+ppmi-svd+structure"
                        events(.info("StyleLM \(choice.scoring.version) (\(choice.origin): \(choice.path)) reranks with PPMI-SVD "
                                     + "\(three.ppmi.model.version) and the outfit-structure model structure@1:\(t.model.contentHash) "
                                     + "(\(t.model.categoryOutfits.count) categories, \(t.model.outfitCount) outfits) trained tonight: "
                                     + "ppmi/\(fmt(three.ppmiScale)) + \(three.weight) × stylelm/\(fmt(three.stylelmScale)) + "
                                     + "\(t.formula { fmt($0) }) "
                                     + "(spreads from \(three.calibrationQuestions) and \(t.calibrationQuestions) questions on the catalog's outfits)"))
                    } else {
                        reranker = hybrid
                        report.reranker = "stylelm+ppmi-svd"
                        events(.info("StyleLM \(choice.scoring.version) (\(choice.origin): \(choice.path)) reranks with PPMI-SVD "
                                     + "\(hybrid.ppmi.model.version) trained tonight: ppmi/\(fmt(hybrid.ppmiScale)) + "
                                     + "\(hybrid.weight) × stylelm/\(fmt(hybrid.stylelmScale)) (spreads from \(hybrid.calibrationQuestions) questions on the catalog's outfits)"))
                    }
                } else {
                    reranker = stylelm
                    report.reranker = "stylelm"
                    events(.info("StyleLM \(choice.scoring.version) reranks (\(choice.origin): \(choice.path))"))
                }
            } else {
                let kind = job.recommend.reranker
                let made = Self.makeReranker(kind, model: model, products: catalog.products, outfits: catalog.outfits, captions: captions)
                report.reranker = kind.rawValue
                if job.recommend.structure, let ppmi = made as? PPMISVDReranker, let s = structured(ppmi, catalog: catalog) {
                    reranker = s
                    report.reranker = kind.rawValue + "+structure"
                } else {
                    reranker = made
                }
                switch reranker {
                case let r as PPMISVDReranker:
                    report.modelSource = "ppmi-svd word vectors trained tonight"
                    events(.info("PPMI-SVD \(r.model.version) reranks: \(r.model.wordCount) words, rank \(r.model.dimension), "
                                 + "\(r.model.trainedOutfits) outfits"))
                case let r as StructuredReranker:
                    let t = r.structure
                    report.modelSource = "ppmi-svd word vectors and outfit-structure model trained tonight"
                    events(.info("PPMI-SVD \(r.ppmi.model.version) reranks with the outfit-structure model structure@1:\(t.model.contentHash) "
                                 + "(\(t.model.categoryOutfits.count) categories, \(t.model.outfitCount) outfits): ppmi/\(fmt(r.ppmiScale)) + "
                                 + "\(t.formula { fmt($0) }) "
                                 + "(spreads from \(t.calibrationQuestions) questions on the catalog's outfits)"))
                default:
                    report.modelSource = "co-occurrence model trained tonight"
                }
            }
            report.model = reranker.version

            stage("recommend")
            let stateFeedback = try st.feedback()
            let previous = try st.precomputeState(verdicts: Precomputer.verdictMap(stateFeedback))
            var imageHashes: [String: String] = [:]
            for p in catalog.products { if let h = p.images.first.flatMap({ catalog.images[$0]?.sha256 }) { imageHashes[p.id] = h } }
            let precomputer = Precomputer(model: model, reranker: reranker, compatibility: job.compatibility, settings: job.recommend,
                                          captions: captions, imageHashes: imageHashes, feedback: stateFeedback + catalog.feedback)
            report.retrieval = precomputer.retrievalSpace.name
            let result = precomputer.run(products: catalog.products, outfits: catalog.outfits, previous: previous) { stage, done, total in
                events(.progress(stage: stage, done: done, total: total))
            }
            let output = result.output
            report.precompute = .init(result.stats, retrievalM: job.recommend.retrievalM)
            let s = result.stats
            events(.info(s.full
                ? "recomputed all \(s.anchors) products' lists and \(s.outfits) outfits (\(s.fullReason ?? "full run"))"
                : "recomputed \(s.anchorsRecomputed) of \(s.anchors) products' lists and \(s.outfitsRecomputed) of \(s.outfits) outfits, patched \(s.patch.lists) lists a changed product reached (\(s.patch.rescored) reranked); the rest are unchanged"))

            stage("publish")
            let content = StoreContent(
                snapshot: manifest.snapshot, retailer: manifest.retailer, modelVersion: reranker.version,
                captionerVersion: captioner.id, runID: String(id), buildTime: iso(now()),
                products: catalog.products.map {
                    StoreProduct($0, imageSHA256: $0.images.first.flatMap { catalog.images[$0]?.sha256 }, caption: captions[$0.id])
                },
                outfits: catalog.outfits, complementary: output.complementary, fitb: output.fitb)
            // What the store cannot serve (products without a known slot, slots with
            // nothing in stock) joins the catalog's problems in the quarantine report.
            let coverage = content.coverageDiagnostics()
            if !coverage.isEmpty {
                report.quarantineReport = try writeQuarantine(ingested.diagnostics + coverage, runID: id)
                events(.warning("\(coverage.count) coverage warning(s): products without a known slot or slots with nothing in stock; see \(report.quarantineReport!)"))
            }
            let published = try StorePublisher().publish(content, to: job.out, keep: job.keepStores)
            report.counts.complementaryRows = content.counts.complementary
            report.counts.fitbRows = content.counts.fitb
            report.store = .init(path: published.path, sha256: published.sha256, bytes: Int(published.bytes))

            stage("commit")
            report.status = .succeeded
            report.message = "published \(published.path) from snapshot \(manifest.snapshot) (\(diff.new.count) new, \(diff.changed.count) changed, \(diff.removed.count) removed products)"
            report.finishedAt = iso(now())
            try st.commit(runID: id, catalog: catalog, diff: diff, hashes: hashes, storeSHA256: published.sha256,
                          finishedAt: report.finishedAt, report: encode(report), precompute: (result, previous))
            report.stages.append(.init(name: currentStage, seconds: now().timeIntervalSince(stageStart)))
            currentStage = "done"
            return finish(report, state: nil, runID: id)
        } catch {
            report.status = .failed
            report.message = (error as? LookbookError)?.description ?? "\(error)"
            // A catalog refused for its bad rows still gets its quarantine report, so
            // whoever fixes the export sees every row that was wrong.
            if let failure = error as? LookbookError, !failure.diagnostics.isEmpty, let runID,
               let path = try? writeQuarantine(failure.diagnostics, runID: runID) {
                report.quarantined = failure.diagnostics.count
                report.quarantineReport = path
                report.message += " (quarantine report: \(path))"
            }
            if currentStage != "start" && currentStage != "done" {
                report.stages.append(.init(name: currentStage, seconds: now().timeIntervalSince(stageStart)))
            }
            return finish(report, state: state, runID: runID)
        }
    }

    /// Picks the newest snapshot at the inbox (by `catalog.json`'s `snapshot`). Older
    /// snapshots left beside it are never processed: a run never goes back in time.
    /// Unreadable candidates are skipped with a warning when others exist; a single
    /// unreadable catalog fails the run.
    func selectCatalog(state: StateStore) throws -> (String, CatalogManifest) {
        let candidates = try CatalogInbox.candidates(at: job.inbox)
        if candidates.count == 1 { return (candidates[0], try CatalogReader.manifest(path: candidates[0])) }
        var readable: [(String, CatalogManifest)] = []
        for path in candidates {
            do { readable.append((path, try CatalogReader.manifest(path: path))) } catch {
                events(.warning("skipping \(path): \(error)"))
            }
        }
        guard let newest = readable.max(by: { ($0.1.snapshot, $0.0) < ($1.1.snapshot, $1.0) }) else {
            throw LookbookError(.unreadableCatalog, "no readable catalog in \(job.inbox)")
        }
        return newest
    }

    private func finish(_ report: RunReport, state: StateStore?, runID: Int?) -> Outcome {
        var report = report
        report.finishedAt = iso(now())
        if report.status == .failed || report.status == .unchanged, let runID, let state {
            try? state.finishRun(runID, status: report.status.rawValue, finishedAt: report.finishedAt, report: encode(report))
        }
        var path: String?
        let reports = (job.state as NSString).appendingPathComponent("reports")
        let name = report.runID.map { "run-\($0).json" } ?? "run-\(compact(report.startedAt)).json"
        let p = (reports as NSString).appendingPathComponent(name)
        if (try? writeAtomically(encode(report) + "\n", to: p)) != nil {
            path = p
            try? writeAtomically(encode(report) + "\n", to: (reports as NSString).appendingPathComponent("latest.json"))
        }
        try? metrics(for: report).write(to: job.metricsFile ?? (job.out as NSString).appendingPathComponent("lookbook.prom"))
        return Outcome(report: report, reportPath: path)
    }

    private func writeQuarantine(_ diagnostics: [Diagnostic], runID: Int) throws -> String {
        let path = ((job.state as NSString).appendingPathComponent("reports") as NSString)
            .appendingPathComponent("run-\(runID).quarantine.jsonl")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for d in diagnostics { text += String(decoding: try encoder.encode(d), as: UTF8.self) + "\n" }
        try writeAtomically(text, to: path)
        return path
    }

    func metrics(for report: RunReport) -> MetricsFile {
        var m = MetricsFile()
        let job = [("job", report.job)]
        m.add(.init("lookbook_run_success", "1 if the last run succeeded or had nothing to do, 0 if it failed", labels: job,
                    report.status == .failed ? 0 : 1))
        m.add(.init("lookbook_run_timestamp_seconds", "When the last run finished (Unix time)", labels: job,
                    parseISO(report.finishedAt)?.timeIntervalSince1970 ?? 0))
        if report.status == .succeeded {
            m.add(.init("lookbook_last_publish_timestamp_seconds", "When the last store was published (Unix time)", labels: job,
                        parseISO(report.finishedAt)?.timeIntervalSince1970 ?? 0))
        }
        for s in report.stages {
            m.add(.init("lookbook_stage_duration_seconds", "Seconds spent in each stage of the last run",
                        labels: job + [("stage", s.name)], s.seconds))
        }
        m.add(.init("lookbook_products", "Products in the last ingested snapshot", labels: job, Double(report.counts.products)))
        m.add(.init("lookbook_outfits", "Curated outfits in the last ingested snapshot", labels: job, Double(report.counts.outfits)))
        m.add(.init("lookbook_quarantined_rows", "Rows and entries set aside by the last run", labels: job, Double(report.quarantined)))
        if let d = report.diff {
            for (k, v) in [("new", d.new), ("changed", d.changed), ("removed", d.removed), ("unchanged", d.unchanged)] {
                m.add(.init("lookbook_products_diff", "Products by change since the previous snapshot", labels: job + [("change", k)], Double(v)))
            }
        }
        if let s = report.store {
            m.add(.init("lookbook_store_bytes", "Size of the published store", labels: job, Double(s.bytes)))
            m.add(.init("lookbook_store_rows", "Rows in the published store", labels: job + [("table", "complementary")], Double(report.counts.complementaryRows)))
            m.add(.init("lookbook_store_rows", "Rows in the published store", labels: job + [("table", "fitb_candidates")], Double(report.counts.fitbRows)))
        }
        return m
    }
}

func iso(_ d: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: d)
}

func parseISO(_ s: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: s)
}

private func fmt(_ x: Double) -> String { String(format: "%.4g", x) }

private func compact(_ s: String) -> String { s.filter { $0.isNumber } }

func encode<T: Encodable>(_ value: T) -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
}
