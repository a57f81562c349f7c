import Foundation
import LookbookCore

/// Splits a catalog's outfits into train and held-out, and asks questions about the
/// held-out ones: `lookbook eval make-questions`.
///
/// - FITB: one blank at a random position; 3 negatives of the answer's category (the
///   hard setting of Polyvore Outfits) drawn from products outside the outfit whose
///   content differs from the answer's (a negative with the answer's very title and
///   category could not be told apart); the answer's position among the 4 is random.
///   With `negativePool = .any`, negatives come from every category instead (the
///   setting of the original Maryland Polyvore questions, Han et al. 2017), where what
///   kind of item the look lacks decides much of the answer.
/// - Compatibility: every held-out outfit (label 1) and one fake made by replacing
///   each item with a random product of the same category (label 0; of any category
///   with `.any`), in random order.
/// - Negatives and fake items are never products of a train outfit. The answer and the
///   real items never are either, so a candidate's having been seen in training (a
///   model that memorised the train outfits' items, or one that recognises them) says
///   nothing about the label. Before this rule, 79 % of the negatives on Polyvore were
///   train-outfit products: "pick the one never seen in an outfit" answered most
///   questions, and a model that memorised its training items was pushed below chance.
/// - Retrieval: one blank; the category is the answer's; the pool is the category.
///
/// Question ids are opaque (`fitb-000001`) so they say nothing about the answer.
/// The same catalog, fraction and seed give the same split and questions whatever the
/// row order of the catalog (outfits are ordered by id before the draw).
public struct QuestionMaker: Sendable {
    public var holdoutFraction: Double
    public var seed: UInt64
    /// Negatives per FITB question.
    public var negatives: Int
    /// Where FITB negatives and the items of fake outfits come from.
    public var negativePool: NegativePool

    /// Where FITB negatives and the items of fake outfits come from.
    public enum NegativePool: String, Codable, Sendable, CaseIterable {
        /// The answer's (or the replaced item's) own category: the default.
        case category
        /// Every category: the original Maryland Polyvore setting.
        case any
    }

    public init(holdoutFraction: Double = 0.2, seed: UInt64 = 1, negatives: Int = 3, negativePool: NegativePool = .category) {
        self.holdoutFraction = holdoutFraction; self.seed = seed; self.negatives = negatives; self.negativePool = negativePool
    }

    public struct Questions: Sendable {
        /// The same products with only the train outfits: all a model may learn from.
        public var train: Catalog
        public var heldOutOutfitIDs: [String]
        public var fitb: [FITBQuestion]
        public var fitbKeys: [FITBKey]
        public var compat: [CompatQuestion]
        public var compatKeys: [CompatKey]
        public var retrieval: [RetrievalQuestion]
        public var retrievalKeys: [RetrievalKey]
        /// Why some held-out outfits got fewer questions (too few products of a category…).
        public var diagnostics: [Diagnostic]
    }

