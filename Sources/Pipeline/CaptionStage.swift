import Captioning
import CatalogIngest
import Foundation
import LookbookCore

/// Captions a catalog's products: each primary image is captioned once per captioner
/// version (the cache in the state database is keyed by the image's SHA-256 and the
/// captioner's `NAME@VERSION`), products without an image from their text alone.
///
/// Images that need a caption are read in a second, targeted pass over the catalog,
/// one at a time, and captioned with bounded concurrency. An image that cannot be
/// captioned is a diagnostic; its product falls back to a text-only caption, which the
/// embedded captioner makes locally whatever the active captioner is.
public struct CaptionStage: Sendable {
    public var captioner: any Captioner
    /// Captions in flight at once.
    public var concurrency: Int

    public init(captioner: any Captioner, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.captioner = captioner; self.concurrency = max(1, concurrency)
    }

    public struct Output: Sendable {
        /// By product id.
        public var captions: [String: Caption]
        /// Images captioned this time (not found in the cache).
        public var captioned: Int
        public var fromCache: Int
        public var textOnly: Int
        /// Images captioned this time by a fallback (the embedded captioner standing in
        /// for an endpoint that failed): their captions carry the fallback's id.
        public var fallbacks: Int
        /// A remote captioner's retries, fallbacks and circuit-breaker openings.
        public var remoteActivity: RemoteCaptioner.Activity?
        public var diagnostics: [Diagnostic]
        /// New cache entries, for the state database.
        public var newEntries: [(sha256: String, caption: Caption)]
    }

    public func run(catalog: Catalog, catalogPath: String, cached: [String: Caption], imageOnly: Bool = false,
                    progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> Output {
        var byImage: [String: [Product]] = [:]  // primary image path → products
        var textOnly: [Product] = []
        for p in catalog.products {
            if let path = p.images.first, catalog.images[path] != nil { byImage[path, default: []].append(p) } else { textOnly.append(p) }
        }
        var captions: [String: Caption] = [:]
        var fromCache = 0
        var wanted = Set<String>()
        for (path, products) in byImage {
            if let sha = catalog.images[path]?.sha256, let c = cached[sha] {
                for p in products { captions[p.id] = c }
                fromCache += 1
            } else {
                wanted.insert(path)
            }
        }
        var diagnostics: [Diagnostic] = []
        var newEntries: [(sha256: String, caption: Caption)] = []
        let reader = try CatalogImages.Reader(path: catalogPath, wanted: wanted)
        let captioner = self.captioner
        var done = 0
        let total = wanted.count
        try await withThrowingTaskGroup(of: (String, Result<Caption, any Error>).self) { group in
            var inFlight = 0
            func collect(_ r: (String, Result<Caption, any Error>)) {
                inFlight -= 1
                done += 1
                progress?(done, total)
                let (path, result) = r
                let products = byImage[path] ?? []
                switch result {
                case .success(let c):
                    for p in products { captions[p.id] = c }
                    if let sha = catalog.images[path]?.sha256 { newEntries.append((sha, c)) }
                case .failure(let e):
                    diagnostics.append(Diagnostic(.warning, code: "caption-failed", file: path,
                                                  reason: "cannot caption: \(e); the product is captioned from its text"))
                    textOnly.append(contentsOf: products)
                }
            }
            while let (path, bytes) = try reader.next() {
                guard let product = byImage[path]?.first else { continue }
                let request = CaptionRequest(product: imageOnly ? Self.blanked(product) : product, image: bytes,
                                             imageSHA256: catalog.images[path]?.sha256, imageOnly: imageOnly)
                if inFlight >= concurrency, let r = try await group.next() { collect(r) }
                group.addTask { (path, await Result(catching: { try await captioner.caption(request) })) }
                inFlight += 1
                wanted.remove(path)
            }
            while let r = try await group.next() { collect(r) }
        }
        for path in wanted {  // listed by ingest but not found on the second pass
            diagnostics.append(Diagnostic(.warning, code: "caption-failed", file: path, reason: "image vanished between ingest and captioning"))
            textOnly.append(contentsOf: byImage[path] ?? [])
        }
        if !imageOnly {
            // Text alone needs no model server: the embedded captioner reads it locally.
            let text = EmbeddedCaptioner()
            for p in textOnly where captions[p.id] == nil {
                if let c = try? text.captionNow(CaptionRequest(product: p)) { captions[p.id] = c }
            }
        }
        return Output(captions: captions, captioned: newEntries.count, fromCache: fromCache, textOnly: textOnly.count,
                      fallbacks: newEntries.count { $0.caption.captioner != captioner.id },
                      remoteActivity: (captioner as? RemoteCaptioner)?.activity,
                      diagnostics: diagnostics, newEntries: newEntries)
    }

    /// The product with every text field emptied: pixels alone decide.
    static func blanked(_ p: Product) -> Product {
        Product(id: p.id, title: "", category: "", images: p.images, slot: p.slot)
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