    public func make(from catalog: Catalog) -> Questions {
        let products = Dictionary(catalog.products.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var byCategory: [String: [String]] = [:]
        var everyProduct: [String] = []
        for p in catalog.products.sorted(by: { $0.id < $1.id }) where products[p.id] == p {
            byCategory[p.category, default: []].append(p.id)
            everyProduct.append(p.id)
        }
        var diags: [Diagnostic] = []

        // Split: outfits with at least two known items, in id order, shuffled by seed.
        var usable: [Outfit] = []
        var unusable: [Outfit] = []
        for o in catalog.outfits.sorted(by: { $0.id < $1.id }) {
            if o.items.filter({ products[$0] != nil }).count >= 2 { usable.append(o) } else { unusable.append(o) }
        }
        var order = Array(usable.indices)
        var splitRNG = SplitMix64.stream(seed, "split")
        splitRNG.shuffle(&order)
        let heldCount = min(usable.count, Int((Double(usable.count) * holdoutFraction).rounded()))
        let heldIdx = Set(order.prefix(heldCount))
        let heldOut = usable.indices.filter { heldIdx.contains($0) }.map { usable[$0] }
        let heldIDs = Set(heldOut.map(\.id))

        var train = catalog
        train.outfits = catalog.outfits.filter { !heldIDs.contains($0.id) }
        // Products a model learns from as members of an outfit: never a negative.
        let inTrainOutfit = Set(train.outfits.flatMap(\.items))
        // The products a negative for an item of a category is drawn from, in id order,
        // products of train outfits already left out (filtered once, not per question).
        let outsideTrain = { (ids: [String]) in ids.filter { !inTrainOutfit.contains($0) } }
        let poolByCategory = byCategory.mapValues(outsideTrain)
        let poolAny = negativePool == .any ? outsideTrain(everyProduct) : []
        func negativeSource(_ category: String) -> [String] {
            switch negativePool {
            case .category: poolByCategory[category] ?? []
            case .any: poolAny
            }
        }
        // Each product's content key, computed once: a negative must differ from the answer's.
        var contentKeys: [String: String] = [:]

        var fitbRNG = SplitMix64.stream(seed, "fitb")
        var compatRNG = SplitMix64.stream(seed, "compat")
        var retrievalRNG = SplitMix64.stream(seed, "retrieval")
        var fitb: [FITBQuestion] = [], fitbKeys: [FITBKey] = []
        var compatPairs: [(CompatQuestion, Int)] = []
        var retrieval: [RetrievalQuestion] = [], retrievalKeys: [RetrievalKey] = []

        for outfit in heldOut {
            let items = outfit.items.filter { products[$0] != nil }
            let inOutfit = Set(items)

            // FITB
            let blank = fitbRNG.below(items.count)
            let answer = products[items[blank]]!
            let answerKey = ContentView.sortKey(answer)
            let eligible = negativeSource(answer.category).filter { id in
                guard !inOutfit.contains(id) else { return false }
                if let key = contentKeys[id] { return key != answerKey }
                let key = ContentView.sortKey(products[id]!)
                contentKeys[id] = key
                return key != answerKey
            }
            if eligible.count >= negatives {
                var pool = eligible
                var chosen: [String] = []
                for _ in 0..<negatives {
                    let k = fitbRNG.below(pool.count)
                    chosen.append(pool[k]); pool.swapAt(k, pool.count - 1); pool.removeLast()
                }
                let position = fitbRNG.below(negatives + 1)
                chosen.insert(answer.id, at: position)
                let id = String(format: "fitb-%06d", fitb.count + 1)
                var context = items; context.remove(at: blank)
                fitb.append(FITBQuestion(id: id, context: context, candidates: chosen))
                fitbKeys.append(FITBKey(id: id, answer: position))
            } else {
                let source = negativePool == .any ? "the catalog" : "category \"\(answer.category)\""
                diags.append(Diagnostic(.warning, code: "too-few-negatives", file: "outfits.jsonl",
                                        reason: "outfit \(outfit.id): \(source) has \(eligible.count) other products outside the train outfits, \(negatives) needed; no FITB question"))
            }

            // Compatibility: the real outfit and a fake of the same categories (of any with `.any`).
            var fake: [String] = []
            for id in items {
                let candidates = negativeSource(products[id]!.category).filter { !inOutfit.contains($0) }
                fake.append(candidates.isEmpty ? "" : candidates[compatRNG.below(candidates.count)])
            }
            compatPairs.append((CompatQuestion(id: "", items: items), 1))
            if fake.allSatisfy({ !$0.isEmpty }) {
                compatPairs.append((CompatQuestion(id: "", items: fake), 0))
            } else {
                diags.append(Diagnostic(.warning, code: "too-few-negatives", file: "outfits.jsonl",
                                        reason: "outfit \(outfit.id): a category has no product outside the outfit and the train outfits; no fake outfit"))
            }

            // Retrieval
            let rBlank = retrievalRNG.below(items.count)
            var rContext = items; let rAnswer = rContext.remove(at: rBlank)
            let id = String(format: "retrieval-%06d", retrieval.count + 1)
            retrieval.append(RetrievalQuestion(id: id, context: rContext, category: products[rAnswer]!.category))
            retrievalKeys.append(RetrievalKey(id: id, answer: rAnswer))
        }
        compatRNG.shuffle(&compatPairs)
        var compat: [CompatQuestion] = [], compatKeys: [CompatKey] = []
        for (n, (q, label)) in compatPairs.enumerated() {
            let id = String(format: "compat-%06d", n + 1)
            compat.append(CompatQuestion(id: id, items: q.items))
            compatKeys.append(CompatKey(id: id, label: label))
        }
        for o in unusable {
            diags.append(Diagnostic(.warning, code: "outfit-too-small", file: "outfits.jsonl",
                                    reason: "outfit \(o.id) has fewer than two known products; not used for questions (stays in train)"))
        }
        return Questions(train: train, heldOutOutfitIDs: heldOut.map(\.id), fitb: fitb, fitbKeys: fitbKeys,
                         compat: compat, compatKeys: compatKeys, retrieval: retrieval, retrievalKeys: retrievalKeys,
                         diagnostics: diags)
    }
}

extension QuestionMaker.Questions {
    /// File names inside the output directory of `make-questions`.
    public enum FileName {
        public static let fitb = "fitb.jsonl", fitbKey = "fitb.key.jsonl"
        public static let compat = "compat.jsonl", compatKey = "compat.key.jsonl"
        public static let retrieval = "retrieval.jsonl", retrievalKey = "retrieval.key.jsonl"
        public static let split = "split.json"
        /// The train catalog (a directory catalog), written with `CatalogWriter`.
        public static let trainCatalog = "train"
    }

    /// Writes the question and key files and `split.json` (seed, fraction, held-out
    /// outfit ids) into `directory`. The train catalog is written by the caller with
    /// `CatalogWriter.write(questions.train, to: directory + "/train")` or by
    /// `writeAll`.
    public func writeQuestions(to directory: String, maker: QuestionMaker) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LookbookError(.io, "cannot create \(directory)", underlying: error.localizedDescription)
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        try JSONLines.write(fitb, to: path(FileName.fitb))
        try JSONLines.write(fitbKeys, to: path(FileName.fitbKey))
        try JSONLines.write(compat, to: path(FileName.compat))
        try JSONLines.write(compatKeys, to: path(FileName.compatKey))
        try JSONLines.write(retrieval, to: path(FileName.retrieval))
        try JSONLines.write(retrievalKeys, to: path(FileName.retrievalKey))
        let split = SplitRecord(seed: maker.seed, holdoutFraction: maker.holdoutFraction, negatives: maker.negatives,
                                negativePool: maker.negativePool, trainOutfits: train.outfits.count, heldOutOutfits: heldOutOutfitIDs)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(split).write(to: URL(fileURLWithPath: path(FileName.split)), options: .atomic) } catch {
            throw LookbookError(.io, "cannot write \(path(FileName.split))", underlying: error.localizedDescription)
        }
    }
}

/// `split.json`: how a question set was made.
public struct SplitRecord: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var holdoutFraction: Double
    public var negatives: Int
    /// Absent in files written before the option: `category`.
    public var negativePool: QuestionMaker.NegativePool?
    public var trainOutfits: Int
    public var heldOutOutfits: [String]

    /// Where the negatives came from (`category` when the file predates the record).
    public var pool: QuestionMaker.NegativePool { negativePool ?? .category }

    /// The `split.json` that `make-questions` wrote into `directory`; nil when there is no readable one.
    public static func read(inDirectory directory: String) -> SplitRecord? {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(QuestionMaker.Questions.FileName.split)
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(SplitRecord.self, from: data)
    }
}
